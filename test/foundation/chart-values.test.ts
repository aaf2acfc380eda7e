/**
 * Extra Helm values per installed chart (`operators.<chart>.values`, issue 14 #13): merged over
 * ours and handed to the Chart resource, owned keys refused with the key and the reason, the
 * LimitRange guard on the merged values, the typo check against the pinned charts' values.yaml,
 * and the documentation that lists what is owned.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  CHART_IDS,
  OWNED_ANYWHERE,
  OWNED_KEYS,
  mergeValues,
  ownedKeyProblems,
  unknownKeyProblems,
} from "../../components/chart-values";
import { parsePlatformConfig } from "../../components/config";
import { PRODUCTION_DEFAULTS } from "../../components/defaults";
import { CHART_KEYS } from "../../components/k8s/chart-keys";
import { installedChartValues } from "../../components/resource-placements";
import { computeChartKeys, VENDORED } from "../../scripts/chart-keys";
import { REDACTED, runStack, secretConfigKeys } from "../../scripts/offline";
import { configOf, configProblems, encodeConfig, helmCharts, renderStack } from "../harness";

const MONITORING_LABEL = "octollm.io/monitoring-stack";

/** Staging with every chart the program can install (as test/foundation/limits.test.ts). */
const EVERY_OPERATOR = {
  "octollm:ingress": { tls: { mode: "acme", acmeEmail: "ops@example.com" } },
  "octollm:backups": {
    credentials: { mode: "irsa", roleArn: "arn:aws:iam::123456789012:role/octollm-backups" },
  },
};
const everyOperator = (values: Record<string, Record<string, unknown>>) => ({
  ...EVERY_OPERATOR,
  "octollm:operators": {
    certManager: { install: true, values: values.certManager ?? {} },
    velero: { install: true, values: values.velero ?? {} },
    prometheusStack: { values: values.prometheusStack ?? {} },
    cloudnativePg: { values: values.cloudnativePg ?? {} },
    envoyGateway: { values: values.envoyGateway ?? {} },
  },
});
const PASSTHROUGH = {
  prometheusStack: {
    prometheus: {
      prometheusSpec: {
        externalLabels: { cluster: "staging-eu-1" },
        tolerations: [{ key: "dedicated", operator: "Exists", effect: "NoSchedule" }],
      },
    },
    grafana: { podLabels: { "cost-center": "observability" } },
  },
  cloudnativePg: { nodeSelector: { "node-pool": "system" }, replicaCount: 2 },
  certManager: { podLabels: { team: "edge" } },
  envoyGateway: { deployment: { pod: { nodeSelector: { "node-pool": "edge" } } } },
  velero: { tolerations: [{ key: "backup", operator: "Exists" }] },
};
const RELEASES: Record<(typeof CHART_IDS)[number], string> = {
  prometheusStack: "kube-prometheus-stack",
  cloudnativePg: "cloudnative-pg",
  certManager: "cert-manager",
  envoyGateway: "oci://docker.io/envoyproxy/gateway-helm",
  velero: "velero",
};

describe("merge", () => {
  it("mappings merge key by key, lists and scalars replace, inputs stay as they were", () => {
    const ours = { a: { b: 1, list: [1, 2], keep: "x" }, s: "ours" };
    const extra = { a: { b: 2, list: [3], added: true }, s: { now: "a map" } };
    const before = structuredClone(ours);
    expect(mergeValues(ours, extra)).toEqual({
      a: { b: 2, list: [3], keep: "x", added: true },
      s: { now: "a map" },
    });
    expect(ours).toEqual(before);
  });
});

describe("the merged values reach the Chart resources (mocks)", () => {
  it("every installed chart gets ours with the stack's passthrough merged over them", async () => {
    const run = await renderStack("staging", everyOperator(PASSTHROUGH));
    const charts = helmCharts(run);
    const c = configOf("staging", everyOperator(PASSTHROUGH));
    const ours = installedChartValues(c);
    expect(Object.keys(ours).sort()).toEqual([...CHART_IDS].sort());
    for (const id of CHART_IDS) {
      const chart = charts.find((h) => h.chart === RELEASES[id]);
      expect(chart, id).toBeDefined();
      // Exactly ours merged with the passthrough: nothing of ours lost, every extra value there.
      expect(chart?.values, id).toEqual(mergeValues(ours[id] ?? {}, PASSTHROUGH[id]));
      expect(chart?.values, id).toMatchObject(PASSTHROUGH[id]);
    }
    const kps = charts.find((h) => h.chart === "kube-prometheus-stack")?.values as any;
    // Merged, not replaced: our label beside the user's, our retention beside the user's labels.
    expect(kps.grafana.podLabels).toEqual({
      [MONITORING_LABEL]: "true",
      "cost-center": "observability",
    });
    expect(kps.prometheus.prometheusSpec.retention).toBe(c.observability.prometheus.retention);
    expect(kps.prometheus.prometheusSpec.externalLabels).toEqual({ cluster: "staging-eu-1" });
    expect(kps.prometheus.prometheusSpec.securityContext.runAsNonRoot).toBe(true);
  });

  it("a passthrough holding a secret leaf reaches every Chart as a secret, never in clear", async () => {
    // What `pulumi config set --secret --path 'octollm:operators.prometheusStack.values…'`
    // leads to: the engine marks the whole `octollm:operators` key secret.
    const smtp = "smtp-password-not-for-state";
    const withSecret = {
      ...PASSTHROUGH,
      prometheusStack: {
        ...PASSTHROUGH.prometheusStack,
        alertmanager: { config: { global: { smtp_auth_password: smtp } } },
      },
    };
    const run = await runStack("staging", {
      config: everyOperator(withSecret),
      secretKeys: ["octollm:operators"],
    });
    const charts = helmCharts(run);
    for (const id of CHART_IDS) {
      const chart = charts.find((h) => h.chart === RELEASES[id]);
      // The render redacts a secret and keeps its shape: every leaf, ours too, is redacted.
      const leaves = JSON.stringify(chart?.values).match(/:("[^"]*"|[^,{}[\]]+)/g) ?? [];
      expect(leaves.length, id).toBeGreaterThan(0);
      expect(new Set(leaves), id).toEqual(new Set([`:"${REDACTED}"`]));
    }
    expect(JSON.stringify(run.resources)).not.toContain(smtp);
  });

  it("the engine's secret keys are those whose value is or holds a `secure:` leaf", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-secure-"));
    fs.writeFileSync(
      path.join(root, "Pulumi.qa.yaml"),
      [
        "config:",
        "  octollm:environment: dev",
        "  octollm:secrets:",
        "    jwtSecret:",
        "      secure: v1:abc",
        "  octollm:operators:",
        "    prometheusStack:",
        "      values:",
        "        extraSecret:",
        "          - secure: v1:def",
        "  octollm:quotas: {}",
        "  octollm:llm:",
        "    secure: v1:ghi",
        "",
      ].join("\n"),
    );
    expect(secretConfigKeys("qa", root).sort()).toEqual([
      "octollm:llm",
      "octollm:operators",
      "octollm:secrets",
    ]);
  });

  it("without a passthrough the Chart gets exactly our values", async () => {
    const run = await renderStack("production");
    const c = configOf("production");
    const kps = helmCharts(run).find((h) => h.chart === "kube-prometheus-stack");
    expect(kps?.values).toEqual(installedChartValues(c).prometheusStack);
  });
});

describe("owned keys are refused at parse time, naming the key, the value and why", () => {
  const kps = (values: Record<string, unknown>) =>
    configProblems({ "octollm:operators": { prometheusStack: { values } } });

  it("a security context anywhere (a subchart, a list item)", () => {
    expect(kps({ grafana: { securityContext: { runAsUser: 0 } } })).toEqual([
      `octollm:operators.prometheusStack.values.grafana.securityContext: got {"runAsUser":0}; owned by the program, not settable here: ${OWNED_ANYWHERE.securityContext}`,
    ]);
    expect(
      kps({
        prometheus: {
          prometheusSpec: { containers: [{ name: "x", securityContext: { privileged: true } }] },
        },
      }),
    ).toEqual([
      `octollm:operators.prometheusStack.values.prometheus.prometheusSpec.containers[0].securityContext: got {"privileged":true}; owned by the program, not settable here: ${OWNED_ANYWHERE.securityContext}`,
    ]);
  });

  it("a resources block with its own config key names that key", () => {
    expect(
      kps({ prometheus: { prometheusSpec: { resources: { limits: { cpu: "4" } } } } }),
    ).toEqual([
      'octollm:operators.prometheusStack.values.prometheus.prometheusSpec.resources: got {"limits":{"cpu":"4"}}; owned by the program, not settable here (prometheus.prometheusSpec.resources): set octollm:observability.prometheus.resources',
    ]);
  });

  it("the label a NetworkPolicy selects, but not other labels beside it", () => {
    expect(kps({ grafana: { podLabels: { [MONITORING_LABEL]: "false", team: "x" } } })).toEqual([
      `octollm:operators.prometheusStack.values.grafana.podLabels["${MONITORING_LABEL}"]: got "false"; owned by the program, not settable here (grafana.podLabels.${MONITORING_LABEL}): the label ${MONITORING_LABEL}=true is what the monitoring-stack NetworkPolicy selects`,
    ]);
    expect(kps({ grafana: { podLabels: { team: "x" } } })).toEqual([]);
  });

  it("a scalar or list that would replace a mapping holding an owned key", () => {
    expect(kps({ nodeExporter: "on" })).toEqual([
      expect.stringMatching(
        /^octollm:operators\.prometheusStack\.values\.nodeExporter: got "on"; would replace nodeExporter\.enabled, which the program owns: host namespaces/,
      ),
    ]);
    // A replaced mapping of ours holding a securityContext (no owned path under it): the
    // cases the stacks hit are caught by an owned path first, so the rule is shown on its own.
    expect(
      ownedKeyProblems("cloudnativePg", { sidecar: [] }, { sidecar: { securityContext: {} } }),
    ).toEqual([
      {
        path: ["sidecar"],
        value: [],
        message: `would replace our sidecar.securityContext: ${OWNED_ANYWHERE.securityContext}`,
      },
    ]);
  });

  it("per chart: velero's storage location and plugin, cert-manager's solver flags", () => {
    const problems = configProblems(
      everyOperator({
        velero: { initContainers: [], configuration: { backupStorageLocation: [] } },
        certManager: { extraArgs: ["--v=4"] },
      }),
      "staging",
    );
    expect(problems).toEqual([
      expect.stringMatching(
        /^octollm:operators\.certManager\.values\.extraArgs: got \["--v=4"\]; owned by the program, not settable here \(extraArgs\): carries the HTTP-01 solver/,
      ),
      expect.stringMatching(
        /^octollm:operators\.velero\.values\.initContainers: got \[\]; owned by the program, not settable here \(initContainers\): the pinned object-store plugin/,
      ),
      expect.stringMatching(
        /^octollm:operators\.velero\.values\.configuration\.backupStorageLocation: got \[\]; owned by the program, not settable here \(configuration\.backupStorageLocation\): set octollm:backups\.velero\.storageLocation/,
      ),
    ]);
  });

  it("values for a chart this stack does not install", () => {
    expect(
      configProblems({ "octollm:operators": { velero: { values: { podLabels: { a: "b" } } } } }),
    ).toEqual([
      'octollm:operators.velero.values: got {"podLabels":{"a":"b"}}; this stack does not install the chart (operators.velero.install is false, or the feature that needs it is off): the values would have no effect; remove them',
    ]);
  });

  it("every owned path starts with a key the pinned chart knows (no entry protects nothing)", () => {
    for (const id of CHART_IDS) {
      const known = CHART_KEYS[id];
      for (const o of OWNED_KEYS[id]) {
        const [top, second] = o.path;
        expect(known.keys, `${id}: ${o.path.join(".")}`).toContain(top);
        const sub = (known as { subcharts?: Record<string, readonly string[]> }).subcharts?.[top];
        if (sub && second !== undefined)
          expect(sub, `${id}: ${o.path.join(".")}`).toContain(second);
      }
    }
  });

  it("every owned key is refused by the check (each path, set to a value)", () => {
    for (const id of CHART_IDS) {
      for (const o of OWNED_KEYS[id]) {
        const extra: Record<string, unknown> = {};
        let node = extra;
        o.path.slice(0, -1).forEach((s) => (node = node[s] = {}));
        node[o.path.at(-1) ?? ""] = "x";
        expect(ownedKeyProblems(id, extra, {}), `${id}: ${o.path.join(".")}`).toHaveLength(1);
      }
    }
  });
});

describe("the LimitRange guard walks the merged values", () => {
  const kps = (values: Record<string, unknown>) =>
    configProblems({ "octollm:operators": { prometheusStack: { values } } });

  it("one field of ours changed: the merged block is checked and the passthrough key named", () => {
    expect(kps({ prometheusOperator: { resources: { limits: { cpu: "2" } } } })).toEqual([
      'octollm:operators.prometheusStack.values.prometheusOperator.resources: got {"requests":{"cpu":"125m","memory":"128Mi"},"limits":{"cpu":"2","memory":"512Mi"}}; kube-prometheus-stack value prometheusOperator.resources lands in namespace octollm-system, whose LimitRange (quotas.system.limitRange) rejects it: cpu limit/request ratio 16 (2 / 125m) exceeds the LimitRange maxLimitRequestRatio 4: allowed: limit ≤ 4 × request (a limit ≤ 500m, or a request ≥ 500m)',
    ]);
    // Within the ratio: accepted.
    expect(kps({ prometheusOperator: { resources: { limits: { cpu: "400m" } } } })).toEqual([]);
  });

  it("a block we do not set (a component the passthrough enables)", () => {
    const problems = kps({
      grafana: {
        imageRenderer: {
          enabled: true,
          resources: {
            requests: { cpu: "10m", memory: "64Mi" },
            limits: { cpu: "1", memory: "64Mi" },
          },
        },
      },
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^octollm:operators\.prometheusStack\.values\.grafana\.imageRenderer\.resources: got .*kube-prometheus-stack value grafana\.imageRenderer\.resources lands in namespace octollm-system, whose LimitRange \(quotas\.system\.limitRange\) rejects it: cpu limit\/request ratio 100/,
    );
  });
});

describe("typo protection against the pinned charts' values.yaml", () => {
  it("an unknown top-level key, with the closest known key", () => {
    expect(
      configProblems({ "octollm:operators": { prometheusStack: { values: { alertmanger: {} } } } }),
    ).toEqual([
      'octollm:operators.prometheusStack.values.alertmanger: got {}; the kube-prometheus-stack 77.6.2 chart\'s values.yaml has no key "alertmanger": did you mean "alertmanager"?',
    ]);
  });

  it("an unknown key of a subchart; known ones (set, commented or ours) pass", () => {
    expect(
      configProblems({
        "octollm:operators": { prometheusStack: { values: { grafana: { ingres: {} } } } },
      }),
    ).toEqual([
      'octollm:operators.prometheusStack.values.grafana.ingres: got {}; the grafana subchart of kube-prometheus-stack 77.6.2 has no key "ingres": did you mean "ingress"?',
    ]);
    // ingress: set in grafana's values.yaml; podAnnotations: documented in a comment only.
    const ok = { grafana: { ingress: { enabled: false }, podAnnotations: { a: "b" } }, global: {} };
    expect(unknownKeyProblems("prometheusStack", "77.6.2", ok, {})).toEqual([]);
  });

  it("no close key: the allowed keys are listed", () => {
    const [p] = unknownKeyProblems("velero", "10.1.0", { zzzzzzzzzz: 1 }, {});
    expect(p.message).toMatch(
      /^the velero 10\.1\.0 chart's values\.yaml has no key "zzzzzzzzzz": allowed: .*configuration.*upgradeCRDs/,
    );
  });

  it("another chart version than the pinned one is not checked", () => {
    expect(unknownKeyProblems("velero", "11.0.0", { podLabel: {} }, {})).toEqual([]);
    expect(unknownKeyProblems("velero", "10.1.0", { podLabel: {} }, {})[0].message).toContain(
      'did you mean "podLabels"?',
    );
  });

  it("components/k8s/chart-keys.ts is what `npm run chart-keys` computes from the vendored files", () => {
    expect(JSON.parse(JSON.stringify(CHART_KEYS))).toEqual(computeChartKeys());
  });

  it("the vendored files are the versions pinned in components/defaults.ts", () => {
    const pinned = PRODUCTION_DEFAULTS.operators;
    for (const id of CHART_IDS) expect(VENDORED[id].version, id).toBe(pinned[id].version);
  });
});

describe("docs/operations.md", () => {
  const text = fs.readFileSync(path.join(__dirname, "../../docs/operations.md"), "utf8");
  const section = text.slice(text.indexOf("## Extra Helm values"), text.indexOf("## Secrets"));

  it("the example parses, and its values are what the charts get", () => {
    const block = /<!-- example: chart-values[^\n]*\n+```yaml\n([\s\S]*?)```/.exec(section);
    expect(block, "the example block is in docs/operations.md").not.toBeNull();
    const doc = parseYaml(block?.[1] ?? "") as { config: Record<string, any> };
    const config = parsePlatformConfig(encodeConfig(doc.config));
    const ops = doc.config["octollm:operators"];
    expect(config.operators.prometheusStack.values).toEqual(ops.prometheusStack.values);
    expect(config.operators.cloudnativePg.values).toEqual(ops.cloudnativePg.values);
  });

  /** `a.{b,c}D` written once in the docs stands for `a.bD` and `a.cD`. */
  const expand = (text: string): string => {
    const m = /\{([^{}]*,[^{}]*)\}/.exec(text);
    if (!m) return text;
    return m[1]
      .split(",")
      .map((alt) => expand(text.slice(0, m.index) + alt + text.slice(m.index + m[0].length)))
      .join("\n");
  };

  /** The per-chart table: the code spans of each chart's rows (a blank chart cell continues). */
  const ownedRows = (): Map<string, Set<string>> => {
    const table = section.slice(section.indexOf("Per chart"));
    const out = new Map<string, Set<string>>();
    let chart = "";
    for (const line of table.split("\n")) {
      if (!line.startsWith("|") || line.startsWith("| ---")) continue;
      const [, first, paths] = line.split("|").map((c) => c.trim());
      if (first === "chart") continue;
      if (first) chart = first;
      const cells = out.get(chart) ?? new Set<string>();
      for (const m of paths.matchAll(/`([^`]+)`/g))
        for (const p of expand(m[1]).split("\n")) cells.add(p);
      out.set(chart, cells);
    }
    return out;
  };

  it("names every owned key name, and every owned path in its chart's rows", () => {
    for (const name of Object.keys(OWNED_ANYWHERE)) expect(section, name).toContain(`\`${name}\``);
    const rows = ownedRows();
    for (const id of CHART_IDS) {
      const cells = rows.get(CHART_KEYS[id].chart);
      expect(cells, `a row for ${CHART_KEYS[id].chart}`).toBeDefined();
      for (const o of OWNED_KEYS[id]) {
        // A path written out, or a label key written beside the labels' path.
        const parent = o.path.slice(0, -1).join(".");
        expect(
          cells?.has(o.path.join(".")) || (cells?.has(parent) && cells.has(o.path.at(-1) ?? "")),
          `${id}: ${o.path.join(".")}`,
        ).toBe(true);
      }
    }
  });
});
