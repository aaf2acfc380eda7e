/**
 * Test harness: runs the real program for a stack under `pulumi.runtime.setMocks` (project
 * `octollm`, the stack's name, its real `Pulumi.<stack>.yaml`, `KUBECONFIG` unset) and gives
 * back every registered resource. Runs are cached per stack + override, since a stack's run is
 * deterministic and several test files look at the same one.
 */
import { ConfigError, parsePlatformConfig } from "../components/config";
import type { RegisteredResource, StackRun } from "../scripts/offline";
import { runStack, listStacks } from "../scripts/offline";
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

/**
 * The parse-time problems of `environment`'s defaults with raw `octollm:*` overrides (objects
 * JSON-encoded as Pulumi does); empty when the configuration is accepted.
 */
export function configProblems(
  overrides: Record<string, unknown>,
  environment = "production",
): string[] {
  const raw: Record<string, string> = { "octollm:environment": environment };
  for (const [k, v] of Object.entries(overrides))
    raw[k] = typeof v === "string" ? v : JSON.stringify(v);
  try {
    parsePlatformConfig(raw);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
