/**
 * The TypeScript loader of the program and the scripts: `node --require ./scripts/register.cjs`
 * (Pulumi.yaml `nodeargs`, the npm scripts). It is esbuild-register, registered exactly as
 * `--require esbuild-register` registers it (same esbuild transform, same target, our files
 * only, never node_modules), with one difference: no source maps.
 *
 * Why: with maps, esbuild appends an inline map (the file's whole source, base64) to every file
 * it transpiles and esbuild-register turns on Node's source-map support, so Node parses every map
 * as it compiles the file and maps every frame of every stack trace; the Pulumi SDK captures a
 * stack for each resource and each of its promises. Under `pulumi preview` that work buys nothing:
 * the runtime installs source-map-support, whose stack formatting replaces Node's and does not
 * read esbuild's inline maps, so frames show the transpiled lines either way. For the render,
 * mapping cost about a fifth of its CPU (README, "Fast previews"). The transpiled code is the same
 * with or without maps, so line numbers in traces and Pulumi's recorded source positions are
 * unchanged.
 *
 * Mapped stack traces while debugging (maps generated, Node's support on):
 *   NODE_OPTIONS=--enable-source-maps npm run render -- <stack>
 */
"use strict";
const wanted = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].includes(
  "--enable-source-maps",
);
// esbuild-register's own `register.js` passes this target; keep the transform identical.
const target = `node${process.version.slice(1)}`;
require("esbuild-register/dist/node").register(wanted ? { target } : { target, sourcemap: false });
// register() turns Node's source-map support on; without maps there is nothing to map.
if (!wanted) process.setSourceMapsEnabled(false);
