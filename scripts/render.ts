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
 * Exit codes (EXIT below, `--help`, README): 0 clean; 1 a mandatory policy is violated or an
 * object fails its schema; 2 usage error, unknown stack, unreadable stack file or invalid
 * configuration, one problem per line; 3 internal error (a bug).
 */
// First, so that the validation thread boots while the rest loads (scripts/validation-thread.ts).
import { validationThread } from "./validation-thread";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parsePlatformConfig } from "../components/config";
import type { PolicyReport, QuotaKey } from "../policies/evaluate";
import { formatCount, parseQuantity, sum } from "../components/k8s/quantity";
import {
  PolicyConfigError,
  evaluatePolicies,
  formatCapacityTable,
  formatClusterFit,
  formatQuota,
  loadPolicyConfig,
  policyConfigFile,
} from "../policies/evaluate";
import { nodeFactsDrift } from "./node-facts";
import type { HelmChartRelease } from "./manifests";
import {
  countByKind,
  helmCharts,
  isKubernetesObject,
  kubernetesObjects,
  sharedClusterCollisions,
  toKubernetesObject,
  toYaml,
} from "./manifests";
import type { StackRun } from "./offline";
import {
  REPO_ROOT,
  StackFileError,
  UnknownStackError,
  listStacks,
  loadStackConfig,
  runStack,
} from "./offline";
import type { ValidationResult } from "./validate";
import { validateObjects } from "./validate";
import type { Manifests, ValidationWorker } from "./validation-worker";

export interface StackReport {
  stack: string;
  environment: unknown;
  durationMs: number;
  objects: { total: number; byKind: Record<string, number> };
  helmCharts: HelmChartRelease[];
  schema: ValidationResult;
  /** the policy configuration evaluated: the stack's own file, else its environment's */
  policyConfig: string;
  policies: PolicyReport;
  warnings: string[];
  outputs: Record<string, unknown>;
}

export interface RenderOptions {
  outDir?: string;
  writeYaml: boolean;
  /** directory holding the Pulumi.<stack>.yaml files; the repository by default */
  root?: string;
  /**
   * Validate and write YAML on this thread instead of the calling one (the CLI:
   * scripts/validation-worker.ts); same functions, same result, off the critical path.
   */
  validation?: ValidationWorker;
}

export class UsageError extends Error {}

/** Renders one stack: YAML + report. The YAML is returned for callers that do not write files. */
export async function renderStackReport(
  stack: string,
  options: RenderOptions,
): Promise<{ report: StackReport; yaml: string; run: StackRun }> {
  const started = performance.now();
  const stream = options.validation?.stream();
  const run = await runStack(stack, {
    root: options.root,
    onResource:
      stream &&
      ((resource) => {
        if (isKubernetesObject(resource)) stream.add(toKubernetesObject(resource));
      }),
  });
  const objects = kubernetesObjects(run);
  const manifests: Promise<Manifests> = stream
    ? stream.finish(objects.length)
    : validateObjects(objects).then((schema) => ({ schema, yaml: toYaml(objects) }));
  const environment = String(run.outputs.environment);
  const policyConfig = loadPolicyConfig(stack, environment);
  // The node facts live in the stack file; the pack under `pulumi preview` reads them from its
  // policy config. Any difference is a configuration error naming both files.
  const root = options.root ?? REPO_ROOT;
  const drift = nodeFactsDrift(
    shortPath(path.join(root, `Pulumi.${stack}.yaml`)),
    parsePlatformConfig(loadStackConfig(stack, root)),
    shortPath(policyConfigFile(stack, environment)),
    policyConfig,
  );
  if (drift.length > 0) throw new PolicyConfigError(drift);
  const policies = await evaluatePolicies(
    run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs })),
    policyConfig,
  );
  const { schema, yaml } = await manifests;
  const report: StackReport = {
    stack,
    environment: run.outputs.environment,
    durationMs: Math.round(performance.now() - started),
    objects: { total: objects.length, byKind: countByKind(objects) },
    helmCharts: helmCharts(run),
    schema,
    policyConfig: path
      .relative(REPO_ROOT, policyConfigFile(stack, environment))
      .split(path.sep)
      .join("/"),
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
 * Stacks rendered together that name the same kubeconfig context deploy into one cluster: each
 * pair must not create the same object, Helm release or cluster-wide operator chart
 * (docs/operations.md#two-stacks-one-cluster).
 */
export function sharedClusterProblems(runs: Map<string, StackRun>, root = REPO_ROOT): string[] {
  const byCluster = new Map<string, string[]>();
  for (const stack of runs.keys()) {
    const context = parsePlatformConfig(loadStackConfig(stack, root)).kubernetes.context;
    if (context === undefined) continue;
    byCluster.set(context, [...(byCluster.get(context) ?? []), stack]);
  }
  const problems: string[] = [];
  for (const [context, stacks] of byCluster) {
    for (let i = 0; i < stacks.length; i++) {
      for (let j = i + 1; j < stacks.length; j++) {
        const clash = sharedClusterCollisions(
          runs.get(stacks[i]) as StackRun,
          runs.get(stacks[j]) as StackRun,
        );
        if (clash.length > 0)
          problems.push(
            `stacks ${stacks[i]} and ${stacks[j]} share kubernetes context ${context} and would both create: ${clash.join("; ")} (set operators.<name>.install: false on one; docs/operations.md#two-stacks-one-cluster)`,
          );
      }
    }
  }
  return problems;
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
      `\n${r.stack} capacity at peak (HPA maxima):\n${formatCapacityTable(r.policies.capacity, r.policies.quotaWarnAbovePercent)}`,
    );
    parts.push(clusterTotalLine(r));
    parts.push(
      `\n${r.stack} cluster fit (every pod placed on the nodes, largest first):\n${formatClusterFit(r.policies.clusterFit)}`,
    );
  }
  if (options.outDir && options.writeYaml)
    parts.push(
      `\nwrote ${reports.map((r) => path.join(options.outDir ?? "", `${r.stack}.yaml`)).join(", ")} (+ .report.json)`,
    );
  return parts.join("\n");
}

/**
 * Everything the stack runs at peak, summed over its namespaces: what the cluster (a laptop, for
 * dev) must hold. Unexpanded charts' pods are not in it; their notes above say which.
 */
export function clusterTotal(report: StackReport): Record<"requests" | "limits", string> & {
  pods: string;
} {
  const total = (key: QuotaKey) =>
    sum(report.policies.capacity.map((row) => row.exact.peak[key] ?? parseQuantity(0)));
  return {
    // the capacity table's units: CPU in cores, memory in Mi
    requests: `${formatQuota("requests.cpu", total("requests.cpu"))} CPU, ${formatQuota("requests.memory", total("requests.memory"))} memory`,
    limits: `${formatQuota("limits.cpu", total("limits.cpu"))} CPU, ${formatQuota("limits.memory", total("limits.memory"))} memory`,
    pods: formatCount(total("pods")),
  };
}

function clusterTotalLine(report: StackReport): string {
  const t = clusterTotal(report);
  return `${report.stack} cluster total at peak: requests ${t.requests}; limits ${t.limits}; ${t.pods} pods`;
}

interface Cli {
  root: string;
  stacks: string[];
  outDir: string;
  json: boolean;
  policyOnly: boolean;
  help: boolean;
}

/** Exit codes of `render` and `policy`; the README's table says the same. */
export const EXIT = {
  /** every object valid, no mandatory policy violated */
  ok: 0,
  /** a mandatory policy is violated or an object fails its schema */
  violations: 1,
  /** usage error, unknown stack, unreadable stack file, invalid stack or policy configuration */
  config: 2,
  /** an internal error: a bug in the program or the render, never a configuration value */
  internal: 3,
} as const;

export function usage(policyOnly: boolean): string {
  const command = policyOnly ? "npm run policy --" : "npm run render --";
  const what = policyOnly
    ? "Evaluates the policy pack and the capacity report for each stack, without writing YAML."
    : "Renders each stack offline (no cluster, no Pulumi CLI): every Kubernetes object as YAML,\nchecked against its schema and the policy pack, with a capacity report.";
  return `usage: ${command} <stack>... | --all [options]

${what}

  <stack>        a stack with a Pulumi.<stack>.yaml file; --all renders every one
  --json         print the reports as JSON on stdout instead of the summary${policyOnly ? "" : "\n  --out <dir>    where <stack>.yaml and <stack>.report.json go (default: out/)"}
  --root <dir>   where the Pulumi.<stack>.yaml files are (default: the repository)
  -h, --help     this text

exit codes:
  0  clean: every object valid, no mandatory policy violated
  1  a mandatory policy is violated or an object fails its schema
  2  usage error, unknown stack, unreadable Pulumi.<stack>.yaml (file:line:column), or an
     invalid stack or policy configuration (one problem per line)
  3  internal error (a bug: please report it with the stack trace)
`;
}

export function parseArgs(argv: string[]): Cli {
  const cli: Cli = {
    root: REPO_ROOT,
    stacks: [],
    outDir: path.join(REPO_ROOT, "out"),
    json: false,
    policyOnly: argv.includes("--policy-only"),
    help: false,
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
    else if (arg === "--help" || arg === "-h") cli.help = true;
    else if (arg === "--out") cli.outDir = valueOf(arg, ++i);
    else if (arg === "--root") cli.root = valueOf(arg, ++i);
    else if (arg.startsWith("-"))
      throw new UsageError(`unknown option ${arg} (--help lists the options)`);
    else cli.stacks.push(arg);
  }
  if (cli.help) return cli;
  if (all) cli.stacks.push(...listStacks(cli.root));
  if (cli.stacks.length === 0)
    throw new UsageError(`name a stack or --all (stacks: ${listStacks(cli.root).join(", ")})`);
  cli.stacks = [...new Set(cli.stacks)];
  const known = listStacks(cli.root);
  const unknown = cli.stacks.find((stack) => !known.includes(stack));
  if (unknown) throw new UsageError(`${unknown}: ${new UnknownStackError(unknown, known).message}`);
  return cli;
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROCESS_IO: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** One problem per line; a value can never break a line (it is JSON-quoted, but keys are not). */
function oneLine(text: string): string {
  return text.replace(/\r?\n/g, "\\n");
}

/** Why a stack cannot be rendered, for a person, when it is their input's fault; else undefined. */
export function inputProblem(stack: string, error: unknown): string | undefined {
  if (error instanceof ConfigError)
    return `render: ${stack}: invalid configuration:\n${error.problems.map((p) => `  - ${oneLine(p)}`).join("\n")}`;
  if (error instanceof PolicyConfigError)
    return `render: ${stack}: invalid policy configuration:\n${error.problems.map((p) => `  - ${oneLine(p)}`).join("\n")}`;
  if (error instanceof StackFileError || error instanceof UnknownStackError)
    return `render: ${stack}: ${oneLine(error.message)}`;
  return undefined;
}

/**
 * The CLI, callable in-process (the property-based test runs it hundreds of times): returns the
 * exit code; what it prints goes to `io`.
 */
export async function runCli(
  argv: string[],
  io: Io = PROCESS_IO,
  startValidation?: () => ValidationWorker | undefined,
): Promise<number> {
  let cli: Cli;
  try {
    cli = parseArgs(argv);
  } catch (error) {
    const problem = error instanceof UsageError ? undefined : inputProblem("render", error);
    io.stderr(`render: ${problem ?? (error as Error).message}\n`);
    return EXIT.config;
  }
  if (cli.help) {
    io.stdout(usage(cli.policyOnly));
    return EXIT.ok;
  }
  const options: RenderOptions = {
    outDir: cli.policyOnly ? undefined : cli.outDir,
    writeYaml: !cli.policyOnly,
    root: cli.root,
    validation: startValidation?.(),
  };
  const reports: StackReport[] = [];
  const runs = new Map<string, StackRun>();
  for (const stack of cli.stacks) {
    if (!cli.json) io.stderr(`rendering ${stack}...\n`);
    try {
      const rendered = await renderStackReport(stack, options);
      reports.push(rendered.report);
      runs.set(stack, rendered.run);
    } catch (error) {
      const problem = inputProblem(stack, error);
      if (problem === undefined) throw error;
      io.stderr(`${problem}\n`);
      return EXIT.config;
    }
  }
  if (cli.json) io.stdout(`${reportJson(reports)}\n`);
  else io.stdout(`${summary(reports, options)}\n`);
  const shared = sharedClusterProblems(runs, cli.root);
  for (const problem of shared) io.stderr(`${problem}\n`);
  const failed = reports.some(
    (r) => mandatoryViolations(r).length > 0 || r.schema.errors.length > 0,
  );
  return failed || shared.length > 0 ? EXIT.violations : EXIT.ok;
}

/**
 * Exits once stdout and stderr have flushed: a report of every stack is larger than a pipe's
 * buffer, and `process.exit` right after the write cut `--json` output short (seen with 4 stacks).
 */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

if (require.main === module) {
  runCli(process.argv.slice(2), PROCESS_IO, () => validationThread).then(
    (code) => exitAfterFlush(code),
    (error: unknown) => {
      process.stderr.write(
        `render: internal error (a bug, not your configuration; please report it):\n${(error as Error).stack ?? String(error)}\n`,
      );
      exitAfterFlush(EXIT.internal);
    },
  );
}

/** A path relative to the working directory when it is inside it, else absolute. */
function shortPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith("..") || path.isAbsolute(rel) ? file : rel;
}
