/**
 * Test harness: runs the real program for a stack under `pulumi.runtime.setMocks` (project
 * `octollm`, the stack's name, its real `Pulumi.<stack>.yaml`, `KUBECONFIG` unset) and gives
 * back every registered resource. Runs are cached per stack + override, since a stack's run is
 * deterministic and several test files look at the same one.
 */
import { ConfigError, parsePlatformConfig } from "../components/config";
import type { PlatformConfig } from "../components/config";
import type { RenderedResource } from "../policies/evaluate";
import type { RegisteredResource, StackRun } from "../scripts/offline";
import { listStacks, loadStackConfig, runStack } from "../scripts/offline";
import type { KubernetesObject } from "../scripts/manifests";
import { kubernetesObjects, helmCharts } from "../scripts/manifests";

export type { RegisteredResource, StackRun, KubernetesObject };
export { helmCharts, kubernetesObjects, listStacks };

export const STACKS = ["dev", "staging", "production"] as const;
export type StackName = (typeof STACKS)[number];

const cache = new Map<string, Promise<StackRun>>();

/** The stack's run; `config` overrides raw `octollm:*` keys (objects are JSON-encoded). */
export function renderStack(stack: string, config?: Record<string, unknown>): Promise<StackRun> {
  const key = `${stack}:${JSON.stringify(config ?? {})}`;
  let run = cache.get(key);
  if (!run) {
    run = runStack(stack, { config });
    cache.set(key, run);
  }
  return run;
}

/** The Kubernetes objects of a run, as they would be applied. */
export async function objectsOf(
  stack: string,
  config?: Record<string, unknown>,
): Promise<KubernetesObject[]> {
  return kubernetesObjects(await renderStack(stack, config));
}

export function ofKind(objects: KubernetesObject[], kind: string): KubernetesObject[] {
  return objects.filter((o) => o.kind === kind);
}

export function findObject(
  objects: KubernetesObject[],
  kind: string,
  name: string,
  namespace?: string,
): KubernetesObject {
  const found = objects.find(
    (o) =>
      o.kind === kind &&
      o.metadata.name === name &&
      (namespace === undefined || o.metadata.namespace === namespace),
  );
  if (!found) {
    const known = ofKind(objects, kind).map(
      (o) => `${o.metadata.namespace ?? ""}/${o.metadata.name ?? ""}`,
    );
    throw new Error(`no ${kind} ${namespace ?? "*"}/${name}; have: ${known.join(", ")}`);
  }
  return found;
}

/** Resources (any kind, components included) by Pulumi type token. */
export function ofType(run: StackRun, type: string): RegisteredResource[] {
  return run.resources.filter((r) => r.type === type);
}

/** The component resource that is the parent of `r`, by URN. */
export function parentOf(run: StackRun, r: RegisteredResource): RegisteredResource | undefined {
  return run.resources.find((p) => p.urn === r.parent);
}

/** Raw `octollm:*` overrides as Pulumi hands config to a program (objects JSON-encoded). */
export function encodeConfig(overrides: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(overrides).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

/** A stack's raw config: its real Pulumi.<stack>.yaml with `overrides` on top. */
export function rawStackConfig(
  stack: string,
  overrides: Record<string, unknown> = {},
): Record<string, string> {
  return { ...loadStackConfig(stack), ...encodeConfig(overrides) };
}

/** The parsed config a stack runs with (its Pulumi.<stack>.yaml plus raw overrides). */
export function configOf(stack: string, overrides: Record<string, unknown> = {}): PlatformConfig {
  return parsePlatformConfig(rawStackConfig(stack, overrides));
}

/**
 * The parse-time problems of `environment`'s defaults with raw `octollm:*` overrides;
 * empty when the configuration is accepted.
 */
export function configProblems(
  overrides: Record<string, unknown>,
  environment = "production",
): string[] {
  try {
    parsePlatformConfig({ "octollm:environment": environment, ...encodeConfig(overrides) });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

type PodOwner = { spec: { template: { spec: { containers: Record<string, any>[] } } } };

/** The pod spec of a workload's template. */
export function podSpecOf(o: KubernetesObject): Record<string, any> {
  return (o as unknown as PodOwner).spec.template.spec;
}

/** A container of a workload by name (the first one without a name); throws when absent. */
export function containerOf(o: KubernetesObject, name?: string): Record<string, any> {
  const containers = (o as unknown as PodOwner).spec.template.spec.containers;
  const c = name === undefined ? containers[0] : containers.find((x) => x.name === name);
  if (!c) throw new Error(`no container ${name ?? "at all"} in ${o.metadata.name ?? "<unnamed>"}`);
  return c;
}

/** A container's env entries by name. */
export function envOf(container: Record<string, any>): Map<string, Record<string, any>> {
  return new Map(
    ((container.env ?? []) as Record<string, any>[]).map((e) => [e.name as string, e]),
  );
}

/** A run's resources as the render hands them to evaluatePolicies (inputs cloned, parent kept). */
export function renderedResources(run: StackRun): RenderedResource[] {
  return run.resources.map((r) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: structuredClone(r.inputs),
    ...(r.parent ? { parent: r.parent } : {}),
  }));
}
