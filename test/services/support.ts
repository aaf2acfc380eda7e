/** Shared helpers of the services tests. */
import { parsePlatformConfig } from "../../components/config";
import type { PlatformConfig } from "../../components/config";
import { loadStackConfig } from "../../scripts/offline";
import type { KubernetesObject } from "../harness";

/** The parsed config a stack runs with (its Pulumi.<stack>.yaml plus raw overrides). */
export function configOf(stack: string, overrides: Record<string, unknown> = {}): PlatformConfig {
  const raw: Record<string, string> = { ...loadStackConfig(stack) };
  for (const [k, v] of Object.entries(overrides))
    raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  return parsePlatformConfig(raw);
}

export type Obj = KubernetesObject & Record<string, any>;

export function podSpecOf(o: Obj): Record<string, any> {
  return o.spec.template.spec as Record<string, any>;
}

export function containerOf(o: Obj, name?: string): Record<string, any> {
  const containers = podSpecOf(o).containers as Record<string, any>[];
  return name ? containers.find((c) => c.name === name)! : containers[0];
}

/** env entries by name */
export function envOf(container: Record<string, any>): Map<string, Record<string, any>> {
  return new Map(
    ((container.env ?? []) as Record<string, any>[]).map((e) => [e.name as string, e]),
  );
}

/** Validates an object with its kubernetes-models class (throws with the schema error). */
export async function validateModel(o: KubernetesObject): Promise<void> {
  const [group, version] = o.apiVersion.includes("/")
    ? o.apiVersion.split("/")
    : ["", o.apiVersion];
  const path =
    group === ""
      ? `kubernetes-models/${version}`
      : group === "cert-manager.io" || group === "acme.cert-manager.io"
        ? `@kubernetes-models/cert-manager/${o.apiVersion}`
        : `kubernetes-models/${o.apiVersion}`;
  const mod = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = mod[o.kind];
  if (!Model) throw new Error(`no model for ${o.apiVersion} ${o.kind}`);
  new Model(o).validate();
}
