/**
 * One source of truth for the cluster's nodes. The program reads them from the stack file
 * (`octollm:kubernetes.nodeCount`, `.node`, `.systemReserved`); under `pulumi preview` the policy
 * pack reads only its `--policy-pack-config` file, so the two are kept equal by a check that the
 * render and the tests run: any difference fails, naming both files and both keys.
 *
 * It takes the policy configuration as given, whichever file it was read from, so it does not
 * depend on how a stack finds its policy configuration.
 */
import type { PlatformConfig } from "../components/config";
import { compareQuantities } from "../components/k8s/quantity";
import type { PolicyPackConfig } from "../policies/evaluate";
import { reconcileConfig } from "../policies/evaluate";
import { CLUSTER_FIT, QUOTA_CAPACITY, QUOTA_HEADROOM } from "../policies/capacity";
import { API_VERSION_DEPRECATED, API_VERSION_REMOVED } from "../policies/api-versions";

export class NodeFactsDriftError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "NodeFactsDriftError";
  }
}

/** Every node fact on which `stackFile` and `policyFile` disagree. */
export function nodeFactsDrift(
  stackFile: string,
  platform: PlatformConfig,
  policyFile: string,
  policyConfig: PolicyPackConfig,
): string[] {
  const reconciled = new Map(reconcileConfig(policyConfig).map((r) => [r.policy.name, r.config]));
  const k = platform.kubernetes;
  const facts: [string, unknown, string, string, unknown][] = [
    ["nodeCount", k.nodeCount, QUOTA_CAPACITY, "nodeCount", undefined],
    ["nodeCount", k.nodeCount, QUOTA_HEADROOM, "nodeCount", undefined],
    ["nodeCount", k.nodeCount, CLUSTER_FIT, "nodeCount", undefined],
    ["node.cpu", k.node.cpu, CLUSTER_FIT, "nodeCpu", undefined],
    ["node.memory", k.node.memory, CLUSTER_FIT, "nodeMemory", undefined],
    ["node.pods", k.node.pods, CLUSTER_FIT, "nodePods", undefined],
    ["node.zones", k.node.zones ?? [], CLUSTER_FIT, "zones", []],
    ["systemReserved.cpu", k.systemReserved.cpu, CLUSTER_FIT, "reservedCpu", undefined],
    ["systemReserved.memory", k.systemReserved.memory, CLUSTER_FIT, "reservedMemory", undefined],
    // not a node fact, but the same kind of fact: what the cluster is, read by the pack
    ["version", k.version, API_VERSION_REMOVED, "kubernetesVersion", undefined],
    ["version", k.version, API_VERSION_DEPRECATED, "kubernetesVersion", undefined],
  ];
  const out: string[] = [];
  for (const [stackKey, stackValue, policy, policyKey, absent] of facts) {
    const policyValue = reconciled.get(policy)?.[policyKey] ?? absent;
    if (same(stackValue, policyValue)) continue;
    out.push(
      `octollm:kubernetes.${stackKey} is ${JSON.stringify(stackValue)} in ${stackFile} but ${policy}.${policyKey} is ${JSON.stringify(policyValue)} in ${policyFile}: keep them equal (under pulumi preview the pack reads only ${policyFile})`,
    );
  }
  return out;
}

function same(a: unknown, b: unknown): boolean {
  if ((typeof a === "string" || typeof a === "number") && typeof b === typeof a) {
    if (typeof a === "number") return a === b;
    try {
      return compareQuantities(a, b as string) === 0;
    } catch {
      return a === b;
    }
  }
  return JSON.stringify(a) === JSON.stringify(b);
}
