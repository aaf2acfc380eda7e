/**
 * Two things the Pulumi Node.js SDK does on every start that our processes never use, made lazy.
 * Preloaded by scripts/register.cjs, so the program under `pulumi preview`/`up` (Pulumi.yaml
 * `nodeargs`) and the render get it. Nothing here changes what the SDK computes, only when
 * (README, "Fast previews").
 *
 * 1. `@pulumi/pulumi/runtime/index.js` requires the closure serializer (`serializeFunction`,
 *    for dynamic providers and callback functions) and `computeCodePaths` at load. They load
 *    TypeScript (9 MB, to parse function text) and npm's Arborist: ~450 ms and ~55 MiB of a
 *    ~700 ms, 135 MiB SDK load on a 2-core machine; under `cmd/run` the runtime's inspector
 *    session then hashes all of it again (v8Hooks, `Debugger.enable`). The SDK's own
 *    `dynamic/index.js` already loads that module on demand "as its dependencies are slow to
 *    load". Here, before the SDK loads, the two modules are entered in Node's module cache as
 *    stand-ins: their functions load the real module on first call and forward to it, and reading
 *    anything else loads it too. test/delivery/sdk-startup.test.ts holds the stand-ins to what
 *    runtime/index.js reads and compares serialized functions and code paths with the eager SDK.
 *    (Not a `Module._load` hook: a frame of ours on every require stack makes Node take
 *    node_modules code for ours, and warn about it, e.g. DEP0040 for `punycode`.)
 *
 * 2. `debuggablePromise` (runtime/debuggable.js) stores `new Error().stack` on each of the ~5,000
 *    promises a production preview creates. The SDK reads them only when
 *    PULUMI_DEBUG_PROMISE_LEAKS is set (to print where a leaked promise came from), but under
 *    `cmd/run`, which installs source-map-support, formatting each costs ~0.1 ms: ~0.5 s a
 *    preview. `skipUnreadPromiseTraces` (called by the loader when the first TypeScript file of
 *    ours loads: the runtime has installed source-map-support by then) wraps that formatter so
 *    those traces, and only those, are not formatted. Every other trace is formatted as before;
 *    with PULUMI_DEBUG_PROMISE_LEAKS set nothing is wrapped.
 */
"use strict";
const path = require("node:path");
const Module = require("node:module");

/** Modules runtime/index.js requires at load that only closure serialization uses → their exports. */
const DEFERRED = {
  "runtime/closure/serializeClosure.js": ["serializeFunctionAsync", "serializeFunction"],
  "runtime/closure/codePaths.js": ["computeCodePaths"],
};

/** The trace debuggablePromise stores when nothing will read it. */
const UNRECORDED_TRACE =
  "Error: not recorded (set PULUMI_DEBUG_PROMISE_LEAKS=1 to record where each promise was created)";

const DEBUGGABLE = `${path.sep}@pulumi${path.sep}pulumi${path.sep}runtime${path.sep}debuggable.js`;

function sdkDirectory() {
  try {
    return path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [__dirname] }));
  } catch {
    return undefined;
  }
}

function deferClosureSerializer(sdk = sdkDirectory()) {
  if (!sdk) return;
  for (const [relative, names] of Object.entries(DEFERRED)) {
    const filename = path.join(sdk, relative);
    if (require.cache[filename]) continue;
    const standIn = new Module(filename, module);
    standIn.filename = filename;
    standIn.paths = Module._nodeModulePaths(path.dirname(filename));
    standIn.loaded = true;
    standIn.exports = deferredExports(filename, names);
    require.cache[filename] = standIn;
  }
}

/** Exports that load the real module on first use: named functions forward, other reads load. */
function deferredExports(filename, names) {
  let real;
  const load = () => {
    if (real === undefined) {
      delete require.cache[filename];
      real = require(filename);
    }
    return real;
  };
  const forwarding = { __esModule: true };
  for (const name of names) {
    forwarding[name] = function (...args) {
      return load()[name].apply(this, args);
    };
  }
  return new Proxy(forwarding, {
    get: (target, key) => (key in target ? target[key] : load()[key]),
  });
}

function skipUnreadPromiseTraces() {
  const format = Error.prepareStackTrace;
  if (process.env.PULUMI_DEBUG_PROMISE_LEAKS || typeof format !== "function") return;
  if (format.skipsUnreadPromiseTraces) return;
  const wrapped = function prepareStackTrace(error, callSites) {
    const top = callSites[0];
    if (top?.getFunctionName() === "debuggablePromise" && top.getFileName()?.endsWith(DEBUGGABLE))
      return UNRECORDED_TRACE;
    return format.call(this, error, callSites);
  };
  wrapped.skipsUnreadPromiseTraces = true;
  Error.prepareStackTrace = wrapped;
}

deferClosureSerializer();

module.exports = { DEFERRED, UNRECORDED_TRACE, skipUnreadPromiseTraces };
