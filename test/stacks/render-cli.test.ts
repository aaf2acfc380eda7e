import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import { REPO_ROOT, listStacks } from "../../scripts/offline";
import { renderStackReport, reportJson } from "../../scripts/render";

/** `npm run render -- <args>`, the command users type (and its loader, esbuild-register). */
function render(args: string[]) {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["run", "--silent", "render", "--", ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr.replace(/^npm warn.*\n?/gm, ""),
  };
}

describe("npm run render", () => {
  it("renders every stack to YAML and a report, with a summary table", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-render-"));
    const { code, stdout, stderr } = render(["--all", "--out", out]);
    expect(stderr).toBe(
      listStacks()
        .map((s) => `rendering ${s}...\n`)
        .join(""),
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^stack\s+objects\s+charts\s+schema\s+mandatory\s+advisory\s+exemptions\s+time$/m,
    );
    for (const stack of listStacks()) {
      const yamlText = fs.readFileSync(path.join(out, `${stack}.yaml`), "utf8");
      const docs = parseAllDocuments(yamlText).map((d) => d.toJS() as { kind: string });
      const report = JSON.parse(fs.readFileSync(path.join(out, `${stack}.report.json`), "utf8"));
      expect(report.objects.total).toBe(docs.length);
      expect(report.schema.errors).toEqual([]);
      expect(
        report.policies.violations.filter(
          (v: { enforcementLevel: string }) => v.enforcementLevel === "mandatory",
        ),
      ).toEqual([]);
      expect(report.policies.capacity.length).toBeGreaterThanOrEqual(3);
      const kinds = new Set(docs.map((d) => d.kind));
      for (const kind of [
        "Namespace",
        "ResourceQuota",
        "LimitRange",
        "NetworkPolicy",
        "StorageClass",
        "Secret",
      ])
        expect(kinds).toContain(kind);
      expect(yamlText).not.toMatch(/mock-octollm[a-z0-9-]*-x{8}/);
      expect(yamlText).not.toContain("BEGIN PRIVATE KEY");
    }
  });

  it("writes byte for byte what the render produces in process, for every stack (threads, loader and lookups change nothing)", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-render-"));
    expect(render(["--all", "--out", out]).code).toBe(0);
    // durationMs is the one field that differs from run to run.
    const withoutDuration = (text: string) => text.replace(/"durationMs": \d+/, '"durationMs": 0');
    for (const stack of listStacks()) {
      const { report, yaml } = await renderStackReport(stack, { writeYaml: false });
      expect(fs.readFileSync(path.join(out, `${stack}.yaml`), "utf8"), stack).toBe(yaml);
      expect(
        withoutDuration(fs.readFileSync(path.join(out, `${stack}.report.json`), "utf8")),
        stack,
      ).toBe(withoutDuration(`${reportJson(report)}\n`));
    }
  }, 120_000);

  it("preloads only runtime dependencies the render loads anyway (scripts/render-preload.cjs)", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-render-"));
    const result = spawnSync(
      process.execPath,
      [
        ...["--require", "./scripts/register.cjs"],
        ...["--require", "./test/fixtures/render-packages.cjs"],
        ...["scripts/render.ts", "production", "--out", out],
      ],
      { cwd: REPO_ROOT, encoding: "utf8" },
    );
    expect(result.status).toBe(0);
    const loaded = JSON.parse(result.stderr.trim().split("\n").pop() ?? "[]") as string[];
    const { dependencies } = JSON.parse(
      fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8"),
    ) as { dependencies: Record<string, string> };
    const preloaded = Object.keys(dependencies).filter((name) => name !== "esbuild");
    expect(preloaded).toContain("@pulumi/pulumi");
    expect(loaded).toContain("zod");
    expect(preloaded.filter((name) => !loaded.includes(name))).toEqual([]);
  }, 60_000);

  it("exits 2 with a one-line reason for an unknown stack", () => {
    const { code, stderr } = render(["qa"]);
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      `render: qa: unknown stack "qa": no Pulumi.qa.yaml (stacks: ${listStacks().join(", ")})`,
    );
  });

  it("exits 2 with one problem per line, each naming the key, for an invalid config", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-stacks-"));
    fs.writeFileSync(
      path.join(root, "Pulumi.broken.yaml"),
      [
        "config:",
        "  octollm:environment: production",
        "  octollm:orchestrator:",
        "    replicas: 0",
        "    resources:",
        "      limits:",
        "        cpu: 2Gi",
        "        memory: '2'",
        "",
      ].join("\n"),
    );
    const { code, stdout, stderr } = render(["broken", "--root", root]);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toEqual([
      "rendering broken...",
      "render: broken: invalid configuration:",
      "  - octollm:orchestrator.replicas: got 0; must be ≥ 1",
      '  - octollm:orchestrator.resources.limits.cpu: got "2Gi"; must be a CPU quantity in cores or millicores, e.g. 500m, 0.5, 2',
      '  - octollm:orchestrator.resources.limits.memory: got "2"; must be a memory quantity with a unit, e.g. 512Mi, 1.5Gi, 2G (a bare number is bytes)',
    ]);
  });

  it("exits 2 with file, line and column, and no stack trace, for a malformed stack file", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-stacks-"));
    const file = path.join(root, "Pulumi.broken.yaml");
    fs.writeFileSync(file, "config:\n  octollm:environment: dev\n   octollm:arms: [\n");
    const { code, stderr } = render(["broken", "--root", root]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toEqual([
      "rendering broken...",
      `render: broken: ${file}:2:24: invalid YAML: Nested mappings are not allowed in compact mappings`,
    ]);
    expect(stderr).not.toMatch(/\s+at \S+ \(|node:internal|YAMLParseError/);
  });

  it("exits 2 on usage errors", () => {
    expect(render([]).code).toBe(2);
    expect(render(["--bogus"]).stderr).toMatch(/unknown option --bogus/);
  });

  it("`render --help` and `policy --help` print usage with every exit code, and exit 0", () => {
    for (const [args, command] of [
      [["--help"], "npm run render --"],
      [["--policy-only", "-h"], "npm run policy --"],
    ] as const) {
      const { code, stdout, stderr } = render([...args]);
      expect(code, args.join(" ")).toBe(0);
      expect(stderr).toBe("");
      expect(stdout).toMatch(new RegExp(`^usage: ${command.replace(/[-]/g, "\\-")} <stack>`));
      for (const exit of [0, 1, 2, 3]) expect(stdout).toMatch(new RegExp(`^  ${exit}  \\S`, "m"));
    }
    // the README documents the same exit codes
    const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
    for (const exit of [0, 1, 2, 3])
      expect(readme).toMatch(new RegExp(`^\\| \`${exit}\` +\\|`, "m"));
  });
});

describe("npm run policy", () => {
  it("evaluates the policies of every stack without writing YAML, and speaks JSON on request", () => {
    const { code, stdout } = render(["--all", "--policy-only", "--json"]);
    expect(code).toBe(0);
    const reports = JSON.parse(stdout) as { stack: string; policies: { violations: unknown[] } }[];
    expect(reports.map((r) => r.stack)).toEqual(listStacks());
  });
});
