/**
 * The policy pack's entry point (package.json `main`), what `--policy-pack policies` loads.
 *
 * @pulumi/pulumi's run-policy-pack registers ts-node with type-checking for `.ts` before it
 * requires the pack: every preview would type-check the rules (seconds, on every run). This file is
 * JavaScript, so ts-node leaves it alone; it hands `.ts` to esbuild-register instead (transpile
 * only, like `npm run render` and the program under `pulumi preview`) and loads the rules from
 * their one source, ./index.ts. Type-checking happens in `npm test` (tsc), not here.
 */
"use strict";
// Replace ts-node's handler instead of chaining after it (a chained hook would still type-check).
delete require.extensions[".ts"];
// No source maps, as in scripts/register.cjs (kept here so the pack directory stands alone):
// run-policy-pack installs source-map-support, which does not read esbuild's inline maps, so
// generating them and letting Node parse them bought nothing.
require("esbuild-register/dist/node").register({ sourcemap: false });
process.setSourceMapsEnabled(false);
module.exports = require("./index.ts");
