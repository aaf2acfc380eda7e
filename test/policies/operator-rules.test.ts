/**
 * Operator resources (issue 15): PrometheusRule, Velero Schedule, CloudNativePG Cluster and
 * ScheduledBackup. The parsers are checked against the upstream parsers' own cases (robfig/cron
 * v3.0.1 and v1.2.0, Go time.ParseDuration, prometheus/common model.ParseDuration); the policies
 * run on the real production render, broken one thing at a time, with the cases of the
 * CloudNativePG 1.27 webhook tests (internal/webhook/v1/*_webhook_test.go).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { RenderedResource } from "../../policies/evaluate";
import {
  parseGoDuration,
  prometheusDurationProblem,
  secondsCronProblem,
  standardCronProblem,
} from "../../policies/lib/formats";
import { cnpgImageTag } from "../../policies/operators";
import { renderStack, renderedResources } from "../harness";
import { clone, evaluate, messagesOf } from "./helpers";

let production: RenderedResource[];
beforeAll(async () => {
  production = renderedResources(await renderStack("production"));
}, 120_000);

function object(stack: RenderedResource[], kind: string, name: string): Record<string, any> {
  const r = stack.find(
    (x) =>
      (x.props as { kind?: string }).kind === kind &&
      (x.props as { metadata?: { name?: string } }).metadata?.name === name,
  );
  if (!r) throw new Error(`rendered stack has no ${kind} ${name}`);
  return r.props as Record<string, any>;
}

describe("cron parsers (robfig/cron as Velero and CloudNativePG pin it)", () => {
  it.each([
    "0 2 * * *",
    "@daily",
    "@midnight",
    "@every 1h30m",
    "*/15 * * * mon-fri",
    "0 0 1 jan *",
    "0 2 * * ?",
    "5-10/2 2,14 1-15 * 0-6",
    "CRON_TZ=Europe/Berlin 0 2 * * *",
    "TZ=UTC 0 2 * * *",
  ])("Velero accepts %j", (spec) => expect(standardCronProblem(spec)).toBeUndefined());

  it.each([
    ["", /empty spec/],
    ["0 0 2 * * *", /expected exactly 5 fields, found 6/],
    ["0 2 * *", /expected exactly 5 fields, found 4/],
    ["0 2 * * 7", /day of week: end of range \(7\) above maximum \(6\)/],
    ["60 * * * *", /minute: end of range \(60\) above maximum \(59\)/],
    ["0 0 0 * *", /day of month: beginning of range \(0\) below minimum \(1\)/],
    ["*/0 * * * *", /step of range should be a positive number/],
    ["5-2 * * * *", /beginning of range \(5\) beyond end of range \(2\)/],
    ["1-2-3 * * * *", /too many hyphens/],
    ["x * * * *", /failed to parse int from x/],
    ["@every 5 minutes", /failed to parse duration/],
    ["@fortnightly", /unrecognized descriptor/],
    ["TZ=Mars/Olympus 0 2 * * *", /bad location Mars\/Olympus/],
    ["CRON_TZ=UTC", /needs a schedule after it/],
  ])("Velero refuses %j", (spec, why) => expect(standardCronProblem(spec)).toMatch(why));

  it("CloudNativePG: seconds first, day of week optional, no time zone (webhook test cases)", () => {
    expect(secondsCronProblem("0 0 0 * * *")).toBeUndefined();
    expect(secondsCronProblem("* * * * * *")).toBeUndefined();
    expect(secondsCronProblem("1 2 3 4 5")).toBeUndefined(); // accepted, the webhook only warns
    expect(secondsCronProblem("@daily")).toBeUndefined();
    expect(secondsCronProblem("0 0 0 * * * 1996")).toMatch(/expected 5 to 6 fields, found 7/);
    expect(secondsCronProblem("0 0 24 * * *")).toMatch(/hour: end of range \(24\)/);
    expect(secondsCronProblem("CRON_TZ=UTC 0 0 * * *")).toMatch(/second: failed to parse int/);
  });

  it("Go durations as time.ParseDuration reads them", () => {
    expect(parseGoDuration("720h")).toBe(2_592_000);
    expect(parseGoDuration("72h30m")).toBe(261_000);
    expect(parseGoDuration("1.5h")).toBe(5400);
    expect(parseGoDuration("300ms")).toBeCloseTo(0.3);
    expect(parseGoDuration("0")).toBe(0);
    expect(parseGoDuration("-1h")).toBe(-3600);
    for (const bad of ["30d", "720", "1 h", "", "h", "1hh"])
      expect(parseGoDuration(bad), bad).toMatch(/invalid duration/);
  });

  it("Prometheus durations as model.ParseDuration reads them", () => {
    for (const ok of ["5m", "1h30m", "0", "1y2w3d4h5m6s7ms", "90s"])
      expect(prometheusDurationProblem(ok), ok).toBeUndefined();
    for (const bad of ["", "1m30h", "5 m", "1.5m", "5min", "-5m"])
      expect(prometheusDurationProblem(bad), bad).toMatch(/not a Prometheus duration/);
  });
});

describe("prometheus-rules", () => {
  it("passes the real production alerts", async () => {
    expect(messagesOf(await evaluate(production), "prometheus-rules")).toEqual([]);
  });

  it("reports a broken expr with the group and alert name; severity, summary, for", async () => {
    const stack = clone(production);
    const rule = object(stack, "PrometheusRule", "octollm-alerts");
    const [first, second] = rule.spec.groups[0].rules;
    first.expr = "sum by (job) (rate(http_requests_total[5m])";
    delete second.labels.severity;
    delete second.annotations.summary;
    second.for = "5 minutes";
    expect(messagesOf(await evaluate(stack), "prometheus-rules")).toEqual([
      expect.stringMatching(
        /^PrometheusRule octollm-system\/octollm-alerts: group "octollm-availability", alert "ServiceDown": expr does not parse as PromQL \(at \d+: .*\): sum by \(job\) \(rate\(http_requests_total\[5m\]\)$/,
      ),
      `PrometheusRule octollm-system/octollm-alerts: group "octollm-availability", alert "${second.alert}": for "5 minutes" is not a Prometheus duration (e.g. 5m, 1h30m, 0; units y w d h m s ms in that order)`,
      `PrometheusRule octollm-system/octollm-alerts: group "octollm-availability", alert "${second.alert}": no 'severity' label (Alertmanager routes on it; one of critical, warning, info, none)`,
      `PrometheusRule octollm-system/octollm-alerts: group "octollm-availability", alert "${second.alert}": no 'summary' annotation (what the page or chat message says)`,
    ]);
  });

  it("reports an unknown severity, a repeated group, bad recording rules and label names", async () => {
    const stack = clone(production);
    const rule = object(stack, "PrometheusRule", "octollm-alerts");
    rule.spec.groups[0].rules[0].labels.severity = "page";
    rule.spec.groups[1].name = rule.spec.groups[0].name;
    rule.spec.groups[0].rules.push(
      { record: "job:http_requests:rate5m{job}", expr: "sum by (job) (rate(x[5m]))" },
      {
        record: "job:ok:rate5m",
        expr: "sum(rate(x[5m]))",
        for: "5m",
        annotations: { summary: "x" },
        labels: { "bad-label": "x" },
      },
      { alert: "Both", record: "both", expr: "up == 0" },
    );
    const messages = messagesOf(await evaluate(stack), "prometheus-rules").map((m) =>
      m.replace("PrometheusRule octollm-system/octollm-alerts: ", ""),
    );
    expect(messages).toEqual(
      expect.arrayContaining([
        'group "octollm-availability", alert "ServiceDown": severity "page" is not one of critical, warning, info, none (Alertmanager routes on it)',
        'group "octollm-availability": name is repeated in the same PrometheusRule',
        `group "octollm-availability", record "job:http_requests:rate5m{job}": invalid recording rule name (a metric name: letters, digits, '_' and ':', not starting with a digit)`,
        `group "octollm-availability", record "job:ok:rate5m": 'for' is not allowed in a recording rule`,
        `group "octollm-availability", record "job:ok:rate5m": 'annotations' are not allowed in a recording rule`,
        'group "octollm-availability", record "job:ok:rate5m": invalid label name "bad-label"',
        `group "octollm-availability", alert "Both": only one of 'record' and 'alert' may be set`,
        `group "octollm-availability", alert "Both": no 'severity' label (Alertmanager routes on it; one of critical, warning, info, none)`,
        `group "octollm-availability", alert "Both": no 'summary' annotation (what the page or chat message says)`,
      ]),
    );
    expect(messages).toHaveLength(9);
  });

  it("holds a chart's own rules to what Prometheus accepts, not to our conventions", async () => {
    const stack = clone(production);
    const chartRule: RenderedResource = {
      type: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
      name: "kps-rules",
      urn: "urn:pulumi:production::octollm::octollm:observability:Observability$kubernetes:helm.sh/v4:Chart$kubernetes:monitoring.coreos.com/v1:PrometheusRule::kps-rules",
      props: {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: { name: "kps-rules", namespace: "octollm-system" },
        spec: {
          groups: [
            {
              name: "general",
              rules: [
                { alert: "Watchdog", expr: "vector(1)" },
                { alert: "Broken", expr: "up ==", labels: { severity: "none" } },
              ],
            },
          ],
        },
      },
    };
    stack.push(chartRule);
    expect(messagesOf(await evaluate(stack), "prometheus-rules")).toEqual([
      expect.stringMatching(
        /^PrometheusRule octollm-system\/kps-rules: group "general", alert "Broken": expr does not parse as PromQL/,
      ),
    ]);
  });
});

describe("velero-schedule", () => {
  it("passes the real production Schedule", async () => {
    expect(messagesOf(await evaluate(production), "velero-schedule")).toEqual([]);
  });

  it("reports a cron Velero refuses, a ttl that is not a Go duration, and a namespace typo", async () => {
    const stack = clone(production);
    const schedule = object(stack, "Schedule", "octollm-production-daily");
    schedule.spec.schedule = "0 0 2 * * *";
    schedule.spec.template.ttl = "30d";
    schedule.spec.template.includedNamespaces = ["octollm-prodution", "kube-system"];
    expect(messagesOf(await evaluate(stack), "velero-schedule")).toEqual([
      'Schedule velero/octollm-production-daily: spec.schedule "0 0 2 * * *" is not a schedule Velero accepts (five fields minute hour day-of-month month day-of-week, or @daily/@every <duration>): expected exactly 5 fields, found 6: 0 0 2 * * *',
      'Schedule velero/octollm-production-daily: spec.template.ttl "30d" is not a Go duration (e.g. 720h, 72h30m): time: invalid duration "30d"',
      'Schedule velero/octollm-production-daily: spec.template.includedNamespaces: "octollm-prodution" is not a namespace of the stack (cert-manager, cnpg-system, envoy-gateway-system, octollm-production, octollm-production-reflex, octollm-system) nor a system namespace; Velero would back up nothing for it. Fix the name, or declare a namespace made outside the stack in the Schedule\'s octollm.io/external-namespaces annotation',
    ]);
  });

  it("accepts declared external namespaces, globs that match, and descriptors", async () => {
    const stack = clone(production);
    const schedule = object(stack, "Schedule", "octollm-production-daily");
    schedule.spec.schedule = "@every 12h";
    schedule.spec.template.includedNamespaces = ["octollm-production*", "corp-shared"];
    schedule.metadata.annotations = { "octollm.io/external-namespaces": "corp-shared, other" };
    expect(messagesOf(await evaluate(stack), "velero-schedule")).toEqual([]);
    schedule.spec.template.includedNamespaces = ["team-*"];
    expect(messagesOf(await evaluate(stack), "velero-schedule")).toEqual([
      expect.stringContaining('"team-*" is not a namespace of the stack'),
    ]);
  });

  it("reports include/exclude lists Velero's backup validation refuses", async () => {
    const stack = clone(production);
    const schedule = object(stack, "Schedule", "octollm-production-daily");
    schedule.spec.template.includedNamespaces = ["*", "octollm-production"];
    schedule.spec.template.excludedNamespaces = ["octollm-production", "Bad_Name"];
    schedule.spec.template.ttl = "-1h";
    expect(
      messagesOf(await evaluate(stack), "velero-schedule").map((m) =>
        m.replace("Schedule velero/octollm-production-daily: ", ""),
      ),
    ).toEqual([
      'spec.template.ttl "-1h" is negative: every backup would expire at once',
      "spec.template.includedNamespaces must either contain '*' only, or a list of namespaces",
      "spec.template.excludedNamespaces cannot contain an item in includedNamespaces: octollm-production",
      `invalid namespace "Bad_Name": must be a DNS-1123 label (lowercase letters, digits, '-')`,
    ]);
  });
});

describe("cloudnative-pg-admission", () => {
  const prefix = "Cluster octollm-production/postgres: ";
  const suffix = " [CloudNativePG 1.27 webhook]";
  const clusterMessages = async (stack: RenderedResource[]) =>
    messagesOf(await evaluate(stack), "cloudnative-pg-admission")
      .filter((m) => m.startsWith(prefix))
      .map((m) => m.slice(prefix.length, m.endsWith(suffix) ? -suffix.length : undefined));

  it("passes the real production Cluster and ScheduledBackup", async () => {
    expect(messagesOf(await evaluate(production), "cloudnative-pg-admission")).toEqual([]);
  });

  it("image tags as the webhook reads them (its own test cases)", () => {
    expect(cnpgImageTag("postgres")).toBe("latest");
    expect(cnpgImageTag("postgres:34.3")).toBe("34.3");
    expect(
      cnpgImageTag(
        "postgres:13@sha256:cff94de382ca538861622bbe84cfe03f44f307a9846a5c5eda672cf4dc692866",
      ),
    ).toBe("13");
    expect(
      cnpgImageTag(
        "postgres@sha256:cff94dd382ca538861622bbe84cfe03f44f307a9846a5c5eda672cf4dc692866",
      ),
    ).toBe("");
    expect(cnpgImageTag("localhost:5000/postgres")).toBe("latest");
    expect(cnpgImageTag("registry.localhost:5000/postgres:14.4")).toBe("14.4");
  });

  it.each([
    ["postgres:15rc1", undefined],
    ["postgres:14.4-1", undefined],
    [
      "postgres:10.4@sha256:cff94de382ca538861622bbe84cfe03f44f307a9846a5c5eda672cf4dc692866",
      undefined,
    ],
    ["postgres:latest", "can't use 'latest' as image tag"],
    [
      "postgres@sha256:cff94de382ca538861622bbe84cfe03f44f307a9846a5c5eda672cf4dc692866",
      "can't use just the image sha",
    ],
    ["postgres:test_12", 'tag "test_12" is not a PostgreSQL version'],
  ])("imageName %s", async (image, problem) => {
    const stack = clone(production);
    object(stack, "Cluster", "postgres").spec.imageName = image;
    const messages = await clusterMessages(stack);
    if (problem === undefined) expect(messages).toEqual([]);
    else expect(messages).toEqual([expect.stringContaining(problem)]);
  });

  it("sync replicas against instances, and legacy vs new synchronous configuration", async () => {
    const stack = clone(production);
    const spec = object(stack, "Cluster", "postgres").spec;
    spec.postgresql.synchronous.number = 3;
    expect(await clusterMessages(stack)).toEqual([
      "spec.postgresql.synchronous.number 3 must be less than the instances (3) plus the standby names given (0) (validateSynchronousReplicaConfiguration)",
    ]);
    delete spec.postgresql.synchronous;
    spec.minSyncReplicas = 2;
    spec.maxSyncReplicas = 3;
    expect(await clusterMessages(stack)).toEqual([
      "spec.maxSyncReplicas 3 must be lower than the number of instances (3) (validateMaxSyncReplicas)",
    ]);
    spec.maxSyncReplicas = 1;
    expect(await clusterMessages(stack)).toEqual([
      "spec.minSyncReplicas 2 cannot be greater than maxSyncReplicas 1 (validateMinSyncReplicas)",
    ]);
    spec.minSyncReplicas = 1;
    expect(await clusterMessages(stack)).toEqual([]);
    spec.postgresql.synchronous = { method: "any", number: 1 };
    expect(await clusterMessages(stack)).toEqual([
      "spec.postgresql.synchronous: can't have both legacy synchronous replica configuration (minSyncReplicas/maxSyncReplicas) and the new one (validateConfiguration)",
    ]);
  });

  it("storage size, bootstrap methods, recovery source, image exclusivity, update strategy", async () => {
    const stack = clone(production);
    const spec = object(stack, "Cluster", "postgres").spec;
    spec.storage.size = "100 GB";
    spec.walStorage = { storageClass: "x" };
    spec.bootstrap.recovery = { source: "origin", database: "octollm" };
    spec.imageCatalogRef = {
      apiGroup: "postgresql.cnpg.io",
      kind: "ImageCatalog",
      name: "pg",
      major: 15,
    };
    spec.instances = 1;
    delete spec.postgresql.synchronous;
    spec.primaryUpdateStrategy = "supervised";
    spec.affinity.podAntiAffinityType = "always";
    expect(await clusterMessages(stack)).toEqual([
      "spec.imageName and spec.imageCatalogRef are mutually exclusive (CRD rule)",
      "spec.primaryUpdateStrategy: supervised update strategy is not allowed for clusters with a single instance (validatePrimaryUpdateStrategy)",
      'spec.storage.size "100 GB" isn\'t a valid quantity (e.g. 10Gi) (validateStorageSize)',
      "spec.walStorage.size: not configured; add it, or a storage request in the pvcTemplate (validateWalStorageSize)",
      "spec.affinity.podAntiAffinityType \"always\" must be 'preferred' (default if empty) or 'required' (validateAntiAffinity)",
      "spec.bootstrap: only one bootstrap method can be specified at a time (got initdb, recovery) (validateBootstrapMethod)",
      "spec.bootstrap.recovery.owner: you need to specify the database owner user (validateApplicationDatabase)",
      'spec.bootstrap.recovery.source: external cluster "origin" not found (validateBootstrapRecoverySource)',
    ]);
  });

  it("object-store credentials and retention policy (barman-cloud v0.3.3 webhook)", async () => {
    const stack = clone(production);
    const backup = object(stack, "Cluster", "postgres").spec.backup;
    delete backup.barmanObjectStore.s3Credentials.secretAccessKey;
    backup.retentionPolicy = "30 days";
    expect(await clusterMessages(stack)).toEqual([
      "spec.backup.barmanObjectStore.s3Credentials: when using AWS credentials both accessKeyId and secretAccessKey must be provided (validateBackupConfiguration)",
      'spec.backup.retentionPolicy "30 days" is not a retention policy like 30d, 4w or 1m (CRD pattern; validateRetentionPolicy)',
    ]);
    backup.barmanObjectStore.s3Credentials = { inheritFromIAMRole: true };
    backup.barmanObjectStore.googleCredentials = { gkeEnvironment: true };
    backup.retentionPolicy = "4w";
    expect(await clusterMessages(stack)).toEqual([
      "spec.backup.barmanObjectStore: too many credentials (s3Credentials, googleCredentials); one and only one of azureCredentials, s3Credentials and googleCredentials is required (validateBackupConfiguration)",
    ]);
  });

  it("ScheduledBackup: a five-field cron is read seconds-first; enums; cluster and its backup", async () => {
    const stack = clone(production);
    const scheduled = object(stack, "ScheduledBackup", "postgres-base-backup");
    const label = "ScheduledBackup octollm-production/postgres-base-backup: ";
    scheduled.spec.schedule = "0 1 * * *";
    scheduled.spec.target = "standby";
    scheduled.spec.online = true;
    expect(messagesOf(await evaluate(stack), "cloudnative-pg-admission")).toEqual([
      `${label}spec.schedule "0 1 * * *" has five fields: CloudNativePG reads the first as seconds, so it does not run when a five-field cron would (write six fields, seconds first, e.g. "0 0 1 * * *")`,
      `${label}spec.target "standby" must be one of primary, prefer-standby`,
      `${label}spec.online can be specified only if the method is volumeSnapshot`,
    ]);
    scheduled.spec = {
      ...scheduled.spec,
      schedule: "0 0 0 * * * 1996",
      target: "primary",
      method: "snapshot",
    };
    delete scheduled.spec.online;
    expect(messagesOf(await evaluate(stack), "cloudnative-pg-admission")).toEqual([
      `${label}spec.schedule "0 0 0 * * * 1996" is not a cron CloudNativePG accepts (robfig/cron v1, seconds first): expected 5 to 6 fields, found 7: 0 0 0 * * * 1996`,
      `${label}spec.method "snapshot" must be one of barmanObjectStore, volumeSnapshot, plugin`,
    ]);
    scheduled.spec = {
      ...scheduled.spec,
      schedule: "@daily",
      method: "barmanObjectStore",
      cluster: { name: "pg" },
    };
    expect(messagesOf(await evaluate(stack), "cloudnative-pg-admission")).toEqual([
      `${label}spec.cluster.name "pg" is not a CloudNativePG Cluster of the stack in namespace octollm-production: every scheduled backup would fail`,
    ]);
    scheduled.spec.cluster.name = "postgres";
    delete object(stack, "Cluster", "postgres").spec.backup;
    expect(messagesOf(await evaluate(stack), "cloudnative-pg-admission")).toEqual([
      `${label}method barmanObjectStore, but Cluster postgres has no spec.backup.barmanObjectStore: the operator refuses every backup of it`,
    ]);
  });
});
