/**
 * Preloaded by `npm run render|policy|start` after the loader: the project's runtime
 * dependencies (package.json `dependencies`), which the render loads anyway. Node loads them
 * while esbuild is still transpiling our TypeScript on the loader's thread, so the main thread
 * spends that time loading instead of waiting for the batch (~35 ms off a render here, median of
 * 20). esbuild is the loader's own and loads on its thread. test/stacks/render-cli.test.ts checks
 * that the render does use every one of them.
 */
"use strict";
const { dependencies } = require("../package.json");

for (const name of Object.keys(dependencies)) if (name !== "esbuild") require(name);
