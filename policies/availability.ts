/**
 * Availability family: enough replicas, spread across nodes, updates that keep capacity, PDBs
 * that protect without blocking drains, and HPAs that can actually scale.
 */
import { TYPES, asArray, containersOf } from "./lib/k8s";
import type { OctoPolicy } from "./lib/policy";
import { validateType } from "./lib/policy";
import type { Indexed, LabelSelector } from "./lib/stack";
import { describeSelector, indexStack, replicasOf, selectorMatches } from "./lib/stack";
import { reportUnlessExempt } from "./lib/exemptions";

const REPLICATED = new Set<string>([TYPES.deployment, TYPES.statefulSet, TYPES.replicaSet]);

interface ReplicaConfig {
  minReplicas?: number;
}

export const workloadReplicas: OctoPolicy = {
  name: "workload-replicas",
  description:
    "Deployments and StatefulSets run at least minReplicas pods at steady state (their HPA minimum when autoscaled), so one node loss is not an outage.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { minReplicas: { type: "integer", minimum: 1, default: 2 } },
  },
  validateStack: (args, reportViolation) => {
    const min = args.getConfig<ReplicaConfig>().minReplicas ?? 2;
    const index = indexStack(args.resources);
    for (const w of index.workloads) {
      if (w.chartManaged) continue;
      if (w.type !== TYPES.deployment && w.type !== TYPES.statefulSet) continue;
      const { baseline, hpa } = replicasOf(index, w, 1);
      if (baseline >= min) continue;
      const source = hpa
        ? `its HPA ${hpa.objectName} has minReplicas ${baseline}`
        : `replicas is ${baseline}`;
      reportUnlessExempt(
        "workload-replicas",
        w.label,
        w.props,
        w.template,
        [`${source}; needs ≥ ${min}`],
        (m) => reportViolation(m, w.urn),
      );
    }
    for (const c of index.of(TYPES.cnpgCluster)) {
      const instances = (c.props.spec as { instances?: number } | undefined)?.instances ?? 1;
      if (instances < min)
        reportViolation(`${c.label}: instances is ${instances}; needs ≥ ${min}`, c.urn);
    }
  },
};

interface SpreadConfig {
  topologyKeys?: string[];
}

const DEFAULT_TOPOLOGY_KEYS = ["kubernetes.io/hostname", "topology.kubernetes.io/zone"];

export const podAntiAffinity: OctoPolicy = {
  name: "pod-anti-affinity",
  description:
    "Workloads that can run more than one replica spread them across nodes (pod anti-affinity or a topology spread constraint on a node/zone key).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      topologyKeys: { type: "array", items: { type: "string" }, default: DEFAULT_TOPOLOGY_KEYS },
    },
  },
  validateStack: (args, reportViolation) => {
    const keys = args.getConfig<SpreadConfig>().topologyKeys ?? DEFAULT_TOPOLOGY_KEYS;
    const index = indexStack(args.resources);
    for (const w of index.workloads) {
      if (w.chartManaged || !REPLICATED.has(w.type)) continue;
      const { peak } = replicasOf(index, w, 1);
      if (peak < 2) continue;
      const spec = w.template?.spec;
      const anti = spec?.affinity?.podAntiAffinity;
      const antiKeys = [
        ...asArray(anti?.requiredDuringSchedulingIgnoredDuringExecution).map((t) => t.topologyKey),
        ...asArray(anti?.preferredDuringSchedulingIgnoredDuringExecution).map(
          (t) => t.podAffinityTerm?.topologyKey,
        ),
      ];
      const spreadKeys = asArray(spec?.topologySpreadConstraints).map((t) => t.topologyKey);
      if ([...antiKeys, ...spreadKeys].some((k) => k !== undefined && keys.includes(k))) continue;
      reportUnlessExempt(
        "pod-anti-affinity",
        w.label,
        w.props,
        w.template,
        [
          `runs up to ${peak} replicas with no pod anti-affinity or topology spread on ${keys.join(" or ")}`,
        ],
        (m) => reportViolation(m, w.urn),
      );
    }
    // CloudNativePG spreads instances itself unless told not to (spec.affinity).
    for (const c of index.of(TYPES.cnpgCluster)) {
      const spec = (c.props.spec ?? {}) as {
        instances?: number;
        affinity?: { enablePodAntiAffinity?: boolean; topologyKey?: string };
      };
      if ((spec.instances ?? 1) < 2) continue;
      const affinity = spec.affinity ?? {};
      if (affinity.enablePodAntiAffinity === false)
        reportViolation(
          `${c.label}: ${spec.instances} instances with affinity.enablePodAntiAffinity: false`,
          c.urn,
        );
      else if (affinity.topologyKey && !keys.includes(affinity.topologyKey))
        reportViolation(
          `${c.label}: spreads instances on ${affinity.topologyKey}, not on ${keys.join(" or ")}`,
          c.urn,
        );
    }
  },
};

export const rollingUpdateKeepsCapacity: OctoPolicy = {
  name: "rolling-update-keeps-capacity",
  description:
    "Deployments roll out with maxUnavailable 0 and a surge, so an update never drops below the serving replica count (no Recreate).",
  enforcementLevel: "mandatory",
  validateResource: validateType(
    TYPES.deployment,
    (props, label, _args, report) => {
      const strategy = (
        (props.spec ?? {}) as {
          strategy?: {
            type?: string;
            rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string };
          };
        }
      ).strategy;
      if (strategy?.type === "Recreate") {
        report(
          `${label}: strategy Recreate stops every pod before starting new ones; use RollingUpdate with maxUnavailable 0`,
        );
        return;
      }
      const ru = strategy?.rollingUpdate;
      const unavailable = ru?.maxUnavailable;
      if (unavailable === undefined)
        report(
          `${label}: rollingUpdate.maxUnavailable is unset (defaults to 25%); set 0 so updates keep capacity`,
        );
      else if (!(unavailable === 0 || unavailable === "0" || unavailable === "0%"))
        report(
          `${label}: rollingUpdate.maxUnavailable is ${unavailable}; set 0 so updates keep capacity`,
        );
      const surge = ru?.maxSurge;
      if (unavailable !== undefined && (surge === 0 || surge === "0" || surge === "0%"))
        report(`${label}: maxSurge 0 with maxUnavailable 0 cannot make progress`);
    },
    false,
  ),
};

interface PdbSpec {
  selector?: LabelSelector;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
}

function percent(v: number | string | undefined): number | undefined {
  if (typeof v !== "string") return undefined;
  const m = /^(\d+)%$/.exec(v.trim());
  return m ? Number(m[1]) : undefined;
}

/** A synthetic pod label set for operator-made pods (CloudNativePG instances). */
function cnpgPodLabels(cluster: Indexed): Record<string, string>[] {
  return ["primary", "replica"].map((role) => ({
    "cnpg.io/cluster": cluster.objectName,
    "cnpg.io/podRole": "instance",
    "cnpg.io/instanceRole": role,
    role,
  }));
}

export const pdbCoverage: OctoPolicy = {
  name: "pdb-coverage",
  description:
    "Every workload that can run more than one replica (Deployments, StatefulSets, ReplicaSets) is selected by exactly one PodDisruptionBudget, and no PDB blocks every eviction (maxUnavailable 0, minAvailable 100%, or minAvailable ≥ the pods it selects: workloads at steady state, bare Pods, CloudNativePG instances).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    const pdbs = index.of(TYPES.pdb);
    const covering = (ns: string | undefined, labels: Record<string, string>) =>
      index
        .inNamespace(TYPES.pdb, ns)
        .filter((p) =>
          selectorMatches(
            (p.props.spec as PdbSpec)?.selector ?? { matchLabels: { "?": "?" } },
            labels,
          ),
        );
    // Pods each PDB protects at steady state: every replica of every workload it selects (a
    // Deployment, StatefulSet or ReplicaSet at its baseline, a bare Pod as one, CloudNativePG
    // instances), summed — that is what the disruption controller counts as expected pods.
    const protectedPods = new Map<Indexed, number>();
    const protect = (p: Indexed, n: number) =>
      protectedPods.set(p, (protectedPods.get(p) ?? 0) + n);
    for (const w of index.workloads) {
      if ((!REPLICATED.has(w.type) && w.type !== TYPES.pod) || !w.template) continue;
      const { baseline, peak } = replicasOf(index, w, 1);
      const pdbsHere = covering(w.namespace, w.podLabels);
      for (const p of pdbsHere) protect(p, baseline);
      if (peak < 2 || w.chartManaged) continue;
      if (pdbsHere.length === 0)
        reportViolation(
          `${w.label}: runs up to ${peak} replicas but no PodDisruptionBudget selects its pods (${describeSelector({ matchLabels: w.podLabels })})`,
          w.urn,
        );
      else if (pdbsHere.length > 1)
        reportViolation(
          `${w.label}: its pods are selected by ${pdbsHere.length} PodDisruptionBudgets (${pdbsHere.map((p) => p.objectName).join(", ")}); the eviction API refuses pods with more than one`,
          w.urn,
        );
    }
    for (const c of index.of(TYPES.cnpgCluster)) {
      const spec = (c.props.spec ?? {}) as { instances?: number; enablePDB?: boolean };
      const instances = spec.instances ?? 1;
      // An instance is either the primary or a replica: count each PDB once per instance set.
      const selecting = new Set(
        cnpgPodLabels(c).flatMap((labels) => covering(c.namespace, labels)),
      );
      for (const p of selecting) protect(p, instances);
      // The operator creates its own PDBs unless enablePDB is false.
      if (instances >= 2 && spec.enablePDB === false && selecting.size === 0)
        reportViolation(
          `${c.label}: ${instances} instances with enablePDB: false and no PodDisruptionBudget of ours`,
          c.urn,
        );
    }
    for (const p of pdbs) {
      const spec = (p.props.spec ?? {}) as PdbSpec;
      if (
        spec.maxUnavailable === 0 ||
        spec.maxUnavailable === "0" ||
        percent(spec.maxUnavailable) === 0
      ) {
        reportViolation(
          `${p.label}: maxUnavailable ${String(spec.maxUnavailable)} blocks every voluntary eviction (node drains hang)`,
          p.urn,
        );
        continue;
      }
      if (spec.minAvailable === undefined) continue;
      // 100% blocks every eviction whatever the PDB selects, in this stack or outside it.
      if (percent(spec.minAvailable) === 100) {
        reportViolation(
          `${p.label}: minAvailable 100% blocks every voluntary eviction (node drains hang)`,
          p.urn,
        );
        continue;
      }
      const floor = protectedPods.get(p);
      const min =
        typeof spec.minAvailable === "number"
          ? spec.minAvailable
          : /^\d+$/.test(spec.minAvailable)
            ? Number(spec.minAvailable)
            : undefined;
      if (floor === undefined || min === undefined) continue;
      if (min >= floor)
        reportViolation(
          `${p.label}: minAvailable ${min} is not below the ${floor} pod(s) it protects at steady state, so it blocks every voluntary eviction`,
          p.urn,
        );
    }
  },
};

interface HpaConfig {
  minReplicasFloor?: number;
}

interface HpaSpec {
  minReplicas?: number;
  maxReplicas?: number;
  scaleTargetRef?: { kind?: string; name?: string };
  metrics?: { type?: string; resource?: { name?: string; target?: { type?: string } } }[];
  targetCPUUtilizationPercentage?: number;
}

export const hpaSanity: OctoPolicy = {
  name: "hpa-sanity",
  description:
    "HPAs have minReplicas ≤ maxReplicas and at least the stack's floor, one HPA per target, and a target whose containers request the resources its utilisation metrics are relative to.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: { minReplicasFloor: { type: "integer", minimum: 1, default: 2 } },
  },
  validateStack: (args, reportViolation) => {
    const floor = args.getConfig<HpaConfig>().minReplicasFloor ?? 2;
    const index = indexStack(args.resources);
    for (const h of [...index.of(TYPES.hpa), ...index.of(TYPES.hpaV1)]) {
      if (h.chartManaged) continue;
      const spec = (h.props.spec ?? {}) as HpaSpec;
      const min = spec.minReplicas ?? 1;
      const max = spec.maxReplicas;
      if (max === undefined) reportViolation(`${h.label}: has no maxReplicas`, h.urn);
      else if (min > max)
        reportViolation(`${h.label}: minReplicas ${min} is above maxReplicas ${max}`, h.urn);
      if (min < floor)
        reportViolation(
          `${h.label}: minReplicas ${min} is below this stack's floor of ${floor}`,
          h.urn,
        );
      const ref = spec.scaleTargetRef;
      const target = index.workloadByName(h.namespace, ref?.kind, ref?.name);
      if (!target) continue; // backend-references reports a missing target
      if (
        target.type === TYPES.daemonSet ||
        target.type === TYPES.job ||
        target.type === TYPES.cronJob
      ) {
        reportViolation(`${h.label}: targets ${target.label}, which an HPA cannot scale`, h.urn);
        continue;
      }
      const others = index.hpasFor(target).filter((o) => o !== h);
      if (others.length > 0)
        reportViolation(
          `${h.label}: ${target.label} is also scaled by ${others.map((o) => o.objectName).join(", ")}`,
          h.urn,
        );
      const utilisation = new Set<string>();
      if (spec.targetCPUUtilizationPercentage !== undefined) utilisation.add("cpu");
      for (const m of asArray(spec.metrics))
        if (
          m.type === "Resource" &&
          m.resource?.name &&
          (m.resource.target?.type ?? "Utilization") === "Utilization"
        )
          utilisation.add(m.resource.name);
      if (utilisation.size === 0 && h.type === TYPES.hpaV1) utilisation.add("cpu"); // v1 defaults to 80% CPU
      for (const resource of utilisation) {
        const missing = containersOf(target.template?.spec)
          .filter((r) => r.role === "container")
          .filter((r) => r.container.resources?.requests?.[resource] === undefined)
          .map((r) => r.container.name);
        if (missing.length > 0)
          reportViolation(
            `${h.label}: scales ${target.label} on ${resource} utilisation, but container(s) ${missing.join(", ")} request no ${resource}, so the utilisation cannot be computed`,
            h.urn,
          );
      }
    }
  },
};

export const availabilityPolicies: OctoPolicy[] = [
  workloadReplicas,
  podAntiAffinity,
  rollingUpdateKeepsCapacity,
  pdbCoverage,
  hpaSanity,
];
