/**
 * The policy pack's policies, in one array. `index.ts` gives this array to the PolicyPack;
 * the tests and the offline render (`evaluate.ts`) run the very same objects.
 */
import type { OctoPolicy } from "./lib/policy";
import { securityPolicies } from "./security";
import { resourcePolicies } from "./resources";
import { imagePolicies } from "./images";
import { probePolicies } from "./probes";
import { secretPolicies } from "./secrets";
import { servicePolicies } from "./services";
import { availabilityPolicies } from "./availability";
import { namespacePolicies } from "./namespaces";
import { capacityPolicies } from "./capacity";
import { referencePolicies } from "./references";
import { duplicatePolicies } from "./duplicates";
import { operatorPolicies } from "./operators";
import { apiVersionPolicies } from "./api-versions";
import { rbacPolicies } from "./rbac";

export const PACK_NAME = "octollm-platform";

/** The pack's default level; each policy sets its own, and policies/config/<stack>.json overrides. */
export const PACK_ENFORCEMENT_LEVEL = "mandatory" as const;

export const policies: OctoPolicy[] = [
  ...securityPolicies,
  ...resourcePolicies,
  ...imagePolicies,
  ...probePolicies,
  ...secretPolicies,
  ...servicePolicies,
  ...availabilityPolicies,
  ...namespacePolicies,
  ...capacityPolicies,
  ...referencePolicies,
  ...duplicatePolicies,
  ...operatorPolicies,
  ...apiVersionPolicies,
  ...rbacPolicies,
];
