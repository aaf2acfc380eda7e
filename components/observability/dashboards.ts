/**
 * Grafana dashboards as a pure function of the configuration: dashboard JSON objects the
 * component puts into ConfigMaps labelled `grafana_dashboard: "1"` (Grafana's sidecar loads them
 * from every namespace). Every query is PromQL validated in the tests, like the alert rules.
 *
 * - Platform overview: request rate, 5xx ratio, p95 latency, LLM spend per hour, and for the
 *   orchestrator and each arm its replicas against the HPA's min and max (data-driven: a new
 *   arm gets its panel).
 * - Data stores: Postgres (CloudNativePG exporter), Redis (redis_exporter), Qdrant, volumes.
 *
 * Queries name this stack's namespaces, so dashboards of several stacks can share a Grafana; the
 * datasource is a dashboard variable (`${datasource}`), not a hard-coded UID.
 */
import type { PlatformConfig } from "../config";
import { armObjectName } from "../arms";
import { JOBS, anyOf, serviceJobs } from "./alerts";

export interface DashboardTarget {
  refId: string;
  expr: string;
  legendFormat: string;
  datasource: { type: "prometheus"; uid: string };
}

export interface DashboardPanel {
  id: number;
  type: "timeseries" | "stat" | "row";
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: "prometheus"; uid: string };
  targets?: DashboardTarget[];
  fieldConfig?: Record<string, unknown>;
  options?: Record<string, unknown>;
  collapsed?: boolean;
  panels?: DashboardPanel[];
}

export interface Dashboard {
  uid: string;
  title: string;
  description: string;
  tags: string[];
  schemaVersion: number;
  version: number;
  editable: boolean;
  graphTooltip: number;
  refresh: string;
  timezone: string;
  time: { from: string; to: string };
  templating: { list: Record<string, unknown>[] };
  annotations: { list: Record<string, unknown>[] };
  panels: DashboardPanel[];
}

/** Grafana 11/12 dashboard schema version. */
export const SCHEMA_VERSION = 39;
const DATASOURCE = { type: "prometheus" as const, uid: "${datasource}" };

interface PanelDef {
  title: string;
  description?: string;
  type?: "timeseries" | "stat";
  unit: string;
  /** [expr, legend] */
  queries: [string, string][];
  /** a red threshold line / colour at this value */
  threshold?: number;
  width?: number;
  min?: number;
  max?: number;
}

/** Lays panels out left to right, rows of 24 columns, with a row header per section. */
class Layout {
  private id = 1;
  private x = 0;
  private y = 0;
  private rowHeight = 0;
  readonly panels: DashboardPanel[] = [];

  section(title: string): void {
    this.newLine();
    this.panels.push({
      id: this.id++,
      type: "row",
      title,
      collapsed: false,
      gridPos: { x: 0, y: this.y, w: 24, h: 1 },
      panels: [],
    });
    this.y += 1;
  }

  panel(def: PanelDef): void {
    const w = def.width ?? 8;
    const h = def.type === "stat" ? 4 : 8;
    if (this.x + w > 24) this.newLine();
    const refIds = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    this.panels.push({
      id: this.id++,
      type: def.type ?? "timeseries",
      title: def.title,
      ...(def.description ? { description: def.description } : {}),
      gridPos: { x: this.x, y: this.y, w, h },
      datasource: DATASOURCE,
      targets: def.queries.map(([expr, legendFormat], i) => ({
        refId: refIds[i],
        expr,
        legendFormat,
        datasource: DATASOURCE,
      })),
      fieldConfig: {
        defaults: {
          unit: def.unit,
          ...(def.min !== undefined ? { min: def.min } : {}),
          ...(def.max !== undefined ? { max: def.max } : {}),
          thresholds: {
            mode: "absolute",
            steps: [
              { color: "green", value: null },
              ...(def.threshold !== undefined ? [{ color: "red", value: def.threshold }] : []),
            ],
          },
          ...(def.threshold !== undefined && def.type !== "stat"
            ? { custom: { thresholdsStyle: { mode: "line" } } }
            : {}),
        },
        overrides: [],
      },
      options:
        def.type === "stat"
          ? { reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false } }
          : { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
    });
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
  }

  private newLine(): void {
    if (this.x > 0) {
      this.y += this.rowHeight;
      this.x = 0;
      this.rowHeight = 0;
    }
  }
}

function dashboard(
  config: PlatformConfig,
  id: string,
  title: string,
  description: string,
  panels: DashboardPanel[],
): Dashboard {
  return {
    uid: `octollm-${config.environment}-${id}`.slice(0, 40),
    title: `OctoLLM ${config.environment}: ${title}`,
    description,
    tags: ["octollm", config.environment],
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    // Provisioned from a ConfigMap: edits in the UI would be lost on the next `pulumi up`.
    editable: false,
    graphTooltip: 1,
    refresh: "30s",
    timezone: "browser",
    time: { from: "now-6h", to: "now" },
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: {},
          hide: 0,
          refresh: 1,
          options: [],
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

export function platformOverview(config: PlatformConfig): Dashboard {
  const ns = anyOf([config.namespaces.workloads, config.namespaces.reflex]);
  const ws = config.namespaces.workloads;
  const jobs = anyOf(serviceJobs(config));
  const http = (metric: string, extra = "") =>
    `${metric}{namespace=~"${ns}", job=~"${jobs}"${extra}}`;
  const t = config.observability.alerts;
  const l = new Layout();

  l.section("Traffic");
  l.panel({
    title: "Targets up",
    type: "stat",
    unit: "short",
    width: 24,
    queries: [[`sum by (job) (${http("up")})`, "{{job}}"]],
  });
  l.panel({
    title: "Request rate",
    unit: "reqps",
    queries: [[`sum by (job) (rate(${http("http_requests_total")}[5m]))`, "{{job}}"]],
  });
  l.panel({
    title: "Error rate (5xx share)",
    description: `HighErrorRate fires above ${t.errorRateRatio * 100}% for 5 minutes.`,
    unit: "percentunit",
    threshold: t.errorRateRatio,
    min: 0,
    queries: [
      [
        `sum by (job) (rate(${http("http_requests_total", ', status=~"5.."')}[5m])) / sum by (job) (rate(${http("http_requests_total")}[5m]))`,
        "{{job}}",
      ],
    ],
  });
  l.panel({
    title: "p95 latency",
    description: `HighRequestLatency fires above ${t.latencyP95Seconds}s for 5 minutes.`,
    unit: "s",
    threshold: t.latencyP95Seconds,
    queries: [
      [
        `histogram_quantile(0.95, sum by (le, job) (rate(${http("http_request_duration_seconds_bucket")}[5m])))`,
        "{{job}}",
      ],
    ],
  });

  l.section("LLM spend");
  l.panel({
    title: "LLM API cost per hour",
    description: `Dollars spent in the trailing hour; HighLLMAPICost fires above $${t.llmCostDollarsPerHour}.`,
    unit: "currencyUSD",
    threshold: t.llmCostDollarsPerHour,
    width: 12,
    queries: [
      [`sum(increase(llm_api_cost_dollars_total{namespace="${ws}"}[1h]))`, "total"],
      [
        `sum by (provider) (increase(llm_api_cost_dollars_total{namespace="${ws}"}[1h]))`,
        "{{provider}}",
      ],
    ],
  });
  l.panel({
    title: "LLM API calls",
    unit: "reqps",
    width: 12,
    queries: [
      [
        `sum by (provider, status) (rate(llm_api_calls_total{namespace="${ws}"}[5m]))`,
        "{{provider}} {{status}}",
      ],
    ],
  });

  l.section("Scaling: replicas against HPA bounds");
  const workloads = [
    { name: JOBS.orchestrator, hpa: config.orchestrator.hpa },
    ...config.arms.map((a) => ({ name: armObjectName(a.name), hpa: a.hpa })),
  ];
  for (const w of workloads) {
    const hpa = (metric: string) =>
      `${metric}{namespace="${ws}", horizontalpodautoscaler="${w.name}"}`;
    l.panel({
      title: w.name,
      unit: "short",
      min: 0,
      width: 6,
      queries: w.hpa.enabled
        ? [
            [`max(${hpa("kube_horizontalpodautoscaler_status_current_replicas")})`, "current"],
            [`max(${hpa("kube_horizontalpodautoscaler_status_desired_replicas")})`, "desired"],
            [`max(${hpa("kube_horizontalpodautoscaler_spec_min_replicas")})`, "min"],
            [`max(${hpa("kube_horizontalpodautoscaler_spec_max_replicas")})`, "max"],
          ]
        : [
            [
              `max(kube_deployment_status_replicas_available{namespace="${ws}", deployment="${w.name}"})`,
              "available",
            ],
          ],
    });
  }

  return dashboard(
    config,
    "overview",
    "platform overview",
    "Requests, errors, latency, LLM spend and autoscaling of the OctoLLM services.",
    l.panels,
  );
}

export function dataStoresDashboard(config: PlatformConfig): Dashboard {
  const ws = config.namespaces.workloads;
  const m = (metric: string, job: string, extra = "") =>
    `${metric}{namespace="${ws}", job="${job}"${extra}}`;
  const pg = (metric: string, extra = "") => m(metric, JOBS.postgres, extra);
  const redis = (metric: string, extra = "") => m(metric, JOBS.redis, extra);
  const qdrant = (metric: string, extra = "") => m(metric, JOBS.qdrant, extra);
  const t = config.observability.alerts;
  const l = new Layout();

  l.section("Postgres (CloudNativePG)");
  l.panel({
    title: "Instances up",
    type: "stat",
    unit: "short",
    width: 6,
    threshold: config.dataStores.postgres.instances,
    queries: [[`sum(${pg("cnpg_collector_up")})`, "up"]],
  });
  l.panel({
    // Standbys streaming from the primary (pg_stat_replication); cnpg_collector_sync_replicas
    // only repeats synchronous_standby_names (see the PostgresSyncStandbysMissing alert).
    title: "Standbys streaming",
    type: "stat",
    unit: "short",
    width: 6,
    queries: [
      [
        `max(${pg("cnpg_pg_replication_streaming_replicas")} and on (pod) (${pg("cnpg_pg_replication_in_recovery")} == 0))`,
        "streaming",
      ],
    ],
  });
  l.panel({
    title: "Database size",
    type: "stat",
    unit: "bytes",
    width: 12,
    queries: [[`max by (datname) (${pg("cnpg_pg_database_size_bytes")})`, "{{datname}}"]],
  });
  l.panel({
    title: "Replication lag",
    unit: "s",
    threshold: t.postgresReplicationLagSeconds,
    queries: [[`max by (pod) (${pg("cnpg_pg_replication_lag")})`, "{{pod}}"]],
  });
  l.panel({
    title: "Connections",
    unit: "short",
    queries: [[`sum by (pod) (${pg("cnpg_backends_total")})`, "{{pod}}"]],
  });
  l.panel({
    title: "Transactions",
    unit: "ops",
    queries: [
      [`sum by (pod) (rate(${pg("cnpg_pg_stat_database_xact_commit")}[5m]))`, "{{pod}} commit"],
      [`sum by (pod) (rate(${pg("cnpg_pg_stat_database_xact_rollback")}[5m]))`, "{{pod}} rollback"],
    ],
  });

  l.section("Redis");
  l.panel({
    title: "Redis up / role",
    type: "stat",
    unit: "short",
    width: 24,
    queries: [
      [`min by (pod) (${redis("redis_up")})`, "{{pod}} up"],
      [`max by (pod, role) (${redis("redis_instance_info")})`, "{{pod}} {{role}}"],
    ],
  });
  l.panel({
    title: "Memory used / maxmemory",
    unit: "percentunit",
    threshold: t.redisMemoryRatio,
    min: 0,
    queries: [
      [
        `max by (pod) (${redis("redis_memory_used_bytes")}) / max by (pod) (${redis("redis_memory_max_bytes")} > 0)`,
        "{{pod}}",
      ],
    ],
  });
  l.panel({
    title: "Commands and evictions",
    unit: "ops",
    queries: [
      [`sum by (pod) (rate(${redis("redis_commands_processed_total")}[5m]))`, "{{pod}} commands"],
      [`sum by (pod) (rate(${redis("redis_evicted_keys_total")}[5m]))`, "{{pod}} evicted"],
    ],
  });
  l.panel({
    title: "Clients and replicas",
    unit: "short",
    queries: [
      [`max by (pod) (${redis("redis_connected_clients")})`, "{{pod}} clients"],
      [`max by (pod) (${redis("redis_connected_slaves")})`, "{{pod}} replicas"],
    ],
  });

  l.section("Qdrant");
  l.panel({
    title: "Peers up",
    type: "stat",
    unit: "short",
    width: 6,
    threshold: config.dataStores.qdrant.replicas,
    queries: [[`sum(${qdrant("up")})`, "up"]],
  });
  l.panel({
    title: "Collections",
    type: "stat",
    unit: "short",
    width: 6,
    queries: [[`max(${qdrant("collections_total")})`, "collections"]],
  });
  l.panel({
    title: "REST requests",
    unit: "reqps",
    width: 12,
    queries: [
      [`sum by (pod) (rate(${qdrant("rest_responses_total")}[5m]))`, "{{pod}}"],
      [
        `sum by (pod) (rate(${qdrant("rest_responses_total", ', status=~"5.."')}[5m]))`,
        "{{pod}} 5xx",
      ],
    ],
  });

  l.section("Volumes");
  l.panel({
    title: "PVC usage",
    unit: "percentunit",
    threshold: t.pvcUsageRatio,
    min: 0,
    max: 1,
    width: 24,
    queries: [
      [
        `max by (persistentvolumeclaim) (kubelet_volume_stats_used_bytes{namespace="${ws}"}) / max by (persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{namespace="${ws}"})`,
        "{{persistentvolumeclaim}}",
      ],
    ],
  });

  return dashboard(
    config,
    "data-stores",
    "data stores",
    "Postgres, Redis and Qdrant of the OctoLLM platform.",
    l.panels,
  );
}

/** ConfigMap key → dashboard, for every dashboard of the stack. */
export function dashboards(config: PlatformConfig): Record<string, Dashboard> {
  return {
    "octollm-overview.json": platformOverview(config),
    "octollm-data-stores.json": dataStoresDashboard(config),
  };
}

/** Every PromQL query of a dashboard (for validation). */
export function dashboardQueries(d: Dashboard): string[] {
  const walk = (panels: DashboardPanel[]): string[] =>
    panels.flatMap((p) => [...(p.targets ?? []).map((t) => t.expr), ...walk(p.panels ?? [])]);
  return walk(d.panels);
}
