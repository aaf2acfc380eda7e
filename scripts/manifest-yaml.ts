/**
 * The render's YAML: one document per Kubernetes object, in order. Its own module, free of the
 * Pulumi SDK, because the render's validation thread writes each document as objects arrive
 * (scripts/validation-worker.ts) and must not load the SDK to do it.
 */
import { stringify } from "yaml";
import type { KubernetesObject } from "./manifests";

export const YAML_SEPARATOR = "---\n";

export function toYaml(objects: KubernetesObject[]): string {
  return objects.map(objectYaml).join(YAML_SEPARATOR);
}

export function objectYaml(object: KubernetesObject): string {
  return stringify(object, { lineWidth: 0, sortMapEntries: false });
}
