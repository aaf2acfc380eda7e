/**
 * `npm run bench` runs this file to time the program the way `pulumi preview` starts it, minus
 * the engine: `node <runtime.options.nodeargs> <this file> <stack>` with the environment the
 * Node.js language host derives from Pulumi.yaml (PULUMI_NODEJS_TYPESCRIPT when
 * `typescript: true`, PULUMI_NODEJS_TSCONFIG_PATH when `tsconfig:` is set). The bench builds that
 * command line from Pulumi.yaml, so what is timed is what Pulumi.yaml configures.
 *
 * It then loads the runtime's own entry point, @pulumi/pulumi/cmd/run, with the arguments the
 * language host passes: that code picks the entry point (package.json `main`), registers ts-node
 * with its compiler options when TypeScript is on, and requires the program. The one difference:
 * Pulumi mocks stand in for the engine's resource monitor (`--monitor mock`), so registrations
 * resolve locally.
 *
 * Plain JavaScript on purpose: nothing may be registered as a loader unless Pulumi.yaml says so.
 * Prints `{"resources": <count>}` on success.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const ROOT = path.resolve(__dirname, "..");
const stack = process.argv[2];
if (!stack) {
  process.stderr.write("usage: node [nodeargs] scripts/bench-pulumi-run.cjs <stack>\n");
  process.exit(2);
}

// What the language host passes as PULUMI_CONFIG: the stack's config (secure values are absent
// offline) with objects as JSON text. The language host computes it in Go, before Node starts, so
// the bench computes it too (`languageHostConfig` in scripts/bench.ts) and passes it in; run alone,
// this file computes it.
if (!process.env.PULUMI_CONFIG) {
  const { parse } = require("yaml");
  const doc = parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) || {};
  const config = {};
  for (const [key, value] of Object.entries(doc.config || {})) {
    if (value && typeof value === "object" && "secure" in value) continue;
    config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  process.env.PULUMI_CONFIG = JSON.stringify(config);
}
process.env.PULUMI_NODEJS_PROJECT = "octollm";
process.env.PULUMI_NODEJS_STACK = stack;
process.env.PULUMI_NODEJS_DRY_RUN = "true";
// No resource may see a real cluster.
delete process.env.KUBECONFIG;

const pulumi = require("@pulumi/pulumi");
let resources = 0;

async function main() {
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        resources++;
        return { id: args.custom ? `${args.name}-id` : "", state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "octollm",
    stack,
    true,
  );
  // The engine answers this when the program ends; the mock monitor does not implement it.
  require("@pulumi/pulumi/runtime/settings").getMonitor().signalAndWaitForShutdown = (
    _req,
    callback,
  ) => callback(null, {});
  const entry = require.resolve("@pulumi/pulumi/cmd/run");
  process.argv = [
    process.argv[0],
    entry,
    ...["--monitor", "mock", "--project", "octollm", "--stack", stack, "--dry-run"],
    ...["--pwd", ROOT, "."],
  ];
  process.on("exit", (code) => {
    if (code === 0) process.stdout.write(`${JSON.stringify({ resources })}\n`);
  });
  require(entry);
}

main().catch((error) => {
  process.stderr.write(`bench-pulumi-run: ${(error && error.stack) || String(error)}\n`);
  process.exit(1);
});
