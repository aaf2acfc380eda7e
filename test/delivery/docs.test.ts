/**
 * docs/configuration.md is generated from the zod schema and the per-environment defaults
 * (`npm run docs`). These tests fail when the committed file is stale, and check that the
 * generator documents every key the program accepts, with its description and defaults.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { ENVIRONMENTS, environmentDefaults } from "../../components/config";
import {
  DOCS_FILE,
  REPO_ROOT,
  collectKeys,
  generateConfigurationDocs,
  isCurrent,
  platformJsonSchema,
  stableJson,
} from "../../scripts/docs";

const generated = generateConfigurationDocs();

/** Leaf paths of a defaults object, spelled like `--path` (arms are documented per arm). */
function leafPaths(value: unknown, prefix: string): string[] {
  if (Array.isArray(value)) return [prefix];
  if (value !== null && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
      leafPaths(
        v,
        `${prefix}${/^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`,
      ),
    );
  }
  return [prefix];
}

describe("docs/configuration.md", () => {
  it("is what `npm run docs` generates now (run it and commit the result when this fails)", () => {
    expect(fs.existsSync(DOCS_FILE), "docs/configuration.md is missing: run `npm run docs`").toBe(
      true,
    );
    const committed = fs.readFileSync(DOCS_FILE, "utf8");
    if (committed !== generated) {
      const a = committed.split("\n");
      const b = generated.split("\n");
      const line = a.findIndex((l, i) => l !== b[i]);
      expect.fail(
        `docs/configuration.md is stale (first difference at line ${line + 1}: ` +
          `committed ${JSON.stringify(a[line])}, generated ${JSON.stringify(b[line])}); run \`npm run docs\``,
      );
    }
  });

  it("is deterministic", () => {
    expect(generateConfigurationDocs()).toBe(generated);
  });

  it("isCurrent tells a stale copy from a current one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-docs-"));
    try {
      const file = path.join(dir, "configuration.md");
      fs.writeFileSync(file, generated);
      expect(isCurrent(file)).toBe(true);
      fs.writeFileSync(file, generated.replace("octollm:protectData", "octollm:protectDatum"));
      expect(isCurrent(file)).toBe(false);
      expect(isCurrent(path.join(dir, "missing.md"))).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("`npm run docs -- --check` exits 0 on the committed file", () => {
    const out = execFileSync(
      process.execPath,
      [path.join(REPO_ROOT, "node_modules/tsx/dist/cli.mjs"), "scripts/docs.ts", "--check"],
      { cwd: REPO_ROOT, encoding: "utf8" },
    );
    expect(out).toMatch(/up to date/);
  });

  it("documents every key of every environment's defaults", () => {
    const docs = collectKeys(platformJsonSchema());
    const keys = new Set(docs.map((k) => k.key));
    const maps = docs.filter((k) => k.type.startsWith("map of")).map((k) => k.key);
    for (const env of ENVIRONMENTS) {
      const defaults = environmentDefaults(env);
      for (const [top, value] of Object.entries(defaults)) {
        if (top === "arms") continue;
        for (const leaf of leafPaths(value, `octollm:${top}`)) {
          // map entries (e.g. postgres parameters) are documented by their map key
          const documented =
            keys.has(leaf) ||
            maps.some((m) => leaf.startsWith(`${m}.`) || leaf.startsWith(`${m}[`));
          expect(documented, `${env}: ${leaf} is not in the reference`).toBe(true);
        }
      }
    }
    for (const arm of environmentDefaults("production").arms as Record<string, unknown>[]) {
      for (const field of Object.keys(arm)) expect(keys).toContain(`octollm:arms[].${field}`);
    }
  });

  it("shows types, descriptions and per-environment defaults", () => {
    const row = (key: string) =>
      generated.split("\n").find((l) => l.startsWith(`| \`${key}\``)) ?? "";
    expect(row("octollm:dataStores.postgres.instances")).toContain("integer ≥ 1");
    expect(row("octollm:dataStores.postgres.instances")).toContain("dev: `1`");
    expect(row("octollm:dataStores.postgres.instances")).toContain("production: `3`");
    expect(row("octollm:dataStores.postgres.instances")).toContain("1 primary + standbys");
    expect(row("octollm:dataStores.redis.mode")).toContain("one of `standalone`, `sentinel`");
    expect(row("octollm:orchestrator.resources.limits.cpu")).toContain("CPU quantity");
    expect(row("octollm:orchestrator.ports.http")).toContain("integer 1–65535");
    // the same value in every environment is shown once
    expect(row("octollm:orchestrator.hpa.targetCpuUtilization")).toContain("| `70` |");
    // optional keys say so; an unset default says so
    expect(row("octollm:secrets.jwtSecret")).toContain("(optional)");
    expect(row("octollm:secrets.jwtSecret")).toContain("unset");
    // every arm of every environment, and the defaults of a new arm
    for (const env of ENVIRONMENTS) {
      expect(generated).toContain(`### Arms in ${env}`);
      for (const arm of environmentDefaults(env).arms as { name: string; port: number }[]) {
        expect(generated).toMatch(new RegExp(`\\| ${arm.name} \\| ${arm.port} \\|`));
      }
    }
    expect(generated).toContain("_a new arm_");
  });

  it("lists what each stack file sets", () => {
    for (const f of fs.readdirSync(REPO_ROOT).filter((n) => /^Pulumi\..+\.yaml$/.test(n))) {
      expect(generated).toContain(`| \`${f}\` |`);
    }
  });

  it("never depends on key insertion order", () => {
    expect(stableJson({ b: 1, a: { d: 2, c: [3, { f: 1, e: 0 }] } })).toBe(
      '{"a":{"c":[3,{"e":0,"f":1}],"d":2},"b":1}',
    );
  });
});
