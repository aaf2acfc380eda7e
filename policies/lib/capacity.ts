/**
 * Capacity arithmetic: what every namespace of a stack asks of its ResourceQuota at steady state
 * (baseline: HPA minima) and at peak (HPA maxima, DaemonSets × nodes, Jobs and CronJobs running),
 * in exact quantities. The `quota-capacity-at-peak` policy and the capacity report share it.
 */
import type { Quantity } from "../../components/k8s/quantity";
import {
  ZERO,
  add,
  compare,
  formatCount,
  isQuantity,
  multiply,
  parseQuantity,
  scale,
  subtract,
  toNumber,
} from "../../components/k8s/quantity";
import type { Container, PodSpec, ResourceList } from "./k8s";
import { TYPES, asArray, metaOf } from "./k8s";
import type { Indexed, StackIndex } from "./stack";
import { replicasOf } from "./stack";

export const QUOTA_KEYS = [
  "requests.cpu",
  "requests.memory",
  "limits.cpu",
  "limits.memory",
  "pods",
  "persistentvolumeclaims",
  "requests.storage",
] as const;
export type QuotaKey = (typeof QUOTA_KEYS)[number];

function isQuotaKey(key: string): key is QuotaKey {
  return (QUOTA_KEYS as readonly string[]).includes(key);
}

/** ResourceQuota spellings that mean the same thing as a QuotaKey. */
const QUOTA_ALIASES: Record<string, QuotaKey> = { cpu: "requests.cpu", memory: "requests.memory" };

export type Totals = Record<QuotaKey, Quantity>;

function zeroTotals(): Totals {
  return Object.fromEntries(QUOTA_KEYS.map((k) => [k, ZERO])) as Totals;
}

/** ceil(q × scale) / scale as a decimal with up to `decimals` places (trailing zeros dropped). */
function decimalUp(q: Quantity, unit: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const negative = q.num < 0n;
  const num = negative ? -q.num : q.num;
  const den = q.den * unit;
  const scaled = (num * scale + den - 1n) / den;
  const whole = scaled / scale;
  const fraction = (scaled % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/**
 * One unit per resource in every capacity message and table cell, so figures compare at a
 * glance and paste back into config as they are (each is a valid Kubernetes quantity): CPU in
 * cores (to the millicore, `1.525`), memory in Mi, storage in Gi (to 1/100), counts plain.
 * Each is rounded up: a peak never reads smaller than it is.
 */
export function formatQuota(key: QuotaKey, q: Quantity): string {
  if (key.endsWith("cpu")) return decimalUp(q, 1n, 3);
  if (key.endsWith("memory")) return `${decimalUp(q, 1n << 20n, 0)}Mi`;
  if (key === "requests.storage") return `${decimalUp(q, 1n << 30n, 2)}Gi`;
  return formatCount(q);
}

/** The unit formatQuota prints a key in, for table headers and messages. */
export function quotaUnit(key: QuotaKey): string {
  if (key.endsWith("cpu")) return "cores";
  if (key.endsWith("memory")) return "Mi";
  if (key === "requests.storage") return "Gi";
  return "count";
}

/**
 * The label the foundation tier puts on each namespace's ResourceQuota; with it a message names
 * the config key that sets the quota, `octollm:quotas.<role>.quota.<key>` (components/config.ts).
 */
export const NAMESPACE_ROLE_LABEL = "octollm.io/namespace-role";

/** `octollm:quotas.<role>.quota.<key>` for a quota the program made, else the object's field. */
export function quotaConfigKey(
  row: Pick<CapacityRow, "namespace" | "quotas" | "quotaRole">,
  key: QuotaKey,
): string {
  if (row.quotaRole) return `octollm:quotas.${row.quotaRole}.quota.${key}`;
  return `ResourceQuota ${row.namespace}/${row.quotas[0] ?? "?"} spec.hard["${key}"]`;
}

export interface CapacityCell {
  baseline: string;
  peak: string;
  /** the quota's hard value (the tightest, if several quotas set it); absent when unlimited */
  hard?: string;
  /** hard − peak; negative when the peak does not fit */
  headroom?: string;
  baselineValue: number;
  peakValue: number;
  hardValue?: number;
  headroomValue?: number;
  /** peak ≤ hard (true when the quota does not limit this key) */
  fits: boolean;
}

export interface CapacityContributor {
  resource: string;
  baselineReplicas: number;
  peakReplicas: number;
  /** the per-replica share and the peak total, per key */
  peak: Partial<Record<QuotaKey, string>>;
}

export interface CapacityRow {
  namespace: string;
  /** names of the ResourceQuotas in the namespace (none: the namespace is unbounded) */
  quotas: string[];
  /** the `octollm.io/namespace-role` of the namespace's quota (system, workloads, reflex) */
  quotaRole?: string;
  nodeCount: number;
  cells: Record<QuotaKey, CapacityCell>;
  /** every key with a hard value fits at peak */
  fits: boolean;
  contributors: CapacityContributor[];
  /** what the arithmetic could not see (unexpanded Helm charts, containers without limits) */
  notes: string[];
  /** exact totals, for the policy's message */
  exact: { baseline: Totals; peak: Totals; hard: Partial<Totals> };
}

interface Defaults {
  request: ResourceList;
  limit: ResourceList;
}

function q(v: string | number | undefined): Quantity | undefined {
  return v !== undefined && isQuantity(v) ? parseQuantity(v) : undefined;
}

/** Requests and limits of one container after LimitRange defaulting (what admission stores). */
function containerCompute(
  c: Pick<Container, "resources">,
  d: Defaults,
  gaps: Set<string>,
  who: string,
) {
  const out = {
    "requests.cpu": ZERO,
    "requests.memory": ZERO,
    "limits.cpu": ZERO,
    "limits.memory": ZERO,
  };
  for (const kind of ["cpu", "memory"] as const) {
    const limit = q(c.resources?.limits?.[kind]) ?? q(d.limit[kind]);
    // Kubernetes defaults a missing request to the limit set on the container, else the LimitRange's.
    const request =
      q(c.resources?.requests?.[kind]) ??
      q(c.resources?.limits?.[kind]) ??
      q(d.request[kind]) ??
      limit;
    if (request) out[`requests.${kind}`] = request;
    else gaps.add(`${who} has no requests.${kind} and the namespace has no LimitRange default`);
    if (limit) out[`limits.${kind}`] = limit;
    else gaps.add(`${who} has no limits.${kind} and the namespace has no LimitRange default`);
  }
  return out;
}

type Compute = ReturnType<typeof containerCompute>;
const COMPUTE_KEYS = ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"] as const;

/** Effective pod requests/limits: containers (+ native sidecars) vs the largest init container. */
export function podCompute(
  spec: PodSpec | undefined,
  d: Defaults,
  gaps: Set<string>,
  who: string,
): Compute {
  const sum = {
    "requests.cpu": ZERO,
    "requests.memory": ZERO,
    "limits.cpu": ZERO,
    "limits.memory": ZERO,
  };
  const sidecars = { ...sum };
  const inits: Compute[] = [];
  for (const c of asArray(spec?.initContainers)) {
    const r = containerCompute(c, d, gaps, `${who} init container "${c.name}"`);
    if (c.restartPolicy === "Always")
      for (const k of COMPUTE_KEYS) sidecars[k] = add(sidecars[k], r[k]);
    else inits.push(r);
  }
  for (const c of asArray(spec?.containers)) {
    const r = containerCompute(c, d, gaps, `${who} container "${c.name}"`);
    for (const k of COMPUTE_KEYS) sum[k] = add(sum[k], r[k]);
  }
  const out = { ...sum };
  for (const k of COMPUTE_KEYS) {
    out[k] = add(sum[k], sidecars[k]);
    for (const i of inits) {
      const withSidecars = add(i[k], sidecars[k]);
      if (compare(withSidecars, out[k]) > 0) out[k] = withSidecars;
    }
  }
  return out;
}

interface PvcTemplate {
  spec?: { resources?: { requests?: { storage?: string } } };
}

function storageOf(templates: PvcTemplate[]): { count: number; storage: Quantity } {
  let storage = ZERO;
  for (const t of templates)
    storage = add(storage, q(t.spec?.resources?.requests?.storage) ?? ZERO);
  return { count: templates.length, storage };
}

/** One unit of demand: a pod's compute + its PVCs, times baseline and peak replicas. */
interface Demand {
  resource: Indexed;
  baseline: number;
  peak: number;
  compute: Compute;
  pvcs: number;
  storage: Quantity;
  pods: number;
}

export function defaultsFor(index: StackIndex, namespace: string): Defaults {
  const d: Defaults = { request: {}, limit: {} };
  for (const lr of index.inNamespace(TYPES.limitRange, namespace)) {
    const items = (
      lr.props.spec as {
        limits?: { type?: string; default?: ResourceList; defaultRequest?: ResourceList }[];
      }
    )?.limits;
    for (const item of asArray(items)) {
      if (item.type !== "Container") continue;
      Object.assign(d.limit, item.default ?? {});
      Object.assign(d.request, item.defaultRequest ?? {});
    }
  }
  return d;
}

function demandsOf(
  index: StackIndex,
  namespace: string,
  nodeCount: number,
  gaps: Set<string>,
): Demand[] {
  const d = defaultsFor(index, namespace);
  const out: Demand[] = [];
  for (const w of index.workloadsIn(namespace)) {
    const { baseline, peak } = replicasOf(index, w, nodeCount);
    const compute = podCompute(w.template?.spec, d, gaps, w.label);
    const vct =
      w.type === TYPES.statefulSet
        ? storageOf(
            asArray(
              (w.props.spec as { volumeClaimTemplates?: PvcTemplate[] }).volumeClaimTemplates,
            ),
          )
        : { count: 0, storage: ZERO };
    out.push({
      resource: w,
      baseline,
      peak,
      compute,
      pvcs: vct.count,
      storage: vct.storage,
      pods: 1,
    });
  }
  for (const c of index.inNamespace(TYPES.cnpgCluster, namespace)) {
    const spec = (c.props.spec ?? {}) as {
      instances?: number;
      resources?: Container["resources"];
      storage?: { size?: string };
      walStorage?: { size?: string };
    };
    const instances = spec.instances ?? 1;
    const compute = podCompute(
      { containers: [{ name: "postgres", resources: spec.resources }] },
      d,
      gaps,
      c.label,
    );
    const volumes = [spec.storage?.size, spec.walStorage?.size].filter(
      (s): s is string => s !== undefined,
    );
    let storage = ZERO;
    for (const v of volumes) storage = add(storage, q(v) ?? ZERO);
    out.push({
      resource: c,
      baseline: instances,
      peak: instances,
      compute,
      pvcs: Math.max(volumes.length, 1),
      storage,
      pods: 1,
    });
  }
  for (const p of index.inNamespace(TYPES.cnpgPooler, namespace)) {
    const spec = (p.props.spec ?? {}) as { instances?: number; template?: { spec?: PodSpec } };
    const instances = spec.instances ?? 1;
    const podSpec = spec.template?.spec ?? { containers: [{ name: "pgbouncer" }] };
    out.push({
      resource: p,
      baseline: instances,
      peak: instances,
      compute: podCompute(podSpec, d, gaps, p.label),
      pvcs: 0,
      storage: ZERO,
      pods: 1,
    });
  }
  for (const pvc of index.inNamespace(TYPES.pvc, namespace)) {
    const s = storageOf([pvc.props]);
    const zero = {
      "requests.cpu": ZERO,
      "requests.memory": ZERO,
      "limits.cpu": ZERO,
      "limits.memory": ZERO,
    };
    out.push({
      resource: pvc,
      baseline: 1,
      peak: 1,
      compute: zero,
      pvcs: 1,
      storage: s.storage,
      pods: 0,
    });
  }
  return out;
}

function totalsOf(demands: Demand[], which: "baseline" | "peak"): Totals {
  const t = zeroTotals();
  for (const d of demands) {
    const n = d[which];
    for (const k of COMPUTE_KEYS) t[k] = add(t[k], scale(d.compute[k], n));
    t.pods = add(t.pods, scale({ num: 1n, den: 1n }, n * d.pods));
    t.persistentvolumeclaims = add(
      t.persistentvolumeclaims,
      scale({ num: 1n, den: 1n }, n * d.pvcs),
    );
    t["requests.storage"] = add(t["requests.storage"], scale(d.storage, n));
  }
  return t;
}

/** Capacity of every namespace that has a ResourceQuota or runs something. */
export function computeCapacity(index: StackIndex, nodeCount: number): CapacityRow[] {
  const namespaces = new Set<string>([
    ...index.namespacesWithWorkloads(),
    ...index.of(TYPES.resourceQuota).map((r) => r.namespace ?? "default"),
    ...index.of(TYPES.pvc).map((r) => r.namespace ?? "default"),
  ]);
  const rows: CapacityRow[] = [];
  for (const namespace of [...namespaces].sort()) {
    const gaps = new Set<string>();
    const demands = demandsOf(index, namespace, nodeCount, gaps);
    const baseline = totalsOf(demands, "baseline");
    const peak = totalsOf(demands, "peak");
    const quotas = index.inNamespace(TYPES.resourceQuota, namespace);
    const hard: Partial<Totals> = {};
    for (const quota of quotas) {
      const spec = (quota.props.spec ?? {}) as { hard?: Record<string, string | number> };
      for (const [rawKey, value] of Object.entries(spec.hard ?? {})) {
        const key: string = QUOTA_ALIASES[rawKey] ?? rawKey;
        if (!isQuotaKey(key)) continue;
        const v = q(value);
        if (v && (hard[key] === undefined || compare(v, hard[key]) < 0)) hard[key] = v;
      }
    }
    const cells = {} as Record<QuotaKey, CapacityCell>;
    let fits = true;
    for (const key of QUOTA_KEYS) {
      const h = hard[key];
      const headroom = h ? subtract(h, peak[key]) : undefined;
      const cellFits = !headroom || headroom.num >= 0n;
      if (!cellFits) fits = false;
      cells[key] = {
        baseline: formatQuota(key, baseline[key]),
        peak: formatQuota(key, peak[key]),
        ...(h ? { hard: formatQuota(key, h), hardValue: toNumber(h) } : {}),
        ...(headroom
          ? {
              headroom:
                headroom.num < 0n
                  ? `-${formatQuota(key, { num: -headroom.num, den: headroom.den })}`
                  : formatQuota(key, headroom),
              headroomValue: toNumber(headroom),
            }
          : {}),
        baselineValue: toNumber(baseline[key]),
        peakValue: toNumber(peak[key]),
        fits: cellFits,
      };
    }
    const notes = [...gaps];
    for (const chart of index.charts) {
      const chartNs = (chart.props as { namespace?: string }).namespace;
      if (chartNs === namespace)
        notes.push(
          `Helm chart ${chart.name} is not expanded offline: its pods and volumes are not counted here`,
        );
    }
    const contributors = demands
      .filter((d) => d.peak > 0)
      .map((d) => ({
        resource: d.resource.label,
        baselineReplicas: d.baseline,
        peakReplicas: d.peak,
        peak: Object.fromEntries(
          QUOTA_KEYS.map((k) => {
            const per =
              k === "pods"
                ? { num: BigInt(d.pods), den: 1n }
                : k === "persistentvolumeclaims"
                  ? { num: BigInt(d.pvcs), den: 1n }
                  : k === "requests.storage"
                    ? d.storage
                    : d.compute[k];
            return [k, formatQuota(k, scale(per, d.peak))];
          }),
        ),
      }));
    const role = quotas
      .map((r) => metaOf(r.props).labels?.[NAMESPACE_ROLE_LABEL])
      .find((l): l is string => typeof l === "string" && l !== "");
    rows.push({
      namespace,
      quotas: quotas.map((r) => r.objectName),
      ...(role ? { quotaRole: role } : {}),
      nodeCount,
      cells,
      fits,
      contributors,
      notes,
      exact: { baseline, peak, hard },
    });
  }
  return rows;
}

/** The share of the quota above which the report warns (quota-headroom-at-peak's default). */
export const QUOTA_WARN_PERCENT = 90;

/**
 * Keys of a row that fit their quota at peak but use more than `percent` of it (exact: peak ×
 * 100 > hard × percent): one more replica, a larger request or a rolling update's surge pod
 * may not fit.
 */
export function keysAbove(row: CapacityRow, percent: number): QuotaKey[] {
  return QUOTA_KEYS.filter((key) => {
    const hard = row.exact.hard[key];
    if (!hard || !row.cells[key].fits) return false;
    const peak = row.exact.peak[key];
    return compare(scale(peak, 100), multiply(hard, parseQuantity(String(percent)))) > 0;
  });
}

/**
 * A plain-text table: one line per namespace and key, baseline / peak / hard / headroom, each
 * resource in one unit (named in the resource column); OVER where the peak does not fit, WARN
 * where it uses more than `warnAbovePercent` of the quota.
 */
export function formatCapacityTable(
  rows: CapacityRow[],
  warnAbovePercent = QUOTA_WARN_PERCENT,
): string {
  const header = ["namespace", "resource", "baseline", "peak", "quota", "headroom", ""];
  const lines: string[][] = [header];
  for (const row of rows) {
    const warn = new Set(keysAbove(row, warnAbovePercent));
    for (const key of QUOTA_KEYS) {
      const c = row.cells[key];
      if (c.hard === undefined && c.peakValue === 0) continue;
      const pct = c.hardValue ? ` (${Math.round((c.peakValue / c.hardValue) * 100)}%)` : "";
      lines.push([
        row.namespace,
        `${key} (${quotaUnit(key)})`,
        c.baseline,
        c.peak + pct,
        c.hard ?? "-",
        c.headroom ?? "-",
        c.fits ? (warn.has(key) ? `WARN >${warnAbovePercent}%` : "") : "OVER",
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  const render = (l: string[]) =>
    l
      .map((cell, i) => cell.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  const out = [
    render(lines[0]),
    widths
      .map((w) => "-".repeat(w))
      .join("  ")
      .trimEnd(),
    ...lines.slice(1).map(render),
  ];
  const notes = rows.flatMap((r) => r.notes.map((n) => `note (${r.namespace}): ${n}`));
  return [...out, ...notes].join("\n");
}
