/** Shared helpers of the services tests. */
import type { KubernetesObject } from "../harness";

// Config, pod and schema helpers are the harness's and the render's; re-exported for these tests.
export { configOf, containerOf, envOf, podSpecOf } from "../harness";
export { validateObject as validateModel } from "../../scripts/validate";

export type Obj = KubernetesObject & Record<string, any>;
