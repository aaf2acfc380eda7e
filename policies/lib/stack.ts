/**
 * One index of a whole stack, built once per `resources` array and shared by every stack policy
 * (the offline evaluator hands the same array to all of them, so the 10× benchmark stack is
 * indexed once, not once per policy).
 */
import type { PodTemplate, Props } from "./k8s";
import {
  TYPES,
  WORKLOAD_TYPES,
  describeResource,
  isChartManaged,
  isPlainObject,
  metaOf,
  podTemplateOf,
} from "./k8s";
import { CLUSTER_SCOPED_KINDS } from "./identity";

/** What both @pulumi/policy's PolicyResource and the offline adapter give a stack policy. */
export interface StackResource {
  type: string;
  props: Record<string, unknown>;
  urn: string;
  name: string;
}

export interface Indexed {
  type: string;
  props: Props;
  urn: string;
  name: string;
  /** `Kind namespace/name` */
  label: string;
  /** metadata.name, or the Pulumi name when the program lets Pulumi auto-name it */
  objectName: string;
  /** metadata.namespace, `default` when unset (cluster-scoped kinds: undefined) */
  namespace: string | undefined;
  /** rendered by a Helm chart (see isChartManaged) */
  chartManaged: boolean;
}

export interface Workload extends Indexed {
  template: PodTemplate | undefined;
  podLabels: Record<string, string>;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export class StackIndex {
  readonly all: Indexed[] = [];
  readonly byUrn = new Map<string, Indexed>();
  readonly byType = new Map<string, Indexed[]>();
  readonly namespaces = new Map<string, Indexed>();
  readonly workloads: Workload[] = [];
  /** `namespace/Kind/name` → HPAs that scale it */
  readonly hpaByTarget = new Map<string, Indexed[]>();
  /** Helm charts are not expanded offline; their namespaces are noted in capacity reports */
  readonly charts: Indexed[] = [];

  constructor(resources: readonly StackResource[]) {
    for (const r of resources) {
      const props = (isPlainObject(r.props) ? r.props : {}) as Props;
      const meta = metaOf(props);
      const kind = typeof props.kind === "string" ? props.kind : (r.type.split(":").pop() ?? "");
      const namespaced = r.type.startsWith("kubernetes:") && !CLUSTER_SCOPED_KINDS.has(kind);
      const entry: Indexed = {
        type: r.type,
        props,
        urn: r.urn,
        name: r.name,
        label: describeResource(r.type, props, r.name),
        objectName: meta.name ?? r.name,
        namespace: namespaced ? (meta.namespace ?? "default") : undefined,
        chartManaged: isChartManaged(r.urn),
      };
      this.all.push(entry);
      if (r.urn) this.byUrn.set(r.urn, entry);
      let list = this.byType.get(r.type);
      if (!list) this.byType.set(r.type, (list = []));
      list.push(entry);
      if (r.type === TYPES.namespace) this.namespaces.set(entry.objectName, entry);
      if (r.type.startsWith("kubernetes:helm.sh/")) this.charts.push(entry);
      if (WORKLOAD_TYPES.has(r.type)) {
        const template = podTemplateOf(r.type, props);
        this.workloads.push({ ...entry, template, podLabels: template?.metadata?.labels ?? {} });
      }
    }
    for (const hpa of [...this.of(TYPES.hpa), ...this.of(TYPES.hpaV1)]) {
      const ref = (hpa.props.spec as { scaleTargetRef?: { kind?: string; name?: string } })
        ?.scaleTargetRef;
      if (!ref?.kind || !ref.name) continue;
      const key = `${hpa.namespace}/${ref.kind}/${ref.name}`;
      const list = this.hpaByTarget.get(key) ?? [];
      list.push(hpa);
      this.hpaByTarget.set(key, list);
    }
  }

  /** `type namespace` → objects, and `namespace` → workloads: built on first use */
  private byTypeNs: Map<string, Indexed[]> | undefined;
  private workloadsByNs: Map<string | undefined, Workload[]> | undefined;
  /** `namespace/Kind/name` → workload */
  private workloadByRef: Map<string, Workload> | undefined;

  of(type: string): Indexed[] {
    return this.byType.get(type) ?? [];
  }

  /** Objects of `type` in `namespace`. */
  inNamespace(type: string, namespace: string | undefined): Indexed[] {
    if (!this.byTypeNs) {
      this.byTypeNs = new Map();
      for (const r of this.all) {
        const key = `${r.type} ${r.namespace ?? ""}`;
        const list = this.byTypeNs.get(key);
        if (list) list.push(r);
        else this.byTypeNs.set(key, [r]);
      }
    }
    return this.byTypeNs.get(`${type} ${namespace ?? ""}`) ?? [];
  }

  /** Workloads in `namespace`. */
  workloadsIn(namespace: string | undefined): Workload[] {
    if (!this.workloadsByNs) {
      this.workloadsByNs = new Map();
      for (const w of this.workloads) {
        const list = this.workloadsByNs.get(w.namespace);
        if (list) list.push(w);
        else this.workloadsByNs.set(w.namespace, [w]);
      }
    }
    return this.workloadsByNs.get(namespace) ?? [];
  }

  /** The workload a `{kind, name}` reference (HPA scaleTargetRef) names in `namespace`. */
  workloadByName(
    namespace: string | undefined,
    kind: string | undefined,
    name: string | undefined,
  ): Workload | undefined {
    if (!this.workloadByRef) {
      this.workloadByRef = new Map();
      for (const w of this.workloads) {
        const k = typeof w.props.kind === "string" ? w.props.kind : w.type.split(":").pop();
        this.workloadByRef.set(`${w.namespace}/${k}/${w.objectName}`, w);
      }
    }
    return this.workloadByRef.get(`${namespace}/${kind}/${name}`);
  }

  hpasFor(w: Indexed): Indexed[] {
    const kind = typeof w.props.kind === "string" ? w.props.kind : w.type.split(":").pop();
    return this.hpaByTarget.get(`${w.namespace}/${kind}/${w.objectName}`) ?? [];
  }

  /** Workloads whose pod template labels a selector matches, in one namespace. */
  podsSelectedBy(namespace: string | undefined, selector: LabelSelector): Workload[] {
    return this.workloadsIn(namespace).filter(
      (w) => w.template && selectorMatches(selector, w.podLabels),
    );
  }

  /** Namespaces that run pods: workloads, operator clusters, plus any standalone PVC. */
  namespacesWithWorkloads(): Set<string> {
    const out = new Set<string>();
    for (const w of this.workloads) if (w.namespace && !w.chartManaged) out.add(w.namespace);
    for (const c of [...this.of(TYPES.cnpgCluster), ...this.of(TYPES.cnpgPooler)])
      if (c.namespace) out.add(c.namespace);
    return out;
  }

  /** The `pod-security.kubernetes.io/enforce` level of a namespace, if the stack declares it. */
  enforcedLevel(namespace: string | undefined): string | undefined {
    if (!namespace) return undefined;
    return metaOf(this.namespaces.get(namespace)?.props ?? {}).labels?.[
      "pod-security.kubernetes.io/enforce"
    ];
  }
}

const cache = new WeakMap<readonly StackResource[], StackIndex>();

export function indexStack(resources: readonly StackResource[]): StackIndex {
  let index = cache.get(resources);
  if (!index) {
    index = new StackIndex(resources);
    cache.set(resources, index);
  }
  return index;
}

/** Kubernetes label selector semantics; an empty selector matches everything. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
        if (!has || !values.includes(labels[e.key])) return false;
        break;
      case "NotIn":
        if (has && values.includes(labels[e.key])) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A plain `{k: v}` Service selector as a LabelSelector. */
export function mapSelector(selector: Record<string, string> | undefined): LabelSelector {
  return { matchLabels: selector ?? {} };
}

export function describeSelector(selector: LabelSelector | undefined): string {
  const parts = Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector?.matchExpressions ?? [])
    parts.push(`${e.key} ${e.operator}${e.values ? ` (${e.values.join(",")})` : ""}`);
  return parts.length > 0 ? parts.join(", ") : "(everything)";
}

/**
 * Replicas a workload runs at steady state (`baseline`: HPA minimum, else spec.replicas) and at
 * peak (`peak`: HPA maximum). DaemonSets run one pod per node; Jobs and CronJobs one pod each
 * (their parallelism if set), a CronJob none at baseline.
 */
export function replicasOf(
  index: StackIndex,
  w: Indexed,
  nodeCount: number,
): { baseline: number; peak: number; hpa?: Indexed } {
  const spec = w.props.spec ?? {};
  switch (w.type) {
    case TYPES.daemonSet:
      return { baseline: nodeCount, peak: nodeCount };
    case TYPES.pod:
      return { baseline: 1, peak: 1 };
    case TYPES.job: {
      const p = typeof spec.parallelism === "number" ? spec.parallelism : 1;
      return { baseline: p, peak: p };
    }
    case TYPES.cronJob: {
      const jobSpec = (spec.jobTemplate as { spec?: { parallelism?: number } } | undefined)?.spec;
      return { baseline: 0, peak: jobSpec?.parallelism ?? 1 };
    }
    default: {
      const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
      const hpa = index.hpasFor(w)[0];
      if (!hpa) return { baseline: replicas, peak: replicas };
      const h = (hpa.props.spec ?? {}) as { minReplicas?: number; maxReplicas?: number };
      const min = typeof h.minReplicas === "number" ? h.minReplicas : 1;
      const max = typeof h.maxReplicas === "number" ? h.maxReplicas : min;
      return { baseline: min, peak: Math.max(max, min), hpa };
    }
  }
}
