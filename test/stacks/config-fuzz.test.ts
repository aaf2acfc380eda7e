/**
 * No configuration value crashes anything (issue 14 #8). fast-check writes random and hostile
 * values into random documented keys of a stack file — YAML, as a person would — and runs the
 * render's CLI entry in-process on it. Whatever the file holds, the render must end in exit 0, 1
 * or 2 with a message for a person: never another exit code, an exception (the CLI's exit 3), a
 * stack trace, or zod's raw wording.
 *
 * The keys come from the same schema walk that generates docs/configuration.md, so a new key is
 * fuzzed the day it is documented. The run is bounded (RUNS cases, fixed seed per CI run printed
 * on failure by fast-check) so it stays well under a minute.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { PRODUCTION_DEFAULTS } from "../../components/defaults";
import { collectKeys, platformJsonSchema } from "../../scripts/docs";
import { runCli } from "../../scripts/render";

const RUNS = 200;

/** Documented keys a stack file can set directly (list items are reached through `arms`). */
const KEYS = collectKeys(platformJsonSchema())
  .filter((k) => k.valuePath !== undefined && k.key !== "octollm:environment")
  .map((k) => k.valuePath as string[]);
/** Per-arm keys (`octollm:arms[].<field>`), set on an existing arm by name. */
const ARM_FIELDS = collectKeys(platformJsonSchema())
  .filter((k) => k.key.startsWith("octollm:arms[].") && !k.key.slice(14).includes("["))
  .map((k) => k.key.slice("octollm:arms[].".length).split("."));
const ARM_NAMES = (PRODUCTION_DEFAULTS.arms as { name: string }[]).map((a) => a.name);

/** Values people and attackers type: wrong types, wrong units, edge numbers, odd strings. */
const hostileScalar = fc.oneof(
  fc.constantFrom(
    null,
    "",
    " ",
    "\n",
    "latest",
    "2Gi",
    "2",
    "500m",
    "-1",
    "0",
    "1e309",
    "NaN",
    ".inf",
    "true",
    "null",
    "~",
    "__proto__",
    "constructor",
    "${{ secrets.X }}",
    "$(rm -rf /)",
    "a".repeat(300),
    "ünïcødé ✓",
    "0.0.0.0/0",
    "*",
    -1,
    0,
    1,
    1.5,
    2 ** 31,
    Number.MAX_SAFE_INTEGER,
    1e308,
    true,
    false,
  ),
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.boolean(),
);
const hostileKey = fc.constantFrom("__proto__", "constructor", "prototype", "", "a.b", "x y", "k");
const hostileValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileScalar,
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(hostileKey, fc.string({ maxLength: 8 })), tie("value"), {
      maxKeys: 3,
    }),
  ),
})).value;

/**
 * Values of the right shape, near the default: they pass the schema often enough that the
 * program itself runs on odd but valid settings (a feature switched off, a replica count of 1, a
 * default removed with `null`), not only the parser.
 */
function plausible(key: string[]): fc.Arbitrary<unknown> {
  let d: unknown = PRODUCTION_DEFAULTS;
  for (const part of key) d = isObject(d) ? d[part] : undefined;
  if (typeof d === "boolean") return fc.boolean();
  if (typeof d === "number")
    return fc.oneof(
      fc.constantFrom(d, 0, 1, 2, 3),
      fc.integer({ min: 0, max: Math.max(10, 2 * d) }),
    );
  if (typeof d === "string")
    return /^\d+(\.\d+)?(m|Mi|Gi|Ti)?$/.test(d)
      ? fc.constantFrom(d, "1", "250m", "64Mi", "1Gi", "100Gi", "0")
      : fc.constant(d);
  if (Array.isArray(d)) return fc.subarray(d);
  return fc.constant(null);
}

/** One stack file's `config:` mapping: an environment, then 1–2 settings, plausible or hostile. */
const settingValue = (key: string[]) =>
  fc.oneof(
    { arbitrary: plausible(key), weight: 6 },
    { arbitrary: fc.constant(null), weight: 1 },
    { arbitrary: hostileValue, weight: 2 },
  );
const stackConfig = fc
  .record({
    environment: fc.oneof(
      { arbitrary: fc.constantFrom("dev", "staging", "production"), weight: 19 },
      { arbitrary: fc.constantFrom("qa", "", "Production"), weight: 1 },
    ),
    settings: fc.array(
      fc.oneof(
        fc.constantFrom(...KEYS).chain((key) => settingValue(key).map((value) => ({ key, value }))),
        fc.record({
          key: fc.constant(["arms"]),
          value: fc
            .tuple(fc.constantFrom(...ARM_NAMES, "new-arm"), fc.constantFrom(...ARM_FIELDS))
            .chain(([name, field]) =>
              settingValue(field).map(
                // a new arm needs only a port (README); give it one so its other fields matter
                (v) =>
                  [
                    { name, ...(name === "new-arm" ? { port: 8190 } : {}), ...nest(field, v) },
                  ] as unknown,
              ),
            ),
        }),
      ),
      { minLength: 1, maxLength: 2 },
    ),
  })
  .map(({ environment, settings }) => {
    const config: Record<string, unknown> = { "octollm:environment": environment };
    for (const { key, value } of settings) {
      const [top, ...rest] = key;
      const current = config[`octollm:${top}`];
      const next = rest.length === 0 ? value : nest(rest, value);
      config[`octollm:${top}`] =
        rest.length > 0 && isObject(current) && isObject(next) ? { ...current, ...next } : next;
    }
    return config;
  });

function nest(pathParts: string[], value: unknown): Record<string, unknown> {
  return pathParts.reduceRight<unknown>(
    (inner, part) => Object.defineProperty({}, part, { value: inner, enumerable: true }),
    value,
  ) as Record<string, unknown>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A stack trace line, zod's wording for programmers, or a JavaScript value leaking into text. */
const NOT_FOR_PEOPLE = [
  /\n\s+at \S.*:\d+:\d+\)?/,
  /received (undefined|string|number|boolean|object|array|null)/,
  /Invalid input|Too small|Too big|Invalid option|Invalid string/,
  /\[object Object\]/,
  /TypeError|ReferenceError|RangeError|SyntaxError/,
];

describe("no configuration value crashes the render", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-fuzz-"));
  const file = path.join(root, "Pulumi.fuzz.yaml");

  async function render(config: Record<string, unknown>) {
    fs.writeFileSync(file, stringify({ config }));
    let out = "";
    let err = "";
    const code = await runCli(["fuzz", "--root", root, "--policy-only"], {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
    });
    return { code, out, err };
  }

  it("the harness reaches the program: a valid file renders, an invalid one is refused", async () => {
    const ok = await render({ "octollm:environment": "dev" });
    expect(ok.code).toBe(0);
    const bad = await render({
      "octollm:environment": "dev",
      "octollm:orchestrator": { replicas: "three" },
    });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('octollm:orchestrator.replicas: got "three"; must be a number');
    expect(KEYS.length).toBeGreaterThan(200);
    expect(ARM_FIELDS.length).toBeGreaterThan(20);
  });

  it(`ends in exit 0, 1 or 2 with a message for a person (${RUNS} random stack files)`, async () => {
    const codes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(stackConfig, async (config) => {
        const { code, out, err } = await render(config);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        console.log(err.split("\n").slice(1, 3).join(" | ").slice(0, 250));
        expect([0, 1, 2]).toContain(code);
        for (const pattern of NOT_FOR_PEOPLE) expect(err + out).not.toMatch(pattern);
        if (code === 2) {
          const lines = err.trim().split("\n");
          expect(lines[0]).toBe("rendering fuzz...");
          expect(lines[1]).toMatch(/^render: fuzz: \S/);
          // every further line is one problem, naming its key
          for (const line of lines.slice(2)) expect(line).toMatch(/^ {2}- octollm:\S/);
        }
      }),
      { numRuns: RUNS },
    );
    // the property saw both sides: refused files and files that rendered
    expect(codes.get(2) ?? 0).toBeGreaterThan(0);
    expect((codes.get(0) ?? 0) + (codes.get(1) ?? 0)).toBeGreaterThan(0);
  }, 900_000);
});
