/**
 * The render's validation thread, started as early as the render can start it: scripts/render.ts
 * imports this module first, so when render.ts is the process's entry point (`npm run render`)
 * the thread boots and loads the schema models while the rest of the render is still loading
 * (about half a second of head start). Imported any other way (tests, the bench) it starts
 * nothing; those render in process, on one thread.
 */
import * as path from "node:path";
import { ValidationWorker } from "./validation-worker";

function start(): ValidationWorker | undefined {
  if (require.main?.filename !== path.join(__dirname, "render.ts")) return undefined;
  // The loader that runs render.ts (--require ./scripts/register.cjs) hands over its batch.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const loader = require("./register.cjs") as { transpiledForWorkers(): Record<string, unknown> };
  return new ValidationWorker(loader.transpiledForWorkers());
}

export const validationThread = start();
