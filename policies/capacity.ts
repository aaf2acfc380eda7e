/**
 * Capacity family: every namespace's ResourceQuota holds its workloads at peak — HPA maxima,
 * DaemonSets on every node, StatefulSet volume claims × replicas, CloudNativePG instances × their
 * resources and volumes — or the policy says which quota key is short, and by how much.
 */
import { subtract } from "../components/k8s/quantity";
import type { OctoPolicy } from "./lib/policy";
import type { CapacityRow } from "./lib/capacity";
import type { QuotaKey } from "./lib/capacity";
import {
  QUOTA_KEYS,
  QUOTA_WARN_PERCENT,
  computeCapacity,
  formatQuota,
  keysAbove,
  quotaConfigKey,
} from "./lib/capacity";
import type { StackResource } from "./lib/stack";
import { indexStack } from "./lib/stack";
import type { ClusterFit, NodeShape } from "./lib/placement";
import { clusterFit } from "./lib/placement";

export interface CapacityConfig {
  /** schedulable nodes: a DaemonSet runs one pod on each */
  nodeCount?: number;
}

export const QUOTA_CAPACITY = "quota-capacity-at-peak";

/** The capacity rows of a stack (what the policy checks, and what the report prints). */
export function capacityRows(
  resources: readonly StackResource[],
  nodeCount: number,
): CapacityRow[] {
  return computeCapacity(indexStack(resources), nodeCount);
}

/** A formatted figure with its unit where the figure does not carry one (cores). */
function withUnit(key: QuotaKey, text: string): string {
  return key.endsWith("cpu") ? `${text} cores` : text;
}

/**
 * "requests.cpu at peak 55 cores exceeds the quota 32 cores by 23 cores: raise
 * octollm:quotas.workloads.quota.requests.cpu to at least 55, or lower the largest: …" for each
 * key that does not fit.
 */
export function shortfalls(row: CapacityRow): string[] {
  const out: string[] = [];
  for (const key of QUOTA_KEYS) {
    const hard = row.exact.hard[key];
    const cell = row.cells[key];
    if (!hard || cell.fits) continue;
    const over = subtract(row.exact.peak[key], hard);
    const top = row.contributors
      .filter((c) => c.peak[key] !== undefined && c.peak[key] !== "0")
      .map((c) => ({ c, v: c.peak[key] as string }))
      .sort((a, b) => cellValue(b.v) - cellValue(a.v))
      .slice(0, 3)
      .map(({ c, v }) => `${c.resource} ${withUnit(key, v)} at ${c.peakReplicas} replica(s)`);
    out.push(
      `${key} at peak ${withUnit(key, cell.peak)} exceeds the quota ${withUnit(key, cell.hard ?? "?")} by ${withUnit(key, formatQuota(key, over))}: raise ${quotaConfigKey(row, key)} to at least ${cell.peak}, or lower the largest: ${top.join("; ")}`,
    );
  }
  return out;
}

/** Orders contributor strings by size (they are formatted quantities). */
function cellValue(text: string): number {
  const m = /^([\d.]+)(m|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(text);
  if (!m) return 0;
  const f: Record<string, number> = {
    m: 1e-3,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    Pi: 2 ** 50,
    Ei: 2 ** 60,
  };
  return Number(m[1]) * (m[2] ? f[m[2]] : 1);
}

/**
 * The node count every capacity policy reads (DaemonSet pods at peak, the nodes to place on):
 * one value, `octollm:kubernetes.nodeCount`, written into each policy's config and held equal to
 * the stack file by scripts/node-facts.ts.
 */
const NODE_COUNT_SCHEMA = {
  type: "integer",
  minimum: 1,
  default: 1,
  description: "= octollm:kubernetes.nodeCount (schedulable nodes: DaemonSet pods at peak)",
} as const;

export const quotaCapacityAtPeak: OctoPolicy = {
  name: QUOTA_CAPACITY,
  description:
    "Each namespace's ResourceQuota holds its workloads at peak: HPA maxReplicas, DaemonSets × nodeCount, Jobs/CronJobs running, StatefulSet claims × replicas, CloudNativePG instances × resources and volumes.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      nodeCount: NODE_COUNT_SCHEMA,
    },
  },
  validateStack: (args, reportViolation) => {
    const nodeCount = args.getConfig<CapacityConfig>().nodeCount ?? 1;
    const index = indexStack(args.resources);
    for (const row of capacityRows(args.resources, nodeCount)) {
      if (row.fits) continue;
      const quota = index.inNamespace("kubernetes:core/v1:ResourceQuota", row.namespace)[0];
      reportViolation(
        `namespace ${row.namespace}: at peak (HPA maxima, DaemonSets × ${nodeCount} node(s)) the workloads do not fit ResourceQuota ${row.quotas.join(", ")}: ${shortfalls(row).join("; ")}`,
        quota?.urn,
      );
    }
  },
};

export const QUOTA_HEADROOM = "quota-headroom-at-peak";

export interface QuotaHeadroomConfig {
  nodeCount?: number;
  warnAbovePercent?: number;
}

/**
 * Advisory: a quota that holds the peak with less than 10% to spare. At that margin one more
 * replica, a resized request or a rolling update's surge pod (admitted against the same quota)
 * may be refused; the warning names the key to raise before that happens.
 */
export const quotaHeadroomAtPeak: OctoPolicy = {
  name: QUOTA_HEADROOM,
  description:
    "Warns (advisory) where a namespace's workloads at peak use more than warnAbovePercent of a ResourceQuota key, naming the config key that sets it.",
  enforcementLevel: "advisory",
  configSchema: {
    properties: {
      nodeCount: NODE_COUNT_SCHEMA,
      warnAbovePercent: {
        type: "number",
        minimum: 1,
        maximum: 100,
        default: QUOTA_WARN_PERCENT,
        description: "warn above this share of a quota key at peak",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const cfg = args.getConfig<QuotaHeadroomConfig>();
    const nodeCount = cfg.nodeCount ?? 1;
    const percent = cfg.warnAbovePercent ?? QUOTA_WARN_PERCENT;
    const index = indexStack(args.resources);
    for (const row of capacityRows(args.resources, nodeCount)) {
      const quota = index.inNamespace("kubernetes:core/v1:ResourceQuota", row.namespace)[0];
      for (const key of keysAbove(row, percent)) {
        const cell = row.cells[key];
        const used = Math.round((cell.peakValue / (cell.hardValue ?? 1)) * 1000) / 10;
        reportViolation(
          `namespace ${row.namespace}: ${key} at peak ${withUnit(key, cell.peak)} is ${used}% of the quota ${withUnit(key, cell.hard ?? "?")} (above ${percent}%; headroom ${withUnit(key, cell.headroom ?? "?")}): one more replica or a rolling update's surge pod may not fit; raise ${quotaConfigKey(row, key)}`,
          quota?.urn,
        );
      }
    }
  },
};

export const CLUSTER_FIT = "cluster-fit-at-peak";

/** cluster-fit-at-peak's config: the node facts of the stack (kept equal to its stack file). */
export interface ClusterFitConfig {
  nodeCount?: number;
  nodeCpu?: string;
  nodeMemory?: string;
  nodePods?: number;
  reservedCpu?: string;
  reservedMemory?: string;
  zones?: string[];
}

export const CLUSTER_FIT_DEFAULTS = {
  nodeCount: 1,
  nodeCpu: "4",
  nodeMemory: "8Gi",
  nodePods: 110,
  reservedCpu: "0",
  reservedMemory: "0",
};

export function nodeShapeOf(cfg: ClusterFitConfig): NodeShape {
  return {
    nodeCount: cfg.nodeCount ?? CLUSTER_FIT_DEFAULTS.nodeCount,
    cpu: cfg.nodeCpu ?? CLUSTER_FIT_DEFAULTS.nodeCpu,
    memory: cfg.nodeMemory ?? CLUSTER_FIT_DEFAULTS.nodeMemory,
    pods: cfg.nodePods ?? CLUSTER_FIT_DEFAULTS.nodePods,
    reservedCpu: cfg.reservedCpu ?? CLUSTER_FIT_DEFAULTS.reservedCpu,
    reservedMemory: cfg.reservedMemory ?? CLUSTER_FIT_DEFAULTS.reservedMemory,
    ...(cfg.zones && cfg.zones.length > 0 ? { zones: cfg.zones } : {}),
  };
}

/** The cluster-fit figures of a stack (what the policy checks, and what the report prints). */
export function clusterFitOf(
  resources: readonly StackResource[],
  cfg: ClusterFitConfig,
): ClusterFit {
  return clusterFit(indexStack(resources), nodeShapeOf(cfg));
}

const quantityPattern = "^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$";

export const clusterFitAtPeak: OctoPolicy = {
  name: CLUSTER_FIT,
  description:
    "Every pod of the stack at peak (HPA maxima, DaemonSets on every node, CloudNativePG instances, chart pods the program sizes) fits on nodeCount nodes of the configured shape, honouring required anti-affinity and DoNotSchedule topology spread (first-fit-decreasing placement).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      nodeCount: NODE_COUNT_SCHEMA,
      nodeCpu: {
        type: "string",
        pattern: quantityPattern,
        default: CLUSTER_FIT_DEFAULTS.nodeCpu,
        description: "= octollm:kubernetes.node.cpu (allocatable)",
      },
      nodeMemory: {
        type: "string",
        pattern: quantityPattern,
        default: CLUSTER_FIT_DEFAULTS.nodeMemory,
        description: "= octollm:kubernetes.node.memory (allocatable)",
      },
      nodePods: {
        type: "integer",
        minimum: 1,
        default: CLUSTER_FIT_DEFAULTS.nodePods,
        description: "= octollm:kubernetes.node.pods",
      },
      reservedCpu: {
        type: "string",
        pattern: quantityPattern,
        default: CLUSTER_FIT_DEFAULTS.reservedCpu,
        description: "= octollm:kubernetes.systemReserved.cpu",
      },
      reservedMemory: {
        type: "string",
        pattern: quantityPattern,
        default: CLUSTER_FIT_DEFAULTS.reservedMemory,
        description: "= octollm:kubernetes.systemReserved.memory",
      },
      zones: {
        type: "array",
        items: { type: "string" },
        description: "= octollm:kubernetes.node.zones",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const cfg = args.getConfig<ClusterFitConfig>();
    const fit = clusterFitOf(args.resources, cfg);
    if (fit.peak.fits) return;
    const n = fit.shape.nodeCount;
    const needed = fit.nodesNeeded.peak;
    const fix =
      needed === undefined
        ? `no node count up to ${fit.searchedUpTo} holds it: raise the node shape (octollm:kubernetes.node.cpu / .memory / .pods, with cluster-fit-at-peak.nodeCpu / nodeMemory / nodePods in the policy config) or lower the pod's requests`
        : `peak needs ${needed} node(s): raise octollm:kubernetes.nodeCount to ≥ ${needed} (and nodeCount in the policy config's quota-capacity-at-peak, quota-headroom-at-peak and cluster-fit-at-peak)`;
    reportViolation(
      `at peak the stack's pods do not fit on ${n} node(s) (octollm:kubernetes.nodeCount = ${n}): first pod that does not fit: ${fit.peak.failure?.pod ?? "?"}: ${fit.peak.failure?.reason ?? "?"}; ${fix}`,
    );
  },
};

export const capacityPolicies: OctoPolicy[] = [
  quotaCapacityAtPeak,
  quotaHeadroomAtPeak,
  clusterFitAtPeak,
];
