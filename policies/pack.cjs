/**
 * The policy pack's entry point (package.json `main`), what `--policy-pack policies` loads.
 *
 * @pulumi/pulumi's run-policy-pack registers ts-node with type-checking for `.ts` before it
 * requires the pack: every preview would type-check the rules (seconds, on every run). This file is
 * JavaScript, so ts-node leaves it alone; it hands `.ts` to the repository's loader instead
 * (scripts/register.cjs: esbuild, transpile only, the whole batch on a worker thread, as for
 * `npm run render` and the program under `pulumi preview`) and loads the rules from their one
 * source, ./index.ts. Type-checking happens in `npm test` (tsc), not here.
 */
"use strict";
// Replace ts-node's handler instead of chaining after it (a chained hook would still type-check).
delete require.extensions[".ts"];
require("../scripts/register.cjs");
module.exports = require("./index.ts");
