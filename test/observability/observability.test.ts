/**
 * The observability tier as the stacks render it: the kube-prometheus-stack chart and its values
 * (no hooks, restricted pods, selectors, secrets), monitors that really select the other tiers'
 * Services and pods, the PrometheusRule, dashboards, tracing, and the bad-input rules.
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parsePlatformConfig } from "../../components/config";
import { alertGroups } from "../../components/observability/alerts";
import {
  ALERTMANAGER_CONFIG_SECRET,
  alertmanagerConfig,
  prometheusStackValues,
  retentionSize,
} from "../../components/observability/stack-chart";
import { VELERO_MONITOR, veleroServiceMonitor } from "../../components/observability/monitors";
import { collectorConfig, tracingEnv } from "../../components/observability/tracing";
import { veleroChartValues } from "../../components/backups/velero";
import { loadStackConfig } from "../../scripts/offline";
import { validateObjects } from "../../scripts/validate";
import type { KubernetesObject } from "../harness";
import { STACKS, findObject, helmCharts, objectsOf, ofKind, renderStack } from "../harness";

const PAGER = "https://pager.example.com/hook/abc123";
const CHAT = "https://chat.example.com/hooks/xyz789";
const cfg = (stack: string, extra: Record<string, unknown> = {}) =>
  parsePlatformConfig({
    ...loadStackConfig(stack),
    ...Object.fromEntries(
      Object.entries(extra).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    ),
  });

/** Every nested object under `key` in a values tree. */
function collect(tree: unknown, key: string, out: any[] = []): any[] {
  if (tree && typeof tree === "object") {
    for (const [k, v] of Object.entries(tree)) {
      if (k === key && v && typeof v === "object") out.push(v);
      collect(v, key, out);
    }
  }
  return out;
}

const matches = (labels: Record<string, string> | undefined, selector: Record<string, string>) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

describe.each(["staging", "production"] as const)("monitoring stack on %s", (stack) => {
  it("installs kube-prometheus-stack, pinned, into the system namespace", async () => {
    const run = await renderStack(stack);
    const config = cfg(stack);
    const charts = helmCharts(run).filter((c) => c.chart === "kube-prometheus-stack");
    expect(charts).toHaveLength(1);
    expect(charts[0]).toMatchObject({
      version: config.operators.prometheusStack.version,
      namespace: config.namespaces.system,
      repository: "https://prometheus-community.github.io/helm-charts",
    });
  });

  it("configures the chart so nothing depends on a Helm hook", async () => {
    const values = helmCharts(await renderStack(stack)).find(
      (c) => c.chart === "kube-prometheus-stack",
    )!.values as any;
    expect(values.prometheusOperator.admissionWebhooks).toMatchObject({
      enabled: false,
      patch: { enabled: false },
    });
    // The operator's TLS listener mounts the Secret the (skipped) hook Jobs would create.
    expect(values.prometheusOperator.tls.enabled).toBe(false);
    expect(values.grafana.testFramework.enabled).toBe(false);
    expect(values.crds).toEqual({ enabled: true, upgradeJob: { enabled: false } });
  });

  it("sets retention, a persistent volume on the stack's StorageClass, resources and selectors", async () => {
    const config = cfg(stack);
    const values = helmCharts(await renderStack(stack)).find(
      (c) => c.chart === "kube-prometheus-stack",
    )!.values as any;
    const spec = values.prometheus.prometheusSpec;
    expect(spec.retention).toBe(config.observability.prometheus.retention);
    expect(spec.retentionSize).toBe(retentionSize(config.observability.prometheus.storage));
    expect(spec.storageSpec.volumeClaimTemplate.spec).toMatchObject({
      storageClassName: config.dataStores.storageClass.name,
      resources: { requests: { storage: config.observability.prometheus.storage } },
    });
    expect(spec.resources).toEqual(config.observability.prometheus.resources);
    for (const kind of ["serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"]) {
      expect(spec[`${kind}SelectorNilUsesHelmValues`], kind).toBe(false);
      expect(spec[`${kind}NamespaceSelector`].matchExpressions[0].values).toContain(
        config.namespaces.workloads,
      );
    }
    expect(values.grafana.resources).toEqual(config.observability.grafana.resources);
    expect(values.alertmanager.alertmanagerSpec.resources).toEqual(
      config.observability.alertmanager.resources,
    );
  });

  it("takes Grafana's admin from the generated Secret and loads labelled dashboards everywhere", async () => {
    const values = helmCharts(await renderStack(stack)).find(
      (c) => c.chart === "kube-prometheus-stack",
    )!.values as any;
    expect(values.grafana.admin).toEqual({
      existingSecret: "grafana-admin",
      userKey: "admin-user",
      passwordKey: "admin-password",
    });
    expect(JSON.stringify(values.grafana)).not.toMatch(/adminPassword/);
    expect(values.grafana.sidecar.dashboards).toMatchObject({
      enabled: true,
      label: "grafana_dashboard",
      labelValue: "1",
      searchNamespace: "ALL",
    });
  });

  it("hardens every pod of the chart for PSS restricted and leaves out node-exporter", async () => {
    const values = helmCharts(await renderStack(stack)).find(
      (c) => c.chart === "kube-prometheus-stack",
    )!.values as any;
    expect(values.nodeExporter.enabled).toBe(false);
    expect(values.grafana.initChownData.enabled).toBe(false);
    const pods = collect(values, "securityContext").filter((s) => "runAsUser" in s);
    // operator, prometheus, alertmanager, grafana, kube-state-metrics
    expect(pods.length).toBeGreaterThanOrEqual(5);
    for (const p of pods) {
      expect(p.runAsNonRoot).toBe(true);
      expect(p.runAsUser).toBeGreaterThanOrEqual(1000);
      expect(p.seccompProfile).toEqual({ type: "RuntimeDefault" });
    }
    const containers = [
      ...collect(values, "containerSecurityContext"),
      values.grafana.sidecar.securityContext,
    ];
    expect(containers.length).toBeGreaterThanOrEqual(4);
    for (const c of containers) {
      expect(c).toMatchObject({
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
    }
  });

  it("keeps the Alertmanager receivers out of the chart values: a Secret, redacted", async () => {
    const overrides = {
      "octollm:secrets": { llmApiKeys: {}, alerting: { pagerUrl: PAGER, chatWebhookUrl: CHAT } },
    };
    const run = await renderStack(stack, overrides);
    const values = helmCharts(run).find((c) => c.chart === "kube-prometheus-stack")!.values as any;
    expect(values.alertmanager.alertmanagerSpec).toMatchObject({
      useExistingSecret: true,
      configSecret: ALERTMANAGER_CONFIG_SECRET,
    });
    const everything = JSON.stringify(run.resources.map((r) => r.inputs));
    expect(everything).not.toContain("pager.example.com");
    expect(everything).not.toContain("chat.example.com");
    const secret = findObject(
      await objectsOf(stack, overrides),
      "Secret",
      ALERTMANAGER_CONFIG_SECRET,
    );
    expect(Object.keys(secret.stringData as object)).toEqual(["alertmanager.yaml"]);
    expect(run.warnings.join("\n")).not.toMatch(/Alertmanager has no endpoint/);
  });

  it("warns when receivers are missing", async () => {
    expect((await renderStack(stack)).warnings.join("\n")).toMatch(
      /Alertmanager has no endpoint for secrets\.alerting\.pagerUrl/,
    );
  });

  it("lets the stack's pods talk: monitoring NetworkPolicy", async () => {
    const config = cfg(stack);
    const np = findObject(
      await objectsOf(stack),
      "NetworkPolicy",
      "monitoring-stack",
      config.namespaces.system,
    ) as any;
    expect(np.spec.podSelector.matchLabels).toEqual({ "octollm.io/monitoring-stack": "true" });
    const egressNs = np.spec.egress[0].to.map(
      (t: any) => t.namespaceSelector.matchLabels["kubernetes.io/metadata.name"],
    );
    expect(egressNs).toEqual(
      expect.arrayContaining([config.namespaces.workloads, config.namespaces.reflex]),
    );
    expect(np.spec.egress.some((e: any) => e.ports?.some((p: any) => p.port === 10250))).toBe(true);
  });
});

describe("Alertmanager routing", () => {
  it("routes critical to the pager and warnings to chat", () => {
    const am = alertmanagerConfig(
      cfg("production", {
        "octollm:secrets": { llmApiKeys: {}, alerting: { pagerUrl: PAGER, chatWebhookUrl: CHAT } },
      }),
    ) as any;
    const route = (severity: string) =>
      am.route.routes.find((r: any) => r.matchers.includes(`severity = "${severity}"`)).receiver;
    expect(route("critical")).toBe("pager");
    expect(route("warning")).toBe("chat");
    expect(am.receivers.find((r: any) => r.name === "pager").webhook_configs[0].url).toBe(PAGER);
  });

  it("uses the null receiver when no URL is configured", () => {
    const am = alertmanagerConfig(cfg("production")) as any;
    expect(am.route.routes.every((r: any) => r.receiver === "null")).toBe(true);
    expect(am.receivers).toEqual([{ name: "null" }]);
  });
});

describe.each(STACKS)("monitors, rules and dashboards on %s", (stack) => {
  // dev has observability off by default: render it on (without installing the chart) too.
  const overrides = stack === "dev" ? { "octollm:observability": { enabled: true } } : undefined;
  const config = cfg(stack, overrides);

  it("validates every monitor and rule against the prometheus-operator models", async () => {
    const objects = (await objectsOf(stack, overrides)).filter(
      (o) => o.apiVersion === "monitoring.coreos.com/v1",
    );
    // a ServiceMonitor per arm, orchestrator, reflex layer, 3 PodMonitors, the PrometheusRule,
    // the collector's ServiceMonitor with tracing, and the pre-installed Velero's
    expect(objects.length).toBe(
      config.arms.length +
        6 +
        (config.observability.tracing.enabled ? 1 : 0) +
        (veleroServiceMonitor(config) ? 1 : 0),
    );
    const result = await validateObjects(objects);
    expect(result.errors).toEqual([]);
    expect(result.validated).toBe(objects.length);
  });

  it("monitors every service and store, selecting real Services/pods by label and port name", async () => {
    const objects = await objectsOf(stack, overrides);
    const sms = ofKind(objects, "ServiceMonitor").filter(
      (m) => m.metadata.name !== "otel-collector" && m.metadata.name !== VELERO_MONITOR,
    );
    expect(sms.map((m) => m.metadata.name).sort()).toEqual(
      ["orchestrator", "reflex-layer", ...config.arms.map((a) => `${a.name}-arm`)].sort(),
    );
    for (const sm of sms as any[]) {
      const services = ofKind(objects, "Service").filter(
        (s) =>
          s.metadata.namespace === sm.metadata.namespace &&
          matches(s.metadata.labels, sm.spec.selector.matchLabels),
      ) as any[];
      expect(
        services.map((s) => s.metadata.name),
        sm.metadata.name,
      ).toEqual([sm.metadata.name]);
      expect(services[0].spec.ports.map((p: any) => p.name)).toContain(sm.spec.endpoints[0].port);
    }
    const pms = ofKind(objects, "PodMonitor") as any[];
    expect(pms.map((m) => m.spec.podMetricsEndpoints[0].relabelings[0].replacement).sort()).toEqual(
      ["postgres", "qdrant", "redis"],
    );
    for (const pm of pms.filter((p) => !("cnpg.io/cluster" in p.spec.selector.matchLabels))) {
      const sets = ofKind(objects, "StatefulSet").filter(
        (s: any) =>
          s.metadata.namespace === pm.metadata.namespace &&
          matches(s.spec.template.metadata.labels, pm.spec.selector.matchLabels),
      ) as any[];
      expect(sets, pm.metadata.name).toHaveLength(1);
      const ports = sets[0].spec.template.spec.containers.flatMap((c: any) =>
        (c.ports ?? []).map((p: any) => p.name),
      );
      expect(ports).toContain(pm.spec.podMetricsEndpoints[0].port);
    }
    findObject(objects, "Cluster", "postgres", config.namespaces.workloads);
  });

  it("CRD objects depend on the chart exactly when the stack installs it", async () => {
    const run = await renderStack(stack, overrides);
    const chart = run.resources.find(
      (r) => r.type === "kubernetes:helm.sh/v4:Chart" && r.name.includes("prometheus-stack"),
    );
    const crs = run.resources.filter(
      (r) =>
        r.type.startsWith("kubernetes:monitoring.coreos.com/v1:") &&
        r.urn.includes("Observability"),
    );
    expect(crs.length).toBeGreaterThan(5);
    expect(Boolean(chart)).toBe(config.operators.prometheusStack.install);
    for (const cr of crs) {
      if (chart) expect(cr.dependencies, cr.name).toContain(chart.urn);
      else expect(cr.dependencies.some((d) => d.includes("helm.sh"))).toBe(false);
    }
  });

  it("ships the alert groups alertGroups() computes, with severity and runbook on every rule", async () => {
    const rule = findObject(
      await objectsOf(stack, overrides),
      "PrometheusRule",
      "octollm-alerts",
      config.namespaces.system,
    ) as any;
    expect(rule.spec.groups).toEqual(JSON.parse(JSON.stringify(alertGroups(config))));
    for (const r of rule.spec.groups.flatMap((g: any) => g.rules)) {
      expect(["critical", "warning"]).toContain(r.labels.severity);
      expect(r.annotations.runbook_url).toMatch(/^docs\/runbook\.md#/);
      expect(r.annotations.summary && r.annotations.description).toBeTruthy();
    }
  });

  it("provisions valid dashboards as ConfigMaps Grafana's sidecar picks up", async () => {
    const cms = ofKind(await objectsOf(stack, overrides), "ConfigMap").filter(
      (c) => c.metadata.labels?.grafana_dashboard === "1",
    ) as any[];
    expect(cms.map((c) => c.metadata.name).sort()).toEqual([
      "octollm-data-stores",
      "octollm-overview",
    ]);
    for (const cm of cms) {
      expect(cm.metadata.namespace).toBe(config.namespaces.system);
      const [key, text] = Object.entries(cm.data)[0] as [string, string];
      expect(key).toMatch(/\.json$/);
      const d = JSON.parse(text);
      expect(d.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(d.uid.length).toBeLessThanOrEqual(40);
      expect(d.templating.list[0]).toMatchObject({
        name: "datasource",
        type: "datasource",
        query: "prometheus",
      });
      const ids = new Set<number>();
      for (const p of d.panels) {
        expect(ids.has(p.id)).toBe(false);
        ids.add(p.id);
        expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
        if (p.type !== "row") expect(p.datasource.uid).toBe("${datasource}");
      }
    }
    const overview = JSON.parse(
      cms.find((c) => c.metadata.name === "octollm-overview").data["octollm-overview.json"],
    );
    for (const arm of config.arms) {
      expect(overview.panels.map((p: any) => p.title)).toContain(`${arm.name}-arm`);
    }
  });
});

describe("Velero metrics (the velero_backup_* alerts need a scrape)", () => {
  it("scrapes a pre-installed Velero (install: false) from the system namespace by the chart's Service labels", async () => {
    const config = cfg("production");
    expect(config.operators.velero.install).toBe(false);
    expect(config.backups.velero.enabled).toBe(true);
    const objects = await objectsOf("production");
    const sm = findObject(
      objects,
      "ServiceMonitor",
      VELERO_MONITOR,
      config.namespaces.system,
    ) as any;
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: [config.operators.velero.namespace] });
    // The vmware-tanzu chart 10.1.0 metrics Service: labels app.kubernetes.io/name (velero) and
    // app.kubernetes.io/instance (the release), port `http-monitoring` 8085.
    expect(sm.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "velero" });
    expect(sm.spec.endpoints[0].port).toBe("http-monitoring");
    expect(sm.spec.endpoints[0].relabelings).toEqual([
      { action: "replace", targetLabel: "job", replacement: "velero" },
    ]);
    const result = await validateObjects([sm]);
    expect(result.errors).toEqual([]);
  });

  it("an installed Velero brings the chart's ServiceMonitor instead; monitor.enabled false leaves it out", () => {
    // The same config with Velero installed by the program (built directly: the parse-time
    // credentials rules for an installed Velero are not what this test is about).
    const base = cfg("production");
    const installed = {
      ...base,
      operators: { ...base.operators, velero: { ...base.operators.velero, install: true } },
    };
    expect(veleroServiceMonitor(installed)).toBeUndefined();
    expect(veleroChartValues(installed)).toMatchObject({
      metrics: { enabled: true, serviceMonitor: { enabled: true } },
    });
    const off = cfg("production", {
      "octollm:backups": {
        ...cfg("production").backups,
        velero: {
          ...cfg("production").backups.velero,
          monitor: { ...cfg("production").backups.velero.monitor, enabled: false },
        },
      },
    });
    expect(veleroServiceMonitor(off)).toBeUndefined();
    expect(veleroServiceMonitor(cfg("production"))).toBeDefined();
  });
});

describe("observability off", () => {
  it("dev renders no monitors, rules or chart by default", async () => {
    const objects = await objectsOf("dev");
    expect(objects.filter((o) => o.apiVersion === "monitoring.coreos.com/v1")).toEqual([]);
    expect(
      helmCharts(await renderStack("dev")).some((c) => c.chart === "kube-prometheus-stack"),
    ).toBe(false);
  });
});

describe("tracing", () => {
  const byName = (objects: KubernetesObject[], kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata.name === name) as any;

  it("dev runs a hardened collector exporting to an in-cluster Jaeger", async () => {
    const config = cfg("dev");
    const objects = await objectsOf("dev");
    for (const name of ["otel-collector", "jaeger"]) {
      const d = byName(objects, "Deployment", name);
      expect(d.metadata.namespace).toBe(config.namespaces.system);
      const pod = d.spec.template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expect(pod.automountServiceAccountToken).toBe(false);
      for (const c of pod.containers) {
        expect(c.image).not.toMatch(/:latest$/);
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
        expect(c.resources.limits).toBeDefined();
        expect(c.readinessProbe && c.livenessProbe).toBeTruthy();
      }
    }
    const collector = byName(objects, "Deployment", "otel-collector");
    expect(collector.spec.template.spec.containers[0].image).toBe(
      `${config.observability.tracing.collectorImage.repository}:${config.observability.tracing.collectorImage.tag}`,
    );
    const svc = byName(objects, "Service", "otel-collector");
    expect(svc.spec.ports.map((p: any) => p.port)).toEqual(expect.arrayContaining([4317, 4318]));
    const cm = byName(objects, "ConfigMap", "otel-collector");
    expect(cm.data["config.yaml"]).toContain(
      `jaeger.${config.namespaces.system}.svc.cluster.local:4317`,
    );
    // Services may send to the collector, the collector only to Jaeger.
    const egress = byName(objects, "NetworkPolicy", "allow-otlp-egress");
    expect(egress.metadata.namespace).toBe(config.namespaces.workloads);
    expect(egress.spec.egress[0].ports.map((p: any) => p.port)).toEqual([4317, 4318]);
    const cnp = byName(objects, "NetworkPolicy", "otel-collector");
    expect(cnp.spec.egress[0].to[0].podSelector.matchLabels["app.kubernetes.io/name"]).toBe(
      "jaeger",
    );
  });

  it("production exports to the configured OTLP endpoint, without Jaeger", async () => {
    const overrides = {
      "octollm:observability": {
        tracing: { enabled: true, endpoint: "https://otlp.example.com:4318" },
      },
    };
    const objects = await objectsOf("production", overrides);
    expect(byName(objects, "Deployment", "jaeger")).toBeUndefined();
    expect(byName(objects, "Deployment", "otel-collector").spec.replicas).toBe(2);
    expect(byName(objects, "PodDisruptionBudget", "otel-collector")).toBeDefined();
    const config = cfg("production", overrides);
    expect(collectorConfig(config).exporters).toEqual({
      otlphttp: { endpoint: "https://otlp.example.com:4318", compression: "gzip" },
    });
    const cnp = byName(objects, "NetworkPolicy", "otel-collector");
    expect(cnp.spec.egress[0].ports).toEqual([{ protocol: "TCP", port: 4318 }]);
    expect(
      objects.filter((o) => o.kind === "ServiceMonitor" && o.metadata.name === "otel-collector"),
    ).toHaveLength(1);
  });

  it("gives services OTEL_* variables only when enabled", () => {
    expect(tracingEnv(cfg("production"), "orchestrator")).toEqual([]);
    const env = Object.fromEntries(
      tracingEnv(cfg("dev"), "coder-arm").map((e) => [e.name, e.value]),
    );
    expect(env).toMatchObject({
      OTEL_SERVICE_NAME: "coder-arm",
      OTEL_EXPORTER_OTLP_ENDPOINT:
        "http://otel-collector.octollm-dev-system.svc.cluster.local:4317",
      OTEL_TRACES_SAMPLER_ARG: String(cfg("dev").observability.tracing.samplingRatio),
    });
  });
});

describe("bad observability input", () => {
  const reject = (stack: string, overrides: Record<string, unknown>, key: RegExp) => {
    expect(() => cfg(stack, overrides)).toThrow(ConfigError);
    expect(() => cfg(stack, overrides)).toThrow(key);
  };

  it("rejects tracing in production without an external endpoint (and Jaeger mode there)", () => {
    reject(
      "production",
      { "octollm:observability": { tracing: { enabled: true } } },
      /octollm:observability\.tracing\.endpoint/,
    );
    reject(
      "production",
      { "octollm:observability": { tracing: { enabled: true, mode: "jaeger" } } },
      /octollm:observability\.tracing\.mode/,
    );
    expect(() =>
      cfg("production", {
        "octollm:observability": {
          tracing: { enabled: true, endpoint: "https://otlp.example.com" },
        },
      }),
    ).not.toThrow();
  });

  it("rejects alert thresholds out of range, naming the key", () => {
    reject(
      "staging",
      { "octollm:observability": { alerts: { errorRateRatio: 1.5 } } },
      /octollm:observability\.alerts\.errorRateRatio/,
    );
    reject(
      "staging",
      { "octollm:observability": { alerts: { redisMemoryRatio: 0 } } },
      /octollm:observability\.alerts\.redisMemoryRatio/,
    );
    reject(
      "staging",
      { "octollm:observability": { alerts: { latencyP95Seconds: -1 } } },
      /octollm:observability\.alerts\.latencyP95Seconds/,
    );
    reject(
      "staging",
      { "octollm:observability": { alerts: { backupMaxAgeHours: 10000 } } },
      /octollm:observability\.alerts\.backupMaxAgeHours/,
    );
    expect(() =>
      cfg("staging", { "octollm:observability": { alerts: { errorRateRatio: 0.01 } } }),
    ).not.toThrow();
  });

  it("rejects installing the Prometheus stack outside the system namespace", () => {
    reject(
      "staging",
      { "octollm:operators": { prometheusStack: { namespace: "monitoring" } } },
      /octollm:operators\.prometheusStack\.namespace/,
    );
  });

  it("values follow the config (thresholds reach the rules)", () => {
    const c = cfg("staging", { "octollm:observability": { alerts: { errorRateRatio: 0.02 } } });
    const expr = alertGroups(c)
      .flatMap((g) => g.rules)
      .find((r) => r.alert === "HighErrorRate")!.expr;
    expect(expr).toMatch(/> 0\.02$/);
    expect(prometheusStackValues(c)).toBeDefined();
  });
});
