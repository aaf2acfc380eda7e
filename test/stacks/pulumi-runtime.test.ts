/**
 * The program as `pulumi preview`/`up` runs it: the command line and environment the Node.js
 * language host derives from Pulumi.yaml, running @pulumi/pulumi's own cmd/run (entry point from
 * package.json `main`, ts-node registration when `typescript: true`) with mocks in place of the
 * engine (scripts/bench-pulumi-run.cjs, the same path `npm run bench` times). With TS_NODE_DEBUG
 * on, ts-node logs every file it compiles and type-checks: it must log none.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../scripts/offline";
import { programCommand, pulumiRuntimeOptions } from "../../scripts/bench";

describe("the program under the Pulumi Node.js runtime, as Pulumi.yaml configures it", () => {
  it("registers every resource of production without ts-node compiling or type-checking", () => {
    const command = programCommand("program", pulumiRuntimeOptions());
    const result = spawnSync(command.argv[0], command.argv.slice(1), {
      cwd: REPO_ROOT,
      encoding: "utf8",
      env: {
        ...process.env,
        ...command.env,
        TS_NODE_DEBUG: "true",
        TMPDIR: fs.mkdtempSync(`${os.tmpdir()}/octollm-runtime-`),
      },
    });
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.status).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines.filter((l) => l.includes("module._compile"))).toEqual([]);
    const { resources } = JSON.parse(lines[lines.length - 1]) as { resources: number };
    expect(resources).toBeGreaterThan(100);
  }, 180_000);
});
