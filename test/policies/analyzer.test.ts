/**
 * `pulumi preview --policy-pack policies` starts the pack with @pulumi/pulumi's run-policy-pack
 * in the pack's directory: it registers ts-node (type-checking) for `.ts`, requires the directory
 * (package.json `main`: pack.cjs, which hands `.ts` to esbuild-register and loads index.ts), and
 * the PolicyPack constructor starts the analyzer's gRPC server and prints its port. This test does
 * exactly that, without the CLI, and stops the server. With TS_NODE_DEBUG on, ts-node logs every
 * file it compiles (and type-checks): it must log none, so no preview pays for type-checking.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.join(__dirname, "..", "..");
const POLICIES = path.join(ROOT, "policies");

describe("the policy pack under the Pulumi analyzer runtime", () => {
  it("loads through its JavaScript entry point", () => {
    expect(require.resolve(POLICIES)).toBe(path.join(POLICIES, "pack.cjs"));
  });

  it("starts serving from policies/ without ts-node compiling or type-checking a file", async () => {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js"),
        "127.0.0.1:0",
        ".",
      ],
      {
        cwd: POLICIES,
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, TS_NODE_DEBUG: "true" },
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = () => /^(\d+)\s*$/m.exec(stdout)?.[1];
    const outcome = await new Promise<string>((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), 100_000);
      child.stdout.on("data", () => {
        if (port()) {
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
    expect(Number(port())).toBeGreaterThan(0);
    expect(stdout.split("\n").filter((line) => line.includes("module._compile"))).toEqual([]);
  }, 120_000);
});
