/**
 * Image references. Kept out of config.ts so that the component modules that build pods do not
 * import the config module at runtime: config.ts imports the chart-values builders for its
 * LimitRange check (components/resource-placements.ts), and a cycle would hand them a
 * half-initialised module.
 */
import type { ImageConfig } from "../config";

export function imageRef(i: ImageConfig): string {
  return i.digest ? `${i.repository}:${i.tag}@${i.digest}` : `${i.repository}:${i.tag}`;
}
