/**
 * docs/policies.md is the reference for the pack: its policy table (kind and level per stack)
 * and its sources table ("Where each rule comes from"). These tests hold both to the pack as it
 * registers its policies (policies/policies.ts, the array index.ts hands to PolicyPack) and to
 * the levels policies/config/<stack>.json gives each one, so a new rule without documentation,
 * a row for a rule that is gone, or a level changed in config but not in the docs fails here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadPolicyConfig, reconcileConfig } from "../../policies/evaluate";
import { EXEMPTIBLE_POLICIES } from "../../policies/lib/exemptions";
import { policies } from "../../policies/policies";

const DOC = path.join(__dirname, "..", "..", "docs", "policies.md");
const text = fs.readFileSync(DOC, "utf8");

/** The rows of the first Markdown table whose header starts with `headerStart`, as cells. */
function table(headerStart: RegExp): { header: string[]; rows: string[][] } {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => headerStart.test(l));
  if (at < 0) throw new Error(`docs/policies.md has no table whose header matches ${headerStart}`);
  const cells = (l: string) =>
    l
      .trim()
      .replace(/^\||\|$/g, "")
      .split("|")
      .map((c) => c.trim());
  const rows: string[][] = [];
  for (const l of lines.slice(at + 2)) {
    if (!l.trim().startsWith("|")) break;
    rows.push(cells(l));
  }
  return { header: cells(lines[at]), rows };
}

/** `name` in backticks, the way both tables write a policy. */
function policyName(cell: string): string {
  const m = /^`([^`]+)`$/.exec(cell);
  if (!m)
    throw new Error(`a policy cell must be one name in backticks, got ${JSON.stringify(cell)}`);
  return m[1];
}

const registered = policies.map((p) => p.name).sort();
const overview = table(/^\|\s*policy\s*\|\s*family\s*\|/);
const sources = table(/^\|\s*policy\s*\|\s*source\s*\|/);

describe("docs/policies.md: the policy table", () => {
  const names = overview.rows.map((r) => policyName(r[0]));

  it("has exactly one row per policy the pack registers, and none for a policy that does not exist", () => {
    expect(new Set(names).size, "a policy has two rows").toBe(names.length);
    expect([...names].sort()).toEqual(registered);
  });

  it("says for each policy whether it is a resource or a stack policy, as the code defines it", () => {
    const col = overview.header.indexOf("kind");
    const byName = new Map(overview.rows.map((r) => [policyName(r[0]), r[col]]));
    for (const p of policies)
      expect(byName.get(p.name), p.name).toBe("validateStack" in p ? "stack" : "resource");
  });

  it("marks exactly the exemptible policies (policies/lib/exemptions.ts) exemptible", () => {
    const col = overview.header.indexOf("exemptible");
    const byName = new Map(overview.rows.map((r) => [policyName(r[0]), r[col]]));
    for (const p of policies)
      expect(byName.get(p.name), p.name).toBe(EXEMPTIBLE_POLICIES.has(p.name) ? "yes" : "no");
  });

  it.each(["production", "staging", "dev"])(
    "gives each policy the level policies/config/%s.json gives it",
    (stack) => {
      const col = overview.header.indexOf(stack);
      expect(col, `a "${stack}" column`).toBeGreaterThan(0);
      const byName = new Map(overview.rows.map((r) => [policyName(r[0]), r[col]]));
      for (const r of reconcileConfig(loadPolicyConfig(stack)))
        expect(byName.get(r.policy.name), `${r.policy.name} in ${stack}`).toBe(r.enforcementLevel);
    },
  );
});

describe("docs/policies.md: where each rule comes from", () => {
  const names = sources.rows.map((r) => policyName(r[0]));

  it("has exactly one row per policy the pack registers, and none for a policy that does not exist", () => {
    expect(new Set(names).size, "a policy has two rows").toBe(names.length);
    expect([...names].sort()).toEqual(registered);
  });

  it("gives every policy a source", () => {
    for (const [name, source] of sources.rows) {
      // A source says where the rule comes from: a guide, a tool's check, upstream code or docs,
      // or "ours" with the reason. Placeholders are not sources.
      expect(source, `${name}`).toMatch(/\w{3,}/);
      expect(source, `${name}`).not.toMatch(/^(todo|tbd|n\/a|-|\?)$/i);
    }
  });
});
