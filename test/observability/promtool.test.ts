/**
 * Alert rules tested for real: the rule groups the program renders are written to a rules file
 * and `promtool test rules` runs the unit tests of alert-cases.ts on them (every rule: a case
 * that fires with the expected labels and rendered annotations, and one that must stay silent).
 * promtool is required: the suite FAILS without it (scripts/install-promtool.sh provides it).
 */
import { describe, expect, it } from "vitest";
import type { PlatformConfig } from "../../components/config";
import { parsePlatformConfig } from "../../components/config";
import type { AlertRule } from "../../components/observability/alerts";
import { alertGroups } from "../../components/observability/alerts";
import { loadStackConfig } from "../../scripts/offline";
import { STACKS } from "../harness";
import { alertCases } from "./alert-cases";
import {
  INSTALL_HINT,
  checkRules,
  findPromtool,
  humanizeDuration,
  renderTemplate,
  ruleFor,
  runPromtool,
} from "./promtool";

/** Observability is off in dev by default; the rules must hold there too when it is turned on. */
function stackConfig(stack: string): PlatformConfig {
  return parsePlatformConfig({
    ...loadStackConfig(stack),
    ...(stack === "dev" ? { "octollm:observability": JSON.stringify({ enabled: true }) } : {}),
  });
}

const ruleKey = (r: AlertRule) => `${r.alert}${r.labels.store ? `[${r.labels.store}]` : ""}`;

describe("promtool", () => {
  it("is installed (run scripts/install-promtool.sh)", () => {
    expect(findPromtool(), INSTALL_HINT).toBeDefined();
  });
});

describe("test template renderer", () => {
  it("renders like Prometheus", () => {
    expect(humanizeDuration(9.75)).toBe("9.75s");
    expect(humanizeDuration(90)).toBe("1m 30s");
    expect(humanizeDuration(0.25)).toBe("250ms");
    expect(renderTemplate("{{ $value | humanizePercentage }}", {}, 0.1)).toBe("10%");
    expect(renderTemplate('${{ printf "%.2f" $value }}', {}, 15)).toBe("$15.00");
    expect(renderTemplate("{{ $labels.job }}", { job: "x" }, undefined)).toBe("x");
  });
});

describe.each(STACKS)("alert rules of %s", (stack) => {
  const config = stackConfig(stack);
  const groups = alertGroups(config);
  const cases = alertCases(config).filter((c) =>
    groups.some((g) => g.rules.some((r) => r.alert === c.alert && r.labels.store === c.store)),
  );

  it("every rule has a firing and a silent promtool case", () => {
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThanOrEqual(13);
    for (const rule of rules) {
      const mine = cases.filter((c) => c.alert === rule.alert && c.store === rule.labels.store);
      expect(
        mine.some((c) => c.expected.length > 0),
        `${ruleKey(rule)} has no firing case`,
      ).toBe(true);
      expect(
        mine.some((c) => c.expected.length === 0),
        `${ruleKey(rule)} has no silent case`,
      ).toBe(true);
    }
    for (const c of cases) expect(ruleFor(groups, c)).toBeDefined();
  });

  it("passes `promtool check rules`", () => {
    const promtool = findPromtool();
    if (!promtool) throw new Error(INSTALL_HINT);
    expect(checkRules(promtool, groups)).toMatch(/SUCCESS/);
  });

  it("passes `promtool test rules` for every case", () => {
    const promtool = findPromtool();
    if (!promtool) throw new Error(INSTALL_HINT);
    const result = runPromtool(promtool, groups, cases);
    expect(result.output, `promtool output (files in ${result.dir})`).toMatch(/SUCCESS/);
    expect(result.status, result.output).toBe(0);
  });
});

describe("the tests can fail", () => {
  it("promtool rejects a wrong expectation (a silent case that fires)", () => {
    const promtool = findPromtool();
    if (!promtool) throw new Error(INSTALL_HINT);
    const config = stackConfig("production");
    const groups = alertGroups(config);
    const firing = alertCases(config).find((c) => c.alert === "ServiceDown" && c.expected.length);
    const wrong = { ...firing!, expected: [] };
    const result = runPromtool(promtool, groups, [wrong]);
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/FAILED/);
  });

  it("the former sync-standby rule (cnpg_collector_sync_replicas) never fires with standbys down; ours does", () => {
    const promtool = findPromtool();
    if (!promtool) throw new Error(INSTALL_HINT);
    const config = stackConfig("production");
    const ours = ruleFor(alertGroups(config), { alert: "PostgresSyncStandbysMissing" });
    const formerGroups = [
      {
        name: "former",
        rules: [
          {
            ...ours,
            expr: `max by (namespace) (cnpg_collector_sync_replicas{value="observed"})
  < max by (namespace) (cnpg_collector_sync_replicas{value="expected"})`,
          },
        ],
      },
    ];
    const standbysDown = alertCases(config).find(
      (c) => c.alert === "PostgresSyncStandbysMissing" && c.name.startsWith("standbys down"),
    )!;
    expect(standbysDown.expected.length).toBeGreaterThan(0);
    expect(runPromtool(promtool, formerGroups, [standbysDown]).status).not.toBe(0);
    expect(runPromtool(promtool, alertGroups(config), [standbysDown]).status).toBe(0);
  });

  it("the former Velero rules stay silent when no Velero metric exists at all; ours fire", () => {
    const promtool = findPromtool();
    if (!promtool) throw new Error(INSTALL_HINT);
    const config = stackConfig("production");
    const groups = alertGroups(config);
    const schedule = 'schedule=~"octollm-production.*"';
    const former = {
      BackupFailed: `sum by (schedule) (increase(velero_backup_failure_total{${schedule}}[1h])) > 0`,
      BackupTooOld: `time() - max by (schedule) (velero_backup_last_successful_timestamp{${schedule}}) > ${config.observability.alerts.backupMaxAgeHours * 3600}`,
    };
    for (const alert of ["BackupFailed", "BackupTooOld"] as const) {
      const absent = alertCases(config).find(
        (c) => c.alert === alert && c.store === "velero" && c.name.startsWith("no Velero metric"),
      )!;
      expect(absent.expected.length, alert).toBeGreaterThan(0);
      const formerGroups = [
        {
          name: "former",
          rules: [{ ...ruleFor(groups, absent), expr: former[alert] }],
        },
      ];
      expect(runPromtool(promtool, formerGroups, [absent]).status, alert).not.toBe(0);
      expect(runPromtool(promtool, groups, [absent]).status, alert).toBe(0);
    }
  });

  it("the seed's cost rule would never fire on $15/hour (per-second rate), ours does", () => {
    const promtool = findPromtool();
    if (!promtool) throw new Error(INSTALL_HINT);
    const config = stackConfig("production");
    const seedGroups = [
      {
        name: "seed",
        rules: [
          {
            ...ruleFor(alertGroups(config), { alert: "HighLLMAPICost" }),
            expr: "rate(llm_api_cost_dollars_total[1h]) > 10",
          },
        ],
      },
    ];
    const firing = alertCases(config).find(
      (c) => c.alert === "HighLLMAPICost" && c.expected.length,
    )!;
    const seed = runPromtool(promtool, seedGroups, [firing]);
    expect(seed.status).not.toBe(0);
  });
});
