/**
 * `npm run bench`: speed and memory figures of the offline pipeline, printed as tables.
 *
 * - cold render per stack: a fresh process per stack (module loading included), as a user's
 *   first `npm run render -- <stack>` pays it;
 * - warm render per stack, and for production with 5, 50 and 200 arms;
 * - policy evaluation on production and on a 10× synthetic stack (production's resources
 *   copied into ten namespaces sets).
 *
 * Figures are medians of a few runs; they describe this machine, they are not pass/fail.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { evaluatePolicies, loadPolicyConfig } from "../policies/evaluate";
import type { RenderedResource } from "../policies/evaluate";
import { kubernetesObjects, toYaml } from "./manifests";
import { REPO_ROOT, listStacks, runStack } from "./offline";
import type { StackRun } from "./offline";
import { table } from "./render";
import { validateObjects } from "./validate";

const REPEATS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const ms = (n: number) => `${n.toFixed(0)} ms`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}

/** Arms named arm-001… on ports 20001…, appended to the stack's own. */
function syntheticArms(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `arm-${String(i + 1).padStart(3, "0")}`,
    port: 20001 + i,
  }));
}

function asPolicyInput(run: StackRun): RenderedResource[] {
  return run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));
}

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

/** Child mode: one cold render, printed as JSON. */
async function coldChild(stack: string): Promise<void> {
  const { value: run, ms: renderMs } = await timed(() => runStack(stack));
  const objects = kubernetesObjects(run);
  toYaml(objects);
  await validateObjects(objects);
  process.stdout.write(
    JSON.stringify({
      stack,
      ms: renderMs,
      objects: objects.length,
      rss: process.memoryUsage().rss,
    }),
  );
}

async function main(): Promise<void> {
  const stacks = listStacks();
  const tsx = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");

  const coldRows: string[][] = [];
  for (const stack of stacks) {
    const samples: { ms: number; objects: number; rss: number; wall: number }[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const start = performance.now();
      const out = execFileSync(tsx, [__filename, "--cold", stack], {
        cwd: REPO_ROOT,
        encoding: "utf8",
      });
      samples.push({
        ...(JSON.parse(out) as { ms: number; objects: number; rss: number }),
        wall: performance.now() - start,
      });
    }
    coldRows.push([
      stack,
      String(samples[0].objects),
      ms(median(samples.map((s) => s.ms))),
      ms(median(samples.map((s) => s.wall))),
      mib(median(samples.map((s) => s.rss))),
    ]);
  }
  process.stdout.write(`Cold render (fresh process per run, median of ${REPEATS})\n`);
  process.stdout.write(
    `${table(["stack", "objects", "program run", "process wall", "peak rss"], coldRows)}\n\n`,
  );

  const warmRows: string[][] = [];
  const cases: { label: string; stack: string; config?: Record<string, unknown> }[] = [
    ...stacks.map((stack) => ({ label: stack, stack })),
    ...[5, 50, 200].map((n) => ({
      label: `production + ${n} arms`,
      stack: "production",
      config: { "octollm:arms": syntheticArms(n) },
    })),
  ];
  for (const c of cases) {
    const times: number[] = [];
    let objects = 0;
    for (let i = 0; i < REPEATS; i++) {
      const { value, ms: t } = await timed(async () => {
        const run = await runStack(c.stack, { config: c.config });
        const objs = kubernetesObjects(run);
        toYaml(objs);
        return objs.length;
      });
      objects = value;
      times.push(t);
    }
    warmRows.push([
      c.label,
      String(objects),
      ms(median(times)),
      mib(process.memoryUsage().heapUsed),
    ]);
  }
  process.stdout.write(`Warm render (program run + YAML, median of ${REPEATS})\n`);
  process.stdout.write(`${table(["case", "objects", "time", "heap after"], warmRows)}\n\n`);

  const production = asPolicyInput(await runStack("production"));
  const config = loadPolicyConfig("production");
  const policyRows: string[][] = [];
  for (const [label, resources] of [
    ["production", production],
    ["production × 10", multiply(production, 10)],
  ] as const) {
    const times: number[] = [];
    let violations = 0;
    for (let i = 0; i < REPEATS; i++) {
      const { value, ms: t } = await timed(() => evaluatePolicies(resources, config));
      violations = value.violations.length;
      times.push(t);
    }
    policyRows.push([label, String(resources.length), String(violations), ms(median(times))]);
  }
  process.stdout.write(`Policy evaluation (median of ${REPEATS})\n`);
  process.stdout.write(`${table(["stack", "resources", "violations", "time"], policyRows)}\n`);
}

const coldAt = process.argv.indexOf("--cold");
(coldAt >= 0 ? coldChild(process.argv[coldAt + 1]) : main()).catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
