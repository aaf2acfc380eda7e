/**
 * Entry point of the render's schema-validation thread (scripts/validation-worker.ts): the
 * TypeScript loader first (it takes the main thread's transpiled batch from workerData), then the
 * worker itself.
 */
"use strict";
require("./register.cjs");
require("./validation-worker.ts");
