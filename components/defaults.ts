/**
 * Per-environment defaults, in one place. Production carries the values of the source documents
 * (ADR-005 and the phase-3 operations guide) where they hold up; staging and dev are deltas over
 * production, merged with the same rules as a stack file (objects by key, `arms` by name).
 *
 * Where this file departs from the seeds it says why, at the spot.
 */

const registry = "docker.io/octollm";
// Renovate (renovate.json) updates each pinned version below: charts and our own release through
// the `renovate:` annotations, third-party images through their `repository`/`tag` pairs.
// renovate: datasource=docker depName=docker.io/octollm/orchestrator
const appVersion = "v1.0.0";

/** The seed's HPA behaviour (ADR-005 orchestrator): slow scale-down, fast scale-up. */
const seedBehavior = {
  scaleDown: {
    stabilizationWindowSeconds: 300,
    selectPolicy: "Max",
    policies: [{ type: "Percent", value: 50, periodSeconds: 60 }],
  },
  scaleUp: {
    stabilizationWindowSeconds: 0,
    selectPolicy: "Max",
    policies: [
      { type: "Percent", value: 100, periodSeconds: 30 },
      { type: "Pods", value: 2, periodSeconds: 30 },
    ],
  },
};

const probe = (
  path: string,
  initialDelaySeconds: number,
  periodSeconds: number,
  timeoutSeconds: number,
  failureThreshold: number,
) => ({
  path,
  initialDelaySeconds,
  periodSeconds,
  timeoutSeconds,
  failureThreshold,
});

/** Seed probes; the startup probe (from 002) allows 5 minutes for model/client warm-up. */
const serviceProbes = {
  startup: probe("/health/live", 0, 5, 3, 60),
  liveness: probe("/health/live", 0, 10, 5, 3),
  readiness: probe("/health/ready", 0, 5, 3, 2),
};

const res = (reqCpu: string, reqMem: string, limCpu: string, limMem: string) => ({
  requests: { cpu: reqCpu, memory: reqMem },
  limits: { cpu: limCpu, memory: limMem },
});

const hpa = (minReplicas: number, maxReplicas: number) => ({
  enabled: true,
  minReplicas,
  maxReplicas,
  targetCpuUtilization: 70,
  targetMemoryUtilization: 80,
  behavior: seedBehavior,
});

const arm = (
  name: string,
  port: number,
  replicas: number,
  maxReplicas: number,
  resources: ReturnType<typeof res>,
  uses: { postgres: boolean; redis: boolean; qdrant: boolean; llm: boolean },
) => ({
  name,
  port,
  image: { repository: `${registry}/${name}-arm`, tag: appVersion },
  replicas,
  resources,
  hpa: hpa(replicas, maxReplicas),
  pdb: { maxUnavailable: 1 },
  probes: serviceProbes,
  logLevel: "INFO",
  env: {},
  uses,
});

const budget = (
  quota: {
    cpu: string;
    memory: string;
    limitsCpu: string;
    limitsMemory: string;
    pods: number;
    pvcs: number;
    storage: string;
  },
  // default / defaultRequest must respect maxLimitRequestRatio, or every container relying on the
  // defaults (chart sidecars without resources) is rejected: 500m / 125m = 4.
  limitRange = {
    defaultRequest: { cpu: "125m", memory: "128Mi" },
    default: { cpu: "500m", memory: "512Mi" },
    maxLimitRequestRatio: { cpu: 4, memory: 4 },
  },
) => ({
  quota: {
    "requests.cpu": quota.cpu,
    "requests.memory": quota.memory,
    "limits.cpu": quota.limitsCpu,
    "limits.memory": quota.limitsMemory,
    pods: quota.pods,
    persistentvolumeclaims: quota.pvcs,
    "requests.storage": quota.storage,
  },
  limitRange,
});

const daily = (hour: number, minute = 0) => `${minute} ${hour} * * *`;

export const PRODUCTION_DEFAULTS = {
  environment: "production",
  // CI previews and drift-checks only the stacks whose file says it has a cluster for them.
  ci: { preview: false },
  protectData: true,
  kubernetes: {
    // The seeds' cluster is EKS (EBS volumes); the preset sets the StorageClass and the network
    // ranges (DISTRIBUTION_PRESETS below).
    distribution: "eks",
    // The EKS version the cluster runs (upgrade the cluster, then this; the api-version policies
    // judge every object against it).
    // The cluster's Kubernetes minor, not a dependency (Renovate leaves it to the cluster's upgrade).
    version: "1.35",
    // Seed (001): 8 vCPU / 32 GB nodes. 12 nodes hold the HPA maxima with headroom.
    nodeCount: 12,
    // What such a node offers pods after the kubelet's and the OS's reservations (EKS m5.2xlarge:
    // 7910m / ~28.9Gi; 58 pods with the VPC CNI).
    node: { cpu: "7800m", memory: "28Gi", pods: 58 },
    // aws-node (VPC CNI), kube-proxy, ebs-csi-node, a log agent: their requests on every node.
    systemReserved: { cpu: "300m", memory: "512Mi" },
  },
  namespaces: {
    system: "octollm-system",
    workloads: "octollm-production",
    // hostNetwork cannot pass PSS baseline, so the reflex layer gets a namespace of its own.
    reflex: "octollm-production-reflex",
  },
  orchestrator: {
    image: { repository: `${registry}/orchestrator`, tag: appVersion },
    replicas: 3,
    resources: res("500m", "512Mi", "2", "2Gi"),
    hpa: hpa(3, 10),
    pdb: { maxUnavailable: 1 },
    probes: serviceProbes,
    logLevel: "INFO",
    env: {},
    ports: { http: 8000, metrics: 9090 },
  },
  reflexLayer: {
    image: { repository: `${registry}/reflex-layer`, tag: appVersion },
    port: 8080,
    resources: res("2", "512Mi", "4", "1Gi"),
    probes: {
      startup: probe("/health", 0, 2, 2, 30),
      liveness: probe("/health", 0, 10, 3, 3),
      readiness: probe("/health", 0, 5, 2, 2),
    },
    logLevel: "INFO",
    rateLimit: { enabled: true, requestsPerMinute: 6000, burst: 200 },
    env: {},
  },
  // Planner listens on 8105 (ADR-005's compose file and its port sequence 8102..8106); the
  // operations guide's 8100 is the odd one out. It is config: change it here if needed.
  arms: [
    arm("coder", 8102, 5, 20, res("1", "1Gi", "4", "4Gi"), {
      postgres: false,
      redis: true,
      qdrant: false,
      llm: true,
    }),
    arm("judge", 8103, 3, 10, res("500m", "512Mi", "2", "2Gi"), {
      postgres: false,
      redis: true,
      qdrant: false,
      llm: true,
    }),
    arm("executor", 8104, 5, 15, res("500m", "512Mi", "2", "2Gi"), {
      postgres: false,
      redis: true,
      qdrant: false,
      llm: false,
    }),
    arm("planner", 8105, 3, 10, res("500m", "512Mi", "2", "2Gi"), {
      postgres: true,
      redis: true,
      qdrant: false,
      llm: true,
    }),
    arm("retriever", 8106, 3, 10, res("500m", "1Gi", "2", "2Gi"), {
      postgres: false,
      redis: true,
      qdrant: true,
      llm: false,
    }),
  ],
  dataStores: {
    // provisioner and parameters come from the kubernetes.distribution preset.
    storageClass: { name: "octollm-fast-ssd" },
    postgres: {
      instances: 3,
      synchronousReplicas: 1,
      image: { repository: "ghcr.io/cloudnative-pg/postgresql", tag: "15.13" },
      storage: "100Gi",
      resources: res("2", "4Gi", "4", "8Gi"),
      database: "octollm",
      owner: "octollm",
      requireTls: true,
      // Off by default; when on, apps connect through PgBouncer (docs/data-stores.md).
      pooler: {
        enabled: false,
        instances: 2,
        poolMode: "session",
        image: { repository: "ghcr.io/cloudnative-pg/pgbouncer", tag: "1.24.1" },
        resources: res("100m", "64Mi", "400m", "256Mi"),
        parameters: { max_client_conn: "1000", default_pool_size: "20" },
      },
      parameters: {
        max_connections: "200",
        shared_buffers: "1GB",
        log_min_duration_statement: "1000",
      },
    },
    redis: {
      mode: "sentinel",
      replicas: 3,
      sentinelQuorum: 2,
      image: { repository: "docker.io/library/redis", tag: "7.4.2" },
      exporterImage: { repository: "docker.io/oliver006/redis_exporter", tag: "v1.67.0" },
      storage: "10Gi",
      maxmemory: "2gb",
      maxmemoryPolicy: "allkeys-lru",
      resources: res("500m", "2560Mi", "1", "3Gi"),
      sentinelResources: res("50m", "64Mi", "200m", "128Mi"),
      exporterResources: res("50m", "64Mi", "200m", "128Mi"),
      disableDangerousCommands: true,
      passwordRotation: { active: "a", acceptBoth: false },
    },
    qdrant: {
      replicas: 3,
      clusterMode: true,
      // v1.7.0 (seed) predates /livez and /readyz and the 1.8+ storage fixes; pinned to a current 1.x.
      image: { repository: "docker.io/qdrant/qdrant", tag: "v1.13.6" },
      storage: "50Gi",
      resources: res("1", "2Gi", "2", "4Gi"),
    },
  },
  // The seed quota (32 CPU / 64Gi / 50 pods / 10 PVCs / 500Gi) cannot hold the HPA maxima nor
  // the data-store volumes; these values are sized from the peak and proven by the capacity policy.
  quotas: {
    system: budget({
      cpu: "8",
      memory: "24Gi",
      limitsCpu: "24",
      limitsMemory: "48Gi",
      pods: 40,
      pvcs: 6,
      storage: "300Gi",
    }),
    // Peak requests (every HPA at its maximum) are ~58.6 cores: 72 keeps them under the 90%
    // headroom the quota-headroom-at-peak policy asks for, so a rollout's surge still fits.
    workloads: budget({
      cpu: "72",
      memory: "112Gi",
      limitsCpu: "256",
      limitsMemory: "320Gi",
      pods: 130,
      pvcs: 16,
      storage: "800Gi",
    }),
    // One reflex pod per node (12 × 2 cores requested, 4 limit): 28 / 56 leave the 10% headroom.
    reflex: budget({
      cpu: "28",
      memory: "7Gi",
      limitsCpu: "56",
      limitsMemory: "14Gi",
      pods: 14,
      pvcs: 0,
      storage: "0",
    }),
  },
  ingress: {
    enabled: true,
    // The community ingress-nginx controller is retired (March 2026): the default edge is the
    // Gateway API on Envoy Gateway; `kind: ingress` keeps Ingress objects for existing controllers.
    kind: "gateway",
    className: "nginx",
    host: "api.octollm.io",
    paths: { reflex: "/", orchestrator: "/api/orchestrator" },
    tls: {
      mode: "acme",
      acmeEmail: "platform@octollm.io",
      acmeServer: "https://acme-v02.api.letsencrypt.org/directory",
      // Private CA (dev/staging): a 10-year CA, a 1-year server certificate replaced by the
      // first `up` in its last 30 days (the daily drift preview flags that window).
      privateCa: { caValidityDays: 3650, serverValidityDays: 365, renewBeforeDays: 30 },
      solver: "http01",
    },
    rateLimit: { rps: 100, connections: 50, listenerConnections: 10000 },
    proxyBodySize: "10m",
    proxyTimeoutSeconds: 300,
    gateway: {
      replicas: 2,
      serviceType: "LoadBalancer",
      proxyResources: res("250m", "256Mi", "1", "512Mi"),
    },
  },
  network: {
    llmEgressCidrs: ["0.0.0.0/0"],
    // Private ranges are carved out so "HTTPS to the internet" never means "anything in the VPC".
    llmEgressExceptCidrs: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"],
    ingressControllerNamespace: "ingress-nginx",
    dnsNamespace: "kube-system",
    // NodeLocal DNSCache and other DNS servers that are no kube-dns pod: none by default.
    dnsCidrs: [],
    // nodeCidrs, apiServerCidrs, apiServerPorts and podCidrs come from the distribution preset.
  },
  operators: {
    // `values`: extra Helm values per chart, none by default (components/chart-values.ts).
    // renovate: datasource=helm depName=cloudnative-pg registryUrl=https://cloudnative-pg.github.io/charts
    cloudnativePg: { install: true, version: "0.26.0", namespace: "cnpg-system", values: {} },
    // renovate: datasource=helm depName=cert-manager registryUrl=https://charts.jetstack.io
    certManager: { install: true, version: "v1.18.2", namespace: "cert-manager", values: {} },
    // Envoy Gateway: an OCI chart whose version is the release tag.
    envoyGateway: {
      install: true,
      // renovate: datasource=docker depName=docker.io/envoyproxy/gateway-helm
      version: "v1.9.0",
      namespace: "envoy-gateway-system",
      values: {},
    },
    // renovate: datasource=helm depName=kube-prometheus-stack registryUrl=https://prometheus-community.github.io/helm-charts
    prometheusStack: { install: true, version: "77.6.2", namespace: "octollm-system", values: {} },
    // renovate: datasource=helm depName=velero registryUrl=https://vmware-tanzu.github.io/helm-charts
    velero: { install: false, version: "10.1.0", namespace: "velero", values: {} },
  },
  observability: {
    enabled: true,
    prometheus: { retention: "30d", storage: "100Gi", resources: res("1", "4Gi", "2", "8Gi") },
    // limit/request ≤ 4 (the system namespace's LimitRange), like every chart value.
    grafana: { resources: res("125m", "256Mi", "500m", "512Mi") },
    alertmanager: { resources: res("50m", "64Mi", "200m", "256Mi") },
    alerts: {
      errorRateRatio: 0.05,
      latencyP95Seconds: 5,
      llmCostDollarsPerHour: 10,
      postgresReplicationLagSeconds: 30,
      redisMemoryRatio: 0.9,
      pvcUsageRatio: 0.8,
      backupMaxAgeHours: 26,
    },
    tracing: {
      enabled: false,
      mode: "otlp",
      collectorImage: {
        repository: "docker.io/otel/opentelemetry-collector-contrib",
        tag: "0.120.0",
      },
      jaegerImage: { repository: "docker.io/jaegertracing/all-in-one", tag: "1.66.0" },
      samplingRatio: 0.1,
      // limit/request ≤ 4: the namespaces' LimitRange maxLimitRequestRatio.
      resources: res("125m", "256Mi", "500m", "512Mi"),
    },
  },
  backups: {
    enabled: true,
    // Static keys in Secrets you create after the first `up` (docs/operations.md#secrets):
    // what works without more config. `secrets: program` or a workload-identity mode is better.
    credentials: { mode: "static", secrets: "external" },
    jobImage: { repository: "docker.io/octollm/backup-tools", tag: appVersion },
    // Limit/request ratios stay within the namespaces' LimitRange (4).
    jobResources: res("125m", "128Mi", "500m", "512Mi"),
    storage: "100Gi",
    velero: {
      enabled: true,
      schedule: daily(2),
      ttl: "720h",
      snapshotVolumes: true,
      storageLocation: {
        provider: "aws",
        bucket: "octollm-production-velero",
        region: "us-east-1",
        credentialsSecret: "velero-credentials",
      },
      // The vmware-tanzu chart's metrics Service (templates/service.yaml at 10.1.0).
      monitor: {
        enabled: true,
        serviceLabels: { "app.kubernetes.io/name": "velero" } as Record<string, string>,
        port: "http-monitoring",
      },
    },
    postgres: {
      schedule: daily(1),
      retention: "30d",
      objectStore: {
        destinationPath: "s3://octollm-production-backups/postgres",
        credentialsSecret: "postgres-backup-s3",
      },
    },
    redis: { schedule: daily(2, 30), retention: "7d" },
    qdrant: { schedule: daily(3), retention: "7d" },
  },
  llm: { providers: ["openai", "anthropic"] },
  secrets: { llmApiKeys: {}, backupCredentials: {}, alerting: {} },
};

export const STAGING_OVERRIDES = {
  protectData: false,
  kubernetes: {
    // The cluster's Kubernetes minor, not a dependency (Renovate leaves it to the cluster's upgrade).
    version: "1.35",
    nodeCount: 4,
    node: { cpu: "7800m", memory: "28Gi", pods: 58 },
    systemReserved: { cpu: "300m", memory: "512Mi" },
  },
  namespaces: {
    system: "octollm-staging-system",
    workloads: "octollm-staging",
    reflex: "octollm-staging-reflex",
  },
  orchestrator: {
    replicas: 2,
    resources: res("250m", "256Mi", "1", "1Gi"),
    hpa: hpa(2, 4),
    logLevel: "DEBUG",
  },
  reflexLayer: { resources: res("250m", "128Mi", "1", "512Mi"), logLevel: "DEBUG" },
  arms: [
    { name: "coder", replicas: 2, resources: res("250m", "256Mi", "1", "1Gi"), hpa: hpa(2, 6) },
    { name: "judge", replicas: 2, resources: res("250m", "256Mi", "1", "1Gi"), hpa: hpa(2, 4) },
    { name: "executor", replicas: 2, resources: res("250m", "256Mi", "1", "1Gi"), hpa: hpa(2, 4) },
    { name: "planner", replicas: 2, resources: res("250m", "256Mi", "1", "1Gi"), hpa: hpa(2, 4) },
    { name: "retriever", replicas: 2, resources: res("250m", "256Mi", "1", "1Gi"), hpa: hpa(2, 4) },
  ],
  dataStores: {
    // StorageClasses are cluster-wide: a distinct name keeps staging's from colliding with
    // another stack's in a shared cluster (docs/operations.md, "Two stacks, one cluster").
    storageClass: { name: "octollm-staging-fast-ssd" },
    postgres: {
      instances: 2,
      synchronousReplicas: 0,
      storage: "20Gi",
      resources: res("500m", "1Gi", "1", "2Gi"),
      parameters: { max_connections: "100", shared_buffers: "256MB" },
    },
    redis: { storage: "2Gi", maxmemory: "512mb", resources: res("125m", "640Mi", "500m", "768Mi") },
    qdrant: { storage: "10Gi", resources: res("250m", "512Mi", "1", "1Gi") },
  },
  quotas: {
    system: budget({
      cpu: "6",
      memory: "16Gi",
      limitsCpu: "16",
      limitsMemory: "32Gi",
      pods: 30,
      pvcs: 6,
      storage: "150Gi",
    }),
    workloads: budget({
      cpu: "16",
      memory: "24Gi",
      limitsCpu: "48",
      limitsMemory: "64Gi",
      pods: 60,
      pvcs: 12,
      storage: "200Gi",
    }),
    reflex: budget({
      cpu: "2",
      memory: "1Gi",
      limitsCpu: "8",
      limitsMemory: "4Gi",
      pods: 6,
      pvcs: 0,
      storage: "0",
    }),
  },
  ingress: { host: "api.staging.octollm.io", tls: { mode: "private-ca" } },
  operators: {
    certManager: { install: false },
    // The Prometheus stack lives in the stack's system namespace.
    prometheusStack: { namespace: "octollm-staging-system" },
  },
  observability: {
    prometheus: { retention: "7d", storage: "20Gi", resources: res("500m", "2Gi", "1", "4Gi") },
  },
  backups: {
    storage: "20Gi",
    velero: { ttl: "168h", storageLocation: { bucket: "octollm-staging-velero" } },
    postgres: {
      retention: "7d",
      objectStore: {
        destinationPath: "s3://octollm-staging-backups/postgres",
        credentialsSecret: "postgres-backup-s3",
      },
    },
  },
};

/** Dev fits a laptop cluster of 4 CPU / 8 GiB at its HPA maxima. */
export const DEV_OVERRIDES = {
  protectData: false,
  // kind by default; k3d and minikube are one key away (octollm:kubernetes.distribution).
  kubernetes: {
    distribution: "kind",
    // kind v0.32.0's default node image runs Kubernetes 1.36 (e2e/versions.env).
    // The cluster's Kubernetes minor, not a dependency (Renovate leaves it to the cluster's upgrade).
    version: "1.36",
    nodeCount: 1,
    // One kind/k3d node on a 4 CPU / 8 GiB laptop; the host keeps ~1 GiB.
    node: { cpu: "4", memory: "7Gi", pods: 110 },
    // kindnet, kube-proxy, CoreDNS, local-path-provisioner
    systemReserved: { cpu: "300m", memory: "256Mi" },
  },
  namespaces: {
    system: "octollm-dev-system",
    workloads: "octollm-dev",
    reflex: "octollm-dev-reflex",
  },
  orchestrator: {
    replicas: 1,
    resources: res("100m", "256Mi", "400m", "512Mi"),
    hpa: hpa(1, 2),
    logLevel: "DEBUG",
  },
  reflexLayer: {
    resources: res("100m", "64Mi", "400m", "256Mi"),
    logLevel: "DEBUG",
    rateLimit: { requestsPerMinute: 600, burst: 50 },
  },
  arms: [
    { name: "coder", replicas: 1, resources: res("50m", "128Mi", "200m", "512Mi"), hpa: hpa(1, 2) },
    { name: "judge", replicas: 1, resources: res("50m", "128Mi", "200m", "512Mi"), hpa: hpa(1, 2) },
    {
      name: "executor",
      replicas: 1,
      resources: res("50m", "128Mi", "200m", "512Mi"),
      hpa: hpa(1, 2),
    },
    {
      name: "planner",
      replicas: 1,
      resources: res("50m", "128Mi", "200m", "512Mi"),
      hpa: hpa(1, 2),
    },
    {
      name: "retriever",
      replicas: 1,
      resources: res("50m", "128Mi", "200m", "512Mi"),
      hpa: hpa(1, 2),
    },
  ],
  dataStores: {
    storageClass: { name: "octollm-dev-local" },
    postgres: {
      instances: 1,
      synchronousReplicas: 0,
      storage: "5Gi",
      resources: res("250m", "512Mi", "1", "1Gi"),
      requireTls: false,
      pooler: { resources: res("50m", "32Mi", "200m", "128Mi") },
      parameters: { max_connections: "50", shared_buffers: "128MB" },
    },
    redis: {
      mode: "standalone",
      replicas: 1,
      sentinelQuorum: 1,
      storage: "1Gi",
      maxmemory: "256mb",
      resources: res("50m", "384Mi", "200m", "384Mi"),
      disableDangerousCommands: false,
    },
    qdrant: {
      replicas: 1,
      clusterMode: false,
      storage: "2Gi",
      resources: res("100m", "256Mi", "400m", "1Gi"),
    },
  },
  quotas: {
    system: budget({
      cpu: "1",
      memory: "2Gi",
      limitsCpu: "4",
      limitsMemory: "4Gi",
      pods: 10,
      pvcs: 2,
      storage: "10Gi",
    }),
    workloads: budget({
      cpu: "2500m",
      memory: "5Gi",
      limitsCpu: "12",
      limitsMemory: "16Gi",
      pods: 30,
      // Six claims at peak; 8 keeps a claim's replacement (a restore) inside the quota.
      pvcs: 8,
      storage: "30Gi",
    }),
    reflex: budget({
      cpu: "500m",
      memory: "256Mi",
      limitsCpu: "1",
      limitsMemory: "512Mi",
      pods: 2,
      pvcs: 0,
      storage: "0",
    }),
  },
  ingress: {
    host: "api.dev.octollm.local",
    tls: { mode: "private-ca" },
    // One proxy on a laptop; kind/k3d/minikube have no load balancer (port-forward or NodePort).
    gateway: {
      replicas: 1,
      serviceType: "NodePort",
      proxyResources: res("100m", "128Mi", "400m", "256Mi"),
    },
  },
  operators: {
    certManager: { install: false },
    prometheusStack: { install: false, namespace: "octollm-dev-system" },
  },
  observability: {
    // A laptop cluster does not carry kube-prometheus-stack; enable it (and its install) to try monitoring.
    enabled: false,
    tracing: { enabled: true, mode: "jaeger" },
  },
  backups: {
    storage: "5Gi",
    velero: { enabled: false, ttl: "72h" },
    postgres: { retention: "7d", objectStore: null },
  },
};

/**
 * What a new arm gets when a stack adds one by name: the environment's smallest arm sizing and
 * no data-store access. The stack entry still names its port; everything else may be overridden.
 */
export function newArmDefaults(environment: "dev" | "staging" | "production", name: string) {
  const sizing =
    environment === "production"
      ? { replicas: 2, resources: res("500m", "512Mi", "2", "2Gi"), hpa: hpa(2, 6) }
      : environment === "staging"
        ? { replicas: 2, resources: res("250m", "256Mi", "1", "1Gi"), hpa: hpa(2, 4) }
        : { replicas: 1, resources: res("50m", "128Mi", "200m", "512Mi"), hpa: hpa(1, 2) };
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the stack entry supplies the port
  const { port, ...template } = arm(
    name,
    0,
    sizing.replicas,
    sizing.hpa.maxReplicas,
    sizing.resources,
    {
      postgres: false,
      redis: false,
      qdrant: false,
      llm: false,
    },
  );
  return { ...template, hpa: sizing.hpa };
}

/**
 * What a Kubernetes distribution decides for us: where nodes and the API server sit, the pod
 * CIDR, the API server's port, and the storage provisioner with its parameters. A preset sits
 * between the environment's defaults and the stack file: any key the stack sets wins.
 *
 * Laptop clusters (upstream defaults, checked against their sources):
 * - kind: nodes are containers on the docker network `kind`, whose IPv4 subnet docker picks
 *   from its default address pools (172.17.0.0/16 … 172.31.0.0/16, usually 172.18.0.0/16; the
 *   API server is the control-plane container, port 6443); podSubnet 10.244.0.0/16
 *   (kind pkg/apis/config/v1alpha4/default.go); StorageClass `standard` = rancher.io/local-path.
 * - k3d: the same on docker network `k3d-<name>`; k3s cluster-cidr 10.42.0.0/16, API 6443;
 *   k3s's local-path-provisioner (rancher.io/local-path).
 * - minikube (docker driver): network `minikube` 192.168.49.0/24 (the next free 192.168.x.0/24
 *   for further profiles; the kvm2/hyperkit drivers use 192.168.39.0/24 / 192.168.64.0/24), API
 *   server port 8443, pod CIDR 10.244.0.0/16; provisioner k8s.io/minikube-hostpath.
 * Local volume provisioners take no encryption parameter: a laptop volume is a host directory,
 * encrypted or not with the host's disk.
 */
export const DISTRIBUTION_PRESETS = {
  kind: {
    network: {
      nodeCidrs: ["172.16.0.0/12"],
      apiServerCidrs: ["172.16.0.0/12"],
      apiServerPorts: [6443],
      podCidrs: ["10.244.0.0/16"],
    },
    storageClass: { provisioner: "rancher.io/local-path", parameters: {} },
  },
  k3d: {
    network: {
      nodeCidrs: ["172.16.0.0/12"],
      apiServerCidrs: ["172.16.0.0/12"],
      apiServerPorts: [6443],
      podCidrs: ["10.42.0.0/16"],
    },
    storageClass: { provisioner: "rancher.io/local-path", parameters: {} },
  },
  minikube: {
    network: {
      nodeCidrs: ["192.168.0.0/16"],
      apiServerCidrs: ["192.168.0.0/16"],
      apiServerPorts: [8443],
      podCidrs: ["10.244.0.0/16"],
    },
    storageClass: { provisioner: "k8s.io/minikube-hostpath", parameters: {} },
  },
  // Cloud clusters: the VPC's private range until narrowed (docs/operations.md); the pod CIDR is
  // unknown (VPC-native CNIs give pods addresses from the node subnets or a secondary range).
  eks: {
    network: {
      nodeCidrs: ["10.0.0.0/8"],
      apiServerCidrs: ["10.0.0.0/8"],
      apiServerPorts: [443],
      podCidrs: [],
    },
    // The seed's in-tree kubernetes.io/aws-ebs provisioner is removed from Kubernetes; the CSI driver.
    storageClass: {
      provisioner: "ebs.csi.aws.com",
      parameters: { type: "gp3", encrypted: "true", iops: "3000", throughput: "125" },
    },
  },
  gke: {
    network: {
      nodeCidrs: ["10.0.0.0/8"],
      apiServerCidrs: ["10.0.0.0/8"],
      apiServerPorts: [443],
      podCidrs: [],
    },
    // Persistent disks are encrypted at rest by Google; CMEK via disk-encryption-kms-key.
    storageClass: { provisioner: "pd.csi.storage.gke.io", parameters: { type: "pd-ssd" } },
  },
  aks: {
    network: {
      nodeCidrs: ["10.0.0.0/8"],
      apiServerCidrs: ["10.0.0.0/8"],
      apiServerPorts: [443],
      podCidrs: [],
    },
    // Managed disks are encrypted at rest by the platform; customer keys via diskEncryptionSetID.
    storageClass: { provisioner: "disk.csi.azure.com", parameters: { skuName: "Premium_LRS" } },
  },
  // Anything else: private ranges, both usual API ports, and no provisioner: the stack names it.
  generic: {
    network: {
      nodeCidrs: ["10.0.0.0/8"],
      apiServerCidrs: ["10.0.0.0/8"],
      apiServerPorts: [443, 6443],
      podCidrs: [],
    },
    storageClass: {},
  },
} as const;

export type Distribution = keyof typeof DISTRIBUTION_PRESETS;
export const DISTRIBUTIONS = Object.keys(DISTRIBUTION_PRESETS) as Distribution[];
