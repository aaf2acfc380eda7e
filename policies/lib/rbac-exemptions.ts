/**
 * What the charts the program installs need of RBAC that `rbac-least-privilege` otherwise
 * refuses, each entry named, scoped and justified. Charts cannot carry our exemption annotation
 * (policies/lib/exemptions.ts covers the program's own workloads), so their exemptions live here,
 * matched on three things the chart itself renders:
 *
 * - the object is a chart's (its URN passes through `kubernetes:helm.sh/…:Chart`),
 * - its `helm.sh/chart` label names the chart (`<chart>-<version>`; the version is not matched, so
 *   a chart upgrade keeps its entry: re-read the chart's RBAC templates with every bump),
 * - its kind and name (the part after the release's fullname) and the finding.
 *
 * Only the listed findings are let off; anything else on the same object (a new `*`, an
 * `impersonate`) is still a violation. Every use is recorded like any exemption (the render's
 * report lists them). Sources: the chart templates at the versions pinned in components/defaults.ts.
 */

/** What rbac-least-privilege finds on a Role / ClusterRole. */
export type RbacFinding = "wildcard" | "escalation-verbs" | "pod-exec" | "cluster-secrets-read";

export interface ChartRbacExemption {
  /** the chart's name as its `helm.sh/chart` label gives it, without the version */
  chart: string;
  kinds: readonly ("Role" | "ClusterRole")[];
  /** the object's name ends with this (release fullnames differ per stack); "" = any */
  nameSuffix: string;
  findings: readonly RbacFinding[];
  reason: string;
}

export const CHART_RBAC_EXEMPTIONS: readonly ChartRbacExemption[] = [
  ...[
    "-controller-issuers",
    "-controller-clusterissuers",
    "-controller-certificates",
    "-controller-orders",
    "-controller-challenges",
    "-cainjector",
  ].map((nameSuffix): ChartRbacExemption => ({
    chart: "cert-manager",
    kinds: ["ClusterRole"],
    nameSuffix,
    findings: ["cluster-secrets-read"],
    reason:
      "cert-manager v1.18.2 (templates/rbac.yaml, cainjector-rbac.yaml): the controller writes every Certificate's key pair into a Secret in the Certificate's namespace and reads issuer credentials (ACME account keys, CA key pairs); cainjector reads CA Secrets to inject into webhooks. Certificates live in any namespace, so the read is cluster-wide by design",
  })),
  {
    chart: "cloudnative-pg",
    kinds: ["ClusterRole", "Role"],
    nameSuffix: "",
    findings: ["cluster-secrets-read", "pod-exec"],
    reason:
      "CloudNativePG chart 0.26.0 (templates/_helpers.tpl commonRules, config.clusterWide true): the operator creates and rotates each Cluster's credential and certificate Secrets in the Cluster's namespace, and execs into instance pods (pods/exec create) to read PostgreSQL's status and run backups' pg_* commands; its ClusterRole is bound to the operator's ServiceAccount only",
  },
  {
    chart: "gateway-helm",
    kinds: ["ClusterRole"],
    nameSuffix: "-envoy-gateway-role",
    findings: ["cluster-secrets-read"],
    reason:
      "Envoy Gateway v1.9.0 (templates/_rbac.tpl eg.rbac.namespaced.basic, no watch.namespaces): the controller reads the TLS Secrets Gateway listeners and BackendTLSPolicies reference, in whatever namespace a ReferenceGrant allows",
  },
  {
    chart: "kube-prometheus-stack",
    kinds: ["ClusterRole"],
    nameSuffix: "-operator",
    findings: ["wildcard", "cluster-secrets-read"],
    reason:
      "kube-prometheus-stack 77.6.2 (templates/prometheus-operator/clusterrole.yaml): prometheus-operator owns its own CRDs, the StatefulSets and the generated config/web-config Secrets of every Prometheus and Alertmanager it runs ('*' on those resources only), and reads the Secrets ServiceMonitors and AlertmanagerConfigs reference in any namespace",
  },
  {
    chart: "kube-state-metrics",
    kinds: ["ClusterRole"],
    nameSuffix: "",
    findings: ["cluster-secrets-read"],
    reason:
      "kube-state-metrics 6.3.0 (subchart of kube-prometheus-stack 77.6.2; templates/role.yaml): the default collectors include `secrets` (kube_secret_info/_type/_labels, metadata only in the metrics), which needs list/watch on Secrets cluster-wide. Dropping the collector (kube-state-metrics.collectors) would remove this exemption",
  },
  {
    chart: "grafana",
    kinds: ["ClusterRole"],
    nameSuffix: "-clusterrole",
    findings: ["cluster-secrets-read"],
    reason:
      "grafana 9.4.5 (subchart of kube-prometheus-stack 77.6.2; templates/clusterrole.yaml, `<fullname>-clusterrole`): the dashboard and datasource sidecars watch labelled ConfigMaps and Secrets; with rbac.namespaced false (the chart default) the rule is a ClusterRole",
  },
  {
    chart: "velero",
    kinds: ["Role"],
    nameSuffix: "",
    findings: ["wildcard"],
    reason:
      "velero 10.1.0 (templates/role.yaml): '*' on everything, but a Role in Velero's own namespace only, where the server manages its own Backup/Restore objects and credentials",
  },
];

/** `helm.sh/chart: cert-manager-v1.18.2` → `cert-manager`; kube-prometheus-stack's `chart:` too. */
export function chartNameOf(labels: Record<string, string>): string | undefined {
  const value = labels["helm.sh/chart"] ?? labels.chart;
  if (!value) return undefined;
  const m = /^(.+?)-v?\d+\.\d+\.\d+\S*$/.exec(value);
  return m ? m[1] : value;
}

/** The entries that let `finding` off on a chart's `kind` `name`. */
export function chartExemptionFor(
  chart: string | undefined,
  kind: string,
  name: string,
  finding: RbacFinding,
): ChartRbacExemption | undefined {
  if (!chart) return undefined;
  return CHART_RBAC_EXEMPTIONS.find(
    (e) =>
      e.chart === chart &&
      (e.kinds as readonly string[]).includes(kind) &&
      name.endsWith(e.nameSuffix) &&
      e.findings.includes(finding),
  );
}
