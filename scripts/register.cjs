/**
 * The TypeScript loader of the program, the policy pack and the scripts:
 * `node --require ./scripts/register.cjs` (Pulumi.yaml `nodeargs`, policies/pack.cjs, the npm
 * scripts). Transpile only, with esbuild, exactly as esbuild-register transpiles
 * (scripts/transpile.cjs); type-checking is `npm test`'s job (tsc). What differs from
 * esbuild-register is when the work happens:
 *
 * - esbuild-register transpiles each file when Node requires it: one synchronous round trip to
 *   esbuild's service per file (~80 for a render), on the main thread, in line; about half a
 *   second of every start on a 2-core machine (README, "Fast previews").
 * - Here, as soon as this file is preloaded, a worker thread hands every TypeScript file of the
 *   repository to esbuild at once; esbuild transpiles them in parallel on the other cores while
 *   the main thread loads Node, the Pulumi SDK and the runtime. The first `.ts` require takes the
 *   whole batch, waiting only for what is not done yet. A file outside the batch (a test helper,
 *   a file esbuild rejected) is transpiled on its own, the same way, so its error reads as it
 *   always did. Nothing is written to disk: nothing can be stale, and there is no build step.
 *
 * A worker thread of ours that loads TypeScript gets the batch in its workerData
 * (`transpiledForWorkers()`) rather than transpiling again.
 *
 * No source maps: with them esbuild appends the whole source, base64, to every file and Node
 * parses every map; under `pulumi preview` the runtime's source-map-support does not read them
 * anyway. The code is the same with or without maps, so line numbers in traces and the source
 * positions Pulumi records are unchanged. Mapped stack traces while debugging:
 *   NODE_OPTIONS=--enable-source-maps npm run render -- <stack>
 */
"use strict";
// Before anything loads the Pulumi SDK: defer what it loads and never uses here (see the file).
const { skipUnreadPromiseTraces } = require("./sdk-startup.cjs");
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");
const threads = require("node:worker_threads");
const { transformOptions, transpileAll } = require("./transpile.cjs");

const WORKER_DATA_KEY = "octollmTypeScript";
/** How long a require waits for the batch before it transpiles file by file (a wedged worker). */
const BATCH_TIMEOUT_MS = 20_000;

const options = {
  sourcemap: [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].includes(
    "--enable-source-maps",
  ),
};
const ours = threads.isMainThread ? undefined : threads.workerData?.[WORKER_DATA_KEY];

let batch;
let waitForBatch = () => batch;
/** Files this thread loaded from the batch, and transpiled on their own (tests read these). */
const stats = { batched: 0, alone: 0 };

if (ours?.transpile) {
  // The transpiling worker: post the batch, then signal (the main thread may be blocked waiting).
  const { port, done } = ours.transpile;
  transpileAll(options)
    .catch(() => ({}))
    .then((compiled) => {
      port.postMessage(compiled);
      Atomics.store(done, 0, 1);
      Atomics.notify(done, 0);
    });
} else {
  if (ours?.batch) batch = ours.batch;
  else if (threads.isMainThread) startBatch();
  registerHook();
}

/** Starts the transpiling worker; the first `.ts` require collects its batch. */
function startBatch() {
  const done = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new threads.MessageChannel();
  try {
    new threads.Worker(__filename, {
      workerData: { [WORKER_DATA_KEY]: { transpile: { port: port2, done } } },
      transferList: [port2],
      // Not this process's --require flags: the worker loads only esbuild.
      execArgv: [],
    }).unref();
  } catch {
    batch = {};
    return;
  }
  waitForBatch = () => {
    if (batch === undefined) {
      // A worker that died without signalling costs the timeout, then file-by-file transpiling.
      Atomics.wait(done, 0, 0, BATCH_TIMEOUT_MS);
      batch = threads.receiveMessageOnPort(port1)?.message ?? {};
      port1.close();
    }
    return batch;
  };
}

function registerHook() {
  let esbuild;
  let firstFile = true;
  const loadJavaScript = Module._extensions[".js"];
  Module._extensions[".ts"] = function loadTypeScript(module, filename) {
    // As esbuild-register (pirates' ignoreNodeModules): TypeScript shipped in a package is not ours.
    if (filename.split(path.sep).includes("node_modules")) return loadJavaScript(module, filename);
    if (firstFile) {
      // Under cmd/run and run-policy-pack the runtime has installed source-map-support by now.
      firstFile = false;
      skipUnreadPromiseTraces();
    }
    let code = waitForBatch()?.[filename];
    if (code !== undefined) stats.batched++;
    else {
      stats.alone++;
      esbuild ??= require("esbuild");
      const source = fs.readFileSync(filename, "utf8");
      code = esbuild.transformSync(source, transformOptions(filename, options)).code;
    }
    module._compile(code, filename);
  };
  // esbuild-register turned Node's source-map support on; without maps there is nothing to map.
  process.setSourceMapsEnabled(options.sourcemap);
}

/**
 * The workerData for a worker thread of ours that loads TypeScript (its entry requires this file
 * first): the batch, so the worker does not transpile again.
 */
function transpiledForWorkers() {
  return { [WORKER_DATA_KEY]: { batch: waitForBatch() ?? {} } };
}

module.exports = { transpiledForWorkers, stats };
