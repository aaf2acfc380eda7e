/**
 * Namespaces family: every namespace that runs pods is declared by the stack with Pod Security
 * Admission labels, a ResourceQuota, a LimitRange and a default-deny NetworkPolicy.
 */
import { TYPES, asArray, metaOf } from "./lib/k8s";
import type { OctoPolicy } from "./lib/policy";
import type { LabelSelector } from "./lib/stack";
import { indexStack } from "./lib/stack";

const PSS_LEVELS = ["privileged", "baseline", "restricted"];
const PSA_PREFIX = "pod-security.kubernetes.io/";
const PSA_MODES = ["enforce", "audit", "warn"];
/** kubernetes/pod-security-admission api/helpers.go ParseVersion: `latest` or `v1.<minor>`. */
const PSA_VERSION = /^(latest|v1\.([0-9]|[1-9][0-9]*))$/;

/** Pod Security Admission labels of a Namespace whose key or value admission does not accept. */
export function podSecurityLabelFindings(labels: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    if (!key.startsWith(PSA_PREFIX)) continue;
    const suffix = key.slice(PSA_PREFIX.length);
    const [mode, version] = suffix.split(/-(?=version$)/);
    if (!PSA_MODES.includes(mode) || (version !== undefined && version !== "version"))
      out.push(
        `label ${key} is not a Pod Security Admission label (known: ${PSA_MODES.flatMap((m) => [m, `${m}-version`]).join(", ")}), so it does nothing`,
      );
    else if (version === undefined && !PSS_LEVELS.includes(value))
      out.push(`label ${key} is "${value}", not a level (${PSS_LEVELS.join(", ")})`);
    else if (version !== undefined && !PSA_VERSION.test(value))
      out.push(`label ${key} is "${value}", not a version ("latest" or "v1.<minor>", e.g. v1.36)`);
  }
  return out;
}

interface NetworkPolicySpec {
  podSelector?: LabelSelector;
  policyTypes?: string[];
  ingress?: unknown[];
  egress?: unknown[];
}

/** A NetworkPolicy that selects every pod and allows nothing in either direction. */
export function isDefaultDeny(spec: NetworkPolicySpec | undefined): boolean {
  if (!spec) return false;
  const selectsAll =
    Object.keys(spec.podSelector?.matchLabels ?? {}).length === 0 &&
    asArray(spec.podSelector?.matchExpressions).length === 0;
  const types = asArray(spec.policyTypes);
  return (
    selectsAll &&
    types.includes("Ingress") &&
    types.includes("Egress") &&
    asArray(spec.ingress).length === 0 &&
    asArray(spec.egress).length === 0
  );
}

export const namespaceGuardrails: OctoPolicy = {
  name: "namespace-guardrails",
  description:
    "Every Pod Security Admission label of the stack's Namespaces is a valid level or version; every namespace that runs the stack's pods (workloads, operator clusters) is a Namespace of the stack with pod-security.kubernetes.io/enforce, a ResourceQuota, a LimitRange and a default-deny NetworkPolicy; a namespace holding only a Helm chart needs the Pod Security labels.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    // Every Namespace of the stack: a Pod Security label admission cannot parse makes the API
    // server refuse the Namespace (or, for a misspelt key, silently enforce nothing).
    for (const declared of index.namespaces.values())
      for (const f of podSecurityLabelFindings(metaOf(declared.props).labels ?? {}))
        reportViolation(`namespace ${declared.objectName}: ${f}`, declared.urn);
    const namespaces = index.namespacesWithWorkloads();
    // Namespaces that only hold a Helm chart (an operator): its pods are invisible offline and the
    // chart owns their network flows, so only the Pod Security labels are required there.
    const chartOnly = new Set<string>();
    for (const chart of index.charts) {
      const ns = (chart.props as { namespace?: string }).namespace;
      if (ns && !namespaces.has(ns)) chartOnly.add(ns);
    }
    for (const ns of chartOnly) namespaces.add(ns);
    for (const ns of [...namespaces].sort()) {
      const declared = index.namespaces.get(ns);
      const where = `namespace ${ns}`;
      if (!declared) {
        reportViolation(
          `${where}: runs pods but is not a Namespace of this stack, so its guardrails are not managed here`,
        );
        continue;
      }
      const labels = metaOf(declared.props).labels ?? {};
      const enforce = labels["pod-security.kubernetes.io/enforce"];
      if (!enforce)
        reportViolation(`${where}: has no pod-security.kubernetes.io/enforce label`, declared.urn);
      else if (!PSS_LEVELS.includes(enforce)) {
        // reported with every other Pod Security label below
      } else if (enforce !== "restricted") {
        for (const mode of ["warn", "audit"]) {
          if (labels[`pod-security.kubernetes.io/${mode}`] !== "restricted")
            reportViolation(
              `${where}: enforces ${enforce} but does not ${mode} at restricted, so deviations go unnoticed`,
              declared.urn,
            );
        }
      }
      if (chartOnly.has(ns)) continue;
      if (index.inNamespace(TYPES.resourceQuota, ns).length === 0)
        reportViolation(`${where}: has no ResourceQuota`, declared.urn);
      if (index.inNamespace(TYPES.limitRange, ns).length === 0)
        reportViolation(`${where}: has no LimitRange`, declared.urn);
      if (!index.inNamespace(TYPES.networkPolicy, ns).some((np) => isDefaultDeny(np.props.spec)))
        reportViolation(
          `${where}: has no default-deny NetworkPolicy (empty podSelector, policyTypes Ingress and Egress, no rules)`,
          declared.urn,
        );
    }
  },
};

export const namespacePolicies: OctoPolicy[] = [namespaceGuardrails];
