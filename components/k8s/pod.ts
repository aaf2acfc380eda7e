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
import { imageRef } from "./image";
import type { Labels } from "./labels";
import type { PodExemption } from "./exemptions";
import { EXEMPTION_ANNOTATION, exemptionAnnotation } from "./exemptions";
import type { AffinityAdditions, ResolvedPodOptions } from "./pod-options";
import { ALLOWED_VOLUME_SOURCES } from "./pod-options";

/** Secrets/ConfigMaps a pod reads that the stack does not make (policies/references.ts). */
export const EXTERNAL_SECRETS_ANNOTATION = "octollm.io/external-secrets";
export const EXTERNAL_CONFIGMAPS_ANNOTATION = "octollm.io/external-configmaps";

type Input<T> = pulumi.Input<T>;
type Container = k8s.types.input.core.v1.Container;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type EnvVar = k8s.types.input.core.v1.EnvVar;
type Probe = k8s.types.input.core.v1.Probe;

/**
 * The container hardening every pod gets (also stated in templates an operator completes, such
 * as the CloudNativePG Pooler's).
 */
export function restrictedContainerSecurityContext() {
  return {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

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
  /**
   * Operator-facing pod options from config (pod-options.ts): scheduling, pull secrets, extra
   * metadata, and (app tier) extra volumes mounted into every regular container.
   */
  options?: ResolvedPodOptions;
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
      ...restrictedContainerSecurityContext(),
      ...(c.runAsUser !== undefined ? { runAsUser: c.runAsUser, runAsGroup: c.runAsUser } : {}),
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
  const options = args.options;
  const extraMounts = checkExtraVolumes(options, scratchPaths, args);
  // Config's annotations first: the builder's own (checksums, exemptions) always win.
  const annotations: Record<string, string> = {
    ...(options?.annotations ?? {}),
    ...(args.annotations ?? {}),
  };
  if (args.exemption) annotations[EXEMPTION_ANNOTATION] = exemptionAnnotation(args.exemption);
  if (args.apiAccess) annotations["octollm.io/api-access"] = args.apiAccess.reason;
  declareExternal(annotations, options, [...built.map((b) => b.container)]);
  const exempt = args.exemption?.allows;
  for (const key of Object.keys(options?.labels ?? {})) {
    if (key in args.labels)
      throw new PodSecurityError(`pod label ${key} is the platform's; config cannot set it`);
  }

  return {
    metadata: {
      labels: { ...(options?.labels ?? {}), ...args.labels },
      annotations: Object.keys(annotations).length > 0 ? annotations : undefined,
    },
    spec: {
      serviceAccountName: args.serviceAccountName,
      ...(options && options.imagePullSecrets.length > 0
        ? { imagePullSecrets: options.imagePullSecrets.map((name) => ({ name })) }
        : {}),
      ...(options?.priorityClassName ? { priorityClassName: options.priorityClassName } : {}),
      ...(options && Object.keys(options.nodeSelector).length > 0
        ? { nodeSelector: { ...options.nodeSelector } }
        : {}),
      ...(options && options.tolerations.length > 0
        ? { tolerations: options.tolerations.map((t) => ({ ...t })) }
        : {}),
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
      containers: built.slice(initCount).map((b) => ({
        ...b.container,
        volumeMounts: [...(b.container.volumeMounts as VolumeMount[]), ...extraMounts],
      })),
      volumes: [
        ...scratchPaths.map((path) => ({
          name: volumeNameFor(path),
          emptyDir: { sizeLimit: "256Mi" },
        })),
        ...(args.volumes ?? []),
        ...(options?.volumes ?? []).map((v) => ({ ...v })),
      ],
      affinity: mergeAffinity(args.affinity, options?.affinity),
      topologySpreadConstraints: args.topologySpreadConstraints,
      terminationGracePeriodSeconds: args.terminationGracePeriodSeconds,
      restartPolicy: args.restartPolicy,
    },
  };
}

/**
 * Extra volumes pass the same bar as the schema (defence in depth: the builder is also called
 * from code): restricted volume types only, no clash with the builder's own volumes or paths.
 * Returns the mounts for the regular containers (read-only unless config says otherwise).
 */
function checkExtraVolumes(
  options: ResolvedPodOptions | undefined,
  scratchPaths: string[],
  args: PodArgs,
): VolumeMount[] {
  if (!options) return [];
  const own = new Set([
    ...scratchPaths.map(volumeNameFor),
    ...(args.volumes ?? []).map((v) => v.name),
  ]);
  for (const v of options.volumes) {
    const sources = Object.keys(v).filter((k) => k !== "name");
    const bad = sources.find((k) => !(ALLOWED_VOLUME_SOURCES as readonly string[]).includes(k));
    if (bad) throw new PodSecurityError(`volume ${v.name}: ${bad} volumes are not allowed`);
    if (own.has(v.name)) throw new PodSecurityError(`volume ${v.name} clashes with the pod's own`);
  }
  const names = new Set(options.volumes.map((v) => v.name));
  const taken = new Set(scratchPaths);
  return options.volumeMounts.map((m) => {
    if (!names.has(m.name)) throw new PodSecurityError(`mount ${m.mountPath}: no volume ${m.name}`);
    if (taken.has(m.mountPath))
      throw new PodSecurityError(`mount ${m.mountPath} clashes with a writable path`);
    return {
      name: m.name,
      mountPath: m.mountPath,
      readOnly: m.readOnly ?? true,
      ...(m.subPath !== undefined ? { subPath: m.subPath } : {}),
    };
  });
}

/**
 * Pull secrets and the Secrets/ConfigMaps of extra volumes come from outside the stack: the
 * pod declares them external so the config-references policy accepts them by name.
 */
function declareExternal(
  annotations: Record<string, string>,
  options: ResolvedPodOptions | undefined,
  containers: Container[],
): void {
  if (!options) return;
  const add = (key: string, names: string[]) => {
    if (names.length === 0) return;
    const current = (annotations[key] ?? "").split(",").filter(Boolean);
    annotations[key] = [...new Set([...current, ...names])].join(",");
  };
  // existingSecret credentials: only those this pod's containers really read.
  const read = new Set(
    containers.flatMap((c) =>
      ((c.env ?? []) as EnvVar[]).map(
        (e) =>
          (e.valueFrom as { secretKeyRef?: { name?: string } } | undefined)?.secretKeyRef?.name,
      ),
    ),
  );
  const secrets = [
    ...options.imagePullSecrets,
    ...options.externalSecrets.filter((name) => read.has(name)),
  ];
  const configMaps: string[] = [];
  for (const v of options.volumes) {
    const secret = v.secret as { secretName?: string } | undefined;
    if (secret?.secretName) secrets.push(secret.secretName);
    const cm = v.configMap as { name?: string } | undefined;
    if (cm?.name) configMaps.push(cm.name);
    const projected = v.projected as
      { sources?: { secret?: { name?: string }; configMap?: { name?: string } }[] } | undefined;
    for (const src of projected?.sources ?? []) {
      if (src.secret?.name) secrets.push(src.secret.name);
      if (src.configMap?.name) configMaps.push(src.configMap.name);
    }
  }
  add(EXTERNAL_SECRETS_ANNOTATION, secrets);
  add(EXTERNAL_CONFIGMAPS_ANNOTATION, configMaps);
}

/**
 * The builder's affinity plus config's additions: node affinity comes only from config; pod
 * (anti-)affinity terms from config are appended to ours, so our spreading always holds.
 */
export function mergeAffinity(
  ours: k8s.types.input.core.v1.Affinity | undefined,
  extra: AffinityAdditions | undefined,
): k8s.types.input.core.v1.Affinity | undefined {
  if (!extra || Object.keys(extra).length === 0) return ours;
  type Rules = {
    requiredDuringSchedulingIgnoredDuringExecution?: unknown[];
    preferredDuringSchedulingIgnoredDuringExecution?: unknown[];
  };
  const join = (a: Rules | undefined, b: Rules | undefined): Rules | undefined => {
    if (!a) return b;
    if (!b) return a;
    const required = [
      ...(a.requiredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(b.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ];
    const preferred = [
      ...(a.preferredDuringSchedulingIgnoredDuringExecution ?? []),
      ...(b.preferredDuringSchedulingIgnoredDuringExecution ?? []),
    ];
    return {
      ...(required.length > 0 ? { requiredDuringSchedulingIgnoredDuringExecution: required } : {}),
      ...(preferred.length > 0
        ? { preferredDuringSchedulingIgnoredDuringExecution: preferred }
        : {}),
    };
  };
  const base = (ours ?? {}) as {
    nodeAffinity?: unknown;
    podAffinity?: Rules;
    podAntiAffinity?: Rules;
  };
  const merged = {
    nodeAffinity: extra.nodeAffinity ?? base.nodeAffinity,
    podAffinity: join(base.podAffinity, extra.podAffinity),
    podAntiAffinity: join(base.podAntiAffinity, extra.podAntiAffinity),
  };
  return Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined));
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
