/**
 * Services family: no Service is exposed outside the cluster unless the stack allows its type,
 * and every Ingress host is served over TLS.
 */
import { TYPES, asArray } from "./lib/k8s";
import type { OctoPolicy } from "./lib/policy";
import { validateType } from "./lib/policy";

interface ServiceTypeConfig {
  allowedTypes?: string[];
}

export const serviceTypeAllowed: OctoPolicy = {
  name: "service-type-allowed",
  description:
    "Services use only the types the stack allows (ClusterIP by default): traffic enters through the Ingress, not NodePorts or cloud load balancers; no Service sets externalIPs (CVE-2020-8554 traffic interception).",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowedTypes: {
        type: "array",
        items: { type: "string", enum: ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"] },
        default: ["ClusterIP"],
      },
    },
  },
  validateResource: validateType(TYPES.service, (props, label, args, report) => {
    const allowed = args.getConfig<ServiceTypeConfig>().allowedTypes ?? ["ClusterIP"];
    const spec = (props.spec ?? {}) as {
      type?: string;
      ports?: { nodePort?: number }[];
      externalIPs?: string[];
    };
    // CVE-2020-8554: whoever may create a Service with externalIPs can intercept the cluster's
    // traffic to those addresses. Kubernetes' own advice is to forbid the field by policy.
    const externalIPs = asArray(spec.externalIPs);
    if (externalIPs.length > 0)
      report(
        `${label}: sets externalIPs ${externalIPs.join(", ")}; any Service with externalIPs can intercept cluster traffic to those addresses (CVE-2020-8554)`,
      );
    const type = spec.type ?? "ClusterIP";
    if (!allowed.includes(type))
      report(
        `${label}: type ${type} is not allowed in this stack (allowed: ${allowed.join(", ")})`,
      );
    else if (type === "ClusterIP" && asArray(spec.ports).some((p) => p.nodePort))
      report(`${label}: sets a nodePort on a ClusterIP Service`);
  }),
};

function hostCovered(host: string, tlsHosts: string[]): boolean {
  return tlsHosts.some(
    (t) =>
      t === host ||
      (t.startsWith("*.") &&
        host.endsWith(t.slice(1)) &&
        !host.slice(0, -t.length + 1).includes(".")),
  );
}

export const ingressTls: OctoPolicy = {
  name: "ingress-tls",
  description:
    "Every Ingress rule names a host, and every host is covered by a TLS entry with a secretName.",
  enforcementLevel: "mandatory",
  validateResource: validateType(TYPES.ingress, (props, label, _args, report) => {
    const spec = (props.spec ?? {}) as {
      tls?: { hosts?: string[]; secretName?: string }[];
      rules?: { host?: string }[];
    };
    const tls = asArray(spec.tls);
    const tlsHosts = tls.flatMap((t) => asArray(t.hosts));
    for (const t of tls)
      if (!t.secretName)
        report(
          `${label}: TLS entry for ${asArray(t.hosts).join(", ") || "(no hosts)"} has no secretName`,
        );
    const rules = asArray(spec.rules);
    if (rules.length === 0 && tls.length === 0) report(`${label}: has no TLS (and no host rules)`);
    for (const rule of rules) {
      if (!rule.host)
        report(`${label}: a rule has no host, so it is served without TLS on every name`);
      else if (!hostCovered(rule.host, tlsHosts))
        report(`${label}: host ${rule.host} has no TLS entry`);
    }
  }),
};

export const servicePolicies: OctoPolicy[] = [serviceTypeAllowed, ingressTls];
