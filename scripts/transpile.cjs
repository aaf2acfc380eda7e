/**
 * How the repository's TypeScript is transpiled, for scripts/register.cjs (the loader) and its
 * tests; no side effects on require.
 *
 * The transform is esbuild-register's, option for option (its `compile()`: loader `ts`, format
 * `cjs`, the nearest tsconfig.json as `tsconfigRaw`, its `import.meta.url` define and banner,
 * target this Node), without source maps unless asked; test/delivery/loader.test.ts holds the
 * loader's output to esbuild-register's, file for file.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
/** Where the TypeScript of the program, the pack and the scripts lives (test/ is vitest's). */
const SOURCE_DIRS = ["index.ts", "components", "policies", "scripts"];

// esbuild-register's define and banner (src/node.ts), so `import.meta.url` works in CommonJS.
const IMPORT_META_URL = "__esbuild_register_import_meta_url__";
const BANNER = `const ${IMPORT_META_URL} = require('url').pathToFileURL(__filename).href;`;

/** The esbuild transform options of one file, as esbuild-register's compile() builds them. */
function transformOptions(filename, { sourcemap = false } = {}) {
  return {
    sourcefile: filename,
    loader: "ts",
    sourcemap: sourcemap ? "both" : false,
    tsconfigRaw: tsconfigOf(path.dirname(filename)),
    format: "cjs",
    define: { "import.meta.url": IMPORT_META_URL },
    banner: BANNER,
    // esbuild-register's register.js passes this target.
    target: `node${process.version.slice(1)}`,
  };
}

const tsconfigs = new Map();
/**
 * What esbuild-register passes as tsconfigRaw: the first tsconfig.json or jsconfig.json found
 * walking up from the file's directory, as written (esbuild's transform does not follow
 * `extends`), parsed as JSON with comments; {} when there is none or it does not parse.
 */
function tsconfigOf(dir) {
  if (!tsconfigs.has(dir)) {
    let found;
    for (const name of ["tsconfig.json", "jsconfig.json"]) {
      const file = path.join(dir, name);
      if (!fs.existsSync(file)) continue;
      try {
        found = new Function(`return ${stripJsonComments(fs.readFileSync(file, "utf8")).trim()}`)();
      } catch {
        found = {};
      }
      break;
    }
    const parent = path.dirname(dir);
    tsconfigs.set(dir, found ?? (parent === dir ? {} : tsconfigOf(parent)));
  }
  return tsconfigs.get(dir);
}

/** JSON with comments to JSON: line and block comments go, strings stay as they are. */
function stripJsonComments(text) {
  return text.replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (match, string) =>
    string === undefined ? "" : string,
  );
}

/** Every .ts file under SOURCE_DIRS of `root` (no declarations, no node_modules, no dot dirs). */
function sourceFiles(root = ROOT) {
  const files = [];
  const walk = (entry) => {
    const stat = fs.statSync(entry, { throwIfNoEntry: false });
    if (stat?.isFile()) {
      if (entry.endsWith(".ts") && !entry.endsWith(".d.ts")) files.push(entry);
    } else if (stat?.isDirectory()) {
      for (const name of fs.readdirSync(entry)) {
        if (name !== "node_modules" && !name.startsWith(".")) walk(path.join(entry, name));
      }
    }
  };
  for (const entry of SOURCE_DIRS) walk(path.join(root, entry));
  return files;
}

/**
 * Transpiles every source file, concurrently (esbuild works on all cores), to filename -> code.
 * A file esbuild rejects is left out: the loader transpiles it again on its own when it is
 * required, so its error reads exactly as it always did.
 */
async function transpileAll(options) {
  const esbuild = require("esbuild");
  const compiled = {};
  try {
    await Promise.all(
      sourceFiles().map(async (file) => {
        try {
          const code = await fs.promises.readFile(file, "utf8");
          compiled[file] = (await esbuild.transform(code, transformOptions(file, options))).code;
        } catch {
          // see above
        }
      }),
    );
  } finally {
    await esbuild.stop();
  }
  return compiled;
}

module.exports = { ROOT, SOURCE_DIRS, sourceFiles, transformOptions, transpileAll };
