/**
 * The CrossGuard entry point: `pulumi preview --policy-pack policies [--policy-pack-config
 * policies/config/<stack>.json]` runs this file. It is the only place that constructs the pack;
 * everything else imports `policies` from ./policies.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, policies } from "./policies";

export const pack = new PolicyPack(PACK_NAME, {
  policies,
  enforcementLevel: PACK_ENFORCEMENT_LEVEL,
  description:
    "OctoLLM platform guardrails: Pod Security Standards, resources and quotas at peak, availability, images, secrets and references.",
});
