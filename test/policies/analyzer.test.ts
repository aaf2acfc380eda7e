/**
 * `pulumi preview --policy-pack policies` starts the pack with @pulumi/pulumi's run-policy-pack
 * in the pack's directory: ts-node compiles policies/index.ts (type-checked, with
 * policies/tsconfig.json), the PolicyPack constructor starts the analyzer's gRPC server and
 * prints its port. This test does exactly that, without the CLI, and stops the server.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..", "..");

describe("the policy pack under the Pulumi analyzer runtime", () => {
  it("compiles and starts serving from policies/", async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js"),
        "127.0.0.1:0",
        ".",
      ],
      { cwd: path.join(ROOT, "policies"), stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), 100_000);
      child.stdout.on("data", () => {
        if (/^\d+\s*$/.test(stdout)) {
          clearTimeout(timer);
          resolve("serving");
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        resolve(`exited ${code}`);
      });
    });
    child.kill();
    expect(stderr).toBe("");
    expect(outcome).toBe("serving");
    expect(Number(stdout.trim())).toBeGreaterThan(0);
  }, 120_000);
});
