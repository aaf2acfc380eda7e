/**
 * Renovate keeps dependencies current (issue 14 #3): renovate.json parses, groups one pull
 * request per ecosystem on a weekly schedule, and its custom regex managers — run here over
 * components/defaults.ts exactly as Renovate would (JS named groups) — match every pinned Helm
 * chart version and image tag there, with the chart repositories the program really installs
 * from. A pin added without an annotation or outside the image pattern fails this test.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { VELERO_REPO } from "../../components/backups/velero";
import { CNPG_REPO } from "../../components/data-stores/postgres";
import { CERT_MANAGER_REPO } from "../../components/ingress";
import { PROMETHEUS_STACK_REPO } from "../../components/observability/stack-chart";

const ROOT = path.resolve(__dirname, "../..");
const DEFAULTS_FILE = "components/defaults.ts";
const DEFAULTS = fs.readFileSync(path.join(ROOT, DEFAULTS_FILE), "utf8");

interface CustomManager {
  customType: string;
  managerFilePatterns: string[];
  matchStrings: string[];
  datasourceTemplate?: string;
}
interface RenovateConfig {
  extends: string[];
  schedule: string[];
  packageRules: {
    matchManagers?: string[];
    matchDatasources?: string[];
    groupName?: string;
  }[];
  customManagers: CustomManager[];
}

const CONFIG = JSON.parse(
  fs.readFileSync(path.join(ROOT, "renovate.json"), "utf8"),
) as RenovateConfig;

interface Found {
  datasource: string;
  depName: string;
  currentValue: string;
  registryUrl?: string;
  /** offset of the version in defaults.ts */
  at: number;
}

/** What Renovate's regex managers extract from a file. */
function extract(text: string, file: string): Found[] {
  const out: Found[] = [];
  for (const manager of CONFIG.customManagers) {
    const applies = manager.managerFilePatterns.some((p) =>
      new RegExp(p.replace(/^\/|\/$/g, "")).test(file),
    );
    if (!applies) continue;
    for (const source of manager.matchStrings) {
      for (const m of text.matchAll(new RegExp(source, "g"))) {
        const g = m.groups ?? {};
        out.push({
          datasource: g.datasource ?? manager.datasourceTemplate ?? "",
          depName: g.depName,
          currentValue: g.currentValue,
          registryUrl: g.registryUrl,
          at: (m.index ?? 0) + m[0].lastIndexOf(g.currentValue),
        });
      }
    }
  }
  return out;
}

/** Marks a `version:` that is the cluster's, not a dependency (`kubernetes.version`). */
const NOT_A_DEPENDENCY = "not a dependency";

/** Every pinned version in defaults.ts: chart `version: "…"`, image `tag: "…"`, our release. */
function pins(text: string): { value: string; at: number }[] {
  const out: { value: string; at: number }[] = [];
  for (const m of text.matchAll(/\b(?:version|tag): "([^"]+)"|appVersion = "([^"]+)"/g)) {
    const lineBefore = text.slice(0, m.index).split("\n").at(-2) ?? "";
    if (lineBefore.includes(NOT_A_DEPENDENCY)) continue;
    const value = m[1] ?? m[2];
    out.push({ value, at: (m.index ?? 0) + m[0].lastIndexOf(value) });
  }
  return out;
}

describe("renovate.json", () => {
  it("covers npm, GitHub Actions and the pins in defaults.ts, one group per ecosystem, weekly", () => {
    expect(CONFIG.extends).toContain("config:recommended");
    expect(CONFIG.extends).toContain("helpers:pinGitHubActionDigests");
    // one weekly window (Monday, early UTC): a single PR per group per week
    expect(CONFIG.schedule).toEqual(["* 0-5 * * 1"]);
    const groups = CONFIG.packageRules.map((r) => [
      r.matchManagers?.join(","),
      r.matchDatasources?.join(",") ?? "",
      r.groupName,
    ]);
    expect(groups).toEqual([
      ["npm", "", "npm packages"],
      ["github-actions", "", "GitHub Actions"],
      ["custom.regex", "helm", "Helm charts"],
      ["custom.regex", "docker", "container images"],
    ]);
    expect(fs.existsSync(path.join(ROOT, ".github", "dependabot.yml"))).toBe(false);
  });

  it("its regex managers match every pinned chart and image in defaults.ts", () => {
    const found = extract(DEFAULTS, DEFAULTS_FILE);
    const all = pins(DEFAULTS);
    expect(all.length).toBeGreaterThanOrEqual(11);
    for (const pin of all) {
      const line = DEFAULTS.slice(0, pin.at).split("\n").length;
      expect(
        found.filter((f) => f.at === pin.at),
        `${DEFAULTS_FILE}:${line}: "${pin.value}" is pinned but Renovate would not update it`,
      ).toHaveLength(1);
    }
    for (const f of found) expect(["helm", "docker"]).toContain(f.datasource);
  });

  it("charts are looked up in the repositories the program installs them from", () => {
    const charts = extract(DEFAULTS, DEFAULTS_FILE).filter((f) => f.datasource === "helm");
    expect(Object.fromEntries(charts.map((c) => [c.depName, c.registryUrl]))).toEqual({
      "cloudnative-pg": CNPG_REPO,
      "cert-manager": CERT_MANAGER_REPO,
      "kube-prometheus-stack": PROMETHEUS_STACK_REPO,
      velero: VELERO_REPO,
    });
  });

  it("the checker notices a pin Renovate cannot see", () => {
    const text = `${DEFAULTS}\nconst extra = { chart: { version: "1.2.3" } };\n`;
    const found = extract(text, DEFAULTS_FILE);
    const missed = pins(text).filter((p) => !found.some((f) => f.at === p.at));
    expect(missed.map((p) => p.value)).toEqual(["1.2.3"]);
    // Only the cluster's own version (a Kubernetes minor, in each environment) may be marked.
    expect(
      DEFAULTS.match(new RegExp(`${NOT_A_DEPENDENCY}.*\\n\\s*version: "1\\.\\d+",`, "g")),
    ).toHaveLength(3);
    expect(extract(DEFAULTS, "components/other.ts")).toEqual([]);
  });
});
