/**
 * The LimitRange guard (components/k8s/limits.ts, components/resource-placements.ts): every
 * resources block the program writes — its own pods, every chart's values, operator flags —
 * fits the LimitRange of the namespace it lands in, and every LimitRange's defaults fit itself.
 * Checked at parse time; the charts' real values.yaml at the pinned versions are vendored in
 * test/fixtures/charts/ so the chart keys we write are proven to exist and the chart defaults
 * we leave alone are walked too.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { PlatformConfig } from "../../components/config";
import { PRODUCTION_DEFAULTS } from "../../components/defaults";
import type { ContainerLimitRange } from "../../components/k8s/limits";
import {
  chartResourcePlacements,
  flagPlacement,
  limitRangeDefaultProblems,
  limitRangeFindings,
  placementProblems,
} from "../../components/k8s/limits";
import {
  limitRangeProblems,
  limitRangesByNamespace,
  resourcePlacements,
} from "../../components/resource-placements";
import { prometheusStackValues } from "../../components/observability/stack-chart";
import { veleroChartValues } from "../../components/backups/velero";
import { cnpgOperatorValues } from "../../components/data-stores/postgres";
import { certManagerValues } from "../../components/ingress";
import { STACKS, configOf, configProblems, findObject, objectsOf } from "../harness";

const RANGE: ContainerLimitRange = {
  default: { cpu: "500m", memory: "512Mi" },
  defaultRequest: { cpu: "125m", memory: "128Mi" },
  maxLimitRequestRatio: { cpu: 4, memory: 4 },
};
const res = (rc: string, rm: string, lc: string, lm: string) => ({
  requests: { cpu: rc, memory: rm },
  limits: { cpu: lc, memory: lm },
});

describe("admission arithmetic (limitRangeFindings)", () => {
  it("admits a ratio of exactly 4 and rejects anything above, with what is allowed", () => {
    expect(limitRangeFindings(res("125m", "128Mi", "500m", "512Mi"), RANGE)).toEqual([]);
    expect(limitRangeFindings(res("100m", "128Mi", "500m", "512Mi"), RANGE)).toEqual([
      "cpu limit/request ratio 5 (500m / 100m) exceeds the LimitRange maxLimitRequestRatio 4: allowed: limit ≤ 4 × request (a limit ≤ 400m, or a request ≥ 125m)",
    ]);
  });

  it("applies the defaults as admission does: a missing request takes the container's own limit", () => {
    // limits only: the API server defaults the request to the limit (ratio 1), not to defaultRequest
    expect(limitRangeFindings({ limits: { cpu: "2", memory: "1Gi" } }, RANGE)).toEqual([]);
  });

  it("a missing limit takes the LimitRange default, which a larger request then exceeds", () => {
    expect(limitRangeFindings({ requests: { cpu: "1", memory: "128Mi" } }, RANGE)).toEqual([
      "cpu request 1 is above its limit 500m (LimitRange default): allowed: a request ≤ the limit",
    ]);
    // a small request under the default limit breaks the ratio instead
    expect(limitRangeFindings({ requests: { cpu: "50m", memory: "128Mi" } }, RANGE)).toEqual([
      "cpu limit/request ratio 10 (500m (LimitRange default) / 50m) exceeds the LimitRange maxLimitRequestRatio 4: allowed: limit ≤ 4 × request (a limit ≤ 200m, or a request ≥ 125m)",
    ]);
  });

  it("checks min and max", () => {
    const range = { ...RANGE, min: { memory: "64Mi" }, max: { cpu: "1" } };
    expect(limitRangeFindings(res("500m", "32Mi", "2", "64Mi"), range)).toEqual([
      "cpu limit 2 is above the LimitRange max 1: allowed: ≤ 1",
      "memory request 32Mi is below the LimitRange min 64Mi: allowed: ≥ 64Mi",
    ]);
    expect(limitRangeFindings(res("500m", "64Mi", "1", "128Mi"), range)).toEqual([]);
  });

  it("a LimitRange whose defaults break its own ratio rejects every container relying on them", () => {
    const broken = { ...RANGE, defaultRequest: { cpu: "100m", memory: "128Mi" } };
    expect(limitRangeDefaultProblems(broken, "quotas.system.limitRange", "ns")).toEqual([
      {
        key: "quotas.system.limitRange",
        value: { default: broken.default, defaultRequest: broken.defaultRequest },
        message:
          "the defaults of namespace ns's LimitRange break it: a container without resources gets cpu limit/request ratio 5 (500m (LimitRange default) / 100m (LimitRange defaultRequest)) exceeds the LimitRange maxLimitRequestRatio 4: allowed: limit ≤ 4 × request (a limit ≤ 400m, or a request ≥ 125m)",
      },
    ]);
    expect(limitRangeDefaultProblems(RANGE, "k", "ns")).toEqual([]);
  });
});

describe("walking chart values (chartResourcePlacements)", () => {
  const options = { chart: "c", namespace: "ns", configKey: "operators.c" };

  it("finds resources blocks at any depth and in lists, and names the values path", () => {
    const values = {
      resources: res("1", "1Gi", "2", "2Gi"),
      sub: { sidecar: { resources: { limits: { cpu: "100m" } } } },
      initContainers: [{ name: "a", resources: { requests: { memory: "64Mi" } } }],
    };
    const found = chartResourcePlacements(values, options).map((p) => [p.what, p.resources]);
    expect(found).toEqual([
      ["c value resources", values.resources],
      ["c value sub.sidecar.resources", { limits: { cpu: "100m" } }],
      ["c value initContainers[0].resources", { requests: { memory: "64Mi" } }],
    ]);
  });

  it("skips disabled components, empty blocks and storage-only blocks (PVC templates)", () => {
    const values = {
      off: { enabled: false, resources: res("1m", "1Mi", "1", "1Gi") },
      empty: { resources: {} },
      storage: { volumeClaimTemplate: { spec: { resources: { requests: { storage: "1Gi" } } } } },
    };
    expect(chartResourcePlacements(values, options)).toEqual([]);
  });

  it("maps values paths that come from a config key of their own to that key", () => {
    const [p] = chartResourcePlacements(
      { grafana: { resources: res("1", "1Gi", "2", "2Gi") } },
      { ...options, keyOverrides: { "grafana.resources": "observability.grafana.resources" } },
    );
    expect(p.key).toBe("observability.grafana.resources");
  });

  it("operator flags: unset fields take the operator's defaults, '0' means unset", () => {
    const p = flagPlacement(
      { key: "k", what: "w", namespace: "ns" },
      { "requests.cpu": "25m", "limits.memory": "0" },
      { "limits.cpu": "100m", "limits.memory": "64Mi" },
    );
    expect(p.resources).toEqual({ requests: { cpu: "25m" }, limits: { cpu: "100m" } });
    // and cert-manager's defaults (10m / 100m) alone would break a ratio of 4
    const solver = flagPlacement(
      { key: "k", what: "solver", namespace: "ns" },
      {},
      {
        "requests.cpu": "10m",
        "limits.cpu": "100m",
      },
    );
    expect(
      placementProblems([solver], new Map([["ns", { range: RANGE, key: "lr" }]])).map(
        (x) => x.message,
      ),
    ).toEqual([
      "solver lands in namespace ns, whose LimitRange (lr) rejects it: cpu limit/request ratio 10 (100m / 10m) exceeds the LimitRange maxLimitRequestRatio 4: allowed: limit ≤ 4 × request (a limit ≤ 40m, or a request ≥ 25m)",
    ]);
  });
});

/** Staging with every chart the program can install (Velero on workload identity, no static keys). */
const EVERY_OPERATOR = {
  "octollm:ingress": { tls: { mode: "acme", acmeEmail: "ops@example.com" } },
  "octollm:operators": { certManager: { install: true }, velero: { install: true } },
  "octollm:backups": {
    credentials: { mode: "irsa", roleArn: "arn:aws:iam::123456789012:role/octollm-backups" },
  },
};

/** Every stack, plus dev with the monitoring stack and staging with every operator installed. */
const CONFIGS: [string, () => PlatformConfig][] = [
  ...STACKS.map((s) => [s, () => configOf(s)] as [string, () => PlatformConfig]),
  [
    "dev with kube-prometheus-stack",
    () =>
      configOf("dev", {
        "octollm:observability": { enabled: true },
        "octollm:operators": { prometheusStack: { install: true } },
        // a system quota that holds Prometheus, Grafana and Alertmanager (checked at parse time)
        "octollm:quotas": {
          system: {
            quota: {
              "requests.cpu": "2",
              "requests.memory": "6Gi",
              "limits.memory": "12Gi",
              "requests.storage": "120Gi",
            },
          },
        },
      }),
  ],
  ["staging with every operator installed", () => configOf("staging", EVERY_OPERATOR)],
];

describe("the stacks' own configuration", () => {
  it.each(CONFIGS)("%s: every pod and chart pod fits its namespace's LimitRange", (_, config) => {
    const c = config();
    expect(limitRangeProblems(c)).toEqual([]);
  });

  it("kube-prometheus-stack values fit the system namespace (operator, config reloaders, Grafana, sidecars)", () => {
    // The values issue 10 found rejected: 100m/500m operator, 10m/100m reloaders, 100m/500m
    // Grafana, 20m/100m sidecars. Each block is checked against the rendered LimitRange spec.
    const c = configOf("production");
    const ranges = limitRangesByNamespace(c);
    const placements = chartResourcePlacements(prometheusStackValues(c), {
      chart: "kube-prometheus-stack",
      namespace: c.namespaces.system,
      configKey: "operators.prometheusStack",
    });
    expect(placements.map((p) => p.what)).toEqual(
      expect.arrayContaining([
        "kube-prometheus-stack value prometheusOperator.resources",
        "kube-prometheus-stack value prometheusOperator.prometheusConfigReloader.resources",
        "kube-prometheus-stack value grafana.resources",
        "kube-prometheus-stack value grafana.sidecar.resources",
        "kube-prometheus-stack value kube-state-metrics.resources",
        "kube-prometheus-stack value prometheus.prometheusSpec.resources",
        "kube-prometheus-stack value alertmanager.alertmanagerSpec.resources",
      ]),
    );
    expect(placementProblems(placements, ranges)).toEqual([]);
  });

  it("covers the program's own pods, each chart and the operator flags", () => {
    const c = configOf("staging", EVERY_OPERATOR);
    const keys = new Set(resourcePlacements(c).map((p) => p.key));
    for (const key of [
      "orchestrator.resources",
      "arms[coder].resources",
      "reflexLayer.resources",
      "dataStores.postgres.resources",
      "dataStores.redis.sentinelResources",
      "dataStores.qdrant.resources",
      "backups.jobResources",
      "observability.prometheus.resources",
      "observability.grafana.resources",
      "operators.prometheusStack",
      "operators.cloudnativePg",
      "operators.velero",
      "operators.certManager",
      "operators.envoyGateway",
      "ingress.gateway.proxyResources",
    ])
      expect(keys, key).toContain(key);
    // Solver pods start beside the Gateway's Certificate (the system namespace).
    const solver = resourcePlacements(c).filter((p) => p.what.includes("HTTP-01 solver"));
    expect(solver.map((p) => p.namespace)).toEqual([c.namespaces.system]);
  });

  it("the rendered LimitRanges carry the defaults the guard checked", async () => {
    const objects = await objectsOf("production");
    const lr = findObject(objects, "LimitRange", "octollm-limits", "octollm-system") as unknown as {
      spec: { limits: ContainerLimitRange[] };
    };
    const rendered = lr.spec.limits[0];
    expect(limitRangeDefaultProblems(rendered, "rendered", "octollm-system")).toEqual([]);
    expect(rendered.defaultRequest?.cpu).toBe("125m");
  });
});

describe("bad input: parse-time errors naming the key, the value and what is allowed", () => {
  it("a chart resource override that breaks the system namespace's LimitRange", () => {
    const problems = configProblems({
      "octollm:observability": { grafana: { resources: res("100m", "256Mi", "500m", "512Mi") } },
    });
    expect(problems).toEqual([
      'octollm:observability.grafana.resources: got {"requests":{"cpu":"100m","memory":"256Mi"},"limits":{"cpu":"500m","memory":"512Mi"}}; kube-prometheus-stack value grafana.resources lands in namespace octollm-system, whose LimitRange (quotas.system.limitRange) rejects it: cpu limit/request ratio 5 (500m / 100m) exceeds the LimitRange maxLimitRequestRatio 4: allowed: limit ≤ 4 × request (a limit ≤ 400m, or a request ≥ 125m)',
    ]);
  });

  it("Prometheus resources above a LimitRange max", () => {
    const problems = configProblems({
      "octollm:quotas": { system: { limitRange: { max: { memory: "4Gi" } } } },
    });
    expect(problems).toEqual([
      'octollm:observability.prometheus.resources: got {"requests":{"cpu":"1","memory":"4Gi"},"limits":{"cpu":"2","memory":"8Gi"}}; kube-prometheus-stack value prometheus.prometheusSpec.resources lands in namespace octollm-system, whose LimitRange (quotas.system.limitRange) rejects it: memory limit 8Gi is above the LimitRange max 4Gi: allowed: ≤ 4Gi',
    ]);
  });

  it("a LimitRange whose defaults break its own ratio (the pre-fix 500m / 100m)", () => {
    const problems = configProblems({
      "octollm:quotas": {
        workloads: { limitRange: { defaultRequest: { cpu: "100m", memory: "128Mi" } } },
      },
    });
    expect(problems).toEqual([
      'octollm:quotas.workloads.limitRange: got {"default":{"cpu":"500m","memory":"512Mi"},"defaultRequest":{"cpu":"100m","memory":"128Mi"}}; the defaults of namespace octollm-production\'s LimitRange break it: a container without resources gets cpu limit/request ratio 5 (500m (LimitRange default) / 100m (LimitRange defaultRequest)) exceeds the LimitRange maxLimitRequestRatio 4: allowed: limit ≤ 4 × request (a limit ≤ 400m, or a request ≥ 125m)',
    ]);
  });

  it("a program pod override (an arm) that breaks the workloads LimitRange", () => {
    const problems = configProblems({
      "octollm:arms": [{ name: "judge", resources: res("100m", "512Mi", "2", "2Gi") }],
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^octollm:arms\[judge\]\.resources: got \{.*\}; the judge arm container lands in namespace octollm-production, .* cpu limit\/request ratio 20 \(2 \/ 100m\) .* allowed: limit ≤ 4 × request/,
    );
  });

  it("a tighter ratio catches the chart's hard-wired values and names the chart key", () => {
    const problems = configProblems({
      "octollm:quotas": { system: { limitRange: { maxLimitRequestRatio: { cpu: 2, memory: 4 } } } },
    });
    expect(problems.join("\n")).toContain(
      "octollm:operators.prometheusStack: got " +
        '{"requests":{"cpu":"25m","memory":"32Mi"},"limits":{"cpu":"100m","memory":"64Mi"}}; ' +
        "kube-prometheus-stack value prometheusOperator.prometheusConfigReloader.resources lands in namespace octollm-system",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Upstream charts at the pinned versions (test/fixtures/charts/*.values.yaml, copied verbatim)
// ---------------------------------------------------------------------------------------------

const CHARTS = join(__dirname, "..", "fixtures", "charts");
const upstream = (file: string) =>
  parse(readFileSync(join(CHARTS, file), "utf8")) as Record<string, unknown>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
/** Helm's coalescing: maps merge key by key, anything else (lists included) is replaced. */
function helmMerge(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = helmMerge(base[k], v);
  return out;
}
/** Does `path` (a values path like `a.b[0].resources`) name a key the chart's values define? */
function definedUpstream(values: unknown, path: string): boolean {
  let node: unknown = values;
  for (const segment of path.split(".")) {
    const list = /^(.*)\[\d+\]$/.exec(segment);
    if (!isObject(node)) return false;
    const key = list ? list[1] : segment;
    if (!(key in node)) return false;
    // A list we supply replaces the chart's (null or a list upstream); its items are ours, the
    // chart's template renders them as they are.
    if (list) return node[key] === null || Array.isArray(node[key]);
    node = node[key];
  }
  return true;
}

const pv = PRODUCTION_DEFAULTS.operators;
const PINNED: {
  chart: string;
  pinned: string;
  /** our values set no resources block (cert-manager: only the solver flags, tested above) */
  flagsOnly?: boolean;
  values: (c: PlatformConfig) => Record<string, unknown>;
  upstream: () => Record<string, unknown>;
}[] = [
  {
    chart: "kube-prometheus-stack",
    pinned: pv.prometheusStack.version,
    values: prometheusStackValues,
    // Subchart values live under the subchart's key; the parent's values win.
    upstream: () =>
      helmMerge(
        {
          grafana: upstream("grafana-9.4.5.values.yaml"),
          "kube-state-metrics": upstream("kube-state-metrics-6.3.0.values.yaml"),
        },
        upstream("kube-prometheus-stack-77.6.2.values.yaml"),
      ) as Record<string, unknown>,
  },
  {
    chart: "velero",
    pinned: pv.velero.version,
    values: veleroChartValues,
    upstream: () => upstream("velero-10.1.0.values.yaml"),
  },
  {
    chart: "cloudnative-pg",
    pinned: pv.cloudnativePg.version,
    values: () => cnpgOperatorValues(),
    upstream: () => upstream("cloudnative-pg-0.26.0.values.yaml"),
  },
  {
    chart: "cert-manager",
    pinned: pv.certManager.version,
    flagsOnly: true,
    values: certManagerValues,
    upstream: () => upstream("cert-manager-v1.18.2.values.yaml"),
  },
];

describe("chart values against the charts' own values.yaml at the pinned versions", () => {
  it("the vendored files are the pinned versions", () => {
    expect(PINNED.map((p) => `${p.chart}-${p.pinned}`)).toEqual([
      "kube-prometheus-stack-77.6.2",
      "velero-10.1.0",
      "cloudnative-pg-0.26.0",
      "cert-manager-v1.18.2",
    ]);
  });

  it.each(PINNED)("$chart: every resources key we write is one the chart reads", (p) => {
    const c = configOf("production");
    const base = p.upstream();
    const paths = chartResourcePlacements(p.values(c), {
      chart: p.chart,
      namespace: "ns",
      configKey: "k",
    }).map((x) => x.what.replace(`${p.chart} value `, ""));
    expect(paths.length > 0).toBe(!p.flagsOnly);
    for (const path of paths) expect(definedUpstream(base, path), path).toBe(true);
  });

  it.each(PINNED)(
    "$chart: our values merged over the chart's defaults fit the platform LimitRange",
    (p) => {
      // Whatever the chart sets by default and we leave alone is walked too (all `{}` at these
      // versions: those containers take the LimitRange defaults, checked above).
      const c = configOf("production");
      const merged = helmMerge(p.upstream(), p.values(c));
      const placements = chartResourcePlacements(merged, {
        chart: p.chart,
        namespace: c.namespaces.system,
        configKey: "k",
      });
      expect(placementProblems(placements, limitRangesByNamespace(c))).toEqual([]);
    },
  );
});
