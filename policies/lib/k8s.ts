/**
 * Plain-JSON views of the Kubernetes objects the policies read, and the helpers every policy
 * module shares: what kind a Pulumi resource is, how to name it in a message, where its pod
 * template is. Policies see resource *inputs* (validateResource) or outputs (validateStack); both
 * are the Kubernetes object itself: apiVersion, kind, metadata, spec / data / stringData.
 */
import * as k8s from "@pulumi/kubernetes";
import { knownStrings } from "./known";

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ResourceList {
  cpu?: string | number;
  memory?: string | number;
  [key: string]: string | number | undefined;
}

export interface ContainerPort {
  name?: string;
  containerPort?: number;
  hostPort?: number;
  protocol?: string;
}

export interface Probe {
  httpGet?: { port?: number | string; path?: string };
  tcpSocket?: { port?: number | string };
  grpc?: { port?: number };
  exec?: { command?: string[] };
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string; localhostProfile?: string };
  seLinuxOptions?: { type?: string; user?: string; role?: string; level?: string };
  appArmorProfile?: { type?: string };
  procMount?: string;
  windowsOptions?: { hostProcess?: boolean };
  sysctls?: { name: string; value?: string }[];
  fsGroup?: number;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name?: string; key?: string; optional?: boolean };
    configMapKeyRef?: { name?: string; key?: string; optional?: boolean };
  };
}

export interface Container {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  env?: EnvVar[];
  envFrom?: {
    secretRef?: { name?: string; optional?: boolean };
    configMapRef?: { name?: string; optional?: boolean };
  }[];
  resources?: { requests?: ResourceList; limits?: ResourceList };
  securityContext?: SecurityContext;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  /** native sidecars: an init container with restartPolicy Always runs for the pod's life */
  restartPolicy?: string;
}

export interface Volume {
  name: string;
  [source: string]: unknown;
}

export interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  volumes?: Volume[];
  securityContext?: SecurityContext;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  restartPolicy?: string;
  affinity?: {
    podAntiAffinity?: {
      requiredDuringSchedulingIgnoredDuringExecution?: {
        topologyKey?: string;
        labelSelector?: {
          matchLabels?: Record<string, string>;
          matchExpressions?: { key: string; operator: string; values?: string[] }[];
        };
      }[];
      preferredDuringSchedulingIgnoredDuringExecution?: {
        podAffinityTerm?: { topologyKey?: string };
      }[];
    };
  };
  topologySpreadConstraints?: {
    topologyKey?: string;
    whenUnsatisfiable?: string;
    maxSkew?: number;
    labelSelector?: {
      matchLabels?: Record<string, string>;
      matchExpressions?: { key: string; operator: string; values?: string[] }[];
    };
  }[];
  imagePullSecrets?: { name?: string }[];
}

export interface PodTemplate {
  metadata?: ObjectMeta;
  spec?: PodSpec;
}

export type Props = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: Record<string, unknown>;
};

/** The `__pulumiType` @pulumi/kubernetes sets on each resource class (not in its .d.ts). */
function tokenOf(resourceClass: unknown): string {
  const token = (resourceClass as { __pulumiType?: unknown }).__pulumiType;
  if (typeof token !== "string") throw new Error("a @pulumi/kubernetes class without __pulumiType");
  return token;
}

/** Pulumi type tokens, taken from the @pulumi/kubernetes classes (what isType compares). */
export const TYPES = {
  namespace: tokenOf(k8s.core.v1.Namespace),
  pod: tokenOf(k8s.core.v1.Pod),
  service: tokenOf(k8s.core.v1.Service),
  configMap: tokenOf(k8s.core.v1.ConfigMap),
  secret: tokenOf(k8s.core.v1.Secret),
  resourceQuota: tokenOf(k8s.core.v1.ResourceQuota),
  limitRange: tokenOf(k8s.core.v1.LimitRange),
  pvc: tokenOf(k8s.core.v1.PersistentVolumeClaim),
  serviceAccount: tokenOf(k8s.core.v1.ServiceAccount),
  deployment: tokenOf(k8s.apps.v1.Deployment),
  statefulSet: tokenOf(k8s.apps.v1.StatefulSet),
  daemonSet: tokenOf(k8s.apps.v1.DaemonSet),
  replicaSet: tokenOf(k8s.apps.v1.ReplicaSet),
  job: tokenOf(k8s.batch.v1.Job),
  cronJob: tokenOf(k8s.batch.v1.CronJob),
  hpa: tokenOf(k8s.autoscaling.v2.HorizontalPodAutoscaler),
  hpaV1: tokenOf(k8s.autoscaling.v1.HorizontalPodAutoscaler),
  pdb: tokenOf(k8s.policy.v1.PodDisruptionBudget),
  networkPolicy: tokenOf(k8s.networking.v1.NetworkPolicy),
  ingress: tokenOf(k8s.networking.v1.Ingress),
  // Custom resources: k8s.apiextensions.CustomResource registers `kubernetes:<apiVersion>:<kind>`.
  cnpgCluster: "kubernetes:postgresql.cnpg.io/v1:Cluster",
  cnpgPooler: "kubernetes:postgresql.cnpg.io/v1:Pooler",
  serviceMonitor: "kubernetes:monitoring.coreos.com/v1:ServiceMonitor",
  podMonitor: "kubernetes:monitoring.coreos.com/v1:PodMonitor",
  certificate: "kubernetes:cert-manager.io/v1:Certificate",
} as const;

/** Kinds whose objects carry a pod template (or are a pod). */
export const WORKLOAD_TYPES: ReadonlySet<string> = new Set([
  TYPES.pod,
  TYPES.deployment,
  TYPES.statefulSet,
  TYPES.daemonSet,
  TYPES.replicaSet,
  TYPES.job,
  TYPES.cronJob,
]);

/** Workloads whose containers run for the life of the pod (as opposed to run-to-completion). */
export const LONG_RUNNING_TYPES: ReadonlySet<string> = new Set([
  TYPES.deployment,
  TYPES.statefulSet,
  TYPES.daemonSet,
  TYPES.replicaSet,
]);

/** `kubernetes:<group>/<version>:<Kind>` for an object; `core` stands for the empty group. */
export function typeTokenOf(apiVersion: string, kind: string): string {
  const groupVersion = apiVersion.includes("/") ? apiVersion : `core/${apiVersion}`;
  return `kubernetes:${groupVersion}:${kind}`;
}

/** The kind named by a type token (`kubernetes:apps/v1:Deployment` → `Deployment`). */
export function kindOfType(type: string): string {
  const at = type.lastIndexOf(":");
  return at >= 0 ? type.slice(at + 1) : type;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function metaOf(props: Props): ObjectMeta {
  return isPlainObject(props.metadata) ? props.metadata : {};
}

/** `Kind namespace/name` (cluster-scoped: `Kind name`), the resource label of every report. */
export function describeResource(type: string, props: Props, logicalName?: string): string {
  const meta = metaOf(props);
  const kind = typeof props.kind === "string" ? props.kind : kindOfType(type);
  const name = meta.name ?? logicalName ?? "?";
  return meta.namespace ? `${kind} ${meta.namespace}/${name}` : `${kind} ${name}`;
}

/** The pod template of a workload (for a Pod, the Pod itself). */
export function podTemplateOf(type: string, props: Props): PodTemplate | undefined {
  const spec = isPlainObject(props.spec) ? props.spec : undefined;
  if (!spec) return undefined;
  if (type === TYPES.pod) return { metadata: metaOf(props), spec: spec };
  if (type === TYPES.cronJob) {
    const jobTemplate = spec.jobTemplate as { spec?: { template?: PodTemplate } } | undefined;
    return jobTemplate?.spec?.template;
  }
  if (WORKLOAD_TYPES.has(type)) return spec.template as PodTemplate | undefined;
  return undefined;
}

export interface ContainerRef {
  container: Container;
  /** "container", "init container" or "ephemeral container", for messages */
  role: "container" | "init container" | "ephemeral container";
}

/** Every container of a pod spec: init containers first, then containers, then ephemeral ones. */
export function containersOf(spec: PodSpec | undefined): ContainerRef[] {
  if (!spec) return [];
  return [
    ...(spec.initContainers ?? []).map((c) => ({ container: c, role: "init container" as const })),
    ...(spec.containers ?? []).map((c) => ({ container: c, role: "container" as const })),
    ...(spec.ephemeralContainers ?? []).map((c) => ({
      container: c,
      role: "ephemeral container" as const,
    })),
  ];
}

export function containerLabel(ref: ContainerRef): string {
  return `${ref.role} "${ref.container.name}"`;
}

/** Workload and pod-template annotations together (the template's win on a clash). */
export function annotationsOf(
  props: Props,
  template: PodTemplate | undefined,
): Record<string, string> {
  // Key by key: a checksum annotation derived from a generated value is unknown in a first preview.
  return {
    ...knownStrings(metaOf(props).annotations),
    ...knownStrings(template?.metadata?.annotations),
  };
}

/**
 * True for an object a Helm chart renders (under `pulumi preview`, helm.v4.Chart registers each
 * of them as its child; offline they are not expanded). Its URN's type chain
 * (`urn:pulumi:<stack>::<project>::<parent types>$<type>::<name>`) passes through the chart.
 * Chart-rendered workloads are the chart's: the hardening policies leave them to the chart's
 * values, while admission realities (the namespace's Pod Security level, LimitRange, quota) and
 * image provenance still apply to them.
 */
export function isChartManaged(urn: string | undefined): boolean {
  const chain = urn?.split("::")[2];
  if (!chain) return false;
  const types = chain.split("$");
  return types.slice(0, -1).some((t) => t.startsWith("kubernetes:helm.sh/"));
}

export function asArray<T>(v: T[] | undefined | null): T[] {
  return Array.isArray(v) ? v : [];
}
