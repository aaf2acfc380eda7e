/**
 * Two things the Pulumi Node.js SDK does on every start that our processes never use, made lazy.
 * Preloaded by scripts/register.cjs, so the program under `pulumi preview`/`up` (Pulumi.yaml
 * `nodeargs`), the policy pack (policies/pack.cjs) and the render get it. Nothing here changes
 * what the SDK computes; what changed is when (README, "Fast previews", fourth round).
 *
 * 1. `@pulumi/pulumi/runtime/index.js` requires the closure serializer (`serializeFunction`,
 *    used by dynamic providers and callback functions) and `computeCodePaths` at load. They load
 *    TypeScript (9 MB, for parsing function text) and npm's Arborist: ~450 ms and ~55 MiB of
 *    a ~700 ms, 135 MiB SDK load on a 2-core machine, and under `cmd/run` every one of those
 *    scripts is also hashed again when the runtime enables the inspector (v8Hooks). Here the two
 *    modules, required from runtime/index.js only, are stand-ins whose functions load the real
 *    module on first call and forward to it; `require("@pulumi/pulumi/dynamic")` and anything
 *    else requiring them gets the real module. test/delivery/sdk-startup.test.ts holds the
 *    stand-ins' export names to the installed SDK's and calls both through them.
 *
 * 2. `debuggablePromise` (runtime/debuggable.js) stores `new Error().stack` on each of the ~5,000
 *    promises a production preview creates. It reads them only when PULUMI_DEBUG_PROMISE_LEAKS is
 *    set (to print where a leaked promise came from), but under `cmd/run`, which installs
 *    source-map-support, formatting each costs ~0.1 ms: ~0.5 s a preview. When the runtime
 *    installs source-map-support and that variable is unset, its formatter is wrapped so those
 *    traces, and only those, are not formatted. Every other trace is formatted as before; with
 *    PULUMI_DEBUG_PROMISE_LEAKS=1 nothing is wrapped.
 */
"use strict";
const path = require("node:path");
const Module = require("node:module");

const SDK_DIR = `${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
const RUNTIME_INDEX = `${SDK_DIR}runtime${path.sep}index.js`;
const DEBUGGABLE = `${SDK_DIR}runtime${path.sep}debuggable.js`;

/** What runtime/index.js requires at load that only closure serialization uses: request → exports. */
const DEFERRED_FROM_RUNTIME_INDEX = {
  "./closure/serializeClosure": ["serializeFunctionAsync", "serializeFunction"],
  "./closure/codePaths": ["computeCodePaths"],
};

/** The trace debuggablePromise stores when nothing will read it. */
const UNRECORDED_TRACE =
  "Error: not recorded (set PULUMI_DEBUG_PROMISE_LEAKS=1 to record where each promise was created)";

const load = Module._load;

Module._load = function loadWithDeferredSdkExtras(request, parent) {
  const deferred = DEFERRED_FROM_RUNTIME_INDEX[request];
  if (deferred && parent?.filename?.endsWith(RUNTIME_INDEX)) {
    return deferredModule(() => load.call(Module, request, parent, false), deferred);
  }
  const loaded = load.apply(this, arguments);
  if (request === "source-map-support/register") skipUnreadPromiseTraces();
  return loaded;
};

/** Exports whose functions load the real module on first call and forward to it. */
function deferredModule(loadReal, names) {
  let real;
  const stand = { __esModule: true };
  for (const name of names) {
    stand[name] = function (...args) {
      real ??= loadReal();
      return real[name].apply(this, args);
    };
  }
  return stand;
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

module.exports = { DEFERRED_FROM_RUNTIME_INDEX, UNRECORDED_TRACE };
