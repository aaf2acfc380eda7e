/**
 * What Prometheus scrapes, as a pure function of the configuration: ServiceMonitors for the HTTP
 * services (selected by their identity labels and Service port NAMES, so this tier needs no
 * object references) and PodMonitors for the data stores (selected by pod labels, so a store's
 * several Services (client, headless, sentinel) never double-scrape the same pod).
 *
 * Every monitor lives next to its targets (a monitor can only read Secrets of its own
 * namespace, e.g. the Qdrant API key) and sets the job label the alerts use (alerts.ts JOBS):
 * ServiceMonitors get the Service name (orchestrator, `<arm>-arm`, reflex-layer), PodMonitors
 * are relabelled to the store name (postgres, redis, qdrant).
 *
 * Postgres: CloudNativePG's own `monitoring.enablePodMonitor` is deprecated upstream (the
 * operator asks users to manage the PodMonitor); this is that PodMonitor, named
 * `postgres-instances` so it never collides with the operator's (named after the cluster).
 * The data-store tier must leave enablePodMonitor off, or the instances are scraped twice
 * (once without the `job="postgres"` the alerts select on).
 */
import type { PlatformConfig } from "../config";
import { armObjectName } from "../arms";
import type { Labels } from "../k8s/labels";
import { instanceName, selectorLabels, standardLabels } from "../k8s/labels";
import { credentialRef } from "../credentials";
import { JOBS } from "./alerts";

export const MONITORING_API = "monitoring.coreos.com/v1";
export const SCRAPE_INTERVAL = "30s";
export const SCRAPE_TIMEOUT = "10s";
export const POSTGRES_POD_MONITOR = "postgres-instances";

type NamespaceRole = "workloads" | "reflex";

export interface MonitorSpec {
  kind: "ServiceMonitor" | "PodMonitor";
  name: string;
  namespaceRole: NamespaceRole;
  /** ready-to-apply object, namespace filled in by the component */
  object: {
    apiVersion: string;
    kind: "ServiceMonitor" | "PodMonitor";
    metadata: { name: string; labels: Labels };
    spec: Record<string, unknown>;
  };
}

function monitorLabels(config: PlatformConfig, name: string): Labels {
  return standardLabels({
    name,
    component: "monitoring",
    instance: instanceName(config.environment),
  });
}

/** Sets the job label to a stable name (PodMonitors default to `<namespace>/<monitor>`). */
function jobRelabel(job: string) {
  return [{ action: "replace", targetLabel: "job", replacement: job }];
}

function serviceMonitor(
  config: PlatformConfig,
  namespaceRole: NamespaceRole,
  service: { name: string; component: string },
  port: string,
): MonitorSpec {
  const selector = selectorLabels({ ...service, instance: instanceName(config.environment) });
  return {
    kind: "ServiceMonitor",
    name: service.name,
    namespaceRole,
    object: {
      apiVersion: MONITORING_API,
      kind: "ServiceMonitor",
      metadata: { name: service.name, labels: monitorLabels(config, service.name) },
      spec: {
        selector: { matchLabels: selector },
        endpoints: [
          {
            port,
            path: "/metrics",
            scheme: "http",
            interval: SCRAPE_INTERVAL,
            scrapeTimeout: SCRAPE_TIMEOUT,
          },
        ],
      },
    },
  };
}

function podMonitor(
  config: PlatformConfig,
  job: string,
  podLabels: Labels,
  endpoint: Record<string, unknown>,
  name = job,
): MonitorSpec {
  return {
    kind: "PodMonitor",
    name,
    namespaceRole: "workloads",
    object: {
      apiVersion: MONITORING_API,
      kind: "PodMonitor",
      metadata: { name, labels: monitorLabels(config, name) },
      spec: {
        selector: { matchLabels: podLabels },
        podMetricsEndpoints: [
          {
            path: "/metrics",
            scheme: "http",
            interval: SCRAPE_INTERVAL,
            scrapeTimeout: SCRAPE_TIMEOUT,
            relabelings: jobRelabel(job),
            ...endpoint,
          },
        ],
      },
    },
  };
}

/** Every monitor of the stack. */
export function monitorSpecs(config: PlatformConfig): MonitorSpec[] {
  const instance = instanceName(config.environment);
  return [
    // Orchestrator: a dedicated metrics port (Service port name `metrics`).
    serviceMonitor(
      config,
      "workloads",
      { name: JOBS.orchestrator, component: "orchestrator" },
      "metrics",
    ),
    // Arms: /metrics on the http port, one monitor per configured arm.
    ...config.arms.map((arm) =>
      serviceMonitor(
        config,
        "workloads",
        { name: armObjectName(arm.name), component: "arm" },
        "http",
      ),
    ),
    // Reflex layer (host network: the endpoints are node addresses on the http port).
    serviceMonitor(config, "reflex", { name: JOBS.reflex, component: "reflex-layer" }, "http"),
    // CloudNativePG instances (not the operator's backup/join Jobs): exporter port `metrics` 9187.
    podMonitor(
      config,
      JOBS.postgres,
      { "cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance" },
      { port: "metrics" },
      // Not `postgres`: that is the name CloudNativePG gives its own (deprecated) PodMonitor.
      POSTGRES_POD_MONITOR,
    ),
    // PgBouncer (the optional Pooler): its exporter, port `metrics` 9127.
    ...(config.dataStores.postgres.pooler.enabled
      ? [
          podMonitor(
            config,
            "pgbouncer",
            { "cnpg.io/poolerName": "postgres-pooler-rw" },
            { port: "metrics" },
          ),
        ]
      : []),
    // Redis: the redis_exporter sidecar, port `metrics` 9121.
    podMonitor(
      config,
      JOBS.redis,
      { "app.kubernetes.io/name": "redis", "app.kubernetes.io/instance": instance },
      { port: "metrics" },
    ),
    // Qdrant serves /metrics on its http port (6333) behind the API key.
    podMonitor(
      config,
      JOBS.qdrant,
      { "app.kubernetes.io/name": "qdrant", "app.kubernetes.io/instance": instance },
      {
        port: "http",
        authorization: {
          type: "Bearer",
          credentials: (({ name, key }) => ({ name, key }))(credentialRef(config, "qdrant")),
        },
      },
    ),
  ];
}

/** Name of the ServiceMonitor of a pre-installed Velero (system namespace). */
export const VELERO_MONITOR = "velero";
/** The job label of Velero's metrics (the chart's own ServiceMonitor yields the same). */
export const VELERO_JOB = "velero";

/**
 * The ServiceMonitor of a Velero this program does not install (`operators.velero.install:
 * false`), when the stack backs up with Velero and runs monitoring: without it nothing scrapes
 * Velero and `velero_backup_*` does not exist. An installed Velero brings the chart's own
 * ServiceMonitor instead (velero.ts), so the two never double-scrape.
 *
 * It lives in the stack's system namespace (an object the stack owns, nothing written into
 * Velero's namespace, no clash between stacks) and selects across namespaces with
 * `namespaceSelector.matchNames`: the Velero namespace is one the stack's Prometheus watches
 * (stack-chart.ts watchedNamespaces), and its egress policy already reaches it.
 */
export function veleroServiceMonitor(config: PlatformConfig): MonitorSpec["object"] | undefined {
  const v = config.backups.velero;
  if (
    !config.observability.enabled ||
    !config.backups.enabled ||
    !v.enabled ||
    !v.monitor.enabled ||
    config.operators.velero.install
  ) {
    return undefined;
  }
  return {
    apiVersion: MONITORING_API,
    kind: "ServiceMonitor",
    metadata: { name: VELERO_MONITOR, labels: monitorLabels(config, VELERO_MONITOR) },
    spec: {
      namespaceSelector: { matchNames: [config.operators.velero.namespace] },
      selector: { matchLabels: { ...v.monitor.serviceLabels } },
      endpoints: [
        {
          port: v.monitor.port,
          path: "/metrics",
          scheme: "http",
          interval: SCRAPE_INTERVAL,
          scrapeTimeout: SCRAPE_TIMEOUT,
          relabelings: jobRelabel(VELERO_JOB),
        },
      ],
    },
  };
}
