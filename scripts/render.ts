/**
 * Offline render: `npm run render -- <stack>|--all [--out <dir>] [--json]`
 *                 `npm run policy -- <stack>|--all [--json]` (same, without writing YAML)
 *
 * Runs the real program for each stack under Pulumi mocks (no CLI, no cluster), writes every
 * Kubernetes object it would create to `<dir>/<stack>.yaml` (secrets redacted), validates each
 * against its published schema, evaluates the policy pack on the result, and writes
 * `<dir>/<stack>.report.json` with object counts, Helm charts, schema results, policy results
 * and the capacity table.
 *
 * Options: --out <dir> (default out/), --json (reports on stdout), --root <dir> (where the
 * Pulumi.<stack>.yaml files are; default the repository).
 *
 * Exit codes: 0 clean; 1 a mandatory policy is violated or an object fails its schema;
 * 2 unknown stack or invalid configuration (one line saying why).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../components/config";
import type { PolicyReport } from "../policies/evaluate";
import { evaluatePolicies, formatCapacityTable, loadPolicyConfig } from "../policies/evaluate";
import type { HelmChartRelease } from "./manifests";
import { countByKind, helmCharts, kubernetesObjects, toYaml } from "./manifests";
import type { StackRun } from "./offline";
import { REPO_ROOT, UnknownStackError, listStacks, runStack } from "./offline";
import type { ValidationResult } from "./validate";
import { validateObjects } from "./validate";

export interface StackReport {
  stack: string;
  environment: unknown;
  durationMs: number;
  objects: { total: number; byKind: Record<string, number> };
  helmCharts: HelmChartRelease[];
  schema: ValidationResult;
  policies: PolicyReport;
  warnings: string[];
  outputs: Record<string, unknown>;
}

export interface RenderOptions {
  outDir?: string;
  writeYaml: boolean;
  /** directory holding the Pulumi.<stack>.yaml files; the repository by default */
  root?: string;
}

export class UsageError extends Error {}

/** Renders one stack: YAML + report. The YAML is returned for callers that do not write files. */
export async function renderStackReport(
  stack: string,
  options: RenderOptions,
): Promise<{ report: StackReport; yaml: string; run: StackRun }> {
  const started = performance.now();
  const run = await runStack(stack, { root: options.root });
  const objects = kubernetesObjects(run);
  const yaml = toYaml(objects);
  const schema = await validateObjects(objects);
  const policies = await evaluatePolicies(
    run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })),
    loadPolicyConfig(stack),
  );
  const report: StackReport = {
    stack,
    environment: run.outputs.environment,
    durationMs: Math.round(performance.now() - started),
    objects: { total: objects.length, byKind: countByKind(objects) },
    helmCharts: helmCharts(run),
    schema,
    policies,
    warnings: run.warnings,
    outputs: run.outputs,
  };
  if (options.outDir) {
    fs.mkdirSync(options.outDir, { recursive: true });
    if (options.writeYaml) fs.writeFileSync(path.join(options.outDir, `${stack}.yaml`), yaml);
    fs.writeFileSync(path.join(options.outDir, `${stack}.report.json`), `${reportJson(report)}\n`);
  }
  return { report, yaml, run };
}

/**
 * Reports as JSON for machines. The capacity rows' exact rationals (bigints) are internal to the
 * policy's arithmetic; the formatted cells carry the same figures.
 */
export function reportJson(value: unknown): string {
  return JSON.stringify(
    value,
    (key, v: unknown) => (key === "exact" ? undefined : typeof v === "bigint" ? v.toString() : v),
    2,
  );
}

export function mandatoryViolations(report: StackReport): PolicyReport["violations"] {
  return report.policies.violations.filter((v) => v.enforcementLevel === "mandatory");
}

/** Policy messages name their resource for `pulumi preview`; the summary names it once. */
function withoutSubject(message: string, resource: string): string {
  return message.startsWith(`${resource}: `) ? message.slice(resource.length + 2) : message;
}

/** A plain-text table: header row, a rule, then rows; columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function summary(reports: StackReport[], options: RenderOptions): string {
  const rows = reports.map((r) => [
    r.stack,
    String(r.objects.total),
    String(r.helmCharts.length),
    r.schema.errors.length === 0 ? "ok" : `${r.schema.errors.length} invalid`,
    String(mandatoryViolations(r).length),
    String(r.policies.violations.length - mandatoryViolations(r).length),
    String(r.policies.exemptions.length),
    `${r.durationMs} ms`,
  ]);
  const parts = [
    table(
      ["stack", "objects", "charts", "schema", "mandatory", "advisory", "exemptions", "time"],
      rows,
    ),
  ];
  for (const r of reports) {
    const problems = [
      ...r.schema.errors.map((e) => `  schema     ${e.object}: ${e.message}`),
      ...r.policies.violations.map(
        (v) =>
          `  ${v.enforcementLevel.padEnd(10)} [${v.policy}] ${v.resource}: ${withoutSubject(v.message, v.resource)}`,
      ),
      ...r.warnings.map((w) => `  warning    ${w}`),
    ];
    if (problems.length > 0) parts.push(`\n${r.stack}:\n${problems.join("\n")}`);
    parts.push(
      `\n${r.stack} capacity at peak (HPA maxima):\n${formatCapacityTable(r.policies.capacity)}`,
    );
  }
  if (options.outDir && options.writeYaml)
    parts.push(
      `\nwrote ${reports.map((r) => path.join(options.outDir ?? "", `${r.stack}.yaml`)).join(", ")} (+ .report.json)`,
    );
  return parts.join("\n");
}

interface Cli {
  root: string;
  stacks: string[];
  outDir: string;
  json: boolean;
  policyOnly: boolean;
}

export function parseArgs(argv: string[]): Cli {
  const cli: Cli = {
    root: REPO_ROOT,
    stacks: [],
    outDir: path.join(REPO_ROOT, "out"),
    json: false,
    policyOnly: false,
  };
  let all = false;
  const valueOf = (option: string, at: number): string => {
    const value = argv[at];
    if (!value || value.startsWith("-")) throw new UsageError(`${option} needs a directory`);
    return path.resolve(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--all") all = true;
    else if (arg === "--json") cli.json = true;
    else if (arg === "--policy-only") cli.policyOnly = true;
    else if (arg === "--out") cli.outDir = valueOf(arg, ++i);
    else if (arg === "--root") cli.root = valueOf(arg, ++i);
    else if (arg.startsWith("-"))
      throw new UsageError(
        `unknown option ${arg} (usage: <stack>|--all [--out <dir>] [--json] [--root <dir>])`,
      );
    else cli.stacks.push(arg);
  }
  if (all) cli.stacks.push(...listStacks(cli.root));
  if (cli.stacks.length === 0)
    throw new UsageError(`name a stack or --all (stacks: ${listStacks(cli.root).join(", ")})`);
  cli.stacks = [...new Set(cli.stacks)];
  const known = listStacks(cli.root);
  const unknown = cli.stacks.find((stack) => !known.includes(stack));
  if (unknown) throw new UsageError(`${unknown}: ${new UnknownStackError(unknown, known).message}`);
  return cli;
}

async function main(argv: string[]): Promise<number> {
  let cli: Cli;
  try {
    cli = parseArgs(argv);
  } catch (error) {
    process.stderr.write(`render: ${(error as Error).message}\n`);
    return 2;
  }
  const options: RenderOptions = {
    outDir: cli.policyOnly ? undefined : cli.outDir,
    writeYaml: !cli.policyOnly,
    root: cli.root,
  };
  const reports: StackReport[] = [];
  for (const stack of cli.stacks) {
    if (!cli.json) process.stderr.write(`rendering ${stack}...\n`);
    try {
      reports.push((await renderStackReport(stack, options)).report);
    } catch (error) {
      if (error instanceof UnknownStackError || error instanceof ConfigError) {
        const oneLine =
          error instanceof ConfigError
            ? `invalid configuration: ${error.problems.join("; ")}`
            : error.message;
        process.stderr.write(`render: ${stack}: ${oneLine}\n`);
        return 2;
      }
      throw error;
    }
  }
  if (cli.json) process.stdout.write(`${reportJson(reports)}\n`);
  else process.stdout.write(`${summary(reports, options)}\n`);
  const failed = reports.some(
    (r) => mandatoryViolations(r).length > 0 || r.schema.errors.length > 0,
  );
  return failed ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`render: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(3);
    },
  );
}
