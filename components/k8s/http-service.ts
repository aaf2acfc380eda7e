/**
 * The shared builder of an HTTP service workload (the orchestrator and every arm):
 * ServiceAccount (no token), ConfigMap with the non-secret environment, Deployment from the
 * hardened pod builder, Service with named ports, HorizontalPodAutoscaler (autoscaling/v2 with
 * the configured behaviour) and PodDisruptionBudget. One code path, so an arm cannot drift from
 * the orchestrator in hardening, probes, rollout or scaling.
 *
 * - Environment: non-secret values live in the ConfigMap (`envFrom`), secrets come only through
 *   `secretKeyRef` (explicit `env`, which also wins over anything in the ConfigMap). The pod
 *   template carries a checksum of the ConfigMap so a config change rolls the pods.
 * - Rollout: maxSurge 1 / maxUnavailable 0, so capacity never drops during an update.
 * - Spreading: a hostname topology spread constraint, DoNotSchedule in production and
 *   ScheduleAnyway elsewhere, plus a best-effort zone spread. Not a required pod anti-affinity:
 *   that caps a workload at one pod per node, and the HPA maxima (coder: 20) exceed the node
 *   count (12). maxSkew 1 keeps replicas evenly spread however far the HPA scales.
 * - With an HPA, the Deployment starts at the HPA minimum and Pulumi ignores `spec.replicas`
 *   afterwards, so a `pulumi up` never resets what the autoscaler decided.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type {
  HpaConfig,
  ImageConfig,
  PdbConfig,
  PlatformConfig,
  ProbesConfig,
  Resources,
} from "../config";
import { SECRET_KEYS, SECRET_NAMES, databaseUrl, llmKey, redisUrl, serviceHost } from "../secrets";
import { credentialRef, llmKeyRef, refEnv, urlEnv } from "../credentials";
import type { Identity, Labels } from "./labels";
import { selectorLabels, standardLabels } from "./labels";
import { hardenedPodTemplate, httpProbe, secretEnv } from "./pod";
import type { ResolvedPodOptions } from "./pod-options";

type EnvVar = k8s.types.input.core.v1.EnvVar;

/** The part of a workload's config the builder needs (orchestrator and arm configs both fit). */
export interface HttpWorkloadConfig {
  image: ImageConfig;
  replicas: number;
  resources: Resources;
  hpa: HpaConfig;
  pdb: PdbConfig;
  probes: ProbesConfig;
}

export interface ServicePort {
  /** IANA-style port name; the first port must be `http` (probes use it) */
  name: string;
  port: number;
}

export interface HttpServiceArgs {
  identity: Identity;
  namespace: pulumi.Input<string>;
  workload: HttpWorkloadConfig;
  ports: ServicePort[];
  /** non-secret environment, written to the `<name>-env` ConfigMap */
  env: Record<string, string>;
  /** secret environment: secretKeyRef entries only */
  secretEnv: EnvVar[];
  /** production: spreading is a scheduling requirement, not a preference */
  requireSpread: boolean;
  /** extra writable directories (each an emptyDir); /tmp is always writable */
  writablePaths?: string[];
  /** annotations on the Deployment object (not the pods) */
  annotations?: Record<string, string>;
  /** pod options from config (octollm:podDefaults merged with the workload's `pod`) */
  pod?: ResolvedPodOptions;
}

export interface HttpService {
  serviceAccount: k8s.core.v1.ServiceAccount;
  configMap: k8s.core.v1.ConfigMap;
  deployment: k8s.apps.v1.Deployment;
  service: k8s.core.v1.Service;
  hpa: k8s.autoscaling.v2.HorizontalPodAutoscaler | undefined;
  pdb: k8s.policy.v1.PodDisruptionBudget;
}

export class HttpServiceError extends Error {}

/** sha256 of the ConfigMap data, stable under key order. */
export function checksumOf(data: Record<string, string>): string {
  const sorted = Object.keys(data)
    .sort()
    .map((k) => [k, data[k]]);
  return createHash("sha256").update(JSON.stringify(sorted)).digest("hex");
}

/** Spread replicas across nodes (and, best effort, zones). */
export function spreadConstraints(
  selector: Labels,
  required: boolean,
): k8s.types.input.core.v1.TopologySpreadConstraint[] {
  const common = {
    labelSelector: { matchLabels: selector },
    // Spread each rollout's ReplicaSet on its own, or a new version may pile onto few nodes.
    matchLabelKeys: ["pod-template-hash"],
    // Tainted nodes the pods cannot use must not count as empty domains.
    nodeTaintsPolicy: "Honor",
  };
  return [
    {
      ...common,
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: required ? "DoNotSchedule" : "ScheduleAnyway",
    },
    {
      ...common,
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "ScheduleAnyway",
    },
  ];
}

/** Builds every object of one HTTP service as children of `parent`. */
export function httpService(
  name: string,
  args: HttpServiceArgs,
  parent: pulumi.Resource,
): HttpService {
  const { identity, namespace, workload } = args;
  if (args.ports.length === 0 || args.ports[0].name !== "http") {
    throw new HttpServiceError(`${identity.name}: the first port must be named "http"`);
  }
  const names = new Set(args.ports.map((p) => p.name));
  if (names.size !== args.ports.length) {
    throw new HttpServiceError(`${identity.name}: port names must be unique`);
  }
  const fromSecrets = new Set<string>();
  for (const e of args.secretEnv) {
    // A composed value (a URL around `$(PASSWORD)`) may only expand variables read from Secrets
    // above it; anything else literal is refused.
    const refs =
      typeof e.value === "string" ? [...e.value.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)] : [];
    const composed = refs.length > 0 && refs.every((m) => fromSecrets.has(m[1]));
    if (
      !composed &&
      (e.value !== undefined || !(e.valueFrom as { secretKeyRef?: unknown })?.secretKeyRef)
    ) {
      throw new HttpServiceError(
        `${identity.name}: secret env ${JSON.stringify(e.name)} must come from a secretKeyRef`,
      );
    }
    if (!composed) fromSecrets.add(e.name as string);
  }

  const child = { parent };
  const labels = standardLabels(identity, { "app.kubernetes.io/version": workload.image.tag });
  const selector = selectorLabels(identity);
  const objectName = identity.name;

  const serviceAccount = new k8s.core.v1.ServiceAccount(
    `${name}-sa`,
    {
      metadata: { name: objectName, namespace, labels },
      // The services never call the Kubernetes API.
      automountServiceAccountToken: false,
    },
    child,
  );

  const configMapName = `${objectName}-env`;
  const configMap = new k8s.core.v1.ConfigMap(
    `${name}-env`,
    { metadata: { name: configMapName, namespace, labels }, data: { ...args.env } },
    child,
  );

  const hpaEnabled = workload.hpa.enabled;
  const template = hardenedPodTemplate({
    labels,
    annotations: { "octollm.io/config-checksum": checksumOf(args.env) },
    serviceAccountName: serviceAccount.metadata.name,
    topologySpreadConstraints: spreadConstraints(selector, args.requireSpread),
    options: args.pod,
    containers: [
      {
        name: identity.name,
        image: workload.image,
        resources: workload.resources,
        ports: args.ports.map((p) => ({ name: p.name, containerPort: p.port })),
        envFrom: [{ configMapRef: { name: configMapName } }],
        env: args.secretEnv,
        writablePaths: args.writablePaths,
        startupProbe: httpProbe(workload.probes.startup, "http"),
        livenessProbe: httpProbe(workload.probes.liveness, "http"),
        readinessProbe: httpProbe(workload.probes.readiness, "http"),
      },
    ],
  });

  const deployment = new k8s.apps.v1.Deployment(
    `${name}-deployment`,
    {
      metadata: { name: objectName, namespace, labels, annotations: args.annotations },
      spec: {
        // With an HPA this is only the starting point; the HPA owns the field afterwards.
        replicas: hpaEnabled ? workload.hpa.minReplicas : workload.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template,
      },
    },
    {
      ...child,
      dependsOn: [configMap],
      ...(hpaEnabled ? { ignoreChanges: ["spec.replicas"] } : {}),
    },
  );

  const service = new k8s.core.v1.Service(
    `${name}-service`,
    {
      metadata: { name: objectName, namespace, labels },
      spec: {
        type: "ClusterIP",
        selector,
        ports: args.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: p.name,
          protocol: "TCP",
          appProtocol: "http",
        })),
      },
    },
    child,
  );

  let hpa: k8s.autoscaling.v2.HorizontalPodAutoscaler | undefined;
  if (hpaEnabled) {
    const h = workload.hpa;
    const utilisation = (resource: "cpu" | "memory", averageUtilization: number) => ({
      type: "Resource",
      resource: { name: resource, target: { type: "Utilization", averageUtilization } },
    });
    const rules = (r: HpaConfig["behavior"]["scaleUp"]) => ({
      stabilizationWindowSeconds: r.stabilizationWindowSeconds,
      selectPolicy: r.selectPolicy,
      policies: r.policies.map((p) => ({
        type: p.type,
        value: p.value,
        periodSeconds: p.periodSeconds,
      })),
    });
    hpa = new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-hpa`,
      {
        metadata: { name: objectName, namespace, labels },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: objectName },
          minReplicas: h.minReplicas,
          maxReplicas: h.maxReplicas,
          metrics: [
            utilisation("cpu", h.targetCpuUtilization),
            ...(h.targetMemoryUtilization !== undefined
              ? [utilisation("memory", h.targetMemoryUtilization)]
              : []),
          ],
          behavior: { scaleUp: rules(h.behavior.scaleUp), scaleDown: rules(h.behavior.scaleDown) },
        },
      },
      { ...child, dependsOn: [deployment] },
    );
  }

  const pdb = new k8s.policy.v1.PodDisruptionBudget(
    `${name}-pdb`,
    {
      metadata: { name: objectName, namespace, labels },
      spec: {
        selector: { matchLabels: selector },
        ...(workload.pdb.minAvailable !== undefined
          ? { minAvailable: workload.pdb.minAvailable }
          : { maxUnavailable: workload.pdb.maxUnavailable }),
        // A crash-looping pod must not block a node drain.
        unhealthyPodEvictionPolicy: "AlwaysAllow",
      },
    },
    child,
  );

  return { serviceAccount, configMap, deployment, service, hpa, pdb };
}

// ---------------------------------------------------------------------------------------------
// Environment shared by the services: connection settings (ConfigMap) and credentials
// (secretKeyRef into the Secrets of components/secrets.ts; never a literal).
// ---------------------------------------------------------------------------------------------

/** Service discovery for Redis: through the Sentinels in sentinel mode, direct otherwise. */
export function redisConfigEnv(config: PlatformConfig): Record<string, string> {
  const ns = config.namespaces.workloads;
  const redis = config.dataStores.redis;
  return redis.mode === "sentinel"
    ? {
        REDIS_MODE: "sentinel",
        REDIS_SENTINEL_HOST: serviceHost("redis-sentinel", ns),
        REDIS_SENTINEL_PORT: "26379",
        REDIS_SENTINEL_MASTER: REDIS_MASTER_NAME,
      }
    : { REDIS_MODE: "standalone", REDIS_HOST: serviceHost("redis", ns), REDIS_PORT: "6379" };
}

/** The Sentinel master name (the data-store tier configures the same). */
export const REDIS_MASTER_NAME = "mymaster";

export function qdrantUrl(config: PlatformConfig): string {
  return `http://${serviceHost("qdrant", config.namespaces.workloads)}:6333`;
}

export const secretEnvs = {
  database: (config: PlatformConfig): EnvVar[] =>
    urlEnv(
      "DATABASE_URL",
      { secret: SECRET_NAMES.database, key: SECRET_KEYS.url },
      { env: "DATABASE_PASSWORD", ref: credentialRef(config, "database") },
      (password) => databaseUrl(config, password),
    ),
  redis: (config: PlatformConfig): EnvVar[] => {
    const ref = credentialRef(config, "redis");
    return ref.external
      ? [
          refEnv("REDIS_PASSWORD", ref),
          { name: "REDIS_URL", value: redisUrl(config, "$(REDIS_PASSWORD)") },
        ]
      : [
          secretEnv("REDIS_URL", SECRET_NAMES.redis, SECRET_KEYS.url),
          secretEnv("REDIS_PASSWORD", SECRET_NAMES.redis, SECRET_KEYS.password),
        ];
  },
  qdrant: (config: PlatformConfig): EnvVar[] => [
    refEnv("QDRANT_API_KEY", credentialRef(config, "qdrant")),
  ],
  jwt: (): EnvVar[] => [secretEnv("JWT_SECRET", SECRET_NAMES.jwt, SECRET_KEYS.jwt)],
  /** One optional key per provider: a provider without a configured key leaves its var unset. */
  llm: (config: PlatformConfig): EnvVar[] =>
    config.llm.providers.map((provider) => {
      return refEnv(llmKey(provider).env, llmKeyRef(config, provider), true);
    }),
};
