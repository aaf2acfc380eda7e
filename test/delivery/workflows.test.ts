/**
 * The GitHub workflows cannot run here; this keeps them honest. Every workflow is parsed and
 * checked: `run:` steps call npm scripts or repository scripts that exist, every `uses:` is
 * pinned to a commit SHA with a version comment, stack matrices are derived from the
 * Pulumi.<stack>.yaml files that say CI has a cluster for them (`octollm:ci.preview`), permissions are set per job (least privilege), secrets reach steps only through
 * `env:`, deploys have one concurrency group per stack, and the Pulumi steps carry the policy
 * pack and the stack's policy config.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parsePlatformConfig } from "../../components/config";
import { policyConfigFile } from "../../policies/evaluate";
import { ciStacks } from "../../scripts/ci-stacks";
import { loadStackConfig } from "../../scripts/offline";

const ROOT = path.resolve(__dirname, "../..");
const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
};
const STACKS = fs
  .readdirSync(ROOT)
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => s !== undefined)
  .sort();
/** The stacks CI previews and drift-checks: the stack files' own say (octollm:ci.preview). */
const CI_STACKS = STACKS.filter((s) => parsePlatformConfig(loadStackConfig(s)).ci.preview);

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; "cancel-in-progress"?: boolean } | string;
  strategy?: { matrix?: Record<string, unknown> };
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  jobs: Record<string, Job>;
}

interface WorkflowFile {
  file: string;
  text: string;
  doc: Workflow;
}

const WORKFLOWS: WorkflowFile[] = fs
  .readdirSync(WORKFLOW_DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .map((file) => {
    const text = fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
    return { file, text, doc: parseYaml(text) as Workflow };
  });

function workflow(file: string): Workflow {
  const found = WORKFLOWS.find((w) => w.file === file);
  if (!found) throw new Error(`.github/workflows/${file} is missing`);
  return found.doc;
}

const PULUMI_ACTION = /^pulumi\/actions@/;
const pulumiSteps = (job: Job) => job.steps.filter((s) => PULUMI_ACTION.test(s.uses ?? ""));

// ---------------------------------------------------------------------------------------------
// Checkers (exported to themselves below: each is also shown to reject a bad example)
// ---------------------------------------------------------------------------------------------

/** `owner/repo[/path]@<40 hex> # vX...` on the raw line: the SHA pins, the comment tells humans. */
function usesProblem(line: string): string | undefined {
  const m = /uses:\s*(\S+)(.*)$/.exec(line);
  if (!m) return undefined;
  const [, ref, rest] = m;
  if (ref.startsWith("./")) return undefined; // local action, versioned with the repo
  if (!/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/.test(ref)) {
    return `${ref} is not pinned to a full commit SHA`;
  }
  if (!/#\s*v\d+(\.\d+){0,2}\b/.test(rest)) return `${ref} has no "# vX.Y.Z" version comment`;
  return undefined;
}

/** Shell words of each command in a `run:` script (comments, blank lines and `\` joins handled). */
function commands(script: string): string[][] {
  return script
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter(Boolean)
    .flatMap((l) => l.split(/\s*(?:&&|\|\||;)\s*/))
    .filter(Boolean)
    .map((c) => c.split(/\s+/));
}

/** Why a command would not work in a fresh clone on ubuntu-latest, or undefined. */
function commandProblem(words: string[]): string | undefined {
  const [cmd, ...args] = words;
  if (cmd === "npm") {
    if (args[0] === "ci") return undefined;
    if (args[0] === "test" || args[0] === "start") {
      return PKG.scripts[args[0]] ? undefined : `npm ${args[0]}: no such script in package.json`;
    }
    if (args[0] === "run") {
      return PKG.scripts[args[1]]
        ? undefined
        : `npm run ${args[1]}: no such script in package.json`;
    }
    return `npm ${args[0]}: not a script invocation`;
  }
  if (/^(\.\/)?(\.github\/scripts|scripts)\//.test(cmd)) {
    const file = path.join(ROOT, cmd);
    if (!fs.existsSync(file)) return `${cmd}: no such file`;
    if ((fs.statSync(file).mode & 0o111) === 0) return `${cmd}: not executable`;
    return undefined;
  }
  return `${cmd}: not an npm script or a repository script`;
}

/** Expressions in a `run:` string are template injection; secrets there end up in the script. */
function runProblem(script: string): string | undefined {
  if (/\$\{\{\s*secrets\./.test(script)) return "a secret is interpolated into a run script";
  if (/\$\{\{/.test(script)) return "an expression is interpolated into a run script; use env:";
  return undefined;
}

function permissionsProblem(job: Job): string | undefined {
  const p = job.permissions;
  if (p === undefined) return "no permissions: block (it would inherit the default token scope)";
  if (typeof p === "string") return `permissions: ${p} is not least privilege`;
  const writes = Object.entries(p).filter(([, v]) => v === "write");
  for (const [scope] of writes) {
    const pulumi = pulumiSteps(job);
    const needed =
      (scope === "pull-requests" && pulumi.some((s) => s.with?.["comment-on-pr"] === true)) ||
      (scope === "issues" && job.steps.some((s) => /report-drift\.sh/.test(s.run ?? ""))) ||
      (scope === "id-token" && job.steps.some((s) => /id-token|oidc/i.test(JSON.stringify(s))));
    if (!needed) return `${scope}: write is not used by any step`;
  }
  return undefined;
}

/** The job whose `outputs.matrix` a `${{ fromJSON(needs.<job>.outputs.matrix) }}` matrix reads. */
function matrixSource(job: Job): string | undefined {
  const matrix = job.strategy?.matrix as unknown;
  if (typeof matrix !== "string") return undefined;
  return /^\$\{\{\s*fromJSON\(needs\.([\w-]+)\.outputs\.matrix\)\s*\}\}$/.exec(matrix)?.[1];
}

/**
 * The stacks of a job's matrix: a literal list, or the `npm run ci-stacks` output of the job it
 * reads, whose result is computed here by the same function.
 */
function matrixStacks(job: Job, doc?: Workflow): string[] | undefined {
  const source = matrixSource(job);
  if (source !== undefined) {
    const producer = doc?.jobs[source];
    const runsCiStacks = producer?.steps.some(
      (s) => s.id === "list" && s.run?.trim() === "npm run ci-stacks",
    );
    const wired =
      (producer as { outputs?: Record<string, string> } | undefined)?.outputs?.matrix ===
      "${{ steps.list.outputs.matrix }}";
    if (!runsCiStacks || !wired || ![job.needs].flat().includes(source)) return undefined;
    return ciStacks()
      .map((s) => s.stack)
      .sort();
  }
  const stacks = job.strategy?.matrix?.stack;
  return Array.isArray(stacks) ? (stacks as string[]).slice().sort() : undefined;
}

/** The stack a Pulumi step deploys: the matrix's, or the literal in stack-name. */
function stacksOf(job: Job, step: Step, doc?: Workflow): string[] {
  const raw = step.with?.["stack-name"];
  const name = typeof raw === "string" ? raw : "";
  if (name.includes("matrix.stack")) return matrixStacks(job, doc) ?? [];
  const literal = STACKS.filter((s) => new RegExp(`(^|['/])${s}('|$)`).test(name));
  return literal;
}

// ---------------------------------------------------------------------------------------------

describe("workflow checkers reject what they should", () => {
  it("unpinned or uncommented uses", () => {
    expect(usesProblem("- uses: actions/checkout@v4")).toMatch(/not pinned/);
    expect(usesProblem(`- uses: actions/checkout@${"a".repeat(40)}`)).toMatch(/version comment/);
    expect(usesProblem(`- uses: actions/checkout@${"a".repeat(40)} # v4.2.2`)).toBeUndefined();
  });
  it("run steps that do not exist", () => {
    expect(commandProblem(["npm", "run", "no-such-script"])).toMatch(/no such script/);
    expect(commandProblem(["npm", "install", "left-pad"])).toMatch(/not a script/);
    expect(commandProblem([".github/scripts/nope.sh"])).toMatch(/no such file/);
    expect(commandProblem(["curl", "https://example.com"])).toMatch(/not an npm script/);
    expect(commandProblem(["npm", "run", "render", "--", "--all"])).toBeUndefined();
  });
  it("secrets and expressions in run scripts", () => {
    expect(runProblem("echo ${{ secrets.KUBECONFIG }} > k")).toMatch(/secret/);
    expect(runProblem("deploy ${{ github.event.pull_request.title }}")).toMatch(/env:/);
    expect(runProblem('deploy "$STACK"')).toBeUndefined();
  });
  it("missing or broad permissions", () => {
    expect(permissionsProblem({ steps: [] })).toMatch(/no permissions/);
    expect(permissionsProblem({ permissions: "write-all", steps: [] })).toMatch(/least/);
    expect(
      permissionsProblem({
        permissions: { contents: "read", "pull-requests": "write" },
        steps: [],
      }),
    ).toMatch(/not used/);
  });
  it("command splitting", () => {
    expect(commands("npm ci && npm test\n# note\nnpm run render -- --all")).toEqual([
      ["npm", "ci"],
      ["npm", "test"],
      ["npm", "run", "render", "--", "--all"],
    ]);
  });
});

describe("workflows", () => {
  it("exist: pull-request, deploy, drift", () => {
    expect(WORKFLOWS.map((w) => w.file)).toEqual(
      expect.arrayContaining(["pull-request.yml", "deploy.yml", "drift.yml"]),
    );
  });

  for (const { file, text, doc } of WORKFLOWS) {
    describe(file, () => {
      it("pins every action to a commit SHA with a version comment", () => {
        const lines = text.split("\n").filter((l) => /^\s*-?\s*uses:/.test(l));
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) expect(usesProblem(line), line.trim()).toBeUndefined();
      });

      it("runs only npm scripts and repository scripts that exist", () => {
        for (const [id, job] of Object.entries(doc.jobs)) {
          for (const step of job.steps.filter((s) => s.run !== undefined)) {
            for (const words of commands(step.run ?? "")) {
              expect(commandProblem(words), `${id}: ${words.join(" ")}`).toBeUndefined();
            }
          }
        }
      });

      it("passes secrets and expressions to scripts only through env:", () => {
        for (const [id, job] of Object.entries(doc.jobs)) {
          for (const step of job.steps.filter((s) => s.run !== undefined)) {
            expect(runProblem(step.run ?? ""), `${id}: ${step.run}`).toBeUndefined();
          }
        }
      });

      it("grants no workflow-wide permissions and least privilege per job", () => {
        expect(doc.permissions).toEqual({});
        for (const [id, job] of Object.entries(doc.jobs)) {
          expect(permissionsProblem(job), id).toBeUndefined();
        }
      });

      it("names every secret it uses in its header comment", () => {
        const header = text.slice(0, text.indexOf("\nname:"));
        const used = new Set([...text.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]));
        used.delete("GITHUB_TOKEN");
        for (const secret of used) expect(header, `${file}: ${secret}`).toContain(secret);
      });

      it("checks out without persisting the token", () => {
        for (const job of Object.values(doc.jobs)) {
          for (const step of job.steps.filter((s) => /^actions\/checkout@/.test(s.uses ?? ""))) {
            expect(step.with?.["persist-credentials"]).toBe(false);
          }
        }
      });

      it("installs dependencies, writes the kubeconfig and pins the CLI before Pulumi runs", () => {
        for (const [id, job] of Object.entries(doc.jobs)) {
          for (const step of pulumiSteps(job)) {
            const before = job.steps.slice(0, job.steps.indexOf(step));
            expect(
              before.some((s) => s.run?.trim() === "npm ci"),
              `${id}: npm ci`,
            ).toBe(true);
            const kube = before.find((s) => /write-kubeconfig\.sh/.test(s.run ?? ""));
            expect(kube, `${id}: kubeconfig step`).toBeDefined();
            expect(kube?.env?.KUBECONFIG_CONTENT).toBe("${{ secrets.KUBECONFIG }}");
            expect(step.env?.PULUMI_ACCESS_TOKEN).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
            // The CLI the program's SDK was released with.
            expect(String(step.with?.["pulumi-version"])).toBe(PKG.dependencies["@pulumi/pulumi"]);
            expect(step.with?.["work-dir"]).toBeDefined();
            for (const stack of stacksOf(job, step, doc)) {
              expect(fs.existsSync(path.join(ROOT, `Pulumi.${stack}.yaml`))).toBe(true);
            }
            expect(stacksOf(job, step, doc).length, `${id}: stack-name`).toBeGreaterThan(0);
          }
        }
      });
    });
  }

  it("every stack matrix is the stacks whose file says CI has a cluster for them", () => {
    const matrices = WORKFLOWS.flatMap(({ file, doc }) =>
      Object.entries(doc.jobs)
        .filter(([, job]) => job.strategy?.matrix !== undefined)
        .map(([id, job]) => ({ where: `${file}#${id}`, stacks: matrixStacks(job, doc) })),
    );
    expect(matrices.map((m) => m.where)).toEqual(
      expect.arrayContaining(["pull-request.yml#preview", "drift.yml#drift"]),
    );
    // staging and production have a cluster for CI; dev is a laptop cluster
    expect(CI_STACKS).toEqual(["production", "staging"]);
    for (const m of matrices) expect(m.stacks, m.where).toEqual(CI_STACKS);
  });

  it("the matrix follows the stack files: a new stack joins CI by its marker, with its environment's policy config", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-ci-stacks-"));
    const write = (stack: string, lines: string[]) =>
      fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), `config:\n${lines.join("\n")}\n`);
    write("qa", ["  octollm:environment: staging", "  octollm:ci:", "    preview: true"]);
    write("dev-alice", ["  octollm:environment: dev"]);
    write("production", [
      "  octollm:environment: production",
      "  octollm:ci:",
      "    preview: true",
    ]);
    expect(ciStacks(root)).toEqual([
      { stack: "production", policyConfig: "policies/config/production.json" },
      { stack: "qa", policyConfig: "policies/config/staging.json" },
    ]);
    // a checker that ignored the marker or the source job would not see this
    expect(matrixStacks({ strategy: { matrix: { stack: ["dev"] } }, steps: [] })).toEqual(["dev"]);
    expect(
      matrixStacks(
        { strategy: { matrix: "${{ fromJSON(needs.other.outputs.matrix) }}" } as never, steps: [] },
        { name: "x", on: {}, jobs: {} },
      ),
    ).toBeUndefined();
  });

  it("pull requests: test, render with artifact, preview per stack with policies and a comment", () => {
    const wf = workflow("pull-request.yml");
    expect(Object.keys(wf.on)).toEqual(["pull_request"]);
    const runs = Object.values(wf.jobs).flatMap((j) => j.steps.map((s) => s.run?.trim()));
    expect(runs).toContain("npm test");
    const render = Object.values(wf.jobs).find((j) =>
      j.steps.some((s) => s.run?.trim() === "npm run render -- --all"),
    );
    expect(render, "a job runs npm run render -- --all").toBeDefined();
    const upload = render?.steps.find((s) => /^actions\/upload-artifact@/.test(s.uses ?? ""));
    expect(upload?.with?.path).toBe("out/");
    expect(upload?.if).toBe("always()");

    const preview = wf.jobs.preview;
    const [step] = pulumiSteps(preview);
    expect(step.with).toMatchObject({
      command: "preview",
      "comment-on-pr": true,
      "github-token": "${{ secrets.GITHUB_TOKEN }}",
      policyPacks: "policies",
      policyPackConfigs: "${{ matrix.policyConfig }}",
    });
    expect(preview.permissions).toEqual({ contents: "read", "pull-requests": "write" });
    expect(preview.environment).toBe("${{ matrix.stack }}-preview");
    expect(String(preview.if)).toContain("head.repo.full_name == github.repository");
  });

  it("policy configs exist for every stack (its own file or its environment's)", () => {
    for (const stack of STACKS) {
      const { environment } = parsePlatformConfig(loadStackConfig(stack));
      const file = policyConfigFile(stack, environment);
      expect(fs.existsSync(file), file).toBe(true);
    }
    for (const { policyConfig } of ciStacks())
      expect(fs.existsSync(path.join(ROOT, policyConfig)), policyConfig).toBe(true);
    expect(fs.existsSync(path.join(ROOT, "policies", "PulumiPolicy.yaml"))).toBe(true);
  });

  it("deploy: staging, then production behind its environment; one concurrency group per stack", () => {
    const wf = workflow("deploy.yml");
    expect(wf.on.push).toEqual(expect.objectContaining({ branches: ["main"] }));
    const ups = Object.entries(wf.jobs).flatMap(([id, job]) =>
      pulumiSteps(job).map((step) => ({ id, job, step, stacks: stacksOf(job, step, wf) })),
    );
    expect(ups.map((u) => u.stacks).flat()).toEqual(["staging", "production"]);
    const groups = new Set<string>();
    for (const { id, job, step, stacks } of ups) {
      const [stack] = stacks;
      expect(step.with).toMatchObject({
        command: "up",
        policyPacks: "policies",
        policyPackConfigs: `policies/config/${stack}.json`,
      });
      const concurrency = job.concurrency as { group: string; "cancel-in-progress": boolean };
      expect(concurrency.group, id).toContain(stack);
      expect(concurrency["cancel-in-progress"], id).toBe(false);
      groups.add(concurrency.group);
      expect(job.environment, id).toBe(stack);
      expect(job.permissions, id).toEqual({ contents: "read" });
    }
    expect(groups.size).toBe(ups.length);
    const production = ups.find((u) => u.stacks[0] === "production");
    const staging = ups.find((u) => u.stacks[0] === "staging");
    expect([production?.job.needs].flat()).toContain(staging?.id);
    // nothing deploys before the tests and the offline render (policies) pass
    expect([staging?.job.needs].flat().length).toBeGreaterThan(0);
  });

  it("drift: scheduled refresh + preview --expect-no-changes per stack", () => {
    const wf = workflow("drift.yml");
    expect(wf.on.schedule).toBeDefined();
    const job = wf.jobs.drift;
    const [step] = pulumiSteps(job);
    expect(step.with).toMatchObject({
      command: "preview",
      refresh: true,
      "expect-no-changes": true,
    });
    const concurrency = job.concurrency as { group: string };
    expect(concurrency.group).toContain("${{ matrix.stack }}");
    // drift never shares a group with deploys: a pending drift check must not cancel a deploy
    const deployGroups = Object.values(workflow("deploy.yml").jobs).map(
      (j) => (j.concurrency as { group?: string } | undefined)?.group,
    );
    for (const stack of STACKS) {
      expect(deployGroups).not.toContain(concurrency.group.replace("${{ matrix.stack }}", stack));
    }
    // the drift job never holds deploy credentials (production's environment needs approval)
    expect(job.environment).toBe("${{ matrix.stack }}-preview");
  });
});
