/**
 * Every PromQL expression the stacks ship (alert rules and dashboard panels) parses with
 * Prometheus' own grammar (@prometheus-io/lezer-promql): any error node fails the test.
 */
import { describe, expect, it } from "vitest";
import type { PlatformConfig } from "../../components/config";
import { parsePlatformConfig } from "../../components/config";
import { alertGroups } from "../../components/observability/alerts";
import { dashboardQueries, dashboards } from "../../components/observability/dashboards";
import { loadStackConfig } from "../../scripts/offline";
import { promqlErrors } from "../../policies/operators";
import { STACKS } from "../harness";

function config(stack: string): PlatformConfig {
  return parsePlatformConfig({
    ...loadStackConfig(stack),
    // dev turns observability off by default; its rules and dashboards must still be valid.
    "octollm:observability": JSON.stringify({ enabled: true }),
  });
}

describe("PromQL validator", () => {
  it("accepts valid PromQL and reports broken expressions", () => {
    expect(promqlErrors('sum by (job) (rate(x{a=~"b"}[5m])) > 0.05')).toEqual([]);
    expect(promqlErrors("sum by (job) (rate(x[5m])")).not.toEqual([]);
    expect(promqlErrors('up{job="a" == 0')).not.toEqual([]);
    expect(promqlErrors("rate(x[5 m])")).not.toEqual([]);
  });
});

describe.each(STACKS)("PromQL of %s", (stack) => {
  const c = config(stack);

  it("every alert expression parses", () => {
    const rules = alertGroups(c).flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(10);
    for (const r of rules) expect(promqlErrors(r.expr), `${r.alert}: ${r.expr}`).toEqual([]);
  });

  it("every dashboard query parses", () => {
    const all = Object.values(dashboards(c)).flatMap(dashboardQueries);
    expect(all.length).toBeGreaterThan(20);
    for (const q of all) expect(promqlErrors(q), q).toEqual([]);
  });
});
