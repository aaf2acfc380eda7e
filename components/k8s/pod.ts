/**
 * The one hardened pod builder. Every workload of the platform (services, data stores, backup
 * jobs, collectors) gets its pod template here, so the Pod Security Standards "restricted" profile
 * and our own rules hold by construction:
 *
 * - runAsNonRoot with a UID/GID ≥ 1000, fsGroup, seccomp RuntimeDefault;
 * - every container drops ALL capabilities, no privilege escalation, read-only root filesystem
 *   (an emptyDir on /tmp, and on any path the caller declares writable);
 * - requests and limits on every container; pinned images;
 * - no ServiceAccount token unless the caller says why the pod talks to the API server.
 *
 * Anything less strict is an exemption from `exemptions.ts`: named, justified, and written onto
 * the pod template as the `octollm.io/policy-exemption` annotation the policy pack reads.
 */
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { HttpProbeConfig, ImageConfig, Resources } from "../config";
import { imageRef } from "../config";
import type { Labels } from "./labels";
import type { PodExemption } from "./exemptions";
import { EXEMPTION_ANNOTATION, exemptionAnnotation } from "./exemptions";

type Input<T> = pulumi.Input<T>;
type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Probe = k8s.types.input.core.v1.Probe;

/** Default identity of every container; images built for the platform run as this user. */
export const DEFAULT_UID = 10001;

export interface ContainerPort {
  name: string;
  containerPort: number;
  protocol?: "TCP" | "UDP";
  /** only with the host-network exemption */
  hostPort?: number;
}

export interface ContainerArgs {
  name: string;
  image: ImageConfig;
  resources: Resources;
  ports?: ContainerPort[];
  command?: Input<string>[];
  args?: Input<string>[];
  env?: Input<EnvVar>[];
  envFrom?: k8s.types.input.core.v1.EnvFromSource[];
  volumeMounts?: VolumeMount[];
  /** paths the process writes to; each gets its own emptyDir (the root filesystem stays read-only) */
  writablePaths?: string[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  /** UID override for images with a fixed non-root user (e.g. 999 is not allowed: must be ≥ 1000) */
  runAsUser?: number;
  lifecycle?: k8s.types.input.core.v1.Lifecycle;
}

export interface PodArgs {
  labels: Labels;
  annotations?: Record<string, string>;
  containers: ContainerArgs[];
  initContainers?: ContainerArgs[];
  serviceAccountName: Input<string>;
  /** set only when the pod calls the Kubernetes API; the reason is kept on the pod template */
  apiAccess?: { reason: string };
  volumes?: Volume[];
  /** pod-level identity; defaults to DEFAULT_UID for user, group and fsGroup */
  runAsUser?: number;
  fsGroup?: number;
  affinity?: k8s.types.input.core.v1.Affinity;
  topologySpreadConstraints?: k8s.types.input.core.v1.TopologySpreadConstraint[];
  terminationGracePeriodSeconds?: number;
  /** Jobs and CronJobs: Never or OnFailure */
  restartPolicy?: "Always" | "OnFailure" | "Never";
  /** the only way to relax the profile; see exemptions.ts */
  exemption?: PodExemption;
}

export class PodSecurityError extends Error {}

function assertUid(uid: number, where: string): void {
  if (!Number.isInteger(uid) || uid < 1000) {
    throw new PodSecurityError(
      `${where}: runAsUser ${uid} must be an integer ≥ 1000 (root and system UIDs are not allowed)`,
    );
  }
}

function volumeNameFor(path: string): string {
  const slug = path
    .replace(/^\/+/, "")
    .replace(/[^a-z0-9]+/gi, "-")
    .toLowerCase()
    .replace(/-+$/, "");
  return `scratch-${slug || "root"}`.slice(0, 63).replace(/-+$/, "");
}

function buildContainer(
  c: ContainerArgs,
  exemption: PodExemption | undefined,
): { container: Container; scratch: string[] } {
  if (c.image.tag === "latest")
    throw new PodSecurityError(`${c.name}: image tag latest is not pinned`);
  if (c.runAsUser !== undefined) assertUid(c.runAsUser, c.name);
  const scratch = ["/tmp", ...(c.writablePaths ?? [])];
  const hostPorts = (c.ports ?? []).filter((p) => p.hostPort !== undefined);
  if (hostPorts.length > 0 && !exemption?.allows.hostPorts) {
    throw new PodSecurityError(`${c.name}: hostPort needs the host-network exemption`);
  }
  const container: Container = {
    name: c.name,
    image: imageRef(c.image),
    imagePullPolicy: "IfNotPresent",
    command: c.command,
    args: c.args,
    ports: c.ports?.map((p) => ({
      name: p.name,
      containerPort: p.containerPort,
      protocol: p.protocol ?? "TCP",
      ...(p.hostPort !== undefined ? { hostPort: p.hostPort } : {}),
    })),
    env: c.env,
    envFrom: c.envFrom,
    resources: {
      requests: { cpu: c.resources.requests.cpu, memory: c.resources.requests.memory },
      limits: { cpu: c.resources.limits.cpu, memory: c.resources.limits.memory },
    },
    securityContext: {
      runAsNonRoot: true,
      ...(c.runAsUser !== undefined ? { runAsUser: c.runAsUser, runAsGroup: c.runAsUser } : {}),
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
    volumeMounts: [
      ...scratch.map((path) => ({ name: volumeNameFor(path), mountPath: path })),
      ...(c.volumeMounts ?? []),
    ],
    startupProbe: c.startupProbe,
    livenessProbe: c.livenessProbe,
    readinessProbe: c.readinessProbe,
    lifecycle: c.lifecycle,
    terminationMessagePolicy: "FallbackToLogsOnError",
  };
  return { container, scratch };
}

/** A pod template that satisfies PSS restricted (or the named exemption) by construction. */
export function hardenedPodTemplate(args: PodArgs): k8s.types.input.core.v1.PodTemplateSpec {
  const uid = args.runAsUser ?? DEFAULT_UID;
  assertUid(uid, "pod");
  if (args.containers.length === 0)
    throw new PodSecurityError("a pod needs at least one container");
  const built = [...(args.initContainers ?? []), ...args.containers].map((c) =>
    buildContainer(c, args.exemption),
  );
  const initCount = args.initContainers?.length ?? 0;
  const scratchPaths = [...new Set(built.flatMap((b) => b.scratch))];
  const annotations: Record<string, string> = { ...(args.annotations ?? {}) };
  if (args.exemption) annotations[EXEMPTION_ANNOTATION] = exemptionAnnotation(args.exemption);
  if (args.apiAccess) annotations["octollm.io/api-access"] = args.apiAccess.reason;
  const exempt = args.exemption?.allows;

  return {
    metadata: {
      labels: args.labels,
      annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
    },
    spec: {
      serviceAccountName: args.serviceAccountName,
      automountServiceAccountToken: args.apiAccess !== undefined,
      enableServiceLinks: false,
      ...(exempt?.hostNetwork ? { hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } : {}),
      securityContext: {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        fsGroup: args.fsGroup ?? uid,
        fsGroupChangePolicy: "OnRootMismatch",
        seccompProfile: { type: "RuntimeDefault" },
      },
      initContainers: initCount > 0 ? built.slice(0, initCount).map((b) => b.container) : undefined,
      containers: built.slice(initCount).map((b) => b.container),
      volumes: [
        ...scratchPaths.map((path) => ({
          name: volumeNameFor(path),
          emptyDir: { sizeLimit: "256Mi" },
        })),
        ...(args.volumes ?? []),
      ],
      affinity: args.affinity,
      topologySpreadConstraints: args.topologySpreadConstraints,
      terminationGracePeriodSeconds: args.terminationGracePeriodSeconds,
      restartPolicy: args.restartPolicy,
    },
  };
}

/** An HTTP probe from config, on a named or numbered container port. */
export function httpProbe(cfg: HttpProbeConfig, port: number | string): Probe {
  return {
    httpGet: { path: cfg.path, port },
    initialDelaySeconds: cfg.initialDelaySeconds,
    periodSeconds: cfg.periodSeconds,
    timeoutSeconds: cfg.timeoutSeconds,
    failureThreshold: cfg.failureThreshold,
  };
}

/** Spread pods of one workload across nodes: required in production, preferred elsewhere. */
export function spreadAcrossNodes(
  selector: Labels,
  required: boolean,
): k8s.types.input.core.v1.Affinity {
  const term = { labelSelector: { matchLabels: selector }, topologyKey: "kubernetes.io/hostname" };
  return {
    podAntiAffinity: required
      ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
      : {
          preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }],
        },
  };
}

/** An env var read from a Secret key, never a literal. */
export function secretEnv(
  name: string,
  secretName: Input<string>,
  key: string,
  optional = false,
): EnvVar {
  return {
    name,
    valueFrom: { secretKeyRef: { name: secretName, key, ...(optional ? { optional: true } : {}) } },
  };
}

/** An env var read from a ConfigMap key. */
export function configMapEnv(name: string, configMapName: Input<string>, key: string): EnvVar {
  return { name, valueFrom: { configMapKeyRef: { name: configMapName, key } } };
}
