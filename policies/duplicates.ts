/**
 * Duplicates family (stack policies): what the API server holds once must be declared once.
 *
 * - `unique-object-identity`: two resources of the stack with one cluster identity (API group,
 *   kind, namespace, name; see lib/identity.ts) are one object in the cluster. Pulumi sees two
 *   resources and the second create fails ("already exists"), or, with server-side apply and
 *   upserts, the two silently overwrite each other on every `up`. Objects Helm charts render count
 *   like the program's own (under `pulumi preview` they are resources of the stack too).
 * - `one-hpa-per-target`: two HorizontalPodAutoscalers on one scaleTargetRef fight over its
 *   replicas (the controller does not merge them: each scales to its own answer, and recent
 *   controllers mark both `AmbiguousSelector` and stop scaling that target, kubernetes#112011). Judged on
 *   the reference alone, so it also holds when the target is not in the stack (a Deployment a
 *   chart or another stack creates).
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { describeResource, isPlainObject } from "./lib/k8s";
import type { ObjectIdentity } from "./lib/identity";
import { describeIdentity, groupOfType, identityOf } from "./lib/identity";
import { knownValue } from "./lib/known";
import type { OctoPolicy } from "./lib/policy";

function keyOf(id: ObjectIdentity): string {
  return `${id.group}|${id.kind}|${id.namespace ?? ""}|${id.name}`;
}

/** Groups `items` by `key`, keeping only keys shared by two or more, in first-seen order. */
function shared<T>(items: Iterable<[string, T]>): T[][] {
  const groups = new Map<string, T[]>();
  for (const [key, item] of items) {
    const list = groups.get(key);
    if (list) list.push(item);
    else groups.set(key, [item]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

/** How a message names one resource of the stack: its Pulumi name (unique), which the user greps. */
function pulumiName(r: PolicyResource): string {
  return `"${r.name}"`;
}

export const uniqueObjectIdentity: StackValidationPolicy = {
  name: "unique-object-identity",
  description:
    "No two resources of the stack are the same Kubernetes object (API group, kind, namespace, name), including objects the installed charts render: the API server keeps one, and the two declarations overwrite or fail on each other.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const ids: [string, { r: PolicyResource; id: ObjectIdentity }][] = [];
    for (const r of args.resources) {
      const id = identityOf(r.type, r.props);
      if (id) ids.push([keyOf(id), { r, id }]);
    }
    for (const group of shared(ids)) {
      const { id } = group[0];
      reportViolation(
        `${describeIdentity(id)} is declared ${group.length} times (Pulumi resources ${group.map((g) => pulumiName(g.r)).join(", ")}); the cluster holds one object per group/kind/namespace/name: remove or rename all but one`,
        group[1].r.urn,
      );
    }
  },
};

export const oneHpaPerTarget: StackValidationPolicy = {
  name: "one-hpa-per-target",
  description:
    "At most one HorizontalPodAutoscaler scales each target (scaleTargetRef kind and name in the HPA's namespace), whether or not the target is in the stack: two HPAs on one workload fight over its replicas.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const hpas: [string, { r: PolicyResource; target: string }][] = [];
    for (const r of args.resources) {
      if (groupOfType(r.type) !== "autoscaling" || !r.type.endsWith(":HorizontalPodAutoscaler"))
        continue;
      const id = identityOf(r.type, r.props);
      const spec = knownValue(r.props, "spec");
      const ref = isPlainObject(spec) ? knownValue(spec, "scaleTargetRef") : undefined;
      if (!id || !isPlainObject(ref)) continue;
      const kind = knownValue(ref, "kind");
      const name = knownValue(ref, "name");
      if (typeof kind !== "string" || typeof name !== "string") continue;
      hpas.push([
        `${id.namespace ?? ""}|${kind}|${name}`,
        { r, target: `${kind} ${id.namespace ?? "default"}/${name}` },
      ]);
    }
    for (const group of shared(hpas)) {
      const names = group.map((g) => describeResource(g.r.type, g.r.props, g.r.name));
      reportViolation(
        `${group[0].target} is scaled by ${group.length} HorizontalPodAutoscalers (${names.join(", ")}); each computes its own replica count and the controller stops scaling an ambiguous target: keep one`,
        group[1].r.urn,
      );
    }
  },
};

export const duplicatePolicies: OctoPolicy[] = [uniqueObjectIdentity, oneHpaPerTarget];
