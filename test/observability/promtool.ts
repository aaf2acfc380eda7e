/**
 * promtool support for the alert tests: locating the binary, writing the rules file (the very
 * groups the program puts in its PrometheusRule) and the unit-test file, and rendering the
 * expected annotations from the rules' Go templates (the subset the rules use).
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import type { AlertRule, RuleGroup } from "../../components/observability/alerts";
import type { AlertCase } from "./alert-cases";

export const REPO_ROOT = path.resolve(__dirname, "../..");
export const INSTALL_HINT =
  "promtool not found: run scripts/install-promtool.sh (Debian's prometheus package, extracted to .tools/bin)";

/** promtool on PATH, else .tools/bin/promtool; undefined when neither exists. */
export function findPromtool(): string | undefined {
  const local = path.join(REPO_ROOT, ".tools/bin/promtool");
  const which = spawnSync("sh", ["-c", "command -v promtool"], { encoding: "utf8" });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  if (fs.existsSync(local)) return local;
  return undefined;
}

// ---- Go template subset ----------------------------------------------------------------------

/** Go's %.4g. */
function g4(v: number): string {
  if (v === 0) return "0";
  if (!Number.isFinite(v)) return String(v);
  const exp = Math.floor(Math.log10(Math.abs(Number(v.toPrecision(4)))));
  if (exp < -4 || exp >= 4) {
    const [mant, e] = v.toExponential(3).split("e");
    const m = mant.replace(/\.?0+$/, "");
    const n = Number(e);
    return `${m}e${n < 0 ? "-" : "+"}${String(Math.abs(n)).padStart(2, "0")}`;
  }
  return String(Number(v.toPrecision(4)));
}

/** Prometheus' humanizeDuration. */
export function humanizeDuration(v: number): string {
  if (v === 0) return "0s";
  if (Math.abs(v) >= 1) {
    const sign = v < 0 ? "-" : "";
    const a = Math.abs(v);
    const d = Math.trunc(a);
    const seconds = d % 60;
    const minutes = Math.trunc(d / 60) % 60;
    const hours = Math.trunc(d / 3600) % 24;
    const days = Math.trunc(d / 86400);
    if (days !== 0) return `${sign}${days}d ${hours}h ${minutes}m ${seconds}s`;
    if (hours !== 0) return `${sign}${hours}h ${minutes}m ${seconds}s`;
    if (minutes !== 0) return `${sign}${minutes}m ${seconds}s`;
    return `${sign}${g4(a)}s`;
  }
  let prefix = "";
  let x = v;
  for (const p of ["m", "u", "n", "p", "f", "a", "z", "y"]) {
    if (Math.abs(x) >= 1) break;
    prefix = p;
    x *= 1000;
  }
  return `${g4(x)}${prefix}s`;
}

/** Renders `{{ $labels.x }}`, `{{ $value | fn }}` and `{{ printf "%.Nf" $value }}`. */
export function renderTemplate(
  template: string,
  labels: Record<string, string>,
  value: number | undefined,
): string {
  return template.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, expr: string) => {
    const label = /^\$labels\.(\w+)$/.exec(expr);
    if (label) return labels[label[1]] ?? "";
    if (value === undefined)
      throw new Error(`template uses $value but the case gives none: ${expr}`);
    if (expr === "$value") return String(value);
    if (expr === "$value | humanizePercentage") return `${g4(value * 100)}%`;
    if (expr === "$value | humanizeDuration") return humanizeDuration(value);
    const printf = /^printf "%\.(\d)f" \$value$/.exec(expr);
    if (printf) return value.toFixed(Number(printf[1]));
    throw new Error(`template expression not supported by the test renderer: ${expr}`);
  });
}

// ---- files ------------------------------------------------------------------------------------

export function ruleFor(groups: RuleGroup[], c: Pick<AlertCase, "alert" | "store">): AlertRule {
  const rule = groups
    .flatMap((g) => g.rules)
    .find((r) => r.alert === c.alert && r.labels.store === c.store);
  if (!rule) throw new Error(`no rule ${c.alert}${c.store ? ` (store ${c.store})` : ""}`);
  return rule;
}

export function promtoolTestFile(
  rulesFile: string,
  groups: RuleGroup[],
  cases: AlertCase[],
): Record<string, unknown> {
  return {
    rule_files: [rulesFile],
    evaluation_interval: "1m",
    tests: cases.map((c) => {
      const rule = ruleFor(groups, c);
      return {
        name: `${c.alert}${c.store ? ` [${c.store}]` : ""}: ${c.name}`,
        interval: c.interval ?? "1m",
        input_series: c.series,
        alert_rule_test: [
          {
            eval_time: c.evalTime,
            alertname: c.alert,
            exp_alerts: c.expected.map((e) => {
              const labels = { ...e.labels, ...rule.labels };
              return {
                exp_labels: labels,
                exp_annotations: Object.fromEntries(
                  Object.entries(rule.annotations).map(([k, v]) => [
                    k,
                    // $labels are the series' labels, without the rule's static ones.
                    renderTemplate(v, e.labels, e.value),
                  ]),
                ),
              };
            }),
          },
        ],
      };
    }),
  };
}

export interface PromtoolResult {
  status: number | null;
  output: string;
  dir: string;
}

/** Writes rules.yaml and tests.yaml into a temp dir and runs `promtool test rules`. */
export function runPromtool(
  promtool: string,
  groups: RuleGroup[],
  cases: AlertCase[],
): PromtoolResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-promtool-"));
  fs.writeFileSync(path.join(dir, "rules.yaml"), stringify({ groups }, { lineWidth: 0 }));
  fs.writeFileSync(
    path.join(dir, "tests.yaml"),
    stringify(promtoolTestFile("rules.yaml", groups, cases), { lineWidth: 0 }),
  );
  const r = spawnSync(promtool, ["test", "rules", "tests.yaml"], { cwd: dir, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}`, dir };
}

export function checkRules(promtool: string, groups: RuleGroup[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-promtool-"));
  const file = path.join(dir, "rules.yaml");
  fs.writeFileSync(file, stringify({ groups }, { lineWidth: 0 }));
  return execFileSync(promtool, ["check", "rules", file], { encoding: "utf8" });
}
