/**
 * What the Pulumi SDKs (and zod) do on every start that our processes never use, made lazy.
 * Preloaded by scripts/register.cjs, so the program under `pulumi preview`/`up` (Pulumi.yaml
 * `nodeargs`) and the render get it. Nothing here changes what the SDKs compute, only when
 * (README, "Fast previews").
 *
 * 1. Modules loaded at start for features we do not use (`DEFERRED`): @pulumi/pulumi's closure
 *    serializer and `computeCodePaths` (for dynamic providers and callback functions: they load
 *    TypeScript, 9 MB, and npm's Arborist; ~450 ms and ~55 MiB of a ~700 ms, 135 MiB SDK load on
 *    a 2-core machine, and under `cmd/run` the runtime's inspector session then hashes all of it
 *    again), its Automation API (execa, js-yaml, ~80 modules), and @pulumi/kubernetes' helm.v3,
 *    yaml and kustomize namespaces (we use helm.v4 only; ~100 modules together with the
 *    Automation API), and zod's 64 message translations. The SDKs' own code already loads such
 *    modules on demand where it can (`dynamic/index.js` loads the serializer "as its
 *    dependencies are slow to load";
 *    @pulumi/kubernetes lazy-loads every API group). Here, before the SDKs load, each is entered
 *    in Node's module cache as a stand-in that loads the real module on first use: a read of
 *    anything (the listed functions are called through without loading until they are called).
 *    test/delivery/sdk-startup.test.ts holds the stand-ins to the real modules and compares
 *    serialized functions and code paths with the eager SDK.
 *    (Not a `Module._load` hook: a frame of ours on every require stack makes Node take
 *    node_modules code for ours, and warn about it, e.g. DEP0040 for `punycode`.)
 *
 * 2. `debuggablePromise` (runtime/debuggable.js) stores `new Error().stack` on each of the ~5,000
 *    promises a production preview creates. The SDK reads them only when
 *    PULUMI_DEBUG_PROMISE_LEAKS is set (to print where a leaked promise came from), but under
 *    `cmd/run`, which installs source-map-support, formatting each costs ~0.1 ms: ~0.5 s a
 *    preview. `skipUnreadPromiseTraces` (called by the loader when the first TypeScript file of
 *    ours loads: under cmd/run the runtime has installed source-map-support by then; elsewhere
 *    `Error.prepareStackTrace` is Node's own formatter) wraps the formatter so those traces, and
 *    only those, are not formatted. Every other trace is formatted as before; with
 *    PULUMI_DEBUG_PROMISE_LEAKS set nothing is wrapped.
 */
"use strict";
const path = require("node:path");
const Module = require("node:module");

/**
 * Per package, the modules to defer, each with the functions its stand-in forwards without
 * loading it (runtime/index.js copies those at load; `[]`: the first read of anything loads it).
 */
const DEFERRED = {
  "@pulumi/pulumi": {
    "runtime/closure/serializeClosure.js": ["serializeFunctionAsync", "serializeFunction"],
    "runtime/closure/codePaths.js": ["computeCodePaths"],
    "automation/index.js": [],
  },
  "@pulumi/kubernetes": {
    "helm/v3/index.js": [],
    "yaml/index.js": [],
    "kustomize/index.js": [],
  },
  // z.locales: 64 translations of zod's messages; the English one is loaded on its own.
  zod: { "v4/locales/index.cjs": [] },
};

/** The trace debuggablePromise stores when nothing will read it. */
const UNRECORDED_TRACE =
  "Error: not recorded (set PULUMI_DEBUG_PROMISE_LEAKS=1 to record where each promise was created)";

const DEBUGGABLE = `${path.sep}@pulumi${path.sep}pulumi${path.sep}runtime${path.sep}debuggable.js`;

function packageDirectory(name) {
  try {
    return path.dirname(require.resolve(`${name}/package.json`, { paths: [__dirname] }));
  } catch {
    return undefined;
  }
}

function deferUnusedModules() {
  for (const [name, modules] of Object.entries(DEFERRED)) {
    const directory = packageDirectory(name);
    if (!directory) continue;
    for (const [relative, functions] of Object.entries(modules)) {
      const filename = path.join(directory, relative);
      if (require.cache[filename]) continue;
      const standIn = new Module(filename, module);
      standIn.filename = filename;
      standIn.paths = Module._nodeModulePaths(path.dirname(filename));
      standIn.loaded = true;
      standIn.exports = deferredExports(filename, functions);
      require.cache[filename] = standIn;
    }
  }
}

/**
 * Exports that load the real module on first use. `__esModule` is answered without loading (the
 * real modules are TypeScript output and set it, and `__importStar` reads it at require time);
 * the named functions forward; any other read, `in`, or listing of keys loads the module.
 */
function deferredExports(filename, functions) {
  let real;
  const load = () => {
    if (real === undefined) {
      delete require.cache[filename];
      real = require(filename);
    }
    return real;
  };
  const forwarding = { __esModule: true };
  for (const name of functions) {
    forwarding[name] = function (...args) {
      return load()[name].apply(this, args);
    };
  }
  return new Proxy(forwarding, {
    get: (target, key) => (key in target ? target[key] : load()[key]),
    has: (_target, key) => key in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_target, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
      // A proxy may not report a property its target lacks as non-configurable.
      return descriptor && { ...descriptor, configurable: true };
    },
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

deferUnusedModules();

module.exports = { DEFERRED, UNRECORDED_TRACE, skipUnreadPromiseTraces };
