/**
 * One supported Node.js everywhere: `.nvmrc` pins it, `engines` requires its major, every
 * workflow's setup-node reads `.nvmrc`, and `.ci/run` provisions it (scripts/provision-node.sh)
 * when the machine's Node is older. The script's decisions are tested with stub `node` binaries,
 * so no download happens here.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const ROOT = path.resolve(__dirname, "../..");
const PINNED = fs.readFileSync(path.join(ROOT, ".nvmrc"), "utf8").trim();
const PINNED_MAJOR = Number(PINNED.split(".")[0]);
const SCRIPT = path.join(ROOT, "scripts", "provision-node.sh");

/** A directory holding an executable `node` that reports `version` (and `major` for -p). */
function stubNode(dir: string, version: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const major = version.replace(/^v/, "").split(".")[0];
  fs.writeFileSync(
    path.join(dir, "node"),
    `#!/bin/sh\nif [ "$1" = "--version" ]; then echo ${version}; else echo ${major}; fi\n`,
    { mode: 0o755 },
  );
  return dir;
}

function provision(pathDirs: string[], nodeDir: string): { stdout: string } {
  const env = {
    ...process.env,
    PATH: [...pathDirs, "/usr/bin", "/bin"].join(":"),
    OCTOLLM_NODE_DIR: nodeDir,
  };
  const result = execFileSync("bash", [SCRIPT], { env, encoding: "utf8", stdio: "pipe" });
  return { stdout: result.trim() };
}

describe("Node.js runtime", () => {
  it(".nvmrc pins an exact LTS version that engines requires", () => {
    expect(PINNED).toMatch(/^\d+\.\d+\.\d+$/);
    expect(PINNED_MAJOR).toBeGreaterThanOrEqual(22);
    expect(PINNED_MAJOR % 2, "an even major is an LTS line").toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    expect(pkg.engines.node).toMatch(new RegExp(`^>=${PINNED_MAJOR}\\.`));
  });

  it("every workflow's setup-node reads .nvmrc (no hard-coded, older version)", () => {
    const dir = path.join(ROOT, ".github", "workflows");
    let setups = 0;
    for (const file of fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f))) {
      const doc = parseYaml(fs.readFileSync(path.join(dir, file), "utf8")) as {
        jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
      };
      for (const [job, { steps = [] }] of Object.entries(doc.jobs)) {
        for (const step of steps.filter((s) => s.uses?.startsWith("actions/setup-node@"))) {
          setups++;
          expect(step.with?.["node-version-file"], `${file} ${job}`).toBe(".nvmrc");
          expect(step.with?.["node-version"], `${file} ${job}`).toBeUndefined();
        }
      }
    }
    expect(setups).toBeGreaterThan(0);
  });

  it(".ci/run provisions the pinned Node before the README's test command", () => {
    const ci = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
    const provisionAt = ci.indexOf("scripts/provision-node.sh");
    expect(provisionAt).toBeGreaterThan(0);
    expect(ci.indexOf("npm ci")).toBeGreaterThan(provisionAt);
    expect(ci.indexOf("npm test")).toBeGreaterThan(provisionAt);
    expect(fs.readFileSync(path.join(ROOT, "README.md"), "utf8")).toContain(
      "bash scripts/provision-node.sh",
    );
  });

  it("the tests themselves run on the pinned major", () => {
    expect(Number(process.versions.node.split(".")[0])).toBeGreaterThanOrEqual(PINNED_MAJOR);
  });

  describe("scripts/provision-node.sh", () => {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "provision-node-"));

    it("does nothing when the system Node already has the pinned major", () => {
      const system = stubNode(path.join(scratch, "new-system"), `v${PINNED_MAJOR}.0.0`);
      expect(provision([system], path.join(scratch, "unused")).stdout).toBe("");
    });

    it("uses an already provisioned build when the system Node is older", () => {
      const system = stubNode(path.join(scratch, "old-system"), "v20.20.2");
      const provisioned = path.join(scratch, "provisioned");
      stubNode(path.join(provisioned, "bin"), `v${PINNED}`);
      expect(provision([system], provisioned).stdout).toBe(path.join(provisioned, "bin"));
    });
  });
});
