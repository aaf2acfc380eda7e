/**
 * Ingress tier: the platform's one public host, served by ingress-nginx.
 *
 * - Two Ingress objects on the same host, one per backend namespace (an Ingress can only send
 *   traffic to Services of its own namespace): `/` → reflex-layer:8080 in the reflex namespace,
 *   `/api/orchestrator` → orchestrator:8000 in the workloads namespace. ingress-nginx merges
 *   them into one server; the longest matching prefix wins. No `rewrite-target`: the
 *   orchestrator receives its paths unchanged.
 * - Annotations: HTTPS redirect, per-client rate limits (`limit-rps`, `limit-connections`; the
 *   seed's `rate-limit` is not an ingress-nginx annotation), body size and read/send timeouts for
 *   long LLM calls, response buffering off for streamed tokens, and an AEAD-only cipher list.
 *   The TLS protocol minimum is not a per-Ingress setting in ingress-nginx: it is the
 *   controller-wide `ssl-protocols` ConfigMap key (docs/ingress.md). The cipher list set here
 *   admits no TLS 1.0/1.1 handshake (every suite in it is TLS 1.2+), which pins the minimum for
 *   this host even on a controller configured more loosely.
 * - TLS, `acme` mode (production): cert-manager installed from its chart when
 *   `operators.certManager.install` (CRDs from the chart, the startupapicheck hook Job disabled:
 *   helm.v4.Chart does not run hooks), a `letsencrypt-prod` ClusterIssuer (HTTP-01 through the
 *   ingress class) and a Certificate `octollm-tls` in each of the two namespaces, all depending
 *   on the chart. A NetworkPolicy lets the controller reach the HTTP-01 solver pods through the
 *   namespaces' default deny.
 * - TLS, `private-ca` mode (dev, staging): the `octollm-tls` Secrets made by
 *   components/secrets.ts with the @pulumi/tls CA.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import type { NamespaceRole } from "./foundation";
import { instanceName, standardLabels } from "./k8s/labels";
import { ingressControllerPeer, policySpec, tcp } from "./network-flows";
import { ORCHESTRATOR_NAME } from "./orchestrator";
import { REFLEX_NAME } from "./reflex-layer";
import { SECRET_NAMES } from "./secrets";

export const INGRESS_NAME = "octollm-api";
export const CLUSTER_ISSUER = "letsencrypt-prod";
export const CERT_MANAGER_REPO = "https://charts.jetstack.io";
export const ORCHESTRATOR_PATH = "/api/orchestrator";
/** Port of cert-manager's HTTP-01 solver pods and their label. */
export const ACME_SOLVER_PORT = 8089;
export const ACME_SOLVER_LABELS = { "acme.cert-manager.io/http01-solver": "true" };

/**
 * TLS 1.2+ AEAD suites with forward secrecy (ingress-nginx's own default list). None of them
 * exists before TLS 1.2, so a TLS 1.0/1.1 client finds no common cipher.
 */
export const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
].join(":");

/** The ingress-nginx annotations both Ingress objects carry. */
export function ingressAnnotations(config: PlatformConfig): Record<string, string> {
  const i = config.ingress;
  const prefix = "nginx.ingress.kubernetes.io";
  return {
    [`${prefix}/ssl-redirect`]: "true",
    [`${prefix}/force-ssl-redirect`]: "true",
    [`${prefix}/ssl-ciphers`]: TLS12_CIPHERS,
    [`${prefix}/limit-rps`]: String(i.rateLimit.rps),
    [`${prefix}/limit-connections`]: String(i.rateLimit.connections),
    [`${prefix}/proxy-body-size`]: i.proxyBodySize,
    [`${prefix}/proxy-read-timeout`]: String(i.proxyTimeoutSeconds),
    [`${prefix}/proxy-send-timeout`]: String(i.proxyTimeoutSeconds),
    // LLM responses stream token by token; buffering would hold them until the end.
    [`${prefix}/proxy-buffering`]: "off",
  };
}

/** cert-manager chart values: nothing may rely on a Helm hook (helm.v4.Chart skips hooks). */
export function certManagerValues(config: PlatformConfig): Record<string, unknown> {
  const replicas = config.environment === "production" ? 2 : 1;
  const pdb = { enabled: replicas > 1, ...(replicas > 1 ? { minAvailable: 1 } : {}) };
  return {
    crds: { enabled: true, keep: true },
    // A post-install hook Job: helm.v4.Chart would not run it, and Pulumi waits for the
    // Deployments anyway.
    startupapicheck: { enabled: false },
    replicaCount: replicas,
    podDisruptionBudget: pdb,
    webhook: { replicaCount: replicas, podDisruptionBudget: pdb },
    cainjector: { replicaCount: replicas, podDisruptionBudget: pdb },
    // HTTP-01 solver pods start in our namespaces, whose LimitRange allows a limit/request ratio
    // of at most 4 (cert-manager's default is 100m/10m CPU).
    extraArgs: [
      "--acme-http01-solver-resource-request-cpu=25m",
      "--acme-http01-solver-resource-limits-cpu=100m",
      "--acme-http01-solver-resource-request-memory=64Mi",
      "--acme-http01-solver-resource-limits-memory=64Mi",
    ],
  };
}

export interface IngressArgs {
  config: PlatformConfig;
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
}

export class Ingress extends pulumi.ComponentResource {
  public readonly host: string;
  public readonly url: string;
  public readonly orchestratorUrl: string;
  /** `acme` or `private-ca` */
  public readonly tlsMode: string;

  constructor(name: string, args: IngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:ingress:Ingress", name, {}, opts);
    const { config, namespaces } = args;
    const i = config.ingress;
    const instance = instanceName(config.environment);
    const labels = standardLabels({ name: INGRESS_NAME, component: "ingress", instance });
    const child = { parent: this };
    const roles = ["reflex", "workloads"] as const;

    // The Ingresses do not wait for the Certificates: nginx serves its default certificate
    // until cert-manager writes the Secret, and issuance needs no Ingress of ours.
    if (i.tls.mode === "acme") this.acme(name, config, namespaces, labels);

    const backends: Record<
      (typeof roles)[number],
      { path: string; service: string; port: number }
    > = {
      reflex: { path: "/", service: REFLEX_NAME, port: config.reflexLayer.port },
      workloads: {
        path: ORCHESTRATOR_PATH,
        service: ORCHESTRATOR_NAME,
        port: config.orchestrator.ports.http,
      },
    };
    for (const role of roles) {
      const b = backends[role];
      new k8s.networking.v1.Ingress(
        `${name}-${role}`,
        {
          metadata: {
            name: INGRESS_NAME,
            namespace: namespaces[role],
            labels,
            annotations: ingressAnnotations(config),
          },
          spec: {
            ingressClassName: i.className,
            tls: [{ hosts: [i.host], secretName: SECRET_NAMES.tls }],
            rules: [
              {
                host: i.host,
                http: {
                  paths: [
                    {
                      path: b.path,
                      pathType: "Prefix",
                      backend: { service: { name: b.service, port: { number: b.port } } },
                    },
                  ],
                },
              },
            ],
          },
        },
        child,
      );
    }

    this.host = i.host;
    this.url = `https://${i.host}/`;
    this.orchestratorUrl = `https://${i.host}${ORCHESTRATOR_PATH}`;
    this.tlsMode = i.tls.mode;
    this.registerOutputs({
      host: this.host,
      url: this.url,
      orchestratorUrl: this.orchestratorUrl,
      tlsMode: this.tlsMode,
    });
  }

  /** cert-manager (optionally installed), the ClusterIssuer and one Certificate per namespace. */
  private acme(
    name: string,
    config: PlatformConfig,
    namespaces: Record<NamespaceRole, pulumi.Output<string>>,
    labels: Record<string, string>,
  ): void {
    const i = config.ingress;
    const cm = config.operators.certManager;
    const child = { parent: this };
    const dependsOn: pulumi.Resource[] = [];

    if (cm.install) {
      const ownNamespaces: string[] = Object.values(config.namespaces);
      let namespaceResource: pulumi.Resource | undefined;
      if (!ownNamespaces.includes(cm.namespace)) {
        namespaceResource = new k8s.core.v1.Namespace(
          `${name}-cert-manager-ns`,
          {
            metadata: {
              name: cm.namespace,
              labels: standardLabels(
                {
                  name: cm.namespace,
                  component: "ingress",
                  instance: instanceName(config.environment),
                },
                {
                  // cert-manager's chart runs restricted-compliant pods.
                  "pod-security.kubernetes.io/enforce": "restricted",
                  "pod-security.kubernetes.io/enforce-version": "latest",
                },
              ),
            },
          },
          child,
        );
      }
      const chart = new k8s.helm.v4.Chart(
        `${name}-cert-manager`,
        {
          chart: "cert-manager",
          version: cm.version,
          namespace: cm.namespace,
          repositoryOpts: { repo: CERT_MANAGER_REPO },
          values: certManagerValues(config),
        },
        { ...child, dependsOn: namespaceResource ? [namespaceResource] : [] },
      );
      dependsOn.push(chart);
    }
    const crOpts = { ...child, dependsOn };

    const issuer = new k8s.apiextensions.CustomResource(
      `${name}-cluster-issuer`,
      {
        apiVersion: "cert-manager.io/v1",
        kind: "ClusterIssuer",
        metadata: { name: CLUSTER_ISSUER, labels },
        spec: {
          acme: {
            server: i.tls.acmeServer,
            email: i.tls.acmeEmail,
            privateKeySecretRef: { name: `${CLUSTER_ISSUER}-account-key` },
            solvers: [
              {
                http01: {
                  // ClusterIP: the default NodePort would open a port on every node.
                  ingress: { ingressClassName: i.className, serviceType: "ClusterIP" },
                },
              },
            ],
          },
        },
      },
      crOpts,
    );

    for (const role of ["reflex", "workloads"] as const) {
      new k8s.apiextensions.CustomResource(
        `${name}-certificate-${role}`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "Certificate",
          metadata: { name: SECRET_NAMES.tls, namespace: namespaces[role], labels },
          spec: {
            secretName: SECRET_NAMES.tls,
            dnsNames: [i.host],
            issuerRef: { name: CLUSTER_ISSUER, kind: "ClusterIssuer", group: "cert-manager.io" },
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
            secretTemplate: { labels },
          },
        },
        { ...child, dependsOn: [...dependsOn, issuer] },
      );

      // The namespaces deny all ingress by default: let the controller reach the solver pods.
      new k8s.networking.v1.NetworkPolicy(
        `${name}-acme-solver-${role}`,
        {
          metadata: { name: "acme-http01-solver", namespace: namespaces[role], labels },
          spec: policySpec(
            ACME_SOLVER_LABELS,
            [{ from: [ingressControllerPeer(config)], ports: tcp(ACME_SOLVER_PORT) }],
            [],
          ),
        },
        child,
      );
    }
  }
}
