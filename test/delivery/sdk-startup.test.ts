/**
 * scripts/sdk-startup.cjs (preloaded by scripts/register.cjs): the Pulumi SDK's closure
 * serializer and the stack traces nothing reads are made lazy. Nothing the SDK computes may
 * change: the same serialized function, the same code paths, every other trace as before, and
 * PULUMI_DEBUG_PROMISE_LEAKS still records where each promise came from (issue 12).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../scripts/offline";

interface SdkStartup {
  DEFERRED: Record<string, Record<string, string[]>>;
  UNRECORDED_TRACE: string;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const startup = require("../../scripts/sdk-startup.cjs") as SdkStartup;
const { DEFERRED, UNRECORDED_TRACE } = startup;

const SDK_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
const PROBE = path.join(REPO_ROOT, "test", "fixtures", "sdk-probe.cjs");
const REGISTER = path.join(REPO_ROOT, "scripts", "register.cjs");

interface Probe {
  loadedAtStart: { typescript: boolean; arborist: boolean };
  loadedAtEnd: { typescript: boolean; arborist: boolean };
  serialized: { text: string; exportName: string };
  codePaths: string[];
  promiseTrace: string;
  errorTrace: string[];
  namespaces: Record<string, { filesAtStart: string[]; keys: string[]; filesAfterUse: string[] }>;
}

const probes = new Map<string, Probe>();

/** The probe's report, once per preload and environment (each is a fresh process). */
function probe(preload: boolean, env: Record<string, string> = {}): Probe {
  const key = JSON.stringify([preload, env]);
  let report = probes.get(key);
  if (!report) probes.set(key, (report = runProbe(preload, env)));
  return report;
}

function runProbe(preload: boolean, env: Record<string, string>): Probe {
  const environment: NodeJS.ProcessEnv = { ...process.env, ...env };
  if (!("PULUMI_DEBUG_PROMISE_LEAKS" in env)) delete environment.PULUMI_DEBUG_PROMISE_LEAKS;
  const result = spawnSync(process.execPath, [...(preload ? ["--require", REGISTER] : []), PROBE], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: environment,
  });
  expect(result.stderr).toBe("");
  return JSON.parse(result.stdout) as Probe;
}

describe("the Pulumi SDK's start, made lazy", () => {
  it("stands in for exactly what runtime/index.js reads of the deferred modules", () => {
    const source = fs.readFileSync(path.join(SDK_DIR, "runtime", "index.js"), "utf8");
    const forwarded = Object.entries(DEFERRED["@pulumi/pulumi"]).filter(([, f]) => f.length > 0);
    expect(forwarded.map(([file]) => file)).toContain("runtime/closure/serializeClosure.js");
    for (const [file, names] of forwarded) {
      // `var serializeClosure_1 = require("./closure/serializeClosure");` then `serializeClosure_1.x`
      const request = `./${path.posix.relative("runtime", file).replace(/\.js$/, "")}`;
      const binding = new RegExp(
        `var (\\w+) = require\\("${request.replace(/[./]/g, "\\$&")}"\\);`,
      ).exec(source)?.[1];
      expect(binding, `runtime/index.js no longer requires ${request}`).toBeDefined();
      const read = [...source.matchAll(new RegExp(`\\b${binding}\\.(\\w+)`, "g"))].map((m) => m[1]);
      expect(new Set(read), request).toEqual(new Set(names));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const real = require(path.join(SDK_DIR, file)) as Record<string, unknown>;
      for (const name of names) expect(typeof real[name], `${file} ${name}`).toBe("function");
    }
  });

  it("puts no frame of ours between node_modules code and Node's require", () => {
    // Node decides whether a deprecated builtin was required from node_modules by the first
    // frame outside Node: Ajv's idn-hostname format (loaded by schema validation) requires
    // `punycode`.
    const run = (preload: string[], code: string) =>
      spawnSync(process.execPath, [...preload, "-e", code], { cwd: REPO_ROOT, encoding: "utf8" });
    const requireIt = "require('ajv-formats-draft2019/formats/idn-hostname.js')";
    expect(run(["--require", REGISTER], requireIt).stderr).toBe("");
    // What a require hook of ours would do (the first version of scripts/sdk-startup.cjs did).
    const hook = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "octollm-hook-")), "hook.cjs");
    fs.writeFileSync(
      hook,
      "const M = require('module'); const load = M._load; M._load = function () { return load.apply(this, arguments); };\n",
    );
    expect(run(["--require", hook], requireIt).stderr).toContain("DEP0040");
  });

  it("loads TypeScript and Arborist only when a function is serialized, with the same result", () => {
    const eager = probe(false);
    const lazy = probe(true);
    expect(eager.loadedAtStart).toEqual({ typescript: true, arborist: true });
    expect(lazy.loadedAtStart).toEqual({ typescript: false, arborist: false });
    expect(lazy.loadedAtEnd).toEqual({ typescript: true, arborist: true });
    expect(lazy.serialized.text).toContain("40 + 2");
    expect(lazy.serialized).toEqual(eager.serialized);
    expect(lazy.codePaths).toContain(path.join("node_modules", "yaml"));
    expect(lazy.codePaths).toEqual(eager.codePaths);
  }, 60_000);

  it("loads each deferred namespace on first use, and it reads as the real one", () => {
    const eager = probe(false);
    const lazy = probe(true);
    expect(Object.keys(lazy.namespaces).sort()).toEqual([
      "node_modules/@pulumi/kubernetes/helm/v3/index.js",
      "node_modules/@pulumi/kubernetes/kustomize/index.js",
      "node_modules/@pulumi/kubernetes/yaml/index.js",
      "node_modules/@pulumi/pulumi/automation/index.js",
      "node_modules/zod/v4/locales/index.cjs",
    ]);
    for (const [file, namespace] of Object.entries(lazy.namespaces)) {
      expect(eager.namespaces[file].filesAtStart.length, file).toBeGreaterThan(0);
      // zod loads its English messages on their own, not through z.locales.
      expect(namespace.filesAtStart, file).toEqual(
        file.startsWith("node_modules/zod/") ? ["en.cjs"] : [],
      );
      expect(namespace.filesAfterUse.sort(), file).toEqual(
        eager.namespaces[file].filesAfterUse.sort(),
      );
      expect(namespace.keys.length, file).toBeGreaterThan(0);
      expect(namespace.keys, file).toEqual(eager.namespaces[file].keys);
    }
  }, 60_000);

  it("skips only the promise traces nothing reads; PULUMI_DEBUG_PROMISE_LEAKS records them", () => {
    const eager = probe(false);
    const lazy = probe(true);
    const debugging = probe(true, { PULUMI_DEBUG_PROMISE_LEAKS: "1" });
    // source-map-support (installed as cmd/run installs it) maps the SDK's frames to its sources.
    expect(eager.promiseTrace).toMatch(
      /^Error: \n {4}at debuggablePromise \(.*debuggable\.ts:\d+:\d+\)/,
    );
    expect(lazy.promiseTrace).toBe(UNRECORDED_TRACE);
    expect(debugging.promiseTrace).toBe(eager.promiseTrace);
    for (const run of [lazy, debugging]) expect(run.errorTrace).toEqual(eager.errorTrace);
  }, 60_000);
});
