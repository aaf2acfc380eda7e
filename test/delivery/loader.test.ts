/**
 * The TypeScript loader (scripts/register.cjs): the program under `pulumi preview`, the policy
 * pack and every script load through it. It must hand Node exactly what esbuild-register did
 * (same transform, so no behaviour can change), and do the transpiling off the main thread, in
 * one batch, so that no start pays for it in line (issue 12).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../scripts/offline";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sourceFiles } = require("../../scripts/transpile.cjs") as {
  sourceFiles(this: void, root?: string): string[];
};

const CAPTURE = path.join(REPO_ROOT, "test", "fixtures", "capture-transpiled.cjs");

interface Captured {
  out: Record<string, string | { error: string }>;
  stats?: { batched: number; alone: number };
}

/** What each loader hands to `module._compile` for these files (a fresh process each). */
function capture(mode: "ours" | "esbuild-register", files: string[], register: string): Captured {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-loader-"));
  const list = path.join(dir, "files.json");
  fs.writeFileSync(list, JSON.stringify(files));
  const preload = mode === "ours" ? ["--require", register] : [];
  const result = spawnSync(process.execPath, [...preload, CAPTURE, mode, list], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, LOADER: register },
    maxBuffer: 64 * 1024 * 1024,
  });
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as Captured;
}

const REGISTER = path.join(REPO_ROOT, "scripts", "register.cjs");

/** A throwaway root with the loader and one broken source file, so the repository stays clean. */
function rootWithBrokenFile(): { register: string; broken: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-loader-root-"));
  fs.mkdirSync(path.join(root, "scripts"));
  fs.mkdirSync(path.join(root, "components"));
  for (const file of ["register.cjs", "sdk-startup.cjs", "transpile.cjs"])
    fs.copyFileSync(path.join(REPO_ROOT, "scripts", file), path.join(root, "scripts", file));
  fs.copyFileSync(path.join(REPO_ROOT, "tsconfig.json"), path.join(root, "tsconfig.json"));
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(root, "node_modules"));
  const broken = path.join(root, "components", "broken.ts");
  fs.writeFileSync(broken, "export const fine = 1;\nexport const broken: = 2;\n");
  fs.writeFileSync(path.join(root, "components", "fine.ts"), "export const x: number = 1;\n");
  return { register: path.join(root, "scripts", "register.cjs"), broken };
}

describe("the TypeScript loader", () => {
  it("hands Node exactly what esbuild-register did, for every source file, all from its batch", () => {
    const files = sourceFiles();
    expect(files).toContain(path.join(REPO_ROOT, "index.ts"));
    expect(files).toContain(path.join(REPO_ROOT, "policies", "index.ts"));
    expect(files.some((f) => f.startsWith(path.join(REPO_ROOT, "test")))).toBe(false);
    const theirs = capture("esbuild-register", files, REGISTER);
    const ours = capture("ours", files, REGISTER);
    for (const file of files) {
      expect(typeof ours.out[file], file).toBe("string");
      expect(ours.out[file], file).toBe(theirs.out[file]);
    }
    expect(ours.stats).toEqual({ batched: files.length, alone: 0 });
  }, 120_000);

  it("transpiles a file outside the batch on its own, the same way", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-loader-outside-"));
    const file = path.join(dir, "helper.ts");
    fs.writeFileSync(
      file,
      "import * as path from 'node:path';\nexport const f = (x: number): string => path.join(String(x));\nenum Color { Red }\nexport const red = Color.Red;\n",
    );
    const theirs = capture("esbuild-register", [file], REGISTER);
    const ours = capture("ours", [file], REGISTER);
    expect(ours.out[file]).toBe(theirs.out[file]);
    expect(ours.stats).toEqual({ batched: 0, alone: 1 });
  }, 60_000);

  it("reports a syntax error in a source file as esbuild-register did, and loads the rest from the batch", () => {
    const { register, broken } = rootWithBrokenFile();
    const fine = path.join(path.dirname(broken), "fine.ts");
    const theirs = capture("esbuild-register", [broken, fine], register);
    const ours = capture("ours", [broken, fine], register);
    expect(theirs.out[broken]).toEqual({ error: expect.stringContaining("broken.ts:2:") });
    expect(ours.out[broken]).toEqual(theirs.out[broken]);
    expect(ours.out[fine]).toBe(theirs.out[fine]);
    expect(ours.stats).toEqual({ batched: 1, alone: 1 });
  }, 60_000);

  it("`npm run render` loads every TypeScript file from the batch, on both threads", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-loader-render-"));
    const report = path.join(out, "stats.json");
    // Preloaded after the loader: writes the main thread's counts when the render exits.
    const probe = path.join(out, "probe.cjs");
    fs.writeFileSync(
      probe,
      `const { stats } = require(${JSON.stringify(REGISTER)});\nprocess.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(report)}, JSON.stringify(stats)));\n`,
    );
    const result = spawnSync(
      process.execPath,
      ["--require", REGISTER, "--require", probe, "scripts/render.ts", "production", "--out", out],
      { cwd: REPO_ROOT, encoding: "utf8" },
    );
    expect(result.status).toBe(0);
    const stats = JSON.parse(fs.readFileSync(report, "utf8")) as Captured["stats"];
    expect(stats?.alone).toBe(0);
    expect(stats?.batched).toBeGreaterThan(50);
  }, 120_000);
});
