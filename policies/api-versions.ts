/**
 * API versions family: every object's apiVersion must be served by the stack's target Kubernetes
 * version (`octollm:kubernetes.version`, handed to the pack as `kubernetesVersion` in
 * policies/config/<stack>.json; the render and the tests fail when the two differ, see
 * scripts/node-facts.ts). The table is Fairwinds Pluto's (policies/lib/deprecations.ts).
 *
 * Two policies, because the two findings have different weights:
 * - `api-version-removed` (mandatory): the API server of that version does not serve the
 *   apiVersion at all; the apply fails (or a chart's object is never created).
 * - `api-version-deprecated` (advisory): still served, removed in a later release; the message
 *   says in which and what replaces it, so the move happens before the cluster upgrade.
 *
 * The apiVersion is read from the Pulumi type token (`kubernetes:<group>/<version>:<Kind>`),
 * which is always known, never from props; objects Helm charts render are judged too (a chart
 * pinned to an old API is exactly what breaks on a cluster upgrade).
 */
import type { ResourceValidationArgs, ReportViolation } from "@pulumi/policy";
import { describeResource, kindOfType } from "./lib/k8s";
import type { MinorVersion } from "./lib/deprecations";
import { apiStatus, apiVersionOfType, formatMinor, parseMinor } from "./lib/deprecations";
import type { OctoPolicy } from "./lib/policy";

export const API_VERSION_REMOVED = "api-version-removed";
export const API_VERSION_DEPRECATED = "api-version-deprecated";

/** Both policies' config: the Kubernetes minor version the stack targets. */
export interface ApiVersionConfig {
  kubernetesVersion?: string;
}

/** The pattern `octollm:kubernetes.version` and the policy config share. */
export const KUBERNETES_VERSION_PATTERN = "^1\\.[0-9]{1,2}$";

/** When a policy config names no version (ad-hoc configs in tests); stacks always set theirs. */
export const DEFAULT_KUBERNETES_VERSION = "1.36";

const configSchema = {
  properties: {
    kubernetesVersion: {
      type: "string" as const,
      pattern: KUBERNETES_VERSION_PATTERN,
      default: DEFAULT_KUBERNETES_VERSION,
      description:
        "the stack's target Kubernetes version, 1.NN (equal to octollm:kubernetes.version)",
    },
  },
};

function targetOf(args: ResourceValidationArgs): MinorVersion {
  const v = args.getConfig<ApiVersionConfig>().kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION;
  // The config schema's pattern has already rejected anything else.
  return parseMinor(v) ?? [1, 0];
}

function label(args: ResourceValidationArgs): string {
  return describeResource(args.type, args.props, args.name);
}

function isKubernetesObject(type: string): boolean {
  return (
    type.startsWith("kubernetes:") &&
    !type.startsWith("kubernetes:helm.sh/") &&
    !type.startsWith("kubernetes:yaml")
  );
}

/** A Kubernetes object's apiVersion and kind, judged against the stack's target version. */
function judge(args: ResourceValidationArgs) {
  if (!isKubernetesObject(args.type)) return undefined;
  const apiVersion = apiVersionOfType(args.type);
  const kind = kindOfType(args.type);
  const target = targetOf(args);
  return { apiVersion, kind, target, s: apiStatus(apiVersion, kind, target) };
}

export const apiVersionRemoved: OctoPolicy = {
  name: API_VERSION_REMOVED,
  description:
    "No object uses an apiVersion the stack's target Kubernetes version (kubernetesVersion) no longer serves (Fairwinds Pluto's deprecation table).",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const judged = judge(args);
    if (judged?.s.status !== "removed") return;
    const { apiVersion, kind, target, s } = judged;
    const use = s.entry.replacement ? `; use ${s.entry.replacement}` : "";
    report(
      `${label(args)}: ${apiVersion} ${kind} was removed in Kubernetes ${formatMinor(s.removedIn)} and the stack targets ${formatMinor(target)} (octollm:kubernetes.version)${use}`,
    );
  },
};

export const apiVersionDeprecated: OctoPolicy = {
  name: API_VERSION_DEPRECATED,
  description:
    "No object uses an apiVersion deprecated in the stack's target Kubernetes version (kubernetesVersion): still served, removed in a later release.",
  enforcementLevel: "advisory",
  configSchema,
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const judged = judge(args);
    if (judged?.s.status !== "deprecated") return;
    const { apiVersion, kind, target, s } = judged;
    const removal = s.entry.removedIn
      ? `, removed in ${formatMinor(s.entry.removedIn)}`
      : ", removal not yet scheduled";
    const use = s.entry.replacement ? `; use ${s.entry.replacement}` : "";
    report(
      `${label(args)}: ${apiVersion} ${kind} is deprecated since Kubernetes ${formatMinor(s.deprecatedIn)}${removal} (the stack targets ${formatMinor(target)})${use}`,
    );
  },
};

export const apiVersionPolicies: OctoPolicy[] = [apiVersionRemoved, apiVersionDeprecated];
