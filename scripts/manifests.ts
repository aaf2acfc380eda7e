/**
 * Turns a captured stack run into what the cluster would receive: Kubernetes objects (one per
 * document, secrets redacted) and the Helm charts the stack installs (not expandable offline).
 */
import { stringify } from "yaml";
import type { RegisteredResource, StackRun } from "./offline";
import { REDACTED } from "./offline";

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } & Record<string, unknown>;
  [key: string]: unknown;
}

export interface HelmChartRelease {
  name: string;
  chart: string;
  version: string;
  namespace?: string;
  repository?: string;
  values: unknown;
}

const NOT_OBJECTS = new Set([
  "pulumi:providers:kubernetes",
  "kubernetes:helm.sh/v4:Chart",
  "kubernetes:helm.sh/v3:Release",
  "kubernetes:helm.sh/v3:Chart",
]);

export function isKubernetesObject(r: RegisteredResource): boolean {
  return r.custom && r.type.startsWith("kubernetes:") && !NOT_OBJECTS.has(r.type);
}

/** Secret payloads are always redacted, whether or not the program marked them secret. */
function redactSecretPayload(obj: KubernetesObject): KubernetesObject {
  if (obj.kind !== "Secret") return obj;
  const out = { ...obj };
  for (const field of ["data", "stringData"]) {
    const payload = out[field];
    if (payload && typeof payload === "object") {
      out[field] = Object.fromEntries(Object.keys(payload).map((k) => [k, REDACTED]));
    } else if (payload !== undefined) {
      out[field] = REDACTED;
    }
  }
  return out;
}

export function toKubernetesObject(r: RegisteredResource): KubernetesObject {
  const { apiVersion, kind, metadata, ...rest } = r.inputs as KubernetesObject;
  return redactSecretPayload({ apiVersion, kind, metadata: metadata ?? {}, ...rest });
}

export function kubernetesObjects(run: StackRun): KubernetesObject[] {
  return run.resources.filter(isKubernetesObject).map(toKubernetesObject);
}

export function helmCharts(run: StackRun): HelmChartRelease[] {
  return run.resources
    .filter((r) => r.type === "kubernetes:helm.sh/v4:Chart")
    .map((r) => {
      const i = r.inputs as {
        chart?: string;
        version?: string;
        namespace?: string;
        repositoryOpts?: { repo?: string };
        values?: unknown;
      };
      return {
        name: r.name,
        chart: i.chart ?? "",
        version: i.version ?? "",
        namespace: i.namespace,
        repository: i.repositoryOpts?.repo,
        values: i.values ?? {},
      };
    });
}

export function toYaml(objects: KubernetesObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, sortMapEntries: false })).join("---\n");
}

export function countByKind(objects: KubernetesObject[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
