/**
 * Foundation tier: the stack's Kubernetes provider, its namespaces with Pod Security Admission
 * labels, a ResourceQuota + LimitRange + default-deny NetworkPolicy per namespace, and the
 * encrypted StorageClass the data stores use.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import { standardLabels } from "./k8s/labels";

export type NamespaceRole = "system" | "workloads" | "reflex";
export const NAMESPACE_ROLES: readonly NamespaceRole[] = ["system", "workloads", "reflex"];

export interface FoundationArgs {
  config: PlatformConfig;
}

/** PSA level per namespace role; see the reflex note below. */
function podSecurityLabels(role: NamespaceRole): Record<string, string> {
  // The reflex layer needs hostNetwork + hostPort (ADR-005), which no PSS level below
  // "privileged" admits. Its namespace enforces privileged so the DaemonSet is admitted, but
  // audits and warns at restricted so every other deviation still shows up; it holds nothing else.
  const enforce = role === "reflex" ? "privileged" : "restricted";
  return {
    "pod-security.kubernetes.io/enforce": enforce,
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/audit-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
  };
}

export class Foundation extends pulumi.ComponentResource {
  /** the one Kubernetes provider of the stack; every other tier uses it */
  public readonly provider: k8s.Provider;
  /** namespace names as outputs of the Namespace resources, so users depend on their creation */
  public readonly namespaces: Record<NamespaceRole, pulumi.Output<string>>;
  public readonly storageClassName: pulumi.Output<string>;

  constructor(name: string, args: FoundationArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:foundation:Foundation", name, {}, opts);
    const { config } = args;
    const instance = `octollm-${config.environment}`;

    this.provider = new k8s.Provider(
      `${name}-k8s`,
      {
        context: config.kubernetes.context,
        kubeconfig: config.kubernetes.kubeconfigPath,
        // Server-side apply lets operators and HPAs own their fields without Pulumi fighting them.
        enableServerSideApply: true,
      },
      { parent: this },
    );
    const childOpts = { parent: this, provider: this.provider };

    const namespaces = {} as Record<NamespaceRole, pulumi.Output<string>>;
    for (const role of NAMESPACE_ROLES) {
      const nsName = config.namespaces[role];
      const labels = standardLabels(
        { name: nsName, component: "foundation", instance },
        {
          ...podSecurityLabels(role),
          "octollm.io/environment": config.environment,
          "octollm.io/namespace-role": role,
        },
      );
      const ns = new k8s.core.v1.Namespace(
        `${name}-${role}`,
        {
          metadata: {
            name: nsName,
            labels,
            annotations:
              role === "reflex"
                ? {
                    "octollm.io/pod-security-exemption":
                      "reflex layer: hostNetwork + hostPort, see components/k8s/exemptions.ts",
                  }
                : undefined,
          },
        },
        // Deleting a namespace deletes everything in it, protected data stores included; with
        // protectData the namespaces are protected and left in place by `pulumi destroy`.
        { ...childOpts, protect: config.protectData, retainOnDelete: config.protectData },
      );
      const nsOpts = { ...childOpts, dependsOn: [ns] };
      const budget = config.quotas[role];
      new k8s.core.v1.ResourceQuota(
        `${name}-${role}-quota`,
        {
          metadata: { name: "octollm-quota", namespace: nsName, labels },
          spec: {
            hard: Object.fromEntries(Object.entries(budget.quota).map(([k, v]) => [k, String(v)])),
          },
        },
        nsOpts,
      );
      new k8s.core.v1.LimitRange(
        `${name}-${role}-limits`,
        {
          metadata: { name: "octollm-limits", namespace: nsName, labels },
          spec: {
            limits: [
              {
                type: "Container",
                default: { ...budget.limitRange.default },
                defaultRequest: { ...budget.limitRange.defaultRequest },
                ...(budget.limitRange.min ? { min: { ...budget.limitRange.min } } : {}),
                ...(budget.limitRange.max ? { max: { ...budget.limitRange.max } } : {}),
                maxLimitRequestRatio: {
                  cpu: String(budget.limitRange.maxLimitRequestRatio.cpu),
                  memory: String(budget.limitRange.maxLimitRequestRatio.memory),
                },
              },
            ],
          },
        },
        nsOpts,
      );
      // Default deny both ways; every flow the platform needs is allowed explicitly by its tier.
      // (NetworkPolicies do not apply to hostNetwork pods: the reflex namespace keeps the policy
      // for anything else that might be scheduled there.)
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${role}-default-deny`,
        {
          metadata: { name: "default-deny", namespace: nsName, labels },
          spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
        },
        nsOpts,
      );
      new k8s.networking.v1.NetworkPolicy(
        `${name}-${role}-allow-dns`,
        {
          metadata: { name: "allow-dns-egress", namespace: nsName, labels },
          spec: {
            podSelector: {},
            policyTypes: ["Egress"],
            egress: [
              {
                to: [
                  {
                    namespaceSelector: {
                      matchLabels: { "kubernetes.io/metadata.name": config.network.dnsNamespace },
                    },
                    podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
                  },
                  // NodeLocal DNSCache answers on a link-local address of the node (hostNetwork),
                  // which no pod selector matches.
                  ...config.network.dnsCidrs.map((cidr) => ({ ipBlock: { cidr } })),
                ],
                ports: [
                  { protocol: "UDP", port: 53 },
                  { protocol: "TCP", port: 53 },
                ],
              },
            ],
          },
        },
        nsOpts,
      );
      namespaces[role] = ns.metadata.name;
    }
    this.namespaces = namespaces;

    const sc = config.dataStores.storageClass;
    const storageClass = new k8s.storage.v1.StorageClass(
      `${name}-storage`,
      {
        metadata: {
          name: sc.name,
          labels: standardLabels({ name: sc.name, component: "foundation", instance }),
        },
        provisioner: sc.provisioner,
        parameters: { ...sc.parameters },
        // Data outlives its claim: a deleted PVC leaves the volume for an operator to recover.
        reclaimPolicy: "Retain",
        allowVolumeExpansion: true,
        volumeBindingMode: "WaitForFirstConsumer",
      },
      { ...childOpts, protect: config.protectData, retainOnDelete: config.protectData },
    );
    this.storageClassName = storageClass.metadata.name;

    this.registerOutputs({ namespaces: this.namespaces, storageClassName: this.storageClassName });
  }
}
