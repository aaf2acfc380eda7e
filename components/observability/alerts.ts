/**
 * The platform's alert rules, as a pure function of the configuration: config → PrometheusRule
 * groups. The program puts them into one PrometheusRule; the tests write the very same groups to
 * a rules file and run `promtool test rules` on it (test/observability), so every alert here has
 * a unit test with input series and expected alerts.
 *
 * Conventions:
 * - Every expression is scoped to this stack's namespaces, so several stacks can share one
 *   Prometheus (and `install: false` stacks can use a cluster-wide one) without cross-talk.
 * - Scrape jobs are the names the monitors (monitors.ts) give them: `orchestrator`,
 *   `<arm>-arm`, `reflex-layer` (Service names), `postgres`, `redis`, `qdrant` (relabelled).
 * - Aggregations name the labels they keep (`by (namespace, job)`), so alerts carry stable,
 *   meaningful labels and not whatever a scrape attached.
 * - Labels: `severity` critical (pages) or warning (chat), plus `environment`; annotations
 *   summary, description and runbook_url (an anchor in docs/runbook.md).
 *
 * Seed fixes: HighErrorRate counts 5xx (`status=~"5.."`) over all requests (the seed divided
 * `status="error"`, a value the services never emit); HighRequestLatency aggregates the buckets
 * `by (le, …)` before histogram_quantile (the seed's per-series quantile is meaningless across
 * pods); HighLLMAPICost compares dollars per HOUR (see llmCost below).
 */
import type { PlatformConfig } from "../config";
import { armObjectName } from "../arms";
import { veleroScheduleName } from "../backups/velero";

export type Severity = "critical" | "warning";

export interface AlertRule {
  alert: string;
  expr: string;
  /** how long the condition must hold; omitted for one-shot events */
  for?: string;
  labels: { severity: Severity; [name: string]: string };
  annotations: { summary: string; description: string; runbook_url: string };
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: AlertRule[];
}

/** Where runbook_url points: one anchor per alert in the repository's runbook. */
export const RUNBOOK = "docs/runbook.md";
export function runbookUrl(alert: string): string {
  return `${RUNBOOK}#${alert.toLowerCase()}`;
}

/** Scrape job names the monitors produce (monitors.ts relabels the PodMonitors to these). */
export const JOBS = {
  orchestrator: "orchestrator",
  reflex: "reflex-layer",
  postgres: "postgres",
  redis: "redis",
  qdrant: "qdrant",
} as const;

/** The backup CronJobs of the backups tier are named `<store>-backup`. */
export const BACKUP_CRONJOB_PATTERN = ".+-backup";

/** The HTTP services whose `up` ServiceDown watches: orchestrator, reflex layer, every arm. */
export function serviceJobs(config: PlatformConfig): string[] {
  return [JOBS.orchestrator, JOBS.reflex, ...config.arms.map((a) => armObjectName(a.name))];
}

/** PromQL string literal (double-quoted, escaped). */
function q(value: string): string {
  return JSON.stringify(value);
}

/** A regex matching exactly one of the given literal values. */
export function anyOf(values: readonly string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
}

/** `metric{a="b", c=~"d"}` from a matcher list. */
function sel(metric: string, ...matchers: string[]): string {
  return `${metric}{${matchers.join(", ")}}`;
}

const eq = (label: string, value: string) => `${label}=${q(value)}`;
const re = (label: string, value: string) => `${label}=~${q(value)}`;

/**
 * The alert groups of a stack. Alerts about parts a stack does not run are left out (no
 * replication-lag alert for a single Postgres instance, no master-change alert for standalone
 * Redis, no backup alerts with backups disabled).
 */
export function alertGroups(config: PlatformConfig): RuleGroup[] {
  const t = config.observability.alerts;
  const ws = config.namespaces.workloads;
  const services = anyOf([config.namespaces.workloads, config.namespaces.reflex]);
  const platform = anyOf([
    config.namespaces.system,
    config.namespaces.workloads,
    config.namespaces.reflex,
  ]);
  const env = { environment: config.environment };
  const rule = (
    alert: string,
    severity: Severity,
    expr: string,
    forDuration: string | undefined,
    summary: string,
    description: string,
  ): AlertRule => ({
    alert,
    expr,
    ...(forDuration ? { for: forDuration } : {}),
    labels: { severity, ...env },
    annotations: { summary, description, runbook_url: runbookUrl(alert) },
  });

  const jobs = re("job", anyOf(serviceJobs(config)));
  const http = (metric: string, ...extra: string[]) =>
    sel(metric, re("namespace", services), jobs, ...extra);

  // --- availability and performance of the services (the seed's four, fixed) ----------------
  const availability: AlertRule[] = [
    rule(
      "ServiceDown",
      "critical",
      `${http("up")} == 0`,
      "1m",
      "{{ $labels.job }} target {{ $labels.instance }} is down",
      "Prometheus cannot scrape {{ $labels.job }} ({{ $labels.instance }}) in {{ $labels.namespace }}: the pod is gone, not ready or not serving /metrics.",
    ),
    rule(
      "HighErrorRate",
      "warning",
      `sum by (namespace, job) (rate(${http("http_requests_total", re("status", "5.."))}[5m]))
  / sum by (namespace, job) (rate(${http("http_requests_total")}[5m]))
> ${t.errorRateRatio}`,
      "5m",
      "{{ $labels.job }} answers {{ $value | humanizePercentage }} of requests with 5xx",
      `More than ${pct(t.errorRateRatio)} of the requests to {{ $labels.job }} in {{ $labels.namespace }} failed with a 5xx status over the last 5 minutes.`,
    ),
  ];
  const performance: AlertRule[] = [
    rule(
      "HighRequestLatency",
      "warning",
      `histogram_quantile(0.95,
  sum by (le, namespace, job) (rate(${http("http_request_duration_seconds_bucket")}[5m]))
) > ${t.latencyP95Seconds}`,
      "5m",
      "{{ $labels.job }} p95 latency is {{ $value | humanizeDuration }}",
      `The 95th percentile of request duration of {{ $labels.job }} in {{ $labels.namespace }} is above ${t.latencyP95Seconds}s.`,
    ),
    // `increase(counter[1h])` is the dollars spent in the last hour, which is exactly the unit of
    // the threshold ($/hour). The seed's `rate(llm_api_cost_dollars[1h]) > 10` compared dollars
    // per SECOND with 10 (i.e. $36,000/hour) on the counter's base name, which prometheus_client
    // exposes as `llm_api_cost_dollars_total`. `rate(...[1h]) * 3600` is the same number;
    // increase() says what is meant. Summed over pods and providers: the budget is the stack's.
    rule(
      "HighLLMAPICost",
      "warning",
      `sum by (namespace) (increase(${sel("llm_api_cost_dollars_total", eq("namespace", ws))}[1h])) > ${t.llmCostDollarsPerHour}`,
      "10m",
      'LLM API spend is ${{ printf "%.2f" $value }} per hour',
      `The platform in {{ $labels.namespace }} spent more than $${t.llmCostDollarsPerHour} on LLM APIs in the last hour.`,
    ),
  ];

  // --- data stores ---------------------------------------------------------------------------
  const pg = (metric: string, ...extra: string[]) =>
    sel(metric, eq("namespace", ws), eq("job", JOBS.postgres), ...extra);
  const redis = (metric: string, ...extra: string[]) =>
    sel(metric, eq("namespace", ws), eq("job", JOBS.redis), ...extra);
  const qdrantUp = sel("up", eq("namespace", ws), eq("job", JOBS.qdrant));
  const dataStores: AlertRule[] = [
    // CloudNativePG's instance manager exports cnpg_collector_up (1 = PostgreSQL accepts
    // connections) even when PostgreSQL is down; no series at all means no instance is running.
    rule(
      "PostgresDown",
      "critical",
      `(sum(${pg("cnpg_collector_up")}) or vector(0)) == 0`,
      "2m",
      `Postgres cluster in ${ws} has no running instance`,
      "No CloudNativePG instance of the `postgres` cluster reports PostgreSQL up: the database is unavailable to every service.",
    ),
  ];
  // Labels of a vector(0) fallback cannot come from a series: give PostgresDown its namespace.
  dataStores[0].labels.namespace = ws;
  if (config.dataStores.postgres.instances > 1) {
    dataStores.push(
      rule(
        "PostgresReplicationLag",
        "warning",
        `max by (namespace, pod) (${pg("cnpg_pg_replication_lag")}) > ${t.postgresReplicationLagSeconds}`,
        "5m",
        "Postgres standby {{ $labels.pod }} lags {{ $value | humanizeDuration }} behind the primary",
        `Standby {{ $labels.pod }} in {{ $labels.namespace }} replays WAL more than ${t.postgresReplicationLagSeconds}s behind the primary: a failover now would lose or delay recent writes.`,
      ),
    );
  }
  const syncStandbys = config.dataStores.postgres.synchronousReplicas;
  if (syncStandbys > 0) {
    // Standbys actually streaming from the primary, against the synchronous count commits wait
    // for. NOT cnpg_collector_sync_replicas: in CloudNativePG 1.27 its only value, "observed",
    // is the number parsed from synchronous_standby_names (`ANY n (...)`), which the operator
    // writes from the Cluster spec whatever the standbys' health, and there is no "expected"
    // series at all: a comparison of the two can never fire. cnpg_pg_replication_* comes from
    // the operator's default monitoring queries: streaming_replicas is count(*) of
    // pg_stat_replication, in_recovery is 0 only on the primary. No primary reporting (failover
    // in progress, primary down) counts as 0 connected standbys: commits cannot complete then
    // either.
    const primary = `(${pg("cnpg_pg_replication_in_recovery")} == 0)`;
    dataStores.push(
      rule(
        "PostgresSyncStandbysMissing",
        "critical",
        `(
  max(${pg("cnpg_pg_replication_streaming_replicas")} and on (namespace, pod) ${primary})
  or vector(0)
) < ${syncStandbys}`,
        "5m",
        `Postgres in ${ws} has {{ $value }} standbys streaming, ${syncStandbys} synchronous required`,
        `The primary sees fewer streaming standbys than the ${syncStandbys} synchronous standbys every commit waits for (dataDurability required): writes block until a standby reconnects. No primary reporting at all counts as none.`,
      ),
    );
    // A vector(0) fallback has no labels to take the namespace from.
    dataStores[dataStores.length - 1].labels.namespace = ws;
  }
  dataStores.push(
    // redis_up is the exporter's view of its Redis; `up` catches a pod (exporter) that is gone.
    rule(
      "RedisDown",
      "critical",
      `min by (namespace, pod) (${redis("redis_up")}) == 0
or min by (namespace, pod) (${redis("up")}) == 0`,
      "2m",
      "Redis {{ $labels.pod }} is down",
      "The Redis exporter of {{ $labels.pod }} in {{ $labels.namespace }} cannot reach Redis, or the pod cannot be scraped.",
    ),
  );
  if (config.dataStores.redis.mode === "sentinel") {
    // A pod that was scraped as a replica 10 minutes ago and is master now: Sentinel failed over.
    dataStores.push(
      rule(
        "RedisMasterChanged",
        "warning",
        `max by (namespace, pod) (${redis("redis_instance_info", eq("role", "master"))})
unless on (namespace, pod) max by (namespace, pod) (${redis("redis_instance_info", eq("role", "master"))} offset 10m)
and on (namespace, pod) max by (namespace, pod) (${redis("redis_instance_info")} offset 10m)`,
        undefined,
        "Redis master moved to {{ $labels.pod }}",
        "Sentinel promoted {{ $labels.pod }} in {{ $labels.namespace }} to master in the last 10 minutes. Check why the previous master failed; clients reconnect through Sentinel.",
      ),
    );
  }
  dataStores.push(
    rule(
      "RedisMemoryNearLimit",
      "warning",
      `max by (namespace, pod) (${redis("redis_memory_used_bytes")})
  / max by (namespace, pod) (${redis("redis_memory_max_bytes")} > 0)
> ${t.redisMemoryRatio}`,
      "10m",
      "Redis {{ $labels.pod }} uses {{ $value | humanizePercentage }} of maxmemory",
      `Redis {{ $labels.pod }} in {{ $labels.namespace }} is above ${pct(t.redisMemoryRatio)} of maxmemory: it evicts keys (${config.dataStores.redis.maxmemoryPolicy}) or rejects writes.`,
    ),
    rule(
      "QdrantDown",
      "critical",
      `${qdrantUp} == 0 or absent(${qdrantUp})`,
      "2m",
      "Qdrant {{ $labels.pod }} is down",
      "Prometheus cannot scrape Qdrant in {{ $labels.namespace }} ({{ $labels.pod }}, or no Qdrant target at all): vector search is degraded or unavailable.",
    ),
  );

  // --- Kubernetes health of the platform's workloads (kube-state-metrics, kubelet) ------------
  const kubernetes: AlertRule[] = [
    rule(
      "PodCrashLooping",
      "warning",
      `max by (namespace, pod, container) (
  max_over_time(${sel("kube_pod_container_status_waiting_reason", re("namespace", platform), eq("reason", "CrashLoopBackOff"))}[5m])
) >= 1`,
      "15m",
      "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash looping",
      "Container {{ $labels.container }} of {{ $labels.pod }} keeps restarting (CrashLoopBackOff) for 15 minutes. `kubectl logs --previous` shows why.",
    ),
    rule(
      "HPAAtMaxReplicas",
      "warning",
      `max by (namespace, horizontalpodautoscaler) (${sel("kube_horizontalpodautoscaler_status_current_replicas", eq("namespace", ws))})
  >= max by (namespace, horizontalpodautoscaler) (${sel("kube_horizontalpodautoscaler_spec_max_replicas", eq("namespace", ws))})`,
      "15m",
      "HPA {{ $labels.horizontalpodautoscaler }} has been at its maximum for 15 minutes",
      "{{ $labels.horizontalpodautoscaler }} in {{ $labels.namespace }} cannot scale further: raise hpa.maxReplicas (and the namespace quota) or find what drives the load.",
    ),
    rule(
      "PVCUsageHigh",
      "warning",
      `max by (namespace, persistentvolumeclaim) (${sel("kubelet_volume_stats_used_bytes", re("namespace", platform))})
  / max by (namespace, persistentvolumeclaim) (${sel("kubelet_volume_stats_capacity_bytes", re("namespace", platform))})
> ${t.pvcUsageRatio}`,
      "10m",
      "PVC {{ $labels.persistentvolumeclaim }} is {{ $value | humanizePercentage }} full",
      `Volume {{ $labels.persistentvolumeclaim }} in {{ $labels.namespace }} is above ${pct(t.pvcUsageRatio)} of its capacity. The StorageClass allows expansion: raise the size in the stack config.`,
    ),
  ];

  const groups: RuleGroup[] = [
    { name: "octollm-availability", rules: availability },
    { name: "octollm-performance", rules: performance },
    { name: "octollm-data-stores", rules: dataStores },
    { name: "octollm-kubernetes", rules: kubernetes },
  ];
  if (config.backups.enabled) groups.push({ name: "octollm-backups", rules: backupRules(config) });
  return groups;
}

/**
 * Backups: the backup CronJobs (`<store>-backup`, watched through kube-state-metrics, no custom
 * exporter), CloudNativePG's own backups when Postgres archives to an object store, and Velero's
 * Schedule when enabled. BackupFailed fires while the most recent run failed; BackupTooOld when
 * the newest successful backup is older than backupMaxAgeHours.
 */
function backupRules(config: PlatformConfig): AlertRule[] {
  const hours = config.observability.alerts.backupMaxAgeHours;
  const maxAge = hours * 3600;
  const ws = config.namespaces.workloads;
  const env = { environment: config.environment };
  const annotations = (alert: string, summary: string, description: string) => ({
    summary,
    description,
    runbook_url: runbookUrl(alert),
  });
  const ns = eq("namespace", ws);
  const cron = re("cronjob", BACKUP_CRONJOB_PATTERN);

  // Start time of each CronJob's newest FAILED Job, and its last success (per CronJob).
  const lastFailure = `max by (namespace, owner_name) (
    ${sel("kube_job_status_start_time", ns)}
  * on (namespace, job_name) group_left () (${sel("kube_job_status_condition", ns, eq("condition", "Failed"), eq("status", "true"))} == 1)
  * on (namespace, job_name) group_left (owner_name) ${sel("kube_job_owner", ns, eq("owner_kind", "CronJob"), re("owner_name", BACKUP_CRONJOB_PATTERN))}
)`;
  const lastSuccess = `max by (namespace, owner_name) (
    label_replace(${sel("kube_cronjob_status_last_successful_time", ns, cron)}, "owner_name", "$1", "cronjob", "(.+)")
)`;
  const rules: AlertRule[] = [
    {
      alert: "BackupFailed",
      expr: `${lastFailure}
> on (namespace, owner_name) ${lastSuccess}
or (${lastFailure} unless on (namespace, owner_name) ${lastSuccess})`,
      labels: { severity: "warning", ...env },
      annotations: annotations(
        "BackupFailed",
        "Backup CronJob {{ $labels.owner_name }} failed its last run",
        "The newest Job of {{ $labels.owner_name }} in {{ $labels.namespace }} failed and no run has succeeded since. `kubectl logs job/<job>` shows why; the next scheduled run retries.",
      ),
    },
    {
      alert: "BackupTooOld",
      expr: `time() - ${sel("kube_cronjob_status_last_successful_time", ns, cron)} > ${maxAge}
or (time() - ${sel("kube_cronjob_created", ns, cron)} > ${maxAge})
  unless on (namespace, cronjob) ${sel("kube_cronjob_status_last_successful_time", ns, cron)}`,
      for: "10m",
      labels: { severity: "critical", ...env },
      annotations: annotations(
        "BackupTooOld",
        "No successful {{ $labels.cronjob }} run for more than " + `${hours}h`,
        `The newest successful run of CronJob {{ $labels.cronjob }} in {{ $labels.namespace }} is older than ${hours} hours (or it never succeeded): the recovery point objective is breached.`,
      ),
    },
  ];

  if (config.backups.postgres.objectStore) {
    // CloudNativePG reports its own base backups (ScheduledBackup + WAL archive) per instance.
    const cnpg = (metric: string) => sel(metric, ns, eq("job", JOBS.postgres));
    rules.push(
      {
        alert: "BackupFailed",
        expr: `max by (namespace) (${cnpg("cnpg_collector_last_failed_backup_timestamp")})
  > max by (namespace) (${cnpg("cnpg_collector_last_available_backup_timestamp")})`,
        labels: { severity: "warning", ...env, store: "postgres" },
        annotations: annotations(
          "BackupFailed",
          "Postgres base backup failed in {{ $labels.namespace }}",
          "CloudNativePG's newest backup attempt failed after the last available backup. `kubectl get backups -n {{ $labels.namespace }}` shows the failed Backup and its error.",
        ),
      },
      {
        alert: "BackupTooOld",
        expr: `time() - max by (namespace) (${cnpg("cnpg_collector_last_available_backup_timestamp")}) > ${maxAge}`,
        for: "10m",
        labels: { severity: "critical", ...env, store: "postgres" },
        annotations: annotations(
          "BackupTooOld",
          `Newest Postgres base backup is older than ${hours}h`,
          `CloudNativePG's newest available base backup in {{ $labels.namespace }} is older than ${hours} hours: point-in-time recovery needs a recent base backup.`,
        ),
      },
    );
  }

  if (config.backups.velero.enabled) {
    // Velero labels its metrics with the Schedule's name; the backups tier creates exactly one.
    // Equality, not a regex: absent() then carries the schedule label into the alert.
    const scheduleName = veleroScheduleName(config);
    const schedule = eq("schedule", scheduleName);
    const lastSuccessful = sel("velero_backup_last_successful_timestamp", schedule);
    // Silence is not success. Nothing scrapes Velero unless the chart's ServiceMonitor (install:
    // true) or the program's (monitors.ts, install: false) is there and works; and Velero only
    // exports a schedule it knows (velero_backup_attempt_total is initialised to 0 when the
    // schedule controller first sees it). So both alerts also fire when the series are missing.
    rules.push(
      {
        alert: "BackupFailed",
        expr: `sum by (schedule) (increase(${sel("velero_backup_failure_total", schedule)}[1h])) > 0
or absent(${sel("velero_backup_attempt_total", schedule)})`,
        // Long enough for a fresh Velero/Prometheus to be scraped once; a failure counted by
        // increase(…[1h]) keeps the condition true for about an hour, so it still fires.
        for: "15m",
        labels: { severity: "warning", ...env, store: "velero" },
        annotations: annotations(
          "BackupFailed",
          "Velero backup of schedule {{ $labels.schedule }} failed, or Velero reports nothing about it",
          "A Velero backup of {{ $labels.schedule }} failed in the last hour (`velero backup describe --details` on the newest backup shows why), or Prometheus has no velero_backup_attempt_total for the schedule: Velero is not scraped (its ServiceMonitor, the backups.velero.monitor labels) or does not know the Schedule.",
        ),
      },
      {
        alert: "BackupTooOld",
        // Too old, or never seen a success although the stack (its workloads namespace, created
        // by the first `up`) is older than the limit: the schedule should have run by then.
        expr: `time() - max by (schedule) (${lastSuccessful}) > ${maxAge}
or (
  absent(${lastSuccessful})
  and on () (time() - max(${sel("kube_namespace_created", ns)}) > ${maxAge})
)`,
        for: "10m",
        labels: { severity: "critical", ...env, store: "velero" },
        annotations: annotations(
          "BackupTooOld",
          `Newest successful Velero backup of {{ $labels.schedule }} is older than ${hours}h`,
          `Velero has not completed a backup of {{ $labels.schedule }} for more than ${hours} hours, or Prometheus has never seen one (Velero not scraped, or no backup succeeded) although the stack is older than that.`,
        ),
      },
    );
  }
  return rules;
}

function pct(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10}%`;
}

/** Every alert name the stack's rules define (an alert may have several rules). */
export function alertNames(config: PlatformConfig): string[] {
  return [...new Set(alertGroups(config).flatMap((g) => g.rules.map((r) => r.alert)))];
}
