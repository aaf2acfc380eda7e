/**
 * Every relaxation of the hardened pod profile in the platform, in one place, with its reason.
 * A workload can only get one of these by name; the pod builder writes it onto the pod template
 * as `octollm.io/policy-exemption: "<policy-name>: <reason>"`, which the policy pack honours
 * for exemptible policies and lists in every report.
 */

export const EXEMPTION_ANNOTATION = "octollm.io/policy-exemption";

export interface PodExemption {
  /** short, stable name used in reports */
  readonly name: string;
  /** the policies this exemption relaxes */
  readonly policies: readonly string[];
  readonly reason: string;
  readonly allows: { readonly hostNetwork?: boolean; readonly hostPorts?: boolean };
}

export const EXEMPTIONS = {
  /**
   * The reflex layer is the platform's first hop: per-node rate limiting and request triage in
   * front of the orchestrator. ADR-005 runs it as a DaemonSet on the host network so that a
   * request is handled on the node that received it, without kube-proxy's extra hop. hostNetwork
   * and hostPort cannot pass PSS baseline, so the reflex layer lives alone in a namespace that
   * enforces "privileged" (and warns/audits at "restricted"); everything else in its pod stays
   * restricted: non-root, no capabilities (port 8080 ≥ 1024 needs no NET_BIND_SERVICE), read-only.
   */
  reflexHostNetwork: {
    name: "reflex-host-network",
    policies: ["pod-security-standards"],
    reason:
      "reflex layer serves per-node on the host network (ADR-005 DaemonSet, hostPort 8080) to avoid the kube-proxy hop; isolated in its own privileged-enforced namespace",
    allows: { hostNetwork: true, hostPorts: true },
  },
} as const satisfies Record<string, PodExemption>;

export function exemptionAnnotation(exemption: PodExemption): string {
  return exemption.policies.map((policy) => `${policy}: ${exemption.reason}`).join("\n");
}

/** Parses the annotation back into policy → reason (one entry per line). */
export function parseExemptionAnnotation(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (value ?? "").split("\n")) {
    const at = line.indexOf(":");
    if (at > 0) out.set(line.slice(0, at).trim(), line.slice(at + 1).trim());
  }
  return out;
}
