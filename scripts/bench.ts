/**
 * `npm run bench [-- --repeats N] [-- --alternatives]`: what users wait for, as tables.
 *
 * 1. Startup, whole processes, cold: every sample is a fresh process with an empty TMPDIR (where
 *    tsx, ts-node and esbuild-register would keep caches), rounds interleave the cases so load on
 *    the machine hits them alike; medians of wall time, CPU time (user + sys of the process tree,
 *    steadier than wall on a shared machine) and peak RSS, each as a ratio to the SDK floor:
 *    - the SDK floor: a node process that only loads @pulumi/pulumi and @pulumi/kubernetes, which
 *      any Pulumi Kubernetes program pays;
 *    - `npm run render -- production`, exactly as users type it;
 *    - the program as `pulumi preview`/`up` starts it: the command line and environment the
 *      Node.js language host derives from Pulumi.yaml's runtime options, running the runtime's
 *      own cmd/run with mocks for the engine (scripts/bench-pulumi-run.cjs);
 *    - the policy pack as `--policy-pack policies` starts it: @pulumi/pulumi's run-policy-pack in
 *      policies/, from spawn until it prints the port it serves on.
 *    `--alternatives` adds the other ways Pulumi can run the program, for comparison (README,
 *    "Fast previews").
 * 2. Growth: production with 5, 50 and 200 extra arms, one cold process each (render pipeline in
 *    process, loaded like `npm run render`: program, YAML, schemas, policies), time and peak RSS; the per-arm cost between the
 *    steps shows whether growth stays linear.
 * 3. Policy evaluation, in this process, on production and on a 10× synthetic stack.
 *
 * Sections are entries of SECTIONS: a new measurement is one more entry. Figures describe this
 * machine at this moment (the load average is printed); they are not pass/fail.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { evaluatePolicies, loadPolicyConfig } from "../policies/evaluate";
import type { ClusterFitConfig } from "../policies/capacity";
import { CLUSTER_FIT, clusterFitOf } from "../policies/capacity";
import type { RenderedResource } from "../policies/evaluate";
import { kubernetesObjects, toYaml } from "./manifests";
import { REPO_ROOT, runStack } from "./offline";
import type { StackRun } from "./offline";
import { table } from "./render";
import { validateObjects } from "./validate";

interface Options {
  repeats: number;
  alternatives: boolean;
}

interface Section {
  title: string;
  run(options: Options): Promise<string>;
}

// ---------------------------------------------------------------------------------------------
// Measuring one process

interface Sample {
  wallMs: number;
  /** user + sys of the process and its waited-for children; undefined without /proc */
  cpuMs?: number;
  /** largest peak RSS (KiB) of the node processes in the tree */
  rssKb?: number;
  stdout: string;
}

export interface Command {
  label: string;
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** resolve once stdout matches (then stop the process), instead of waiting for its exit */
  readyWhen?: RegExp;
}

const RSS_REPORTER = path.join(REPO_ROOT, "scripts", "bench-rss.cjs");

/** Clock ticks of the children this process has waited for (Linux /proc; USER_HZ is 100). */
function childCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state): cutime and cstime are fields 16 and 17.
    return (Number(fields[13]) + Number(fields[14])) * 10;
  } catch {
    return undefined;
  }
}

function measure(command: Command): Promise<Sample> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-bench-"));
  const rssFile = path.join(tmp, "rss");
  const cacheDir = path.join(tmp, "tmp");
  fs.mkdirSync(cacheDir);
  const env = {
    ...process.env,
    // cold: compile caches (tsx, ts-node, esbuild-register) live under TMPDIR
    TMPDIR: cacheDir,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${RSS_REPORTER}`.trim(),
    BENCH_RSS_FILE: rssFile,
    ...command.env,
  };
  const cpuBefore = childCpuMs();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command.argv[0], command.argv.slice(1), {
      cwd: command.cwd ?? REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let readyAt: number | undefined;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (command.readyWhen && readyAt === undefined && command.readyWhen.test(stdout)) {
        readyAt = performance.now();
        child.kill("SIGTERM");
      }
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const end = readyAt ?? performance.now();
      const cpuAfter = childCpuMs();
      const rss = fs.existsSync(rssFile)
        ? Math.max(...fs.readFileSync(rssFile, "utf8").trim().split("\n").map(Number))
        : undefined;
      fs.rmSync(tmp, { recursive: true, force: true });
      if (command.readyWhen ? readyAt === undefined : code !== 0) {
        reject(new Error(`${command.label}: exit ${code}\n${stderr.slice(-2000)}`));
        return;
      }
      resolve({
        wallMs: end - started,
        cpuMs: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
        rssKb: rss !== undefined && Number.isFinite(rss) ? rss : undefined,
        stdout,
      });
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function medianOf(samples: Sample[], key: "wallMs" | "cpuMs" | "rssKb"): number | undefined {
  const values = samples.map((s) => s[key]).filter((v): v is number => v !== undefined);
  return values.length === samples.length ? median(values) : undefined;
}

const ms = (n: number | undefined) => (n === undefined ? "n/a" : `${n.toFixed(0)} ms`);
const mib = (kb: number | undefined) =>
  kb === undefined ? "n/a" : `${(kb / 1024).toFixed(0)} MiB`;
const ratio = (n: number | undefined, floor: number | undefined) =>
  n === undefined || !floor ? "n/a" : `${(n / floor).toFixed(2)}×`;

// ---------------------------------------------------------------------------------------------
// The commands

const NODE = process.execPath;
const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

const floorCommand: Command = {
  label: "SDK floor (node: require @pulumi/pulumi + @pulumi/kubernetes)",
  argv: [NODE, "-e", "require('@pulumi/pulumi'); require('@pulumi/kubernetes')"],
};

export interface NodeRuntimeOptions {
  typescript: boolean;
  tsconfig?: string;
  nodeargs?: string;
}

/** runtime.options of Pulumi.yaml, with the language host's defaults (typescript: true). */
export function pulumiRuntimeOptions(root = REPO_ROOT): NodeRuntimeOptions {
  const project = parseYaml(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
    runtime?: string | { options?: Record<string, unknown> };
  };
  const options = typeof project.runtime === "object" ? (project.runtime.options ?? {}) : {};
  return {
    typescript: options.typescript !== false,
    tsconfig: typeof options.tsconfig === "string" ? options.tsconfig : undefined,
    nodeargs: typeof options.nodeargs === "string" ? options.nodeargs : undefined,
  };
}

/**
 * The process pulumi-language-nodejs starts for these options: `node <nodeargs> <cmd/run> ...`
 * with PULUMI_NODEJS_TYPESCRIPT / PULUMI_NODEJS_TSCONFIG_PATH; extra env for the alternatives.
 */
export function programCommand(
  label: string,
  options: NodeRuntimeOptions,
  extraEnv: Record<string, string> = {},
): Command {
  if (options.nodeargs && /["'\\]/.test(options.nodeargs))
    throw new Error("bench: quoted nodeargs are not supported; keep them plain words");
  const env: Record<string, string> = {
    PULUMI_CONFIG: languageHostConfig("production"),
    ...extraEnv,
  };
  if (options.typescript) env.PULUMI_NODEJS_TYPESCRIPT = "true";
  if (options.tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
  return {
    label,
    argv: [
      NODE,
      ...(options.nodeargs?.split(/\s+/).filter(Boolean) ?? []),
      path.join(REPO_ROOT, "scripts", "bench-pulumi-run.cjs"),
      "production",
    ],
    env,
  };
}

/**
 * PULUMI_CONFIG as the Node.js language host passes it (computed in Go before Node starts): the
 * stack file's config, objects as JSON text, secure values absent offline.
 */
export function languageHostConfig(stack: string, root = REPO_ROOT): string {
  const doc = (parseYaml(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) ??
    {}) as {
    config?: Record<string, unknown>;
  };
  const config: Record<string, string> = {};
  for (const [key, value] of Object.entries(doc.config ?? {})) {
    if (value && typeof value === "object" && "secure" in value) continue;
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return JSON.stringify(config);
}

function describeOptions(o: NodeRuntimeOptions): string {
  return [
    `typescript: ${o.typescript}`,
    o.tsconfig ? `tsconfig: ${o.tsconfig}` : "",
    o.nodeargs ? `nodeargs: ${o.nodeargs}` : "",
  ]
    .filter(Boolean)
    .join(", ");
}

const packCommand: Command = {
  label: "policy pack start (run-policy-pack → serving)",
  argv: [
    NODE,
    path.join(REPO_ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js"),
    "127.0.0.1:0",
    ".",
  ],
  cwd: path.join(REPO_ROOT, "policies"),
  readyWhen: /^\d+\s*$/m,
};

function startupCommands(options: Options): Command[] {
  const configured = pulumiRuntimeOptions();
  const commands: Command[] = [
    floorCommand,
    {
      label: "npm run render -- production",
      argv: [NPM, "run", "--silent", "render", "--", "production", "--out", "<tmp>"],
    },
    programCommand(`program as Pulumi.yaml runs it (${describeOptions(configured)})`, configured),
    packCommand,
  ];
  if (options.alternatives) {
    commands.push(
      programCommand("  alt: ts-node, type-checked (typescript: true)", { typescript: true }),
      programCommand(
        "  alt: ts-node, transpile only (tsconfig noCheck)",
        { typescript: true },
        { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
      ),
      programCommand("  alt: tsx (typescript: false, nodeargs: --import tsx)", {
        typescript: false,
        nodeargs: "--import tsx",
      }),
      programCommand("  alt: tsx CJS (typescript: false, nodeargs: --require tsx/cjs)", {
        typescript: false,
        nodeargs: "--require tsx/cjs",
      }),
    );
  }
  return commands;
}

const startupSection: Section = {
  title: "Startup: whole processes, cold",
  async run(options) {
    const commands = startupCommands(options);
    const samples = commands.map((): Sample[] => []);
    for (let round = 0; round < options.repeats; round++) {
      for (const [i, command] of commands.entries()) {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-bench-out-"));
        const argv = command.argv.map((a) => (a === "<tmp>" ? out : a));
        samples[i].push(await measure({ ...command, argv }));
        fs.rmSync(out, { recursive: true, force: true });
      }
    }
    const floorWall = medianOf(samples[0], "wallMs");
    const floorCpu = medianOf(samples[0], "cpuMs");
    const rows = commands.map((command, i) => {
      const wall = medianOf(samples[i], "wallMs");
      const cpu = medianOf(samples[i], "cpuMs");
      return [
        command.label,
        ms(wall),
        ratio(wall, floorWall),
        ms(cpu),
        ratio(cpu, floorCpu),
        mib(medianOf(samples[i], "rssKb")),
      ];
    });
    return table(["case", "wall", "× floor", "cpu", "× floor", "peak rss"], rows);
  },
};

// ---------------------------------------------------------------------------------------------
// Growth with the number of arms

/** Arms named arm-001… on ports 20001…, added to the stack's own (arms merge by name). */
function syntheticArms(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `arm-${String(i + 1).padStart(3, "0")}`,
    port: 20001 + i,
  }));
}

function asPolicyInput(run: StackRun): RenderedResource[] {
  return run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));
}

/** Child mode: the render pipeline for `stack` (+ `arms` synthetic arms), figures as JSON. */
async function renderChild(stack: string, arms: number): Promise<void> {
  const started = performance.now();
  const run = await runStack(stack, {
    config: arms > 0 ? { "octollm:arms": syntheticArms(arms) } : undefined,
  });
  const objects = kubernetesObjects(run);
  toYaml(objects);
  await validateObjects(objects);
  await evaluatePolicies(asPolicyInput(run), loadPolicyConfig(stack));
  process.stdout.write(
    JSON.stringify({
      resources: run.resources.length,
      objects: objects.length,
      ms: performance.now() - started,
    }),
  );
}

const ARM_STEPS = [0, 5, 50, 200];

const armsSection: Section = {
  title: "Growth: production + N arms (cold process each; program, YAML, schemas, policies)",
  async run(options) {
    const repeats = Math.max(1, Math.min(options.repeats, 3));
    const samples = ARM_STEPS.map((): { sample: Sample; child: { ms: number } }[] => []);
    for (let round = 0; round < repeats; round++) {
      for (const [i, arms] of ARM_STEPS.entries()) {
        const sample = await measure({
          label: `production + ${arms} arms`,
          argv: [
            NODE,
            "--require",
            path.join(REPO_ROOT, "scripts", "register.cjs"),
            __filename,
            "--child",
            "production",
            String(arms),
          ],
        });
        samples[i].push({ sample, child: JSON.parse(sample.stdout) as { ms: number } });
      }
    }
    const figures = ARM_STEPS.map((arms, i) => {
      const child = JSON.parse(samples[i][0].sample.stdout) as {
        resources: number;
        objects: number;
      };
      return {
        arms,
        resources: child.resources,
        objects: child.objects,
        inProcess: median(samples[i].map((s) => s.child.ms)),
        wall: median(samples[i].map((s) => s.sample.wallMs)),
        rss: medianOf(
          samples[i].map((s) => s.sample),
          "rssKb",
        ),
      };
    });
    const rows = figures.map((f, i) => {
      const prev = figures[i - 1];
      const perArm =
        prev && f.arms > prev.arms ? (f.inProcess - prev.inProcess) / (f.arms - prev.arms) : NaN;
      const rssPerArm =
        prev && f.rss !== undefined && prev.rss !== undefined
          ? (f.rss - prev.rss) / (f.arms - prev.arms) / 1024
          : NaN;
      return [
        f.arms === 0 ? "production" : `production + ${f.arms} arms`,
        String(f.resources),
        String(f.objects),
        ms(f.inProcess),
        ms(f.wall),
        mib(f.rss),
        Number.isNaN(perArm) ? "" : `${perArm.toFixed(1)} ms`,
        Number.isNaN(rssPerArm) ? "" : `${rssPerArm.toFixed(2)} MiB`,
      ];
    });
    return table(
      [
        "case",
        "resources",
        "objects",
        "in process",
        "process wall",
        "peak rss",
        "per added arm",
        "rss per arm",
      ],
      rows,
    );
  },
};

// ---------------------------------------------------------------------------------------------
// Policy evaluation

/** Copies a stack's resources into `factor` disjoint namespace sets. */
function multiply(resources: RenderedResource[], factor: number): RenderedResource[] {
  const out: RenderedResource[] = [];
  for (let copy = 0; copy < factor; copy++) {
    const text = JSON.stringify(resources).replace(
      /"(octollm-[a-z-]*?)"/g,
      (_, ns: string) => `"${ns}-c${copy}"`,
    );
    const cloned = JSON.parse(text) as RenderedResource[];
    out.push(
      ...cloned.map((r) => ({ ...r, name: `${r.name}-c${copy}`, urn: `${r.urn}-c${copy}` })),
    );
  }
  return out;
}

const policySection: Section = {
  title: "Policy evaluation (in process, warm)",
  async run(options) {
    const production = asPolicyInput(await runStack("production"));
    const config = loadPolicyConfig("production");
    const rows: string[][] = [];
    for (const [label, resources] of [
      ["production", production],
      ["production × 10", multiply(production, 10)],
    ] as const) {
      const times: number[] = [];
      const fitTimes: number[] = [];
      let violations = 0;
      let pods = 0;
      for (let i = 0; i < options.repeats; i++) {
        const started = performance.now();
        violations = (await evaluatePolicies(resources, config)).violations.length;
        times.push(performance.now() - started);
        // The cluster-fit placement alone (baseline, peak and the node-count searches); the
        // total above includes it.
        const entry = config[CLUSTER_FIT];
        const fitStarted = performance.now();
        const fit = clusterFitOf(
          resources,
          (typeof entry === "object" ? entry : {}) as ClusterFitConfig,
        );
        fitTimes.push(performance.now() - fitStarted);
        pods = fit.groups.reduce((n, g) => n + (g.perNode ? fit.shape.nodeCount : g.peak), 0);
      }
      rows.push([
        label,
        String(resources.length),
        String(violations),
        ms(median(times)),
        String(pods),
        ms(median(fitTimes)),
      ]);
    }
    return table(
      ["stack", "resources", "violations", "time (all policies)", "pods at peak", "cluster fit"],
      rows,
    );
  },
};

export const SECTIONS: Section[] = [startupSection, armsSection, policySection];

// ---------------------------------------------------------------------------------------------

function parseOptions(argv: string[]): Options {
  const options: Options = { repeats: 5, alternatives: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--alternatives") options.alternatives = true;
    else if (argv[i] === "--repeats") options.repeats = Math.max(1, Number(argv[++i]) || 1);
    else throw new Error(`unknown option ${argv[i]} (usage: [--repeats N] [--alternatives])`);
  }
  return options;
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ");
  process.stdout.write(
    `node ${process.version}, ${os.cpus().length} CPUs, load average ${load()}; ` +
      `median of ${options.repeats} runs\n\n`,
  );
  for (const section of SECTIONS) {
    process.stdout.write(`${section.title}\n${await section.run(options)}\n\n`);
  }
  process.stdout.write(`load average at the end: ${load()}\n`);
}

if (require.main === module) {
  const childAt = process.argv.indexOf("--child");
  (childAt >= 0
    ? renderChild(process.argv[childAt + 1], Number(process.argv[childAt + 2] ?? 0))
    : main(process.argv.slice(2))
  ).catch((error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  });
}
