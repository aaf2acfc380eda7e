/**
 * `npm run render` / `npm run policy` load this after esbuild-register, which turns Node's
 * source-map support on. With it on, Node maps every frame of every stack trace; the Pulumi SDK
 * captures a stack for each resource and each of its promises, so mapping costs the render about
 * a fifth of its CPU time (README, "Fast previews"). Off by default: errors then show the
 * TypeScript file with esbuild's line numbers. For mapped traces when debugging:
 *   NODE_OPTIONS=--enable-source-maps npm run render -- <stack>
 */
"use strict";
const wanted = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].includes(
  "--enable-source-maps",
);
if (!wanted) process.setSourceMapsEnabled(false);
