/**
 * The whole platform configuration: one zod schema, per-environment defaults in one place,
 * parsed once from Pulumi stack config (`octollm:*` keys), frozen and passed down.
 *
 * A stack file (`Pulumi.<stack>.yaml`) only overrides: its `octollm:<key>` values are deep-merged
 * over the defaults of `octollm:environment`. Objects merge key by key, lists replace, except
 * `octollm:arms`, which merges by arm name (an entry with a new name adds an arm).
 */
import { z } from "zod";
import {
  compareQuantities,
  isQuantity,
  parseQuantity,
  compare,
  ratio as quantityRatio,
} from "./k8s/quantity";
import { isSensitiveName } from "./k8s/sensitive";
import {
  DISTRIBUTIONS,
  DISTRIBUTION_PRESETS,
  DEV_OVERRIDES,
  PRODUCTION_DEFAULTS,
  STAGING_OVERRIDES,
  newArmDefaults,
} from "./defaults";
import type { Distribution } from "./defaults";
import { cidrContains, cidrsOverlap, isCidr, isSingleAddress, parseCidr } from "./k8s/cidr";
// Pod options (issue 14 item 11): schemas in their own module, one `pod` key per workload.
import { appPodOptions, podOptions } from "./k8s/pod-options";
import { chartValuesProblems, limitRangeProblems } from "./resource-placements";

// Interpret, don't compile: zod 4 generates a parser per object schema with `new Function` on its
// first parse, and the program parses one stack's config once per run; compiling cost ~35 ms of
// every preview and render for nothing (README, "Fast previews"). Same checks, same messages.
z.config({ jitless: true });

// ---------------------------------------------------------------------------------------------
// Building blocks
// ---------------------------------------------------------------------------------------------

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const dnsLabel = z
  .string()
  .regex(
    DNS_LABEL,
    "must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 63 characters",
  )
  .meta({ title: "DNS label" });

/**
 * Kubernetes accepts any quantity for any resource, so `cpu: 2Gi` (2·2³⁰ cores) and
 * `memory: "2"` (two bytes) are valid to the API server and wrong for a person. The schema
 * accepts only the forms that make sense for each: cores or millicores for CPU, a size with a
 * unit for memory and storage.
 */
const CPU_QUANTITY = /^(\d+(\.\d+)?|\.\d+|\d+m)$/;
// zero needs no unit (a quota of nothing)
const BYTES_QUANTITY = /^(0|(\d+(\.\d+)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E))$/;
const quantity = (what: string, pattern: RegExp, message: string) =>
  z
    .union([z.string(), z.number()])
    .transform((v) => String(v).trim())
    .refine((v) => isQuantity(v) && pattern.test(v), { message })
    .meta({ title: `${what} quantity` });
export const cpu = quantity(
  "CPU",
  CPU_QUANTITY,
  "must be a CPU quantity in cores or millicores, e.g. 500m, 0.5, 2",
);
export const memory = quantity(
  "memory",
  BYTES_QUANTITY,
  "must be a memory quantity with a unit, e.g. 512Mi, 1.5Gi, 2G (a bare number is bytes)",
);
export const storage = quantity(
  "storage",
  BYTES_QUANTITY,
  "must be a storage quantity with a unit, e.g. 10Gi, 500Mi, 1Ti (a bare number is bytes)",
);

export const port = z.number().int().min(1).max(65535);
const positiveInt = z.number().int().min(1);
const nonNegativeInt = z.number().int().min(0);
const percent = z.number().int().min(1).max(100);
const seconds = z.number().int().min(0);

/** An image reference split into parts, so that policies and upgrades reason about the tag. */
export const image = z.strictObject({
  repository: z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9._\-/:]*[a-z0-9])?$/,
      "must be an image repository like docker.io/library/redis",
    )
    .refine((r) => !r.includes("@") && !/:[^/]*$/.test(r.replace(/^[^/]+\//, "")), {
      message: "must not carry a tag or digest: put the tag in `tag` and the digest in `digest`",
    })
    .meta({ title: "image repository" })
    .describe("registry and repository, without tag, e.g. docker.io/library/redis"),
  tag: z
    .string()
    .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, "must be an image tag like v1.0.0")
    .refine((t) => t !== "latest", {
      message: "must be a pinned version: `latest` changes under a running cluster",
    })
    .meta({ title: "image tag" })
    .describe("pinned image tag; `latest` is rejected"),
  digest: z
    .string()
    .regex(/^sha256:[a-f0-9]{64}$/, "must be sha256:<64 hex digits>")
    .optional()
    .meta({ title: "sha256 digest" })
    .describe("optional sha256 digest; when set the image is pulled by digest"),
});
export type ImageConfig = z.infer<typeof image>;

export { imageRef } from "./k8s/image";

const computeResources = z.strictObject({ cpu, memory });
export const resources = z
  .strictObject({
    requests: computeResources.describe("what the scheduler reserves"),
    limits: computeResources.describe("the ceiling; must be at least the request"),
  })
  .superRefine((r, ctx) => {
    for (const kind of ["cpu", "memory"] as const) {
      // an invalid quantity has its own message; comparing it would only add noise
      const valid = kind === "cpu" ? cpu : memory;
      if (!valid.safeParse(r.requests[kind]).success || !valid.safeParse(r.limits[kind]).success)
        continue;
      if (compareQuantities(r.limits[kind], r.requests[kind]) < 0) {
        ctx.addIssue({
          code: "custom",
          path: ["limits", kind],
          message: `limit ${r.limits[kind]} is below the request ${r.requests[kind]}: a limit must be at least the request`,
        });
      }
    }
  });
export type Resources = z.infer<typeof resources>;

const scalingPolicy = z.strictObject({
  type: z.enum(["Percent", "Pods"]).describe("Percent of current replicas, or a number of Pods"),
  value: positiveInt,
  periodSeconds: z.number().int().min(1).max(1800).describe("window the policy's limit applies to"),
});
const scalingRules = z.strictObject({
  stabilizationWindowSeconds: z
    .number()
    .int()
    .min(0)
    .max(3600)
    .describe("past recommendations considered, so the HPA does not flap"),
  selectPolicy: z.enum(["Max", "Min", "Disabled"]).describe("which policy wins when several apply"),
  policies: z.array(scalingPolicy).min(1).describe("how fast replicas may change"),
});

export const hpa = z
  .strictObject({
    enabled: z.boolean().describe("create a HorizontalPodAutoscaler (autoscaling/v2)"),
    minReplicas: positiveInt.describe("floor of the HPA; also the Deployment's replicas"),
    maxReplicas: positiveInt.describe("ceiling of the HPA; quotas are checked against it"),
    targetCpuUtilization: percent.describe("average CPU utilisation target, % of the request"),
    targetMemoryUtilization: percent
      .optional()
      .describe("average memory utilisation target, % of the request"),
    behavior: z
      .strictObject({ scaleUp: scalingRules, scaleDown: scalingRules })
      .describe("autoscaling/v2 scaling behavior"),
  })
  .superRefine((h, ctx) => {
    if (h.minReplicas > h.maxReplicas) {
      ctx.addIssue({
        code: "custom",
        path: ["minReplicas"],
        message: `minReplicas ${h.minReplicas} is above maxReplicas ${h.maxReplicas}: must be ≤ maxReplicas`,
      });
    }
  });
export type HpaConfig = z.infer<typeof hpa>;

export const pdb = z
  .strictObject({
    minAvailable: nonNegativeInt
      .optional()
      .describe("pods that must stay up during a voluntary disruption (drain)"),
    maxUnavailable: positiveInt
      .optional()
      .describe("pods a voluntary disruption may take down; set this or minAvailable"),
  })
  .refine((p) => (p.minAvailable === undefined) !== (p.maxUnavailable === undefined), {
    message: "set exactly one of minAvailable or maxUnavailable",
  });
export type PdbConfig = z.infer<typeof pdb>;

const httpProbe = z.strictObject({
  path: z.string().startsWith("/").describe("HTTP GET path, on the service's http port"),
  initialDelaySeconds: seconds,
  periodSeconds: positiveInt,
  timeoutSeconds: positiveInt,
  failureThreshold: positiveInt.describe("consecutive failures before the probe fails"),
});
export type HttpProbeConfig = z.infer<typeof httpProbe>;
export const probes = z.strictObject({
  startup: httpProbe.describe("gives a slow start time before liveness applies"),
  liveness: httpProbe.describe("restarts a wedged process; must not depend on other services"),
  readiness: httpProbe.describe("takes the pod out of its Service while it cannot serve"),
});
export type ProbesConfig = z.infer<typeof probes>;

const logLevel = z.enum(["DEBUG", "INFO", "WARNING", "ERROR"]).describe("LOG_LEVEL of the process");
const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name");
const plainEnv = z.record(envVarName, z.string()).superRefine((env, ctx) => {
  for (const name of Object.keys(env)) {
    if (isSensitiveName(name)) {
      ctx.addIssue({
        code: "custom",
        path: [name],
        message: `looks sensitive: plain env is written into the Deployment in clear text; put it in octollm:secrets instead`,
      });
    }
  }
});

/** What every HTTP service (orchestrator, arms) has in common. */
const workload = {
  image,
  replicas: positiveInt.describe("replicas when the HPA is disabled; with an HPA, its minReplicas"),
  resources,
  hpa,
  pdb,
  probes,
  logLevel,
  env: plainEnv.describe("extra non-secret environment variables"),
  pod: appPodOptions.optional(),
};

const cron = z
  .string()
  .meta({ title: "cron schedule (5 fields)" })
  .superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem)
      ctx.addIssue({
        code: "custom",
        message: `"${value}" is not a valid cron schedule: ${problem}`,
      });
  });
/** A retention as the operators spell it: CloudNativePG `30d`, `4w`, `1m` (months). */
const retentionDays = z
  .string()
  .regex(/^[1-9][0-9]*[dwm]$/, "must be a retention like 7d, 4w or 1m (days, weeks, months)")
  .meta({ title: "retention (7d, 4w, 1m)" });
/** A Go duration as Velero spells it, e.g. 720h or 72h30m. */
const goDuration = z
  .string()
  .regex(/^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/, "must be a duration like 720h or 72h30m")
  .meta({ title: "duration (720h, 72h30m)" });

// ---------------------------------------------------------------------------------------------
// Bring-your-own credentials (issue 14 item 12; consumers: components/credentials.ts)
// ---------------------------------------------------------------------------------------------

const secretKeyName = z
  .string()
  .regex(/^[-._a-zA-Z0-9]{1,253}$/, "must be a Secret key: letters, digits, '-', '_', '.'")
  .meta({ title: "Secret key" });
const secretName = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
    "must be a Kubernetes Secret name (lowercase DNS subdomain)",
  )
  .meta({ title: "Secret name" });
const existingSecret = (what: string) =>
  z
    .strictObject({
      name: secretName.describe("Secret made outside the stack"),
      key: secretKeyName.describe(`key holding the ${what}`),
    })
    .optional();

// ---------------------------------------------------------------------------------------------
// Tiers
// ---------------------------------------------------------------------------------------------

const namespaces = z.strictObject({
  system: dnsLabel.describe("operators, monitoring, ingress-side objects"),
  workloads: dnsLabel.describe("orchestrator, arms and data stores; PSS restricted"),
  reflex: dnsLabel.describe("reflex layer only: hostNetwork requires PSS privileged"),
});

const kubernetes = z.strictObject({
  context: z.string().min(1).optional().describe("kubeconfig context; required for `pulumi up`"),
  kubeconfigPath: z
    .string()
    .min(1)
    .optional()
    .describe("path of the kubeconfig file; default ~/.kube/config"),
  distribution: z
    .enum(DISTRIBUTIONS)
    .describe(
      "kind, k3d, minikube, eks, gke, aks or generic: a preset for network.nodeCidrs, apiServerCidrs, apiServerPorts, podCidrs and the StorageClass provisioner and parameters (docs/operations.md#kubernetes-distributions); keys set in the stack win",
    ),
  version: z
    .string({
      // YAML reads an unquoted 1.30 as the number 1.3: ask for the quotes instead of guessing.
      error: (issue) =>
        issue.input === undefined
          ? "required"
          : `must be a quoted string "1.NN" (in YAML, an unquoted 1.30 is the number 1.3)`,
    })
    .regex(/^1\.[0-9]{1,2}$/, 'must be a Kubernetes minor version "1.NN", like "1.35"')
    .describe(
      "the Kubernetes minor version the cluster runs (`kubectl version`: Server Version): objects whose apiVersion it no longer serves fail the api-version-removed policy, deprecated ones get an advisory. The policy pack reads the same value from policies/config/<stack>.json (api-version-removed.kubernetesVersion, api-version-deprecated.kubernetesVersion); the render and the tests fail when they differ",
    ),
  nodeCount: positiveInt.describe(
    "schedulable nodes: the reflex DaemonSet runs one pod on each, and the cluster-fit check places every pod at peak on this many nodes. The policy pack reads the same value from policies/config/<stack>.json (quota-capacity-at-peak.nodeCount, quota-headroom-at-peak.nodeCount, cluster-fit-at-peak.nodeCount); the render and the tests fail when they differ",
  ),
  node: z
    .strictObject({
      cpu: cpu.describe("allocatable CPU of one node (`kubectl describe node`: Allocatable)"),
      memory: memory.describe("allocatable memory of one node"),
      pods: positiveInt.describe(
        "allocatable pods of one node (the kubelet's maxPods; CNI limits)",
      ),
      zones: z
        .array(z.string().min(1))
        .min(1)
        .optional()
        .describe(
          "zones the nodes are spread over, round-robin (topology.kubernetes.io/zone); unset: one zone",
        ),
    })
    .describe(
      "node shape for the cluster-fit check (policies/config/<stack>.json cluster-fit-at-peak)",
    ),
  systemReserved: z
    .strictObject({
      cpu: cpu.describe("CPU requested on every node by add-ons outside the stack"),
      memory: memory.describe("memory requested on every node by add-ons outside the stack"),
    })
    .describe(
      "per-node requests of cluster add-ons the stack does not manage (CNI, kube-proxy, CSI node plugin, log agent), taken off each node before placing the stack's pods",
    ),
});

const orchestrator = z.strictObject({
  ...workload,
  ports: z.strictObject({
    http: port.describe("API port (Service port `http`)"),
    metrics: port.describe("Prometheus metrics port (Service port `metrics`)"),
  }),
});

export const armSchema = z.strictObject({
  name: dnsLabel.describe("arm name; its Kubernetes objects are named `<name>-arm`"),
  port: port.describe("HTTP port, also the Service port"),
  ...workload,
  uses: z
    .strictObject({
      postgres: z.boolean().describe("receives the octollm-database credentials"),
      redis: z.boolean().describe("receives the Redis URL and password"),
      qdrant: z.boolean().describe("receives QDRANT_URL and the Qdrant API key"),
      llm: z.boolean().describe("receives the LLM provider keys and HTTPS egress"),
    })
    .describe("what the arm talks to; drives its env and its NetworkPolicy"),
});
export type ArmConfig = z.infer<typeof armSchema>;

const reflexLayer = z.strictObject({
  image,
  port: port
    .min(
      1024,
      "must be ≥ 1024: a lower port needs NET_BIND_SERVICE, which the platform does not grant",
    )
    .describe("container and host port; ≥ 1024 so no NET_BIND_SERVICE is needed"),
  resources,
  probes,
  logLevel,
  rateLimit: z
    .strictObject({
      enabled: z.boolean(),
      requestsPerMinute: positiveInt,
      burst: positiveInt.describe("requests allowed above the rate in a short spike"),
    })
    .describe("the reflex layer's own per-client rate limit"),
  env: plainEnv.describe("extra non-secret environment variables"),
  pod: appPodOptions.optional(),
});

const storageClass = z
  .strictObject({
    name: dnsLabel.describe(
      "StorageClass the data stores' PVCs use; per stack on a shared cluster",
    ),
    provisioner: z
      .string()
      .min(1)
      .describe("CSI driver, e.g. ebs.csi.aws.com, pd.csi.storage.gke.io"),
    parameters: z
      .record(z.string(), z.string())
      .describe(
        "driver parameters; EBS must enable encryption, local provisioners take only their own keys",
      ),
  })
  .superRefine((sc, ctx) => {
    const problem = storageParameterProblem(sc.provisioner, sc.parameters);
    if (problem) ctx.addIssue({ code: "custom", path: ["parameters"], message: problem });
  });

/** Parameters each known provisioner reads; a key it does not read is a silent no-op. */
const LOCAL_PROVISIONER_PARAMETERS: Record<string, string[]> = {
  "rancher.io/local-path": ["nodePath", "pathPattern", "volumeType"],
  "k8s.io/minikube-hostpath": [],
};
/** Encryption at rest: where the platform does not always encrypt, its parameter must be set. */
function storageParameterProblem(
  provisioner: string,
  p: Record<string, string>,
): string | undefined {
  const local = LOCAL_PROVISIONER_PARAMETERS[provisioner];
  if (local) {
    const foreign = Object.keys(p).filter((k) => !local.includes(k));
    if (foreign.length > 0)
      return `${provisioner} does not read ${foreign.map((k) => `"${k}"`).join(", ")} (EBS parameters such as type, iops and encrypted are ignored, not applied): allowed: ${local.length > 0 ? local.join(", ") : "no parameters"}`;
    return undefined;
  }
  if (provisioner === "ebs.csi.aws.com") {
    return p.encrypted === "true" || "kmsKeyId" in p
      ? undefined
      : 'must enable encryption at rest: encrypted: "true" (and optionally kmsKeyId)';
  }
  // GCE persistent disks and Azure managed disks are always encrypted at rest by the platform.
  if (provisioner === "pd.csi.storage.gke.io" || provisioner === "disk.csi.azure.com")
    return undefined;
  return p.encrypted === "true" ||
    "disk-encryption-kms-key" in p ||
    "diskEncryptionSetID" in p ||
    "kmsKeyId" in p
    ? undefined
    : 'must enable encryption at rest for this provisioner: encrypted: "true", kmsKeyId, disk-encryption-kms-key or diskEncryptionSetID';
}

const postgres = z.strictObject({
  instances: positiveInt.describe("CloudNativePG instances: 1 primary + standbys"),
  synchronousReplicas: nonNegativeInt.describe("standbys that must confirm each commit"),
  image,
  storage: storage.describe("data volume per instance (PVC)"),
  walStorage: storage
    .optional()
    .describe("separate WAL volume; unset keeps WAL on the data volume"),
  resources,
  database: dnsLabel.describe("application database created at bootstrap"),
  owner: dnsLabel.describe("its owner role; credentials in Secret postgres-owner-credentials"),
  requireTls: z.boolean().describe("reject non-TLS client connections (pg_hba hostssl)"),
  parameters: z.record(z.string(), z.string()).describe("postgresql.conf parameters"),
  restoreFrom: z
    .strictObject({
      backup: z
        .string()
        .regex(
          /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
          "must be the name of a CloudNativePG Backup object in the workloads namespace (`kubectl get backups`)",
        )
        .optional()
        .describe("name of a CNPG Backup object (same namespace) to bootstrap from"),
      objectStore: z
        .boolean()
        .optional()
        .describe("recover from the base backups and WAL archive in backups.postgres.objectStore"),
      serverName: dnsLabel
        .optional()
        .describe(
          "server name the source cluster archived under (objectStore source); default `postgres`",
        ),
      targetTime: z.iso
        .datetime({ offset: true })
        .optional()
        .describe("point in time to recover to (RFC 3339 with offset); unset: end of the WAL"),
    })
    .optional()
    .describe("bootstrap a new cluster from a backup instead of initdb"),
  // Issue 14 item 14: connection pooling (components/data-stores/pooler.ts).
  pooler: z
    .strictObject({
      enabled: z
        .boolean()
        .describe(
          "a CloudNativePG Pooler (PgBouncer, type rw) in front of the primary; the orchestrator's and arms' DATABASE_URL point at it",
        ),
      instances: z
        .number()
        .int()
        .min(2, "must be ≥ 2: one PgBouncer is a single point of failure (its PDB keeps one up)")
        .describe("PgBouncer pods, spread across nodes, with a PDB (maxUnavailable 1)"),
      poolMode: z
        .enum(["session", "transaction"])
        .describe(
          "session: a server connection per client session (safe for every client); transaction: per transaction (more sharing; no session state, no prepared statements across transactions)",
        ),
      image: image.describe(
        "PgBouncer image; CloudNativePG's default at the pinned operator is ghcr.io/cloudnative-pg/pgbouncer:1.24.1",
      ),
      resources: resources.describe("per PgBouncer pod (also its bootstrap init container)"),
      parameters: z
        .record(z.string(), z.string())
        .describe("pgbouncer.ini parameters (max_client_conn, default_pool_size, ...)"),
    })
    .describe("connection pooling with PgBouncer"),
  existingSecret: existingSecret("owner's password")
    .refine((s) => s === undefined || s.key === "password", {
      message:
        'CloudNativePG bootstraps the owner from a kubernetes.io/basic-auth Secret: the key must be "password" (and the Secret must hold `username` = dataStores.postgres.owner)',
      path: ["key"],
    })
    .describe(
      "an existing kubernetes.io/basic-auth Secret (username = owner, password) in the workloads namespace instead of a generated password; apps get DATABASE_PASSWORD and a DATABASE_URL composed from it",
    ),
  pod: podOptions
    .optional()
    .describe(
      "mapped onto the Cluster: affinity.{nodeSelector,tolerations,nodeAffinity,additionalPodAffinity,additionalPodAntiAffinity}, priorityClassName, imagePullSecrets, inheritedMetadata (labels and annotations also reach the operator's Services and PVCs)",
    ),
});

const redis = z.strictObject({
  mode: z
    .enum(["standalone", "sentinel"])
    .describe("sentinel: replication with automatic failover; standalone: one pod"),
  replicas: positiveInt.describe("redis pods; in sentinel mode each also runs a sentinel"),
  sentinelQuorum: positiveInt.describe("sentinels that must agree a master is down"),
  image,
  exporterImage: image.describe("redis_exporter sidecar (metrics port 9121)"),
  storage: storage.describe("data volume per pod (PVC): RDB snapshots and AOF"),
  maxmemory: z
    .string()
    .regex(/^\d+(b|k|kb|m|mb|g|gb)?$/i, "must be a Redis memory size like 2gb or 512mb")
    .describe("Redis maxmemory (Redis units: gb = GiB)"),
  maxmemoryPolicy: z
    .enum([
      "noeviction",
      "allkeys-lru",
      "allkeys-lfu",
      "allkeys-random",
      "volatile-lru",
      "volatile-lfu",
      "volatile-random",
      "volatile-ttl",
    ])
    .describe("what Redis evicts at maxmemory"),
  resources,
  sentinelResources: resources.describe("per sentinel container"),
  exporterResources: resources.describe("per exporter container"),
  disableDangerousCommands: z.boolean().describe("rename FLUSHALL, FLUSHDB, CONFIG, DEBUG away"),
  passwordRotation: z
    .strictObject({
      active: z
        .enum(["a", "b"])
        .describe(
          "which of the two password slots (a and b: generated, or existingSecret's key and keyB) clients, replicas (masterauth) and Sentinels (auth-pass, sentinel-pass) use",
        ),
      acceptBoth: z
        .boolean()
        .describe(
          "Redis and the Sentinels accept both slots' passwords (ACL `user default` with two passwords): on during a rotation, off otherwise",
        ),
    })
    .describe(
      "password rotation without an outage, in three `pulumi up`s (docs/runbook.md#rotate-a-generated-secret); each change of these keys rolls the Redis pods",
    ),
  // Two keys, like the two generated slots: passwordRotation works the same way with a Secret
  // the user fills (docs/runbook.md#redis-with-an-existing-secret).
  existingSecret: z
    .strictObject({
      name: secretName.describe("Secret made outside the stack"),
      key: secretKeyName.describe("key holding slot a's password"),
      keyB: secretKeyName
        .optional()
        .describe(
          "key holding slot b's password; needed while passwordRotation uses slot b (active b or acceptBoth)",
        ),
    })
    .optional()
    .describe(
      "an existing Secret instead of the generated passwords; it must exist in the workloads AND the reflex namespace (the reflex layer reads it too) with the same values; the pods read the key of passwordRotation's active slot (REDIS_PASSWORD, and a REDIS_URL composed from it)",
    ),
  pod: podOptions.optional(),
});

const qdrant = z.strictObject({
  replicas: positiveInt.describe("Qdrant peers; more than one needs clusterMode"),
  clusterMode: z.boolean().describe("Qdrant native distributed mode (p2p port 6335)"),
  image,
  storage: storage.describe("data volume per peer (PVC): collections and snapshots"),
  resources,
  existingSecret: existingSecret("Qdrant API key").describe(
    "an existing Secret in the workloads namespace instead of a generated API key",
  ),
  pod: podOptions.optional(),
});

const dataStores = z.strictObject({ storageClass, postgres, redis, qdrant });

const quotaHard = z.strictObject({
  "requests.cpu": cpu,
  "requests.memory": memory,
  "limits.cpu": cpu,
  "limits.memory": memory,
  pods: positiveInt,
  persistentvolumeclaims: nonNegativeInt,
  "requests.storage": storage.describe("sum of PVC requests"),
});
const limitRange = z.strictObject({
  defaultRequest: computeResources.describe(
    "request of a container that sets none; default / defaultRequest must respect maxLimitRequestRatio",
  ),
  default: computeResources.describe("limit of a container that sets none"),
  maxLimitRequestRatio: z
    .strictObject({ cpu: z.number().min(1), memory: z.number().min(1) })
    .describe(
      "largest allowed limit / request per container; every pod of the stack and of the charts it installs is checked against it at parse time",
    ),
  min: computeResources
    .partial()
    .optional()
    .describe("smallest request (and limit) a container may have"),
  max: computeResources.partial().optional().describe("largest limit a container may have"),
});
const namespaceBudget = z.strictObject({
  quota: quotaHard.describe("ResourceQuota hard limits; policies check them at HPA maxima"),
  limitRange: limitRange.describe("LimitRange of the namespace"),
});
const quotas = z.strictObject({
  system: namespaceBudget,
  workloads: namespaceBudget,
  reflex: namespaceBudget,
});

/**
 * The private CA's lifetimes. @pulumi/tls renews a certificate only when a `pulumi up` runs
 * inside its early-renewal window, so the window is what the operator has to act in: the daily
 * drift preview shows the pending replacement from its first day (docs/runbook.md).
 */
const privateCa = z
  .strictObject({
    caValidityDays: positiveInt.describe("validity of the CA certificate"),
    serverValidityDays: positiveInt
      .max(825, "must be at most 825: Apple platforms reject longer TLS server certificates")
      .describe("validity of the ingress server certificate"),
    renewBeforeDays: positiveInt.describe(
      "the server certificate is replaced by the first `pulumi up` this many days before it expires",
    ),
  })
  .superRefine((ca, ctx) => {
    if (ca.renewBeforeDays >= ca.serverValidityDays) {
      ctx.addIssue({
        code: "custom",
        path: ["renewBeforeDays"],
        message: `${ca.renewBeforeDays} days is not shorter than serverValidityDays ${ca.serverValidityDays}: every up would replace the certificate; must be < serverValidityDays`,
      });
    }
    // The CA is renewed early enough that a server certificate signed on its last day still
    // expires before it: CA early renewal = serverValidityDays + renewBeforeDays.
    const caRenewal = ca.serverValidityDays + ca.renewBeforeDays;
    if (ca.caValidityDays <= caRenewal) {
      ctx.addIssue({
        code: "custom",
        path: ["caValidityDays"],
        message: `${ca.caValidityDays} days does not outlive a server certificate plus its renewal window (${caRenewal} days): must be > serverValidityDays + renewBeforeDays`,
      });
    }
  });
/** An absolute URL path prefix: starts with `/`, no query, fragment, whitespace or `..`. */
const routePath = z
  .string()
  .regex(
    /^\/([A-Za-z0-9._~!$&'()*+,;=:@%-]+(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*)?$/,
    "must be an absolute path like /api/orchestrator (starts with /, no trailing /, no query or fragment)",
  )
  .refine((p) => !p.split("/").includes(".."), { message: "must not contain `..` segments" })
  .meta({ title: "absolute path" });

const ingress = z.strictObject({
  enabled: z.boolean().describe("create the public edge (and its TLS certificate)"),
  kind: z
    .enum(["gateway", "ingress"])
    .describe(
      "gateway: Gateway API (Gateway + HTTPRoutes) on Envoy Gateway; ingress: networking.k8s.io Ingress objects for an existing Ingress controller (docs/ingress.md)",
    ),
  className: z
    .string()
    .min(1)
    .describe(
      "kind ingress: the IngressClass; the ingress-nginx annotations are written only when it is `nginx`",
    ),
  host: z
    .string()
    .regex(
      /^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$/,
      "must be a DNS host name like api.octollm.io",
    )
    .describe("public host name"),
  paths: z
    .strictObject({
      reflex: routePath.describe("prefix routed to the reflex layer"),
      orchestrator: routePath.describe("prefix routed to the orchestrator, unchanged (no rewrite)"),
    })
    .describe("public path prefixes; the longest match wins"),
  tls: z.strictObject({
    mode: z
      .enum(["acme", "private-ca"])
      .describe("acme: cert-manager + Let's Encrypt; private-ca: a CA made with @pulumi/tls"),
    acmeEmail: z.email().optional().describe("ACME account contact (expiry notices)"),
    acmeServer: z.url().describe("ACME directory URL (Let's Encrypt production or staging)"),
    privateCa: privateCa.describe(
      "private-ca mode: lifetimes of the CA and server certificate (renewal: docs/runbook.md)",
    ),
    solver: z
      .enum(["http01", "dns01"])
      .describe(
        "ACME challenge: http01 through the edge (Gateway API gatewayHTTPRoute solver, or the ingress class), dns01 with `tls.dns01`",
      ),
    dns01: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        "cert-manager ACME dns01 solver block (e.g. {route53: {region: ...}}); required with solver dns01",
      ),
  }),
  rateLimit: z.strictObject({
    rps: positiveInt.describe(
      "requests per second per client IP (gateway: Envoy local rate limit per replica; ingress-nginx: limit-rps)",
    ),
    connections: positiveInt.describe(
      "kind ingress (nginx): concurrent connections per client IP (limit-connections)",
    ),
    listenerConnections: positiveInt.describe(
      "kind gateway: concurrent downstream connections per listener per Envoy replica (ClientTrafficPolicy connectionLimit); Envoy Gateway has no per-client connection cap",
    ),
  }),
  proxyBodySize: z
    .string()
    .regex(/^\d+[kmg]?$/i, "must be an nginx size like 10m")
    .describe("kind ingress (nginx): largest request body (proxy-body-size)"),
  proxyTimeoutSeconds: positiveInt.describe("request timeout at the edge; LLM calls are slow"),
  gateway: z
    .strictObject({
      className: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "must be a DNS subdomain like envoy-gateway")
        .optional()
        .describe(
          "GatewayClass the Gateway uses; created by the program when operators.envoyGateway.install (default `envoy-gateway`), required when not",
        ),
      replicas: positiveInt.describe("Envoy proxy replicas (data plane)"),
      serviceType: z
        .enum(["LoadBalancer", "NodePort", "ClusterIP"])
        .describe("type of the Service in front of the Envoy proxies"),
      proxyResources: resources.describe("the Envoy proxy container (data plane)"),
    })
    .describe("kind gateway: the Gateway and its data plane"),
});

const cidr = z
  .string()
  .refine(isCidr, "must be a CIDR like 10.0.0.0/8 or fd00::/8")
  .meta({ title: "CIDR" });
const network = z.strictObject({
  llmEgressCidrs: z.array(cidr).min(1).describe("where orchestrator and arms may open HTTPS"),
  llmEgressExceptCidrs: z
    .array(cidr)
    .describe("carved out of llmEgressCidrs (cluster/private ranges)"),
  ingressControllerNamespace: dnsLabel.describe(
    "namespace of the ingress controller; the only source allowed to reach the services",
  ),
  dnsNamespace: dnsLabel.describe("namespace of cluster DNS (allowed by every egress policy)"),
  dnsCidrs: z
    .array(cidr)
    .describe(
      "DNS servers pods resolve through that are no kube-dns pod, allowed on port 53 by every egress policy: NodeLocal DNSCache's 169.254.20.10/32 (and, in its transparent mode, the kube-dns Service IP)",
    ),
  nodeCidrs: z
    .array(cidr)
    .min(1)
    .describe(
      "addresses nodes use as source for pod traffic (node subnets; with overlay CNIs also the tunnel addresses). The reflex layer runs on the host network, so NetworkPolicies see its traffic as coming from these; must not overlap podCidrs (single addresses excepted). Default: the distribution preset",
    ),
  apiServerCidrs: z
    .array(cidr)
    .min(1)
    .describe(
      "addresses of the Kubernetes API server endpoints (`kubectl get endpoints kubernetes -n default`). Pods that talk to the API (CloudNativePG instances) may open apiServerPorts to these and nothing else. Default: the distribution preset",
    ),
  apiServerPorts: z
    .array(port)
    .min(1)
    .describe(
      "ports of those endpoints (kind, k3d 6443; minikube 8443; EKS, GKE, AKS 443). Default: the distribution preset",
    ),
  podCidrs: z
    .array(cidr)
    .describe(
      "the cluster's pod CIDR(s) when known (kind 10.244.0.0/16, k3d 10.42.0.0/16); nodeCidrs and apiServerCidrs must not overlap them. Empty: unknown (VPC-native CNIs). Default: the distribution preset",
    ),
});

/**
 * Node and API-server ranges must not take in pod addresses: an `ipBlock` that covers pods
 * admits every pod (kind's 10.244.0.0/16 inside a 10.0.0.0/8 "node range"). One address is
 * allowed, a node's own address on the pod network (its bridge or tunnel gateway).
 */
function checkPodCidrOverlap(ctx: z.RefinementCtx, n: z.infer<typeof network>): void {
  const pods = n.podCidrs.map(parseCidr).filter((c) => c !== undefined);
  for (const key of ["nodeCidrs", "apiServerCidrs"] as const) {
    n[key].forEach((text, i) => {
      const range = parseCidr(text);
      if (!range || isSingleAddress(range)) return;
      for (const pod of pods) {
        if (!cidrsOverlap(range, pod)) continue;
        ctx.addIssue({
          code: "custom",
          path: ["network", key, i],
          message: `${text} ${cidrContains(range, pod) ? "contains" : "overlaps"} the pod CIDR ${pod.text} (network.podCidrs): every pod would pass as ${key === "nodeCidrs" ? "a node" : "the API server"}; allowed: ranges disjoint from ${n.podCidrs.join(", ")} (single /32 or /128 addresses excepted)`,
        });
      }
    });
  }
}

const chart = z.strictObject({
  install: z.boolean().describe("install the operator's Helm chart; false assumes it is present"),
  version: z
    .string()
    .regex(/^v?\d+\.\d+\.\d+$/, "must be a pinned chart version like 0.23.0")
    .describe("pinned Helm chart version"),
  namespace: dnsLabel.describe("namespace the operator runs in (installed there, or expected)"),
  values: z
    .record(z.string(), z.unknown())
    .describe(
      "extra Helm values deep-merged over the program's (mappings merge, lists replace); keys the program owns are refused, top-level keys are checked against the pinned chart's values.yaml (docs/operations.md, Extra Helm values)",
    ),
});
const operators = z.strictObject({
  cloudnativePg: chart,
  certManager: chart,
  envoyGateway: chart.describe(
    "Envoy Gateway (Gateway API implementation, chart oci://docker.io/envoyproxy/gateway-helm); its data plane runs in this namespace",
  ),
  prometheusStack: chart,
  velero: chart,
});

const alertThresholds = z.strictObject({
  errorRateRatio: z.number().gt(0).lt(1).describe("HighErrorRate fires above this share of 5xx"),
  latencyP95Seconds: z.number().gt(0).max(600).describe("HighRequestLatency: p95 above this"),
  llmCostDollarsPerHour: z.number().gt(0).describe("HighLLMAPICost: spend rate above this"),
  postgresReplicationLagSeconds: z
    .number()
    .gt(0)
    .max(3600)
    .describe("PostgresReplicationLag: standby lag above this"),
  redisMemoryRatio: z.number().gt(0).lt(1).describe("RedisMemoryNearLimit: used / maxmemory"),
  pvcUsageRatio: z.number().gt(0).lt(1).describe("PVCUsageHigh: used / capacity"),
  backupMaxAgeHours: z
    .number()
    .gt(0)
    .max(24 * 14)
    .describe("BackupTooOld: newest successful backup older than this"),
});
const observability = z.strictObject({
  enabled: z.boolean().describe("monitors, alert rules and dashboards; the Prometheus stack"),
  prometheus: z.strictObject({
    retention: z
      .string()
      .regex(/^\d+[dhwy]$/, "must be like 30d")
      .describe("TSDB retention"),
    storage: storage.describe("Prometheus volume (PVC)"),
    resources,
  }),
  grafana: z.strictObject({ resources }),
  alertmanager: z.strictObject({ resources }),
  alerts: alertThresholds,
  tracing: z
    .strictObject({
      enabled: z.boolean(),
      mode: z
        .enum(["jaeger", "otlp"])
        .describe("jaeger: in-cluster all-in-one; otlp: an external endpoint"),
      endpoint: z.url().optional().describe("OTLP endpoint for mode otlp"),
      collectorImage: image,
      jaegerImage: image,
      samplingRatio: z.number().min(0).max(1).describe("share of traces kept"),
      resources,
      pod: podOptions.optional(),
    })
    .superRefine((t, ctx) => {
      if (t.enabled && t.mode === "otlp" && !t.endpoint) {
        ctx.addIssue({
          code: "custom",
          path: ["endpoint"],
          message: "mode otlp needs an endpoint",
        });
      }
    }),
});

const objectStore = z.strictObject({
  destinationPath: z
    .string()
    .regex(/^(s3|gs|https?):\/\//, "must be an object store URL like s3://bucket/path")
    .describe("bucket and prefix for base backups and WAL"),
  endpointURL: z.url().optional().describe("S3-compatible endpoint (MinIO, Ceph)"),
  credentialsSecret: dnsLabel.describe(
    "Secret with the object store credentials in static mode (keys: docs/backups.md)",
  ),
  serverName: dnsLabel
    .optional()
    .describe(
      "folder of this cluster inside destinationPath; default `postgres`. A cluster restored from the archive must write under a new name",
    ),
});
/**
 * How backup workloads (CloudNativePG's instances for the WAL archive, Velero) authenticate to
 * the object store: static keys in Secrets, or a workload identity bound to their
 * ServiceAccounts (docs/backups.md#credentials). checkBackupCredentials() holds the rules.
 */
export const BACKUP_CREDENTIAL_MODES = [
  "static",
  "irsa",
  "eksPodIdentity",
  "gkeWorkloadIdentity",
  "azureWorkloadIdentity",
] as const;
const backupCredentials = z.strictObject({
  mode: z
    .enum(BACKUP_CREDENTIAL_MODES)
    .describe(
      "static: keys in Secrets; irsa / eksPodIdentity (S3, aws), gkeWorkloadIdentity (gs://, gcp), azureWorkloadIdentity (https://, azure): no static keys",
    ),
  secrets: z
    .enum(["program", "external"])
    .describe(
      "static mode: `program` makes the credential Secrets from octollm:secrets.backupCredentials; `external`: you create them after the first `up` (docs/operations.md#secrets)",
    ),
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, "must be an IAM role ARN")
    .optional()
    .describe("irsa: the IAM role (ServiceAccount annotation eks.amazonaws.com/role-arn)"),
  gcpServiceAccount: z
    .string()
    .regex(
      /^[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9]+\.iam\.gserviceaccount\.com$/,
      "must be a Google service account email (name@project.iam.gserviceaccount.com)",
    )
    .optional()
    .describe("gkeWorkloadIdentity: annotation iam.gke.io/gcp-service-account"),
  azureClientId: z
    .guid()
    .optional()
    .describe(
      "azureWorkloadIdentity: the managed identity's client ID (azure.workload.identity/client-id)",
    ),
});

const backups = z.strictObject({
  enabled: z.boolean().describe("database-native backups and the Velero schedule"),
  credentials: backupCredentials.describe(
    "how Postgres's WAL archive and Velero authenticate to the object store",
  ),
  jobImage: image.describe("image with pg_dump, redis-cli and curl for the backup CronJobs"),
  jobResources: resources,
  storage: storage.describe("backup PVC for the dump CronJobs"),
  velero: z.strictObject({
    enabled: z.boolean().describe("a Velero Schedule of the platform namespaces"),
    schedule: cron,
    ttl: goDuration
      .refine((d) => /[1-9]/.test(d), {
        message: "must be longer than 0: Velero reads 0 as its 30-day default",
      })
      .describe("how long Velero keeps each backup"),
    snapshotVolumes: z.boolean().describe("take volume snapshots as well as manifests"),
    storageLocation: z.strictObject({
      provider: z.string().min(1),
      bucket: z.string().min(1),
      region: z.string().min(1),
      credentialsSecret: dnsLabel,
      // The Azure plugin's BackupStorageLocation config (velero-plugin-for-microsoft-azure
      // v1.12.1, backupstoragelocation.md): resourceGroup and storageAccount are required.
      resourceGroup: z
        .string()
        .regex(
          /^[-\w.()]{0,89}[-\w()]$/u,
          "must be an Azure resource group name: up to 90 letters, digits, _ - . ( ), not ending in .",
        )
        .optional()
        .describe("provider azure (required): resource group of the storage account"),
      storageAccount: z
        .string()
        .regex(
          /^[a-z0-9]{3,24}$/,
          "must be an Azure storage account name: 3-24 lowercase letters and digits",
        )
        .optional()
        .describe("provider azure (required): storage account holding the `bucket` blob container"),
      subscriptionId: z
        .guid()
        .optional()
        .describe(
          "provider azure: subscription of the storage account, when not the credentials file's AZURE_SUBSCRIPTION_ID",
        ),
    }),
    monitor: z
      .strictObject({
        enabled: z
          .boolean()
          .describe(
            "with `operators.velero.install: false`, a ServiceMonitor (system namespace) scraping the pre-installed Velero's metrics Service in `operators.velero.namespace`, so the Velero backup alerts have data; an installed Velero brings its own",
          ),
        serviceLabels: z
          .record(z.string().min(1), z.string())
          .describe(
            "labels of Velero's metrics Service (the vmware-tanzu chart: `app.kubernetes.io/name: velero`, `app.kubernetes.io/instance: <release>`)",
          ),
        port: z
          .string()
          .min(1)
          .describe("name of the metrics port of that Service (the chart's: `http-monitoring`)"),
      })
      .describe("scraping a Velero this program does not install"),
  }),
  postgres: z.strictObject({
    schedule: cron.describe("base backup (CNPG ScheduledBackup) or pg_dump schedule"),
    retention: retentionDays,
    objectStore: objectStore
      .optional()
      .describe("WAL archive + base backups; unset uses a pg_dump CronJob"),
  }),
  redis: z.strictObject({ schedule: cron.describe("RDB copy schedule"), retention: retentionDays }),
  qdrant: z.strictObject({
    schedule: cron.describe("snapshot schedule"),
    retention: retentionDays,
  }),
  pod: podOptions.optional().describe("pod options of the backup CronJobs"),
});

/** Values that must never be printed. They come from `pulumi config set --secret`. */
const secrets = z.strictObject({
  llmApiKeys: z
    .record(dnsLabel, z.string().min(1))
    .describe("LLM provider API keys by provider (openai, anthropic); never generated"),
  jwtSecret: z
    .string()
    .min(32, "must be at least 32 characters")
    .optional()
    .describe("JWT signing secret; generated when unset"),
  backupCredentials: z
    .strictObject({
      postgres: z
        .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string().min(1))
        .optional()
        .describe(
          "object store keys of the WAL archive (S3: ACCESS_KEY_ID, ACCESS_SECRET_KEY; GCS: gcsCredentials; Azure: AZURE_CONNECTION_STRING)",
        ),
      velero: z
        .string()
        .min(1)
        .optional()
        .describe("Velero's provider credentials file (key `cloud`)"),
    })
    .describe("backups.credentials mode static, secrets program: the Secrets' contents"),
  alerting: z
    .strictObject({
      pagerUrl: z.url().optional().describe("Alertmanager webhook for critical alerts"),
      chatWebhookUrl: z.url().optional().describe("Alertmanager webhook for warnings"),
    })
    .describe("Alertmanager receiver endpoints"),
});

const llm = z.strictObject({
  providers: z
    .array(dnsLabel)
    .min(1)
    .describe("providers whose keys are mounted as <PROVIDER>_API_KEY"),
  existingSecret: z
    .strictObject({
      name: secretName.describe("Secret made outside the stack, in the workloads namespace"),
      keys: z
        .record(dnsLabel, secretKeyName)
        .optional()
        .describe("key per provider; default `<provider>-api-key`"),
    })
    .optional()
    .describe(
      "the LLM keys from an existing Secret instead of octollm:secrets.llmApiKeys (a provider whose key is absent leaves its variable unset)",
    ),
});

// ---------------------------------------------------------------------------------------------
// The platform
// ---------------------------------------------------------------------------------------------

export const ENVIRONMENTS = ["dev", "staging", "production"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

const platformShape = {
  environment: z.enum(ENVIRONMENTS).describe("which defaults apply; set in every stack file"),
  protectData: z
    .boolean()
    .describe("Pulumi protect + retain on delete for data stores and their volumes"),
  ci: z
    .strictObject({
      preview: z
        .boolean()
        .describe(
          "CI has a cluster for this stack: pull requests preview it with the policy pack and the drift workflow checks it daily (`npm run ci-stacks` lists these stacks)",
        ),
    })
    .describe("how CI treats the stack; the program itself ignores it"),
  kubernetes,
  namespaces,
  orchestrator,
  reflexLayer,
  arms: z.array(armSchema).min(1).describe("the arms; merged with the defaults by name"),
  dataStores,
  quotas,
  ingress,
  network,
  operators,
  observability,
  backups,
  llm,
  secrets,
  // Issue 14 item 11: platform-wide pod options; each workload's `pod` merges over them.
  podDefaults: podOptions
    .optional()
    .describe(
      "pod options for every pod the platform builds (and the CloudNativePG instances); a workload's `pod` wins",
    ),
};

/** Ports the platform's own services take; an arm may not reuse them. */
function reservedPorts(c: PlatformInput): Map<number, string> {
  return new Map<number, string>([
    [c.orchestrator.ports.http, "orchestrator http"],
    [c.orchestrator.ports.metrics, "orchestrator metrics"],
    [c.reflexLayer.port, "reflex layer"],
    [5432, "postgres"],
    [6379, "redis"],
    [26379, "redis sentinel"],
    [9121, "redis exporter"],
    [6333, "qdrant http"],
    [6334, "qdrant grpc"],
    [6335, "qdrant p2p"],
  ]);
}

type PlatformInput = z.infer<z.ZodObject<typeof platformShape>>;

/** Bytes in a Redis memory size (Redis: `2gb` = 2 GiB, `2g` = 2·10⁹). */
export function redisBytes(size: string): bigint {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(size);
  if (!m) throw new Error(`not a Redis memory size: ${size}`);
  const unit = (m[2] ?? "b").toLowerCase();
  const factor: Record<string, bigint> = {
    b: 1n,
    k: 1000n,
    kb: 1024n,
    m: 1000n ** 2n,
    mb: 1024n ** 2n,
    g: 1000n ** 3n,
    gb: 1024n ** 3n,
  };
  return BigInt(m[1]) * factor[unit];
}

function checkPdbAgainstReplicas(
  ctx: z.RefinementCtx,
  path: (string | number)[],
  w: { replicas: number; hpa: HpaConfig; pdb: PdbConfig },
): void {
  const floor = w.hpa.enabled ? w.hpa.minReplicas : w.replicas;
  if (w.pdb.minAvailable !== undefined && w.pdb.minAvailable >= floor) {
    ctx.addIssue({
      code: "custom",
      path: [...path, "pdb", "minAvailable"],
      message: `minAvailable ${w.pdb.minAvailable} is not below the ${w.hpa.enabled ? "HPA minimum" : "replica count"} ${floor}: the PDB would block every eviction (node drains hang)`,
    });
  }
}

/** CloudNativePG's default server name: the Cluster's name. */
const PG_SERVER_NAME = "postgres";

/** `dataStores.postgres.restoreFrom`: one source, and a WAL archive the new cluster can write. */
function checkRestore(ctx: z.RefinementCtx, c: PlatformInput): void {
  const restore = c.dataStores.postgres.restoreFrom;
  if (!restore) return;
  const path = ["dataStores", "postgres", "restoreFrom"];
  const fromBackup = restore.backup !== undefined;
  const fromArchive = restore.objectStore === true;
  if (!fromBackup && !fromArchive) {
    ctx.addIssue({
      code: "custom",
      path,
      message:
        "a restore needs a source: set `backup` (a Backup object, see `kubectl get backups`) or `objectStore: true` (the archive in backups.postgres.objectStore)",
    });
  }
  if (fromBackup && fromArchive) {
    ctx.addIssue({
      code: "custom",
      path,
      message: "a restore has one source: set either `backup` or `objectStore: true`, not both",
    });
  }
  const store = c.backups.postgres.objectStore;
  if (fromArchive && !store) {
    ctx.addIssue({
      code: "custom",
      path: [...path, "objectStore"],
      message:
        "restoring from the object store needs backups.postgres.objectStore (destinationPath and credentialsSecret of the archive to recover from)",
    });
  }
  // The restored cluster archives its own WAL. CloudNativePG refuses to archive into a folder
  // that already holds another cluster's WAL, so it must use a server name of its own.
  const source = restore.serverName ?? PG_SERVER_NAME;
  const target = store?.serverName ?? PG_SERVER_NAME;
  if (c.backups.enabled && store && source === target) {
    ctx.addIssue({
      code: "custom",
      path: ["backups", "postgres", "objectStore", "serverName"],
      message: `the restored cluster would archive its WAL under "${target}", the server name it recovers from, and CloudNativePG refuses a non-empty archive: set a new name (e.g. ${source}-2) and keep it after the restore`,
    });
  }
}

/** Keys the Postgres object-store Secret holds, by the archive's URL scheme (CNPG's names). */
export function objectStoreSecretKeys(destinationPath: string): string[] {
  if (destinationPath.startsWith("gs://")) return ["gcsCredentials"];
  if (/^https?:\/\//.test(destinationPath)) return ["AZURE_CONNECTION_STRING"];
  return ["ACCESS_KEY_ID", "ACCESS_SECRET_KEY"];
}

/** Whether the stack reads the Postgres object store (archiving, or recovering from it). */
export function usesPostgresObjectStore(c: PlatformInput): boolean {
  const store = c.backups.postgres.objectStore;
  return (
    store !== undefined &&
    (c.backups.enabled || c.dataStores.postgres.restoreFrom?.objectStore === true)
  );
}

const AZURE_LOCATION_KEYS = ["resourceGroup", "storageAccount", "subscriptionId"] as const;

/**
 * The Velero storage location the program writes (operators.velero.install) has what its
 * provider's plugin reads. Azure (velero-plugin-for-microsoft-azure v1.12.1): the
 * BackupStorageLocation needs `storageAccount` (Velero's NewStorageClient refuses to start
 * without it) and `resourceGroup` (backupstoragelocation.md: required; the storage account's
 * endpoint lookup uses it); the volume snapshotter reads AZURE_SUBSCRIPTION_ID and
 * AZURE_RESOURCE_GROUP from a credentials file only, which workload identity does not mount.
 */
function checkVeleroLocation(ctx: z.RefinementCtx, c: PlatformInput): void {
  if (!c.operators.velero.install) return;
  const loc = c.backups.velero.storageLocation;
  const at = ["backups", "velero", "storageLocation"];
  if (loc.provider === "azure") {
    for (const key of ["resourceGroup", "storageAccount"] as const)
      if (loc[key] === undefined)
        ctx.addIssue({
          code: "custom",
          path: [...at, key],
          message: `provider azure needs ${key} (velero-plugin-for-microsoft-azure: the BackupStorageLocation's ${key === "resourceGroup" ? "resource group of the storage account" : "storage account holding the bucket container"})`,
        });
    if (c.backups.credentials.mode === "azureWorkloadIdentity" && c.backups.velero.snapshotVolumes)
      ctx.addIssue({
        code: "custom",
        path: ["backups", "velero", "snapshotVolumes"],
        message:
          "the Azure plugin's volume snapshotter reads AZURE_SUBSCRIPTION_ID and AZURE_RESOURCE_GROUP from a credentials file, which azureWorkloadIdentity does not mount: set snapshotVolumes false, or use credentials mode static",
      });
    return;
  }
  for (const key of AZURE_LOCATION_KEYS)
    if (loc[key] !== undefined)
      ctx.addIssue({
        code: "custom",
        path: [...at, key],
        message: `${key} is for provider azure; the ${loc.provider} plugin would ignore it`,
      });
}

const IDENTITY_NEEDS = {
  irsa: { key: "roleArn", scheme: "s3://", provider: "aws" },
  eksPodIdentity: { key: undefined, scheme: "s3://", provider: "aws" },
  gkeWorkloadIdentity: { key: "gcpServiceAccount", scheme: "gs://", provider: "gcp" },
  azureWorkloadIdentity: { key: "azureClientId", scheme: "https://", provider: "azure" },
} as const;
const IDENTITY_KEYS = ["roleArn", "gcpServiceAccount", "azureClientId"] as const;

/**
 * A credentials mode has what it needs: its identity key, an object store and a Velero provider
 * of its cloud, the static Secrets' contents when the program makes them, and no Secret the
 * program would need before it exists (issue: client-side create, AlreadyExists).
 */
function checkBackupCredentials(ctx: z.RefinementCtx, c: PlatformInput): void {
  const cred = c.backups.credentials;
  const at = ["backups", "credentials"];
  const store = usesPostgresObjectStore(c) ? c.backups.postgres.objectStore : undefined;
  const velero = c.operators.velero.install ? c.backups.velero.storageLocation : undefined;
  if (cred.mode !== "static") {
    const needs = IDENTITY_NEEDS[cred.mode];
    for (const key of IDENTITY_KEYS) {
      if (key === needs.key && cred[key] === undefined)
        ctx.addIssue({
          code: "custom",
          path: [...at, key],
          message: `mode ${cred.mode} needs ${key}`,
        });
      if (key !== needs.key && cred[key] !== undefined)
        ctx.addIssue({
          code: "custom",
          path: [...at, key],
          message: `${key} belongs to another credentials mode, not ${cred.mode}${cred.mode === "eksPodIdentity" ? " (Pod Identity takes its role from the association: aws eks create-pod-identity-association)" : ""}`,
        });
    }
    if (store && !store.destinationPath.startsWith(needs.scheme))
      ctx.addIssue({
        code: "custom",
        path: ["backups", "postgres", "objectStore", "destinationPath"],
        message: `credentials mode ${cred.mode} authenticates to ${needs.scheme} object stores only`,
      });
    if (velero && velero.provider !== needs.provider)
      ctx.addIssue({
        code: "custom",
        path: ["backups", "velero", "storageLocation", "provider"],
        message: `credentials mode ${cred.mode} works with Velero provider ${needs.provider} only`,
      });
    return;
  }
  for (const key of IDENTITY_KEYS)
    if (cred[key] !== undefined)
      ctx.addIssue({
        code: "custom",
        path: [...at, key],
        message: `${key} is for a workload-identity mode; mode static reads keys from Secrets`,
      });
  const given = c.secrets.backupCredentials;
  if (cred.secrets === "program") {
    if (store) {
      const keys = given.postgres ? Object.keys(given.postgres) : [];
      const needed = objectStoreSecretKeys(store.destinationPath);
      const missing = needed.filter((k) => !keys.includes(k));
      if (missing.length > 0)
        ctx.addIssue({
          code: "custom",
          path: ["secrets", "backupCredentials", "postgres"],
          message: `backups.credentials.secrets program needs the object store keys ${needed.join(", ")} (missing ${missing.join(", ")}): pulumi config set --secret --path 'octollm:secrets.backupCredentials.postgres.<KEY>' …`,
        });
    }
    if (velero && !given.velero)
      ctx.addIssue({
        code: "custom",
        path: ["secrets", "backupCredentials", "velero"],
        message:
          "backups.credentials.secrets program with operators.velero.install needs Velero's credentials file: pulumi config set --secret --path 'octollm:secrets.backupCredentials.velero' < credentials-velero",
      });
    return;
  }
  // external: the Secret must be creatable before something waits on it. Velero's pod mounts
  // its Secret (not optional) and Pulumi awaits the Deployment, in a namespace this program
  // creates: there is no moment to `kubectl create secret` in between.
  if (velero)
    ctx.addIssue({
      code: "custom",
      path: [...at, "secrets"],
      message: `external Velero credentials cannot exist before the first up: the program creates namespace ${c.operators.velero.namespace} and awaits Velero, whose pod mounts the Secret; use secrets program (octollm:secrets.backupCredentials.velero), a workload-identity mode, or operators.velero.install false`,
    });
}

/**
 * kube-prometheus-stack's pods land in the system namespace with the resources we give them in
 * its values; offline the chart is not expanded, so its pods are not in the capacity table. Sum
 * them here so that monitoring switched on under a quota that cannot hold it (dev's, sized for a
 * laptop without monitoring) fails before anything is registered, naming the quota key.
 */
function monitoringQuotaProblems(c: PlatformInput): { path: PropertyKey[]; message: string }[] {
  const stack = c.operators.prometheusStack;
  if (!c.observability.enabled || !stack.install || stack.namespace !== c.namespaces.system)
    return [];
  const o = c.observability;
  const parts = [o.prometheus.resources, o.grafana.resources, o.alertmanager.resources];
  const need: Record<string, { num: bigint; den: bigint }> = {
    "requests.cpu": sumOf(parts.map((r) => r.requests.cpu)),
    "requests.memory": sumOf(parts.map((r) => r.requests.memory)),
    "limits.cpu": sumOf(parts.map((r) => r.limits.cpu)),
    "limits.memory": sumOf(parts.map((r) => r.limits.memory)),
    "requests.storage": sumOf([o.prometheus.storage]),
    pods: sumOf([parts.length]),
  };
  const hard = c.quotas.system.quota as Record<string, string | number | undefined>;
  const out: { path: PropertyKey[]; message: string }[] = [];
  for (const [key, value] of Object.entries(need)) {
    const limit = hard[key];
    if (limit === undefined || !isQuantity(limit)) continue;
    if (compare(value, parseQuantity(limit)) > 0)
      out.push({
        path: ["quotas", "system", "quota", key],
        message: `monitoring (observability.enabled with operators.prometheusStack.install) needs ${key} of at least ${String(formatQ(key, value))} for Prometheus, Grafana and Alertmanager alone; raise the quota or their resources in octollm:observability, or leave monitoring off`,
      });
  }
  return out;
}

function sumOf(values: (string | number)[]): { num: bigint; den: bigint } {
  return values
    .filter((v) => isQuantity(v))
    .map((v) => parseQuantity(v))
    .reduce((a, b) => ({ num: a.num * b.den + b.num * a.den, den: a.den * b.den }), {
      num: 0n,
      den: 1n,
    });
}

function formatQ(key: string, q: { num: bigint; den: bigint }): string {
  const n = Number(q.num) / Number(q.den);
  if (key.endsWith("cpu")) return Number.isInteger(n) ? String(n) : `${Math.ceil(n * 1000)}m`;
  if (key === "pods") return String(n);
  return `${Math.ceil(n / 2 ** 20)}Mi`;
}

/** Bring-your-own credentials: one source per credential, keys only for configured providers. */
function checkExistingSecrets(ctx: z.RefinementCtx, c: PlatformInput): void {
  const redisSecret = c.dataStores.redis.existingSecret;
  if (redisSecret) {
    const { active, acceptBoth } = c.dataStores.redis.passwordRotation;
    const at = ["dataStores", "redis", "existingSecret", "keyB"];
    if (redisSecret.keyB === undefined && (active === "b" || acceptBoth)) {
      ctx.addIssue({
        code: "custom",
        path: at,
        message: `dataStores.redis.passwordRotation (active ${active}, acceptBoth ${String(acceptBoth)}) uses slot b: name the key of slot b's password in Secret "${redisSecret.name}" (keyB), put the new password there first (docs/runbook.md#redis-with-an-existing-secret)`,
      });
    }
    if (redisSecret.keyB === redisSecret.key) {
      ctx.addIssue({
        code: "custom",
        path: at,
        message: `"${redisSecret.keyB}" is also key: slot b needs its own key (the two slots hold different passwords during a rotation)`,
      });
    }
  }
  const llmSecret = c.llm.existingSecret;
  if (!llmSecret) return;
  if (Object.keys(c.secrets.llmApiKeys).length > 0) {
    ctx.addIssue({
      code: "custom",
      path: ["llm", "existingSecret"],
      message:
        "the LLM keys come from one place: remove octollm:secrets.llmApiKeys or llm.existingSecret",
    });
  }
  for (const provider of Object.keys(llmSecret.keys ?? {})) {
    if (!c.llm.providers.includes(provider)) {
      ctx.addIssue({
        code: "custom",
        path: ["llm", "existingSecret", "keys", provider],
        message: `"${provider}" is not in llm.providers (${c.llm.providers.join(", ")})`,
      });
    }
  }
}

export const platformSchema = z.strictObject(platformShape).superRefine((c, ctx) => {
  for (const problem of monitoringQuotaProblems(c))
    ctx.addIssue({ code: "custom", path: problem.path, message: problem.message });
  checkPodCidrOverlap(ctx, c.network);
  // Arms: names and ports are identities (Service names, NetworkPolicy ports).
  const names = new Map<string, number>();
  const taken = reservedPorts(c);
  c.arms.forEach((arm, i) => {
    if (names.has(arm.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["arms", i, "name"],
        message: `duplicate arm name "${arm.name}": names must be unique`,
      });
    }
    names.set(arm.name, i);
    const owner = taken.get(arm.port);
    if (owner) {
      ctx.addIssue({
        code: "custom",
        path: ["arms", i, "port"],
        message: `port ${arm.port} is already used by ${owner}: each arm needs its own port`,
      });
    }
    taken.set(arm.port, `arm ${arm.name}`);
    checkPdbAgainstReplicas(ctx, ["arms", i], arm);
  });
  checkPdbAgainstReplicas(ctx, ["orchestrator"], c.orchestrator);

  const pg = c.dataStores.postgres;
  if (pg.synchronousReplicas >= pg.instances) {
    ctx.addIssue({
      code: "custom",
      path: ["dataStores", "postgres", "synchronousReplicas"],
      message: `${pg.synchronousReplicas} synchronous replicas need more than ${pg.instances} instances: must be < instances`,
    });
  }
  if (c.environment === "production" && (pg.instances < 3 || pg.synchronousReplicas < 1)) {
    ctx.addIssue({
      code: "custom",
      path: ["dataStores", "postgres", "instances"],
      message: `production needs ≥ 3 instances with ≥ 1 synchronous standby (got ${pg.instances}/${pg.synchronousReplicas})`,
    });
  }
  checkRestore(ctx, c);
  checkBackupCredentials(ctx, c);
  checkVeleroLocation(ctx, c);

  const redis = c.dataStores.redis;
  if (isQuantity(redis.resources.limits.memory)) {
    const limit = parseQuantity(redis.resources.limits.memory);
    const max = { num: redisBytes(redis.maxmemory), den: 1n };
    // Redis needs room above maxmemory for fragmentation, replication buffers and AOF rewrite.
    const withHeadroom = { num: max.num * 5n, den: 4n };
    if (compare(withHeadroom, limit) > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["dataStores", "redis", "maxmemory"],
        message: `maxmemory ${redis.maxmemory} plus 25% headroom exceeds the memory limit ${redis.resources.limits.memory}: raise the limit or lower maxmemory`,
      });
    }
  }
  if (redis.mode === "sentinel") {
    if (redis.replicas < 3) {
      ctx.addIssue({
        code: "custom",
        path: ["dataStores", "redis", "replicas"],
        message: `sentinel mode needs ≥ 3 replicas, got ${redis.replicas}`,
      });
    }
    const majority = Math.floor(redis.replicas / 2) + 1;
    if (redis.sentinelQuorum > redis.replicas || redis.sentinelQuorum < majority) {
      ctx.addIssue({
        code: "custom",
        path: ["dataStores", "redis", "sentinelQuorum"],
        message: `quorum ${redis.sentinelQuorum} must be a majority of the ${redis.replicas} sentinels (${majority}..${redis.replicas})`,
      });
    }
  } else if (redis.replicas !== 1) {
    ctx.addIssue({
      code: "custom",
      path: ["dataStores", "redis", "replicas"],
      message: `standalone mode runs exactly 1 replica (got ${redis.replicas}); use mode sentinel for more`,
    });
  }

  const q = c.dataStores.qdrant;
  if (q.clusterMode && q.replicas < 2) {
    ctx.addIssue({
      code: "custom",
      path: ["dataStores", "qdrant", "clusterMode"],
      message: `cluster mode with ${q.replicas} replica is not a cluster: needs ≥ 2 replicas (3 for quorum)`,
    });
  }
  if (!q.clusterMode && q.replicas !== 1) {
    ctx.addIssue({
      code: "custom",
      path: ["dataStores", "qdrant", "replicas"],
      message: `${q.replicas} Qdrant replicas without clusterMode would be independent, diverging stores: enable clusterMode`,
    });
  }

  if (
    c.ingress.enabled &&
    c.ingress.kind === "gateway" &&
    !c.operators.envoyGateway.install &&
    !c.ingress.gateway.className
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["ingress", "gateway", "className"],
      message:
        "ingress.kind gateway with operators.envoyGateway.install false needs the GatewayClass of the implementation already in the cluster (e.g. envoy-gateway)",
    });
  }
  if (c.ingress.enabled && c.ingress.tls.mode === "acme" && c.ingress.tls.solver === "dns01") {
    if (!c.ingress.tls.dns01 || Object.keys(c.ingress.tls.dns01).length === 0)
      ctx.addIssue({
        code: "custom",
        path: ["ingress", "tls", "dns01"],
        message:
          "solver dns01 needs cert-manager's dns01 solver block, e.g. {route53: {region: eu-west-1}}",
      });
  }
  if (c.ingress.paths.orchestrator === c.ingress.paths.reflex) {
    ctx.addIssue({
      code: "custom",
      path: ["ingress", "paths", "orchestrator"],
      message: `got "${c.ingress.paths.orchestrator}", the same prefix as paths.reflex: the two backends need distinct prefixes`,
    });
  }
  // The Envoy proxies run in Envoy Gateway's namespace; when that is one of ours, admission
  // applies its LimitRange to them.
  const dataPlaneRole = (Object.keys(c.namespaces) as (keyof typeof c.namespaces)[]).find(
    (role) => c.namespaces[role] === c.operators.envoyGateway.namespace,
  );
  if (c.ingress.enabled && c.ingress.kind === "gateway" && dataPlaneRole) {
    const limit = c.quotas[dataPlaneRole].limitRange.maxLimitRequestRatio;
    const r = c.ingress.gateway.proxyResources;
    for (const kind of ["cpu", "memory"] as const) {
      if (!isQuantity(r.requests[kind]) || !isQuantity(r.limits[kind])) continue;
      const ratio = quantityRatio(parseQuantity(r.limits[kind]), parseQuantity(r.requests[kind]));
      if (ratio > limit[kind])
        ctx.addIssue({
          code: "custom",
          path: ["ingress", "gateway", "proxyResources", "limits", kind],
          message: `limit ${r.limits[kind]} over request ${r.requests[kind]} is a ratio of ${ratio.toFixed(2)}: the LimitRange of ${c.operators.envoyGateway.namespace} allows at most ${limit[kind]}`,
        });
    }
  }
  if (c.ingress.enabled && c.ingress.tls.mode === "acme" && !c.ingress.tls.acmeEmail) {
    ctx.addIssue({
      code: "custom",
      path: ["ingress", "tls", "acmeEmail"],
      message: "ACME needs a contact email",
    });
  }
  if (
    c.environment === "production" &&
    c.observability.tracing.enabled &&
    c.observability.tracing.mode !== "otlp"
  ) {
    ctx.addIssue({
      code: "custom",
      path: ["observability", "tracing", "mode"],
      message:
        "production tracing exports to an external OTLP endpoint (mode otlp with an endpoint); in-cluster Jaeger all-in-one keeps no data",
    });
  }
  if (
    c.observability.enabled &&
    c.operators.prometheusStack.install &&
    c.operators.prometheusStack.namespace !== c.namespaces.system
  ) {
    // Grafana reads its admin Secret, and Alertmanager its config Secret, from the chart's
    // namespace; both live in the system namespace, as do the dashboards and the rules.
    ctx.addIssue({
      code: "custom",
      path: ["operators", "prometheusStack", "namespace"],
      message: `the Prometheus stack is installed into the system namespace: must be "${c.namespaces.system}" (namespaces.system)`,
    });
  }
  if (c.backups.enabled && c.observability.enabled) {
    // BackupTooOld fires when the newest backup is older than backupMaxAgeHours: a schedule whose
    // runs are further apart than that would page between two healthy backups.
    const maxAge = c.observability.alerts.backupMaxAgeHours;
    const schedules: [string, string][] = [
      ["postgres", c.backups.postgres.schedule],
      ["redis", c.backups.redis.schedule],
      ["qdrant", c.backups.qdrant.schedule],
      ...(c.backups.velero.enabled
        ? [["velero", c.backups.velero.schedule] as [string, string]]
        : []),
    ];
    for (const [store, schedule] of schedules) {
      if (cronProblem(schedule)) continue;
      const gap = cronMaxGapHours(schedule);
      if (gap >= maxAge) {
        ctx.addIssue({
          code: "custom",
          path: ["observability", "alerts", "backupMaxAgeHours"],
          message: `${maxAge}h is not more than the ${gap}h between two runs of backups.${store}.schedule "${schedule}": BackupTooOld would fire between healthy backups; raise it above ${gap}`,
        });
      }
    }
  }
  checkExistingSecrets(ctx, c);
  if (c.backups.enabled && c.environment === "production" && !c.backups.postgres.objectStore) {
    ctx.addIssue({
      code: "custom",
      path: ["backups", "postgres", "objectStore"],
      message:
        "production Postgres backups need an object store (WAL archive for point-in-time recovery)",
    });
  }
});

export type PlatformConfig = Readonly<z.infer<typeof platformSchema>>;

// ---------------------------------------------------------------------------------------------
// Defaults and merging
// ---------------------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge: objects key by key, lists replace, `arms` merges by name. */
export function mergeConfig(
  base: unknown,
  override: unknown,
  path: string[] = [],
  newArm: (name: string) => unknown = () => ({}),
): unknown {
  if (override === undefined) return base;
  // `null` removes a default (e.g. dev has no object store for Postgres backups).
  if (override === null) return undefined;
  if (path.length === 1 && path[0] === "arms" && Array.isArray(base) && Array.isArray(override)) {
    const merged = base.map((a) => a as unknown);
    for (const entry of override) {
      const name = isPlainObject(entry) ? entry.name : undefined;
      const at = merged.findIndex((a) => isPlainObject(a) && a.name === name);
      if (at >= 0 && name !== undefined)
        merged[at] = mergeConfig(merged[at], entry, [...path, String(at)]);
      else
        merged.push(
          typeof name === "string" ? mergeConfig(newArm(name), entry, [...path, "new"]) : entry,
        );
    }
    return merged;
  }
  if (isPlainObject(base) && isPlainObject(override)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(override)) {
      const merged = mergeConfig(base[k], v, [...path, k], newArm);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
    return out;
  }
  return override;
}

/**
 * The complete default configuration of an environment (before stack overrides), with the
 * preset of `distribution` (default: the environment's own) laid over it.
 */
export function environmentDefaults(
  env: Environment,
  distribution?: Distribution,
): Record<string, unknown> {
  const production = structuredClone(PRODUCTION_DEFAULTS) as Record<string, unknown>;
  const delta = env === "production" ? {} : env === "staging" ? STAGING_OVERRIDES : DEV_OVERRIDES;
  const base = mergeConfig(production, structuredClone(delta)) as Record<string, unknown>;
  const own = (base.kubernetes as { distribution: Distribution }).distribution;
  const d = distribution ?? own;
  const preset = structuredClone(DISTRIBUTION_PRESETS[d]) as {
    network: Record<string, unknown>;
    storageClass: Record<string, unknown>;
  };
  return {
    ...(mergeConfig(base, {
      kubernetes: { distribution: d },
      network: preset.network,
      dataStores: { storageClass: preset.storageClass },
    }) as Record<string, unknown>),
    environment: env,
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid octollm stack configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

function formatPath(path: PropertyKey[], input: unknown): string {
  let text = "octollm:";
  let node: unknown = input;
  path.forEach((segment, i) => {
    const arm =
      i === 1 && path[0] === "arms" && Array.isArray(node)
        ? (node[segment as number] as unknown)
        : undefined;
    if (typeof segment === "number") {
      const name = isPlainObject(arm) && typeof arm.name === "string" ? arm.name : String(segment);
      text += `[${name}]`;
    } else {
      text += i === 0 ? String(segment) : `.${String(segment)}`;
    }
    node =
      isPlainObject(node) || Array.isArray(node)
        ? (node as Record<string, unknown>)[segment as string]
        : undefined;
  });
  return text;
}

function valueAt(path: PropertyKey[], input: unknown): unknown {
  let node = input;
  for (const segment of path) {
    if (!isPlainObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[segment as string];
  }
  return node;
}

function describeValue(path: PropertyKey[], input: unknown): string {
  if (path[0] === "secrets") return "<redacted>";
  const value = valueAt(path, input);
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  object: "a mapping (key: value)",
  array: "a list",
  record: "a mapping (key: value)",
};

/** zod's own wording ("Too small: expected number to be >=1") is for programmers. */
const ZOD_WORDING =
  /^(Invalid (input|option|key|element|string|number)|Too (small|big)|Unrecognized key)/;

/** Every type a union's branches expected, e.g. "a string or a number". */
function unionTypes(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code !== "invalid_union") return undefined;
  const expected = new Set<string>();
  for (const branch of issue.errors)
    for (const inner of branch)
      if (inner.code === "invalid_type" && inner.path.length === 0)
        expected.add(TYPE_NAMES[inner.expected] ?? inner.expected);
  return expected.size > 0 ? [...expected].join(" or ") : undefined;
}

/** What a person needs to read for one zod issue: what is allowed, in words. */
function humanMessage(issue: z.core.$ZodIssue, value: unknown): string {
  if (!ZOD_WORDING.test(issue.message)) return issue.message;
  const bound = (i: { inclusive?: boolean }, strict: string, loose: string) =>
    i.inclusive === false ? strict : loose;
  switch (issue.code) {
    case "invalid_type": {
      const type = TYPE_NAMES[issue.expected] ?? issue.expected;
      return value === undefined
        ? `required: must be ${type} (it has no default here, or \`null\` in the stack file removed it)`
        : `must be ${type}`;
    }
    case "too_small":
      if (issue.origin === "array") return `needs at least ${issue.minimum} entries`;
      if (issue.origin === "string") return `must be at least ${issue.minimum} characters`;
      return `must be ${bound(issue, ">", "≥")} ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "array") return `takes at most ${issue.maximum} entries`;
      if (issue.origin === "string") return `must be at most ${issue.maximum} characters`;
      return `must be ${bound(issue, "<", "≤")} ${issue.maximum}`;
    case "invalid_value":
      return issue.values.length === 1
        ? `must be ${JSON.stringify(issue.values[0])}`
        : `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union": {
      const types = unionTypes(issue);
      return types
        ? `must be ${types}`
        : "is not any of the allowed forms (see docs/configuration.md)";
    }
    case "invalid_key": {
      const inner = issue.issues.map((i) => humanMessage(i, undefined)).join("; ");
      return `the key is not allowed here: ${inner}`;
    }
    case "invalid_format":
      return `must match ${issue.format === "regex" ? String((issue as { pattern?: unknown }).pattern) : issue.format}`;
    default:
      return issue.message.replace(/^Invalid input: /, "");
  }
}

function formatIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const path = issue.path;
  if (issue.code === "unrecognized_keys") {
    const keys = issue.keys;
    const allowed = Object.keys(valueAt(path, input) ?? {}).filter((k) => !keys.includes(k));
    return `${formatPath(path, input)}: unknown key${keys.length > 1 ? "s" : ""} ${keys.map((k) => JSON.stringify(k)).join(", ")}; allowed here: ${allowed.join(", ") || "(see docs/configuration.md)"}`;
  }
  const value = valueAt(path, input);
  const message = humanMessage(issue, value);
  if (value === undefined && message.startsWith("required:"))
    return `${formatPath(path, input)}: ${message}`;
  return `${formatPath(path, input)}: got ${describeValue(path, input)}; ${message}`;
}

/**
 * Parses a stack's `octollm:*` config (values as Pulumi gives them: strings, JSON for objects)
 * into the frozen platform configuration. Throws ConfigError naming every bad key.
 */
export function parsePlatformConfig(
  raw: Record<string, string | Json | undefined>,
): PlatformConfig {
  const overrides: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!key.startsWith("octollm:") || value === undefined) continue;
    const name = key.slice("octollm:".length);
    if (!(name in platformShape)) {
      problems.push(
        `${key}: unknown configuration key; allowed: ${Object.keys(platformShape)
          .map((k) => `octollm:${k}`)
          .join(", ")}`,
      );
      continue;
    }
    overrides[name] = typeof value === "string" ? decode(value) : value;
  }
  const environment = overrides.environment;
  if (
    typeof environment !== "string" ||
    !(ENVIRONMENTS as readonly string[]).includes(environment)
  ) {
    problems.unshift(
      `octollm:environment: got ${JSON.stringify(environment ?? null)}; must be one of ${ENVIRONMENTS.join(", ")}`,
    );
    throw new ConfigError(problems);
  }
  if (Array.isArray(overrides.arms)) {
    // Entries merge into the defaults by name, so a repeated name would silently merge twice.
    const seen = new Set<unknown>();
    for (const entry of overrides.arms as unknown[]) {
      const name = isPlainObject(entry) ? entry.name : undefined;
      if (seen.has(name)) {
        problems.push(
          `octollm:arms[${String(name)}].name: got ${JSON.stringify(name)} twice; each arm name may appear once`,
        );
      }
      seen.add(name);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const env = environment as Environment;
  const asked = isPlainObject(overrides.kubernetes) ? overrides.kubernetes.distribution : undefined;
  if (asked !== undefined && !(DISTRIBUTIONS as unknown[]).includes(asked)) {
    throw new ConfigError([
      `octollm:kubernetes.distribution: got ${JSON.stringify(asked)}; must be one of ${DISTRIBUTIONS.join(", ")}`,
    ]);
  }
  const defaults = environmentDefaults(env, asked as Distribution | undefined);
  // A stack that names its own provisioner does not inherit the preset's parameters (EBS keys
  // would reach a driver that ignores them).
  const sc = ((isPlainObject(overrides.dataStores)
    ? overrides.dataStores.storageClass
    : undefined) ?? {}) as Record<string, unknown>;
  const presetSc = (defaults.dataStores as { storageClass: Record<string, unknown> }).storageClass;
  if (
    typeof sc.provisioner === "string" &&
    sc.provisioner !== presetSc.provisioner &&
    sc.parameters === undefined
  )
    presetSc.parameters = {};
  const merged = mergeConfig(defaults, overrides, [], (name) => newArmDefaults(env, name));
  const result = platformSchema.safeParse(merged);
  if (!result.success)
    throw new ConfigError(result.error.issues.map((i) => formatIssue(i, merged)));
  // Needs the parsed config (chart values are built from it), so it runs after the schema; it
  // still runs before anything is registered. The passthrough first: the LimitRange guard walks
  // values merged with it.
  const passthrough = chartValuesProblems(result.data);
  if (passthrough.length > 0)
    throw new ConfigError(
      passthrough.map((p) => `octollm:${p.key}: got ${shortJson(p.value)}; ${p.message}`),
    );
  const limitProblems = limitRangeProblems(result.data);
  if (limitProblems.length > 0)
    throw new ConfigError(
      limitProblems.map((p) => `octollm:${p.key}: got ${JSON.stringify(p.value)}; ${p.message}`),
    );
  return deepFreeze(result.data);
}

/** A value for a message: JSON, cut at 80 characters. */
function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? "nothing";
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Pulumi hands object values as JSON text and scalars as plain text. */
function decode(value: string): unknown {
  const trimmed = value.trim();
  if (/^[[{]/.test(trimmed) || /^(true|false|null|-?\d+(\.\d+)?([eE][+-]?\d+)?)$/.test(trimmed)) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return value;
    }
  }
  return value;
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Cron
// ---------------------------------------------------------------------------------------------

const CRON_FIELDS: [string, number, number][] = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day of month", 1, 31],
  ["month", 1, 12],
  ["day of week", 0, 7],
];

/** Why a five-field cron expression is invalid, or undefined when it is valid. */
export function cronProblem(expression: string): string | undefined {
  if (/^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(expression.trim()))
    return undefined;
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5)
    return `needs 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  for (let i = 0; i < 5; i++) {
    const [name, min, fieldMax] = CRON_FIELDS[i];
    // Day of week 7 (Sunday in some crons) is out of range for the robfig/cron v3 parser that
    // Kubernetes CronJobs and Velero use (0-6), so the config refuses it too.
    const max = i === 4 ? 6 : fieldMax;
    for (const part of fields[i].split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return `${name} "${part}" is not a number, range, list or step`;
      const lo = m[2] === undefined ? min : Number(m[2]);
      const hi = m[3] === undefined ? lo : Number(m[3]);
      if (m[2] !== undefined && (lo < min || lo > max || hi < min || hi > max || hi < lo)) {
        return `${name} "${part}" is outside ${min}-${max}`;
      }
      if (m[4] !== undefined && Number(m[4]) === 0) return `${name} step must be ≥ 1`;
    }
  }
  return undefined;
}

const CRON_MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** The values a valid cron field matches (day of week 7 is Sunday, like 0). */
function cronValues(field: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  for (const part of field.split(",")) {
    const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!m) continue;
    const lo = m[2] === undefined ? min : Number(m[2]);
    const hi =
      m[3] !== undefined ? Number(m[3]) : m[2] === undefined || m[4] !== undefined ? max : lo;
    for (let v = lo; v <= hi; v += Number(m[4] ?? 1)) out.add(v === 7 && max === 7 ? 0 : v);
  }
  return out;
}

/**
 * The longest time, in hours, between two runs of a valid cron schedule (UTC), over a
 * non-leap and a leap year — what an "older than N hours" alert must allow for.
 */
export function cronMaxGapHours(expression: string): number {
  const fields = (CRON_MACROS[expression.trim()] ?? expression).trim().split(/\s+/);
  const [minutes, hours, days, months, weekdays] = fields.map((f, i) =>
    cronValues(f, CRON_FIELDS[i][1], CRON_FIELDS[i][2]),
  );
  // cron: when both day fields are restricted, a day matches either of them.
  const dayRestricted = fields[2] !== "*";
  const weekdayRestricted = fields[4] !== "*";
  const runs: number[] = [];
  const start = Date.UTC(2027, 0, 1);
  for (let day = 0; day < 2 * 366; day++) {
    const date = new Date(start + day * 86_400_000);
    if (!months.has(date.getUTCMonth() + 1)) continue;
    const byDay = days.has(date.getUTCDate());
    const byWeekday = weekdays.has(date.getUTCDay());
    const matches =
      dayRestricted && weekdayRestricted ? byDay || byWeekday : dayRestricted ? byDay : byWeekday;
    if (!matches) continue;
    for (const h of [...hours].sort((a, b) => a - b))
      for (const m of [...minutes].sort((a, b) => a - b))
        runs.push(date.getTime() + (h * 60 + m) * 60_000);
  }
  let gap = 0;
  for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i] - runs[i - 1]);
  return gap / 3_600_000;
}
