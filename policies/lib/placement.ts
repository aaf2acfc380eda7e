/**
 * Cluster fit: does the stack, at its HPA maxima, fit on `nodeCount` nodes of the configured
 * shape? A quota that holds the peak is necessary, not sufficient: the pods must also land on
 * nodes.
 *
 * What it models, exactly:
 * - nodes: `nodeCount` identical nodes offering `cpu`/`memory`/`pods` (allocatable), minus the
 *   per-node `systemReserved` requests of add-ons outside the stack; zones assigned round-robin
 *   when configured (else one zone);
 * - pods: every workload's pod at baseline (HPA minimum) or peak (HPA maximum) replicas with its
 *   effective requests (containers + native sidecars vs the largest init container, LimitRange
 *   defaults applied — the same arithmetic as the quota check); DaemonSets one pod on every node,
 *   placed first; CloudNativePG instances and Poolers; CronJobs one run at peak, none at baseline;
 *   chart pods from the `resources` blocks the program writes into a chart's values (offline;
 *   under a real preview the chart's own workloads are counted instead);
 * - constraints: required pod anti-affinity of a workload against its own pods (at most one per
 *   topology domain), topology spread constraints with `whenUnsatisfiable: DoNotSchedule` against
 *   its own pods (the scheduler's skew rule: count in the domain + 1 − the smallest count ≤
 *   maxSkew), CloudNativePG `podAntiAffinityType: required`;
 * - placement: decreasing — pods sorted by their dominant share of a node, largest first — each
 *   on the feasible node with the most room left (what the default scheduler's LeastAllocated
 *   scoring prefers; plain first-fit would fill the first nodes and leave them as empty topology
 *   domains that a maxSkew spread then cannot use, which the real scheduler does not do).
 *
 * What it does not model (so it can be optimistic there): preferred (anti-)affinity and
 * ScheduleAnyway spreads (the scheduler may still honour them), node selectors/affinity, taints
 * and tolerations, anti-affinity between different workloads, priorities and preemption, volume
 * topology. First-fit-decreasing can need a node more than an optimal packing; "nodes needed" is
 * what this placement needs.
 */
import type { Quantity } from "../../components/k8s/quantity";
import { isQuantity, parseQuantity } from "../../components/k8s/quantity";
import type { PodSpec } from "./k8s";
import { TYPES, asArray, isPlainObject } from "./k8s";
import { defaultsFor, podCompute } from "./capacity";
import type { StackIndex } from "./stack";
import { replicasOf, selectorMatches } from "./stack";

export const HOSTNAME = "kubernetes.io/hostname";
export const ZONE = "topology.kubernetes.io/zone";

export interface NodeShape {
  nodeCount: number;
  /** allocatable per node */
  cpu: string;
  memory: string;
  pods: number;
  zones?: string[];
  reservedCpu?: string;
  reservedMemory?: string;
}

/** One kind of pod: its requests and how many of it run. */
export interface PodGroup {
  /** `Deployment ns/name`, `Cluster ns/pg`, `chart kube-prometheus-stack: prometheus.prometheusSpec` */
  owner: string;
  baseline: number;
  peak: number;
  /** one pod on every node (DaemonSet) */
  perNode: boolean;
  /** millicores, bytes */
  cpu: number;
  memory: number;
  /** at most `max` pods of this group per domain of `key` (required anti-affinity) */
  maxPerDomain: { key: string; max: number }[];
  /** DoNotSchedule topology spread */
  spread: { key: string; maxSkew: number }[];
}

export interface PlacedNode {
  name: string;
  zone: string;
  cpu: number;
  memory: number;
  pods: number;
  usedCpu: number;
  usedMemory: number;
  usedPods: number;
}

export interface PlacementFailure {
  pod: string;
  cpu: number;
  memory: number;
  reason: string;
}

export interface Placement {
  fits: boolean;
  nodes: PlacedNode[];
  failure?: PlacementFailure;
}

export interface ClusterFit {
  shape: NodeShape;
  groups: PodGroup[];
  /** placement at peak on `nodeCount` nodes */
  peak: Placement;
  baseline: Placement;
  /** smallest node count this placement fits on; undefined if none up to the search cap */
  nodesNeeded: { baseline?: number; peak?: number };
  /** the search cap used for nodesNeeded */
  searchedUpTo: number;
  notes: string[];
}

function milli(q: Quantity): number {
  return Number((q.num * 1000n + q.den - 1n) / q.den);
}

function bytes(q: Quantity): number {
  return Number((q.num + q.den - 1n) / q.den);
}

function quantity(v: unknown): Quantity | undefined {
  return (typeof v === "string" || typeof v === "number") && isQuantity(v)
    ? parseQuantity(v)
    : undefined;
}

export function formatMilli(m: number): string {
  return m % 1000 === 0 ? `${m / 1000}` : `${m}m`;
}

export function formatMemory(b: number): string {
  const gi = 2 ** 30;
  const mi = 2 ** 20;
  if (b % gi === 0) return `${b / gi}Gi`;
  return `${Math.ceil(b / mi)}Mi`;
}

/** Constraints of a pod spec against its own pods (labels `own`). */
function constraintsOf(
  spec: PodSpec | undefined,
  own: Record<string, string>,
): Pick<PodGroup, "maxPerDomain" | "spread"> {
  const anti = asArray(
    spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
  );
  const maxPerDomain = anti
    .filter((t) => t.topologyKey && t.labelSelector && selectorMatches(t.labelSelector, own))
    .map((t) => ({ key: t.topologyKey as string, max: 1 }));
  const spread = asArray(spec?.topologySpreadConstraints)
    .filter(
      (t) =>
        t.whenUnsatisfiable === "DoNotSchedule" &&
        t.topologyKey &&
        (!t.labelSelector || selectorMatches(t.labelSelector, own)),
    )
    .map((t) => ({ key: t.topologyKey as string, maxSkew: Math.max(1, t.maxSkew ?? 1) }));
  return { maxPerDomain, spread };
}

/** A fixed number of pods (operator-managed: no HPA, the same count at baseline and peak). */
function fixedPods(
  owner: string,
  count: number,
  compute: ReturnType<typeof podCompute>,
  constraints: Pick<PodGroup, "maxPerDomain" | "spread">,
): PodGroup {
  return {
    owner,
    baseline: count,
    peak: count,
    perNode: false,
    cpu: milli(compute["requests.cpu"]),
    memory: bytes(compute["requests.memory"]),
    ...constraints,
  };
}

/**
 * Pods a chart's values describe: every `resources` block with a CPU or memory request is a pod
 * (× a sibling `replicas`/`replicaCount`). Sidecar and init-container blocks count as pods of
 * their own, so the figure errs on the high side.
 */
function chartPods(chartName: string, values: unknown): PodGroup[] {
  const out: PodGroup[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => walk(v, [...path, String(i)]));
      return;
    }
    if (!isPlainObject(node)) return;
    const resources = node.resources;
    if (isPlainObject(resources)) {
      const requests = isPlainObject(resources.requests) ? resources.requests : {};
      const limits = isPlainObject(resources.limits) ? resources.limits : {};
      const cpu = quantity(requests.cpu) ?? quantity(limits.cpu);
      const memory = quantity(requests.memory) ?? quantity(limits.memory);
      if (cpu || memory) {
        const replicas =
          typeof node.replicas === "number"
            ? node.replicas
            : typeof node.replicaCount === "number"
              ? node.replicaCount
              : 1;
        out.push({
          owner: `chart ${chartName}: ${path.join(".") || "(top level)"}`,
          baseline: replicas,
          peak: replicas,
          perNode: false,
          cpu: cpu ? milli(cpu) : 0,
          memory: memory ? bytes(memory) : 0,
          maxPerDomain: [],
          spread: [],
        });
      }
    }
    for (const [k, v] of Object.entries(node)) if (k !== "resources") walk(v, [...path, k]);
  };
  walk(values, []);
  return out;
}

/** Every pod the stack runs, grouped by owner. */
export function podGroups(index: StackIndex, nodeCount: number): PodGroup[] {
  const groups: PodGroup[] = [];
  const gaps = new Set<string>();
  for (const w of index.workloads) {
    if (!w.template?.spec || !w.namespace) continue;
    const { baseline, peak } = replicasOf(index, w, nodeCount);
    const compute = podCompute(w.template.spec, defaultsFor(index, w.namespace), gaps, w.label);
    groups.push({
      owner: w.label,
      baseline: w.type === TYPES.daemonSet ? 1 : baseline,
      peak: w.type === TYPES.daemonSet ? 1 : peak,
      perNode: w.type === TYPES.daemonSet,
      cpu: milli(compute["requests.cpu"]),
      memory: bytes(compute["requests.memory"]),
      ...constraintsOf(w.template.spec, w.podLabels),
    });
  }
  for (const c of index.of(TYPES.cnpgCluster)) {
    const spec = (c.props.spec ?? {}) as {
      instances?: number;
      resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
      affinity?: {
        enablePodAntiAffinity?: boolean;
        podAntiAffinityType?: string;
        topologyKey?: string;
      };
    };
    const instances = spec.instances ?? 1;
    const compute = podCompute(
      { containers: [{ name: "postgres", resources: spec.resources }] },
      defaultsFor(index, c.namespace ?? "default"),
      gaps,
      c.label,
    );
    const required =
      spec.affinity?.enablePodAntiAffinity !== false &&
      spec.affinity?.podAntiAffinityType === "required";
    groups.push(
      fixedPods(c.label, instances, compute, {
        maxPerDomain: required ? [{ key: spec.affinity?.topologyKey ?? HOSTNAME, max: 1 }] : [],
        spread: [],
      }),
    );
  }
  for (const p of index.of(TYPES.cnpgPooler)) {
    const spec = (p.props.spec ?? {}) as {
      instances?: number;
      template?: { metadata?: { labels?: Record<string, string> }; spec?: PodSpec };
    };
    const instances = spec.instances ?? 1;
    const compute = podCompute(
      spec.template?.spec ?? { containers: [{ name: "pgbouncer" }] },
      defaultsFor(index, p.namespace ?? "default"),
      gaps,
      p.label,
    );
    // The operator runs the template's pod spec and labels the pods with the Pooler's name, which
    // the template's anti-affinity selects on (pkg/specs/pgbouncer).
    const own = { ...(spec.template?.metadata?.labels ?? {}), "cnpg.io/poolerName": p.objectName };
    groups.push(fixedPods(p.label, instances, compute, constraintsOf(spec.template?.spec, own)));
  }
  // A real preview expands charts into workloads (counted above); offline, read their values.
  if (!index.workloads.some((w) => w.chartManaged))
    for (const chart of index.charts) {
      const props = chart.props as { name?: string; values?: unknown };
      groups.push(...chartPods(props.name ?? chart.name, props.values));
    }
  return groups;
}

/** Per (group, topology key): pod count per domain and the smallest count, kept incrementally. */
class DomainCounts {
  private readonly counts = new Map<string, number>();
  private min = 0;
  private atMin: number;
  constructor(private readonly domains: string[]) {
    this.atMin = domains.length;
  }
  get(domain: string): number {
    return this.counts.get(domain) ?? 0;
  }
  get smallest(): number {
    return this.min;
  }
  add(domain: string): void {
    const before = this.get(domain);
    this.counts.set(domain, before + 1);
    if (before === this.min && --this.atMin === 0) {
      this.min = Math.min(...this.domains.map((d) => this.get(d)));
      this.atMin = this.domains.filter((d) => this.get(d) === this.min).length;
    }
  }
}

function domainOf(node: PlacedNode, key: string): string | undefined {
  if (key === HOSTNAME) return node.name;
  if (key === ZONE) return node.zone;
  return undefined;
}

function makeNodes(shape: NodeShape, count: number): PlacedNode[] {
  const cpu = milli(parseQuantity(shape.cpu));
  const memory = bytes(parseQuantity(shape.memory));
  const reservedCpu = shape.reservedCpu ? milli(parseQuantity(shape.reservedCpu)) : 0;
  const reservedMemory = shape.reservedMemory ? bytes(parseQuantity(shape.reservedMemory)) : 0;
  const zones = shape.zones && shape.zones.length > 0 ? shape.zones : ["(one zone)"];
  return Array.from({ length: count }, (_, i) => ({
    name: `node-${i + 1}`,
    zone: zones[i % zones.length],
    cpu,
    memory,
    pods: shape.pods,
    usedCpu: reservedCpu,
    usedMemory: reservedMemory,
    usedPods: 0,
  }));
}

function describeRequest(cpu: number, memory: number): string {
  return `${formatMilli(cpu)} CPU, ${formatMemory(memory)}`;
}

/** Places `groups` at `which` replicas on `count` nodes of `shape`, first-fit-decreasing. */
export function place(
  groups: PodGroup[],
  shape: NodeShape,
  count: number,
  which: "baseline" | "peak",
): Placement {
  const nodes = makeNodes(shape, count);
  const free = (n: PlacedNode) => ({
    cpu: n.cpu - n.usedCpu,
    memory: n.memory - n.usedMemory,
    pods: n.pods - n.usedPods,
  });
  const put = (n: PlacedNode, g: PodGroup) => {
    n.usedCpu += g.cpu;
    n.usedMemory += g.memory;
    n.usedPods += 1;
  };
  const lacks = (n: PlacedNode, g: PodGroup): string | undefined => {
    const f = free(n);
    if (f.pods < 1) return "pods";
    if (f.cpu < g.cpu) return "cpu";
    if (f.memory < g.memory) return "memory";
    return undefined;
  };
  // DaemonSets first: the scheduler places them on every node whatever else runs.
  for (const g of groups.filter((x) => x.perNode && x[which] > 0)) {
    for (const n of nodes) {
      const short = lacks(n, g);
      if (short) {
        const f = free(n);
        return {
          fits: false,
          nodes,
          failure: {
            pod: `${g.owner} (its pod on ${n.name})`,
            cpu: g.cpu,
            memory: g.memory,
            reason: `a DaemonSet pod (${describeRequest(g.cpu, g.memory)}) does not fit on ${n.name} after the add-on reservation: ${short === "pods" ? "no pod slot left" : `${formatMilli(f.cpu)} CPU, ${formatMemory(f.memory)} free`}`,
          },
        };
      }
      put(n, g);
    }
  }
  const shareCpu = nodes[0]?.cpu || 1;
  const shareMemory = nodes[0]?.memory || 1;
  const size = (g: PodGroup) => Math.max(g.cpu / shareCpu, g.memory / shareMemory);
  const ordered = groups
    .map((g, i) => ({ g, i }))
    .filter(({ g }) => !g.perNode && g[which] > 0)
    .sort((a, b) => size(b.g) - size(a.g) || a.i - b.i);
  for (const { g } of ordered) {
    const keys = new Set([...g.maxPerDomain.map((m) => m.key), ...g.spread.map((s) => s.key)]);
    const counts = new Map<string, DomainCounts>();
    for (const key of keys) {
      const domains = [...new Set(nodes.map((n) => domainOf(n, key) ?? "(unknown)"))];
      counts.set(key, new DomainCounts(domains));
    }
    const total = g[which];
    for (let replica = 1; replica <= total; replica++) {
      const blocked: Record<string, number> = {};
      const block = (why: string) => (blocked[why] = (blocked[why] ?? 0) + 1);
      let best: PlacedNode | undefined;
      let bestScore = -Infinity;
      for (const n of nodes) {
        const short = lacks(n, g);
        if (short) {
          block(`insufficient ${short}`);
          continue;
        }
        const anti = g.maxPerDomain.find((m) => {
          const d = domainOf(n, m.key);
          return d !== undefined && (counts.get(m.key)?.get(d) ?? 0) >= m.max;
        });
        if (anti) {
          block(`required anti-affinity (one per ${anti.key})`);
          continue;
        }
        const skew = g.spread.find((s) => {
          const c = counts.get(s.key);
          const d = domainOf(n, s.key);
          return c !== undefined && d !== undefined && c.get(d) + 1 - c.smallest > s.maxSkew;
        });
        if (skew) {
          block(`topology spread (maxSkew ${skew.maxSkew} on ${skew.key})`);
          continue;
        }
        // The default scheduler's LeastAllocated scoring: the node with the most room left.
        const f = free(n);
        const score = f.cpu / n.cpu + f.memory / n.memory;
        if (score > bestScore) {
          best = n;
          bestScore = score;
        }
      }
      const placed = best !== undefined;
      if (best) {
        const n = best;
        put(n, g);
        for (const key of keys) {
          const d = domainOf(n, key);
          if (d !== undefined) counts.get(key)?.add(d);
        }
      }
      if (!placed) {
        const most = nodes.reduce((best, n) => (free(n).cpu > free(best).cpu ? n : best), nodes[0]);
        const f = most ? free(most) : { cpu: 0, memory: 0, pods: 0 };
        const reasons = Object.entries(blocked)
          .map(([why, n]) => `${n} ${why}`)
          .join(", ");
        return {
          fits: false,
          nodes,
          failure: {
            pod: `${g.owner} (replica ${replica} of ${total})`,
            cpu: g.cpu,
            memory: g.memory,
            reason: `0/${nodes.length} nodes can take it (${describeRequest(g.cpu, g.memory)}): ${reasons || "no nodes"}${most ? `; most free: ${most.name} with ${formatMilli(f.cpu)} CPU, ${formatMemory(f.memory)}, ${f.pods} pod slot(s)` : ""}`,
          },
        };
      }
    }
  }
  return { fits: true, nodes };
}

/** Smallest node count on which `place` succeeds, searching from a lower bound up to `cap`. */
function nodesNeeded(
  groups: PodGroup[],
  shape: NodeShape,
  which: "baseline" | "peak",
  cap: number,
): number | undefined {
  const probe = makeNodes(shape, 1)[0];
  const perNode = groups.filter((g) => g.perNode && g[which] > 0);
  const room = {
    cpu: probe.cpu - probe.usedCpu - perNode.reduce((s, g) => s + g.cpu, 0),
    memory: probe.memory - probe.usedMemory - perNode.reduce((s, g) => s + g.memory, 0),
    pods: probe.pods - perNode.length,
  };
  if (room.cpu < 0 || room.memory < 0 || room.pods < 0) return undefined;
  const rest = groups.filter((g) => !g.perNode);
  const need = (f: (g: PodGroup) => number) => rest.reduce((s, g) => s + f(g) * g[which], 0);
  const bound = Math.max(
    1,
    room.cpu > 0 ? Math.ceil(need((g) => g.cpu) / room.cpu) : 1,
    room.memory > 0 ? Math.ceil(need((g) => g.memory) / room.memory) : 1,
    room.pods > 0 ? Math.ceil(need(() => 1) / room.pods) : 1,
    ...rest.flatMap((g) => g.maxPerDomain.filter((m) => m.key === HOSTNAME).map(() => g[which])),
  );
  for (let n = bound; n <= cap; n++) if (place(groups, shape, n, which).fits) return n;
  return undefined;
}

export function clusterFit(index: StackIndex, shape: NodeShape): ClusterFit {
  const groups = podGroups(index, shape.nodeCount);
  const cap = Math.max(shape.nodeCount * 4, 16);
  const notes: string[] = [];
  if (index.charts.length > 0 && !index.workloads.some((w) => w.chartManaged))
    notes.push(
      "chart pods are read from the resources blocks the program writes into chart values (each block one pod; sidecars count as pods of their own)",
    );
  return {
    shape,
    groups,
    peak: place(groups, shape, shape.nodeCount, "peak"),
    baseline: place(groups, shape, shape.nodeCount, "baseline"),
    nodesNeeded: {
      baseline: nodesNeeded(groups, shape, "baseline", cap),
      peak: nodesNeeded(groups, shape, "peak", cap),
    },
    searchedUpTo: cap,
    notes,
  };
}

/** The cluster-fit section of the report: nodes needed, then each node's use at peak. */
export function formatClusterFit(fit: ClusterFit): string {
  const s = fit.shape;
  const needed = (n: number | undefined) => (n === undefined ? `> ${fit.searchedUpTo}` : String(n));
  const lines = [
    `${s.nodeCount} node(s) of ${formatMilli(milli(parseQuantity(s.cpu)))} CPU / ${formatMemory(bytes(parseQuantity(s.memory)))} / ${s.pods} pods` +
      (s.reservedCpu || s.reservedMemory
        ? `, ${s.reservedCpu ?? "0"} CPU / ${s.reservedMemory ?? "0"} reserved per node for add-ons`
        : "") +
      (s.zones ? `, zones ${s.zones.join(", ")}` : ""),
    `nodes needed: baseline ${needed(fit.nodesNeeded.baseline)}, peak ${needed(fit.nodesNeeded.peak)}` +
      ` — peak ${fit.peak.fits ? "fits" : "DOES NOT FIT"} on ${s.nodeCount}`,
  ];
  if (fit.peak.failure)
    lines.push(
      `first pod that does not fit at peak: ${fit.peak.failure.pod}: ${fit.peak.failure.reason}`,
    );
  const header = ["node", "zone", "cpu requested", "memory requested", "pods"];
  const rows = fit.peak.nodes.map((n) => [
    n.name,
    n.zone,
    `${formatMilli(n.usedCpu)} / ${formatMilli(n.cpu)} (${Math.round((n.usedCpu / n.cpu) * 100)}%)`,
    `${formatMemory(n.usedMemory)} / ${formatMemory(n.memory)} (${Math.round((n.usedMemory / n.memory) * 100)}%)`,
    `${n.usedPods} / ${n.pods}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  lines.push(line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line));
  for (const n of fit.notes) lines.push(`note: ${n}`);
  return lines.join("\n");
}
