/**
 * promtool unit tests for every alert rule: input series → expected alerts, a firing case and a
 * case that must stay silent (just under the threshold, another stack's namespace, a recovered
 * backup...). Thresholds come from the config under test, so the cases move with the config.
 *
 * A case names its rule by alert and `store` label (BackupFailed/BackupTooOld have one rule per
 * backup source). Expected annotations are rendered from the rule's own templates (see
 * promtool.ts), so a broken template fails the test too.
 */
import type { PlatformConfig } from "../../components/config";

export interface InputSeries {
  series: string;
  values: string;
}

export interface ExpectedAlert {
  /** labels of the alert without the rule's static labels (severity, environment, ...) */
  labels: Record<string, string>;
  /** `$value` at evaluation, for annotations that print it */
  value?: number;
}

export interface AlertCase {
  alert: string;
  /** which rule of the alert: its `store` label (undefined = the rule without one) */
  store?: string;
  name: string;
  interval?: string;
  series: InputSeries[];
  evalTime: string;
  /** empty: the alert must not fire */
  expected: ExpectedAlert[];
}

function s(metric: string, labels: Record<string, string>, values: string): InputSeries {
  const body = Object.entries(labels)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(", ");
  return { series: `${metric}{${body}}`, values };
}

export function alertCases(config: PlatformConfig): AlertCase[] {
  const t = config.observability.alerts;
  const ws = config.namespaces.workloads;
  const reflexNs = config.namespaces.reflex;
  const other = "someone-elses-namespace";
  const arm = `${config.arms[0].name}-arm`;
  const cases: AlertCase[] = [];

  // ---- ServiceDown ----------------------------------------------------------------------------
  const target = { namespace: ws, job: arm, instance: "10.1.0.5:8102", pod: `${arm}-7d9f-abcde` };
  cases.push(
    {
      alert: "ServiceDown",
      name: "an arm target down for more than 1m fires",
      series: [s("up", target, "1 1 0x10")],
      evalTime: "5m",
      expected: [{ labels: target }],
    },
    {
      alert: "ServiceDown",
      name: "the reflex layer (its own namespace) down fires",
      series: [
        s(
          "up",
          { namespace: reflexNs, job: "reflex-layer", instance: "10.0.3.4:8080", pod: "rl-x" },
          "0x10",
        ),
      ],
      evalTime: "5m",
      expected: [
        {
          labels: {
            namespace: reflexNs,
            job: "reflex-layer",
            instance: "10.0.3.4:8080",
            pod: "rl-x",
          },
        },
      ],
    },
    {
      alert: "ServiceDown",
      name: "healthy targets, a target down for less than 1m, and another stack's target stay silent",
      series: [
        s("up", { ...target, job: "orchestrator" }, "1x10"),
        s("up", target, "1x4 0"),
        s("up", { ...target, namespace: other }, "0x10"),
      ],
      evalTime: "5m",
      expected: [],
    },
  );

  // ---- HighErrorRate --------------------------------------------------------------------------
  const requests = (status: string, perMinute: number, job = "orchestrator") =>
    s(
      "http_requests_total",
      { namespace: ws, job, pod: `${job}-1`, method: "POST", endpoint: "/tasks", status },
      `0+${perMinute}x30`,
    );
  const bad = Math.min(99, Math.round(t.errorRateRatio * 200));
  const fine = Math.max(0, Math.floor((t.errorRateRatio * 100) / 2));
  cases.push(
    {
      alert: "HighErrorRate",
      name: `${bad}% 5xx (over ${t.errorRateRatio * 100}%) for 5m fires`,
      series: [requests("200", 100 - bad), requests("503", bad)],
      evalTime: "20m",
      expected: [{ labels: { namespace: ws, job: "orchestrator" }, value: bad / 100 }],
    },
    {
      alert: "HighErrorRate",
      name: `${fine}% 5xx and 4xx (client errors) stay silent`,
      series: [requests("200", 100 - fine - 30), requests("500", fine), requests("404", 30)],
      evalTime: "20m",
      expected: [],
    },
  );

  // ---- HighRequestLatency ---------------------------------------------------------------------
  const buckets = ["0.5", "1", "2.5", "5", "10", "+Inf"];
  const histogram = (slowFrom: string, job: string) =>
    buckets.map((le) =>
      s(
        "http_request_duration_seconds_bucket",
        { namespace: ws, job, pod: `${job}-1`, method: "POST", endpoint: "/tasks", le },
        Number(le) >= Number(slowFrom) || le === "+Inf" ? "0+10x30" : "0x30",
      ),
    );
  // All requests in one bucket (lo, hi]: p95 = lo + (hi - lo) × 0.95.
  cases.push(
    {
      alert: "HighRequestLatency",
      name: "p95 in the 5-10s bucket (9.75s) for 5m fires",
      series: histogram("10", arm),
      evalTime: "20m",
      expected: [{ labels: { namespace: ws, job: arm }, value: 9.75 }],
    },
    {
      alert: "HighRequestLatency",
      name: "p95 under a second stays silent",
      series: histogram("1", arm),
      evalTime: "20m",
      expected: [],
    },
  );

  // ---- HighLLMAPICost -------------------------------------------------------------------------
  const perHourHigh = t.llmCostDollarsPerHour * 1.5;
  const perHourLow = t.llmCostDollarsPerHour * 0.6;
  const cost = (provider: string, perHour: number) =>
    s(
      "llm_api_cost_dollars_total",
      { namespace: ws, job: "orchestrator", pod: "orchestrator-1", provider, model: "m" },
      `0+${perHour / 2 / 60}x100`,
    );
  cases.push(
    {
      alert: "HighLLMAPICost",
      name: `$${perHourHigh}/hour summed over two providers fires (dollars per hour, not per second)`,
      series: [cost("openai", perHourHigh), cost("anthropic", perHourHigh)],
      evalTime: "90m",
      expected: [{ labels: { namespace: ws }, value: perHourHigh }],
    },
    {
      alert: "HighLLMAPICost",
      name: `$${perHourLow}/hour stays silent`,
      series: [cost("openai", perHourLow), cost("anthropic", perHourLow)],
      evalTime: "90m",
      expected: [],
    },
  );

  // ---- Postgres -------------------------------------------------------------------------------
  const pg = (pod: string, extra: Record<string, string> = {}) => ({
    namespace: ws,
    job: "postgres",
    pod,
    ...extra,
  });
  cases.push(
    {
      alert: "PostgresDown",
      name: "every instance reporting PostgreSQL down fires",
      series: [
        s("cnpg_collector_up", pg("postgres-1"), "0x10"),
        s("cnpg_collector_up", pg("postgres-2"), "0x10"),
      ],
      evalTime: "5m",
      expected: [{ labels: {} }],
    },
    {
      alert: "PostgresDown",
      name: "no instance scraped at all fires",
      series: [s("up", { namespace: ws, job: "orchestrator" }, "1x10")],
      evalTime: "5m",
      expected: [{ labels: {} }],
    },
    {
      alert: "PostgresDown",
      name: "one instance up stays silent (another stack's cluster is irrelevant)",
      series: [
        s("cnpg_collector_up", pg("postgres-1"), "0x10"),
        s("cnpg_collector_up", pg("postgres-2"), "1x10"),
      ],
      evalTime: "5m",
      expected: [],
    },
  );
  const lag = t.postgresReplicationLagSeconds;
  cases.push(
    {
      alert: "PostgresReplicationLag",
      name: `standby ${lag * 2}s behind for 5m fires`,
      series: [
        s("cnpg_pg_replication_lag", pg("postgres-1"), "0x20"),
        s("cnpg_pg_replication_lag", pg("postgres-2"), `${lag * 2}x20`),
      ],
      evalTime: "10m",
      expected: [{ labels: { namespace: ws, pod: "postgres-2" }, value: lag * 2 }],
    },
    {
      alert: "PostgresReplicationLag",
      name: "lag under the threshold stays silent",
      series: [s("cnpg_pg_replication_lag", pg("postgres-2"), `${lag / 2}x20`)],
      evalTime: "10m",
      expected: [],
    },
  );
  // What CloudNativePG 1.27 really exports: streaming_replicas = count(*) of pg_stat_replication
  // on every instance (0 on a standby), in_recovery 0 on the primary only, and
  // cnpg_collector_sync_replicas{value="observed"} = the n of synchronous_standby_names, which
  // the operator keeps at the configured number while the standbys are down.
  const want = config.dataStores.postgres.synchronousReplicas;
  const standbys = config.dataStores.postgres.instances - 1;
  const instance = (pod: string, primary: boolean, streaming: number, minutes = 20) => [
    s("cnpg_pg_replication_in_recovery", pg(pod), `${primary ? 0 : 1}x${minutes}`),
    s("cnpg_pg_replication_streaming_replicas", pg(pod), `${streaming}x${minutes}`),
    s("cnpg_collector_sync_replicas", pg(pod, { value: "observed" }), `${want}x${minutes}`),
  ];
  cases.push(
    {
      alert: "PostgresSyncStandbysMissing",
      name: "standbys down (synchronous_standby_names still lists them) for 5m fires",
      series: [...instance("postgres-1", true, want - 1), ...instance("postgres-2", false, 0)],
      evalTime: "10m",
      expected: [{ labels: {}, value: want - 1 }],
    },
    {
      alert: "PostgresSyncStandbysMissing",
      name: "no primary reporting for 5m (only a standby scraped) fires",
      series: instance("postgres-2", false, 0),
      evalTime: "10m",
      expected: [{ labels: {}, value: 0 }],
    },
    {
      alert: "PostgresSyncStandbysMissing",
      name: "every standby streaming from the primary stays silent (standbys report 0 themselves)",
      series: [
        ...instance("postgres-1", true, Math.max(want, standbys)),
        ...instance("postgres-2", false, 0),
        // another stack's primary without standbys is irrelevant
        s("cnpg_pg_replication_in_recovery", { ...pg("postgres-1"), namespace: other }, "0x20"),
        s(
          "cnpg_pg_replication_streaming_replicas",
          { ...pg("postgres-1"), namespace: other },
          "0x20",
        ),
      ],
      evalTime: "10m",
      expected: [],
    },
    {
      alert: "PostgresSyncStandbysMissing",
      name: "a standby down for less than 5m (a restart) stays silent",
      series: [
        s("cnpg_pg_replication_in_recovery", pg("postgres-1"), "0x20"),
        s("cnpg_pg_replication_streaming_replicas", pg("postgres-1"), `${want}x6 0x3 ${want}x10`),
      ],
      evalTime: "10m",
      expected: [],
    },
  );

  // ---- Redis ----------------------------------------------------------------------------------
  const rd = (pod: string, extra: Record<string, string> = {}) => ({
    namespace: ws,
    job: "redis",
    pod,
    instance: `${pod}:9121`,
    ...extra,
  });
  cases.push(
    {
      alert: "RedisDown",
      name: "exporter reports Redis down for 2m fires",
      series: [s("redis_up", rd("redis-0"), "0x10"), s("up", rd("redis-0"), "1x10")],
      evalTime: "5m",
      expected: [{ labels: { namespace: ws, pod: "redis-0" } }],
    },
    {
      alert: "RedisDown",
      name: "pod not scrapeable fires",
      series: [s("up", rd("redis-1"), "0x10")],
      evalTime: "5m",
      expected: [{ labels: { namespace: ws, pod: "redis-1" } }],
    },
    {
      alert: "RedisDown",
      name: "healthy Redis stays silent",
      series: [s("redis_up", rd("redis-0"), "1x10"), s("up", rd("redis-0"), "1x10")],
      evalTime: "5m",
      expected: [],
    },
  );
  const info = (pod: string, role: string, values: string) =>
    s("redis_instance_info", rd(pod, { role, redis_version: "7.4.2" }), values);
  cases.push(
    {
      alert: "RedisMasterChanged",
      name: "a former replica promoted to master fires",
      series: [
        info("redis-0", "master", "1x10"),
        info("redis-1", "slave", "1x10"),
        info("redis-1", "master", "_x10 1x10"),
      ],
      evalTime: "15m",
      expected: [{ labels: { namespace: ws, pod: "redis-1" } }],
    },
    {
      alert: "RedisMasterChanged",
      name: "a stable master, and a brand-new pod that starts as master, stay silent",
      series: [
        info("redis-0", "master", "1x20"),
        info("redis-1", "slave", "1x20"),
        info("redis-2", "master", "_x12 1x8"),
      ],
      evalTime: "15m",
      expected: [],
    },
  );
  const maxBytes = 2 * 1024 ** 3;
  const usedHigh = Math.round(maxBytes * Math.min(0.99, t.redisMemoryRatio + 0.05));
  cases.push(
    {
      alert: "RedisMemoryNearLimit",
      name: "used memory above the ratio of maxmemory for 10m fires",
      series: [
        s("redis_memory_used_bytes", rd("redis-0"), `${usedHigh}x30`),
        s("redis_memory_max_bytes", rd("redis-0"), `${maxBytes}x30`),
      ],
      evalTime: "15m",
      expected: [{ labels: { namespace: ws, pod: "redis-0" }, value: usedHigh / maxBytes }],
    },
    {
      alert: "RedisMemoryNearLimit",
      name: "half full, or no maxmemory set (0), stays silent",
      series: [
        s("redis_memory_used_bytes", rd("redis-0"), `${maxBytes / 2}x30`),
        s("redis_memory_max_bytes", rd("redis-0"), `${maxBytes}x30`),
        s("redis_memory_used_bytes", rd("redis-1"), `${maxBytes}x30`),
        s("redis_memory_max_bytes", rd("redis-1"), "0x30"),
      ],
      evalTime: "15m",
      expected: [],
    },
  );

  // ---- Qdrant ---------------------------------------------------------------------------------
  const qd = { namespace: ws, job: "qdrant", pod: "qdrant-0", instance: "10.1.2.3:6333" };
  cases.push(
    {
      alert: "QdrantDown",
      name: "a peer not scrapeable for 2m fires",
      series: [s("up", qd, "0x10"), s("up", { ...qd, pod: "qdrant-1" }, "1x10")],
      evalTime: "5m",
      expected: [{ labels: qd }],
    },
    {
      alert: "QdrantDown",
      name: "no Qdrant target at all fires",
      series: [s("up", { namespace: ws, job: "orchestrator" }, "1x10")],
      evalTime: "5m",
      expected: [{ labels: { namespace: ws, job: "qdrant" } }],
    },
    {
      alert: "QdrantDown",
      name: "every peer up stays silent",
      series: [s("up", qd, "1x10")],
      evalTime: "5m",
      expected: [],
    },
  );

  // ---- Kubernetes -----------------------------------------------------------------------------
  const ksm = { job: "kube-state-metrics", instance: "10.2.0.9:8080" };
  const waiting = (namespace: string, reason: string) =>
    s(
      "kube_pod_container_status_waiting_reason",
      { ...ksm, namespace, pod: `${arm}-abc`, container: arm, reason },
      "1x40",
    );
  cases.push(
    {
      alert: "PodCrashLooping",
      name: "CrashLoopBackOff for 15m fires",
      series: [waiting(ws, "CrashLoopBackOff")],
      evalTime: "25m",
      expected: [{ labels: { namespace: ws, pod: `${arm}-abc`, container: arm } }],
    },
    {
      alert: "PodCrashLooping",
      name: "another waiting reason, or another stack's pod, stays silent",
      series: [waiting(ws, "ContainerCreating"), waiting(other, "CrashLoopBackOff")],
      evalTime: "25m",
      expected: [],
    },
  );
  const hpa = (metric: string, n: number, name = arm) =>
    s(metric, { ...ksm, namespace: ws, horizontalpodautoscaler: name }, `${n}x40`);
  cases.push(
    {
      alert: "HPAAtMaxReplicas",
      name: "current replicas at the maximum for 15m fires",
      series: [
        hpa("kube_horizontalpodautoscaler_status_current_replicas", 10),
        hpa("kube_horizontalpodautoscaler_spec_max_replicas", 10),
      ],
      evalTime: "20m",
      expected: [{ labels: { namespace: ws, horizontalpodautoscaler: arm } }],
    },
    {
      alert: "HPAAtMaxReplicas",
      name: "headroom left stays silent",
      series: [
        hpa("kube_horizontalpodautoscaler_status_current_replicas", 8),
        hpa("kube_horizontalpodautoscaler_spec_max_replicas", 10),
      ],
      evalTime: "20m",
      expected: [],
    },
  );
  const volume = (metric: string, bytes: number, claim = "data-redis-0") =>
    s(
      metric,
      { job: "kubelet", node: "n1", namespace: ws, persistentvolumeclaim: claim },
      `${bytes}x30`,
    );
  const capacity = 10 * 1024 ** 3;
  const usedRatio = Math.min(0.99, t.pvcUsageRatio + 0.05);
  cases.push(
    {
      alert: "PVCUsageHigh",
      name: "volume above the usage ratio for 10m fires",
      series: [
        volume("kubelet_volume_stats_used_bytes", Math.round(capacity * usedRatio)),
        volume("kubelet_volume_stats_capacity_bytes", capacity),
      ],
      evalTime: "15m",
      expected: [
        {
          labels: { namespace: ws, persistentvolumeclaim: "data-redis-0" },
          value: Math.round(capacity * usedRatio) / capacity,
        },
      ],
    },
    {
      alert: "PVCUsageHigh",
      name: "half-full volume stays silent",
      series: [
        volume("kubelet_volume_stats_used_bytes", capacity / 2),
        volume("kubelet_volume_stats_capacity_bytes", capacity),
      ],
      evalTime: "15m",
      expected: [],
    },
  );

  if (config.backups.enabled) cases.push(...backupCases(config));
  return cases;
}

function backupCases(config: PlatformConfig): AlertCase[] {
  const ws = config.namespaces.workloads;
  const maxAge = config.observability.alerts.backupMaxAgeHours * 3600;
  const ksm = { job: "kube-state-metrics", instance: "10.2.0.9:8080" };
  const ns = { ...ksm, namespace: ws };
  // A backup Job run by CronJob `owner`: started at `start`, failed or not.
  const job = (owner: string, jobName: string, start: number, failed: boolean) => [
    s("kube_job_status_start_time", { ...ns, job_name: jobName }, `${start}x10`),
    s(
      "kube_job_status_condition",
      { ...ns, job_name: jobName, condition: failed ? "Failed" : "Complete", status: "true" },
      "1x10",
    ),
    s(
      "kube_job_owner",
      {
        ...ns,
        job_name: jobName,
        owner_kind: "CronJob",
        owner_name: owner,
        owner_is_controller: "true",
      },
      "1x10",
    ),
  ];
  const lastSuccess = (cronjob: string, at: number) =>
    s("kube_cronjob_status_last_successful_time", { namespace: ws, cronjob }, `${at}x20`);
  const cases: AlertCase[] = [
    {
      alert: "BackupFailed",
      name: "the newest run of a backup CronJob failed after its last success",
      series: [
        ...job("redis-backup", "redis-backup-29000", 3600, true),
        lastSuccess("redis-backup", 1000),
      ],
      evalTime: "5m",
      expected: [{ labels: { namespace: ws, owner_name: "redis-backup" } }],
    },
    {
      alert: "BackupFailed",
      name: "a backup CronJob that failed and never succeeded",
      series: [...job("qdrant-backup", "qdrant-backup-29000", 3600, true)],
      evalTime: "5m",
      expected: [{ labels: { namespace: ws, owner_name: "qdrant-backup" } }],
    },
    {
      alert: "BackupFailed",
      name: "an old failure followed by a success, and failed non-backup Jobs, stay silent",
      series: [
        ...job("redis-backup", "redis-backup-28000", 1000, true),
        ...job("redis-backup", "redis-backup-29000", 3600, false),
        lastSuccess("redis-backup", 3700),
        ...job("nightly-report", "nightly-report-1", 3600, true),
      ],
      evalTime: "5m",
      expected: [],
    },
    {
      alert: "BackupTooOld",
      name: `last success more than ${maxAge / 3600}h ago fires`,
      series: [lastSuccess("redis-backup", -maxAge - 1000)],
      evalTime: "15m",
      expected: [{ labels: { namespace: ws, cronjob: "redis-backup" } }],
    },
    {
      alert: "BackupTooOld",
      name: `a backup CronJob created more than ${maxAge / 3600}h ago that never succeeded fires`,
      series: [
        s(
          "kube_cronjob_created",
          { namespace: ws, cronjob: "qdrant-backup" },
          `${-maxAge - 1000}x20`,
        ),
      ],
      evalTime: "15m",
      expected: [{ labels: { namespace: ws, cronjob: "qdrant-backup" } }],
    },
    {
      alert: "BackupTooOld",
      name: "a recent success, and a new CronJob that has not run yet, stay silent",
      series: [
        lastSuccess("redis-backup", 0),
        s(
          "kube_cronjob_created",
          { namespace: ws, cronjob: "redis-backup" },
          `${-maxAge - 1000}x20`,
        ),
        s("kube_cronjob_created", { namespace: ws, cronjob: "qdrant-backup" }, "0x20"),
      ],
      evalTime: "15m",
      expected: [],
    },
  ];

  if (config.backups.postgres.objectStore) {
    const cnpg = (metric: string, values: string) =>
      s(metric, { namespace: ws, job: "postgres", pod: "postgres-1" }, values);
    cases.push(
      {
        alert: "BackupFailed",
        store: "postgres",
        name: "CloudNativePG's newest backup failed after the last available one",
        series: [
          cnpg("cnpg_collector_last_failed_backup_timestamp", "5000x10"),
          cnpg("cnpg_collector_last_available_backup_timestamp", "4000x10"),
        ],
        evalTime: "5m",
        expected: [{ labels: { namespace: ws } }],
      },
      {
        alert: "BackupFailed",
        store: "postgres",
        name: "an older failure than the last available backup stays silent",
        series: [
          cnpg("cnpg_collector_last_failed_backup_timestamp", "3000x10"),
          cnpg("cnpg_collector_last_available_backup_timestamp", "4000x10"),
        ],
        evalTime: "5m",
        expected: [],
      },
      {
        alert: "BackupTooOld",
        store: "postgres",
        name: "newest base backup older than the limit fires",
        series: [cnpg("cnpg_collector_last_available_backup_timestamp", `${-maxAge - 1000}x20`)],
        evalTime: "15m",
        expected: [{ labels: { namespace: ws } }],
      },
      {
        alert: "BackupTooOld",
        store: "postgres",
        name: "a recent base backup stays silent",
        series: [cnpg("cnpg_collector_last_available_backup_timestamp", "0x20")],
        evalTime: "15m",
        expected: [],
      },
    );
  }

  if (config.backups.velero.enabled) {
    const schedule = `octollm-${config.environment}-daily`;
    const velero = (metric: string, sched: string, values: string) =>
      s(metric, { job: "velero", namespace: "velero", schedule: sched }, values);
    // What Velero 1.16 exports for a schedule it knows, before any backup: the counters at 0
    // (InitSchedule), and no last_successful_timestamp until a backup of it completed.
    const known = (sched: string, minutes: number) => [
      velero("velero_backup_attempt_total", sched, `0x${minutes}`),
      velero("velero_backup_failure_total", sched, `0x${minutes}`),
    ];
    // The stack's workloads namespace, created `ageSeconds` before the test's time 0.
    const stackCreated = (ageSeconds: number) =>
      s(
        "kube_namespace_created",
        { job: "kube-state-metrics", namespace: ws },
        `${-ageSeconds}x40`,
      );
    cases.push(
      {
        alert: "BackupFailed",
        store: "velero",
        name: "a failed Velero backup of this stack's schedule fires",
        series: [
          velero("velero_backup_attempt_total", schedule, "0x30 1x30"),
          velero("velero_backup_failure_total", schedule, "0x30 1x30"),
        ],
        evalTime: "50m",
        expected: [{ labels: { schedule } }],
      },
      {
        alert: "BackupFailed",
        store: "velero",
        name: "no Velero metric at all (Velero not scraped) for 15m fires",
        series: [stackCreated(0), s("up", { namespace: ws, job: "orchestrator" }, "1x30")],
        evalTime: "20m",
        expected: [{ labels: { schedule } }],
      },
      {
        alert: "BackupFailed",
        store: "velero",
        name: "Velero scraped but another stack's schedule only (ours unknown to it) fires",
        series: known("octollm-other-daily", 30),
        evalTime: "20m",
        expected: [{ labels: { schedule } }],
      },
      {
        alert: "BackupFailed",
        store: "velero",
        name: "no failure, another stack's failed schedule, or metrics missing for under 15m, stay silent",
        series: [
          velero("velero_backup_attempt_total", schedule, "_x8 0x52"),
          velero("velero_backup_failure_total", schedule, "_x8 0x52"),
          velero("velero_backup_attempt_total", "octollm-other-daily", "0x30 1x30"),
          velero("velero_backup_failure_total", "octollm-other-daily", "0x30 1x30"),
        ],
        evalTime: "50m",
        expected: [],
      },
      {
        alert: "BackupTooOld",
        store: "velero",
        name: "newest successful Velero backup older than the limit fires",
        series: [
          ...known(schedule, 20),
          velero("velero_backup_last_successful_timestamp", schedule, `${-maxAge - 1000}x20`),
        ],
        evalTime: "15m",
        expected: [{ labels: { schedule } }],
      },
      {
        alert: "BackupTooOld",
        store: "velero",
        name: `no Velero metric at all, in a stack older than ${maxAge / 3600}h, fires`,
        series: [stackCreated(maxAge + 1000)],
        evalTime: "15m",
        expected: [{ labels: { schedule } }],
      },
      {
        alert: "BackupTooOld",
        store: "velero",
        name: "a recent Velero backup, and a new stack whose schedule has not run yet, stay silent",
        series: [
          velero("velero_backup_last_successful_timestamp", schedule, "0x20"),
          s(
            "kube_namespace_created",
            { job: "kube-state-metrics", namespace: "someone-elses-namespace" },
            `${-maxAge - 1000}x20`,
          ),
        ],
        evalTime: "15m",
        expected: [],
      },
      {
        alert: "BackupTooOld",
        store: "velero",
        name: "a brand-new stack without any Velero metric yet stays silent",
        series: [stackCreated(3600)],
        evalTime: "15m",
        expected: [],
      },
    );
  }
  return cases;
}
