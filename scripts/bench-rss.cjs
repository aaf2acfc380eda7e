/**
 * `npm run bench` loads this into every process it measures (NODE_OPTIONS=--require): at exit the
 * process appends its peak resident set size (KiB) to $BENCH_RSS_FILE, so a command that spawns
 * several node processes (npm → node) reports the largest. SIGTERM (how the bench stops the
 * policy pack once it serves) is turned into a normal exit so the figure is still written.
 */
"use strict";
const fs = require("node:fs");

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on("exit", () => {
    try {
      fs.appendFileSync(file, `${process.resourceUsage().maxRSS}\n`);
    } catch {
      // a missing figure is reported as such; it never fails the measured process
    }
  });
  process.once("SIGTERM", () => process.exit(143));
}
