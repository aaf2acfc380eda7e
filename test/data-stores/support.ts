/** Shared helpers of the data-store tests. */
import type { KubernetesObject, RegisteredResource, StackRun } from "../harness";
import { configOf, findObject, objectsOf, renderStack } from "../harness";

// Config and pod helpers are the harness's; re-exported for these tests.
export { configOf, containerOf, envOf, rawStackConfig as rawConfigOf } from "../harness";

export type Obj = KubernetesObject & Record<string, any>;

/** The workloads namespace of a stack. */
export function workloadsNs(stack: string): string {
  return configOf(stack).namespaces.workloads;
}

/** A rendered object of the workloads namespace. */
export async function objectOf(
  stack: string,
  kind: string,
  name: string,
  overrides?: Record<string, unknown>,
): Promise<Obj> {
  const objects = await objectsOf(stack, overrides);
  return findObject(objects, kind, name, workloadsNs(stack)) as Obj;
}

export async function maybeObject(
  stack: string,
  kind: string,
  name: string,
  overrides?: Record<string, unknown>,
): Promise<Obj | undefined> {
  const objects = await objectsOf(stack, overrides);
  return objects.find(
    (o) =>
      o.kind === kind && o.metadata.name === name && o.metadata.namespace === workloadsNs(stack),
  ) as Obj | undefined;
}

/** The registered resource (with its options) of a Kubernetes object by kind and name. */
export async function resourceOf(
  stack: string,
  type: string,
  name: string,
  overrides?: Record<string, unknown>,
): Promise<{ run: StackRun; resource: RegisteredResource }> {
  const run = await renderStack(stack, overrides);
  const resource = run.resources.find(
    (r) => r.type === type && (r.inputs.metadata as { name?: string } | undefined)?.name === name,
  );
  if (!resource) throw new Error(`no ${type} ${name} in ${stack}`);
  return { run, resource };
}

export function containerNames(o: Obj): string[] {
  return (o.spec.template.spec.containers as { name: string }[]).map((c) => c.name);
}

/** TCP ports a NetworkPolicy rule list admits from / to a peer matching `pred`. */
export function ruleFor(
  rules: Record<string, any>[],
  pred: (peer: Record<string, any>) => boolean,
  direction: "from" | "to",
): Record<string, any> | undefined {
  return rules.find((r) => ((r[direction] ?? []) as Record<string, any>[]).some(pred));
}

export function portsOf(rule: Record<string, any> | undefined): number[] {
  return ((rule?.ports ?? []) as { port: number }[]).map((p) => p.port).sort((a, b) => a - b);
}

/**
 * Validates `obj` with a kubernetes-models class (its JSON schema). The models' `validate` comes
 * from @kubernetes-models/base, whose types this project's module resolution does not see.
 */
export function validateWith(Model: new (data: never) => unknown, obj: unknown): void {
  (new Model(obj as never) as { validate(): void }).validate();
}
