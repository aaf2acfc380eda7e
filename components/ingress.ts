/**
 * The edge tier: the platform's one public host, `/` → reflex layer, `/api/orchestrator` →
 * orchestrator (paths from `ingress.paths`), TLS, rate limits.
 *
 * - `ingress.kind: gateway` (default): Gateway API on Envoy Gateway, see components/gateway.ts.
 * - `ingress.kind: ingress`: two networking.k8s.io Ingress objects on the same host, one per
 *   backend namespace (an Ingress can only send traffic to Services of its own namespace), for
 *   clusters that still run an Ingress controller (`ingress.className`). The ingress-nginx
 *   annotations (HTTPS redirect, per-client `limit-rps`/`limit-connections`, body size,
 *   timeouts, buffering off, AEAD-only ciphers) are written only when the class is `nginx`.
 *   No `rewrite-target`: the orchestrator receives its paths unchanged.
 * - TLS, `acme` mode (production): cert-manager installed from its chart when
 *   `operators.certManager.install` (CRDs from the chart; Gateway API support on with the
 *   Gateway edge), a `letsencrypt-prod` ClusterIssuer (HTTP-01 through the Gateway API
 *   `gatewayHTTPRoute` solver or the ingress class, or DNS-01 by config) and the Certificate(s)
 *   `octollm-tls` where the edge reads its Secret. The issuer and Certificates wait for
 *   cert-manager's own API check (startupapicheck) run as a plain Job: "chart ready" does not
 *   mean the webhook answers with an injected CA. A NetworkPolicy lets the edge reach the
 *   HTTP-01 solver pods through the namespaces' default deny.
 * - TLS, `private-ca` mode (dev, staging): the `octollm-tls` Secrets made by
 *   components/secrets.ts with the @pulumi/tls CA.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import type { NamespaceRole } from "./foundation";
import {
  gatewayClassName,
  gatewayEdge,
  installEnvoyGateway,
  LISTENERS,
  TLS12_CIPHER_SUITES,
} from "./gateway";
import { hardenedPodTemplate } from "./k8s/pod";
import { instanceName, selectorLabels, standardLabels } from "./k8s/labels";
import {
  EDGE_GATEWAY_NAME,
  edgePeer,
  gatewayDataPlaneLabels,
  policySpec,
  tcp,
} from "./network-flows";
import { ORCHESTRATOR_NAME } from "./orchestrator";
import { REFLEX_NAME } from "./reflex-layer";
import { edgeTlsRoles, SECRET_NAMES } from "./secrets";
import { chartValuesInput } from "./chart-values";

export const INGRESS_NAME = "octollm-api";
export const CLUSTER_ISSUER = "letsencrypt-prod";
export const CERT_MANAGER_REPO = "https://charts.jetstack.io";
/** The default orchestrator prefix (`ingress.paths.orchestrator`). */
export const ORCHESTRATOR_PATH = "/api/orchestrator";
/** Port of cert-manager's HTTP-01 solver pods and their label. */
export const ACME_SOLVER_PORT = 8089;
export const ACME_SOLVER_LABELS = { "acme.cert-manager.io/http01-solver": "true" };
/** cert-manager's API check, run as a plain Job (see `certManagerReadiness`). */
export const STARTUPAPICHECK_NAME = "cert-manager-startupapicheck";
export const STARTUPAPICHECK_IMAGE = "quay.io/jetstack/cert-manager-startupapicheck";

/** TLS 1.2+ AEAD suites with forward secrecy, in ingress-nginx's `ssl-ciphers` syntax. */
export const TLS12_CIPHERS = TLS12_CIPHER_SUITES.join(":");

/** The ingress-nginx annotations, only for the `nginx` class (other controllers ignore them). */
export function ingressAnnotations(config: PlatformConfig): Record<string, string> {
  const i = config.ingress;
  if (i.className !== "nginx") return {};
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

/** cert-manager chart values: nothing may rely on a Helm hook (see `certManagerReadiness`). */
export function certManagerValues(config: PlatformConfig): Record<string, unknown> {
  const replicas = config.environment === "production" ? 2 : 1;
  const pdb = { enabled: replicas > 1, ...(replicas > 1 ? { minAvailable: 1 } : {}) };
  const gatewayApi = config.ingress.kind === "gateway";
  return {
    crds: { enabled: true, keep: true },
    // The chart's startupapicheck is a post-install hook with hook-only RBAC; the program runs
    // the same check as a plain Job it owns (certManagerReadiness), so the issuer can wait on it.
    startupapicheck: { enabled: false },
    // The gatewayHTTPRoute HTTP-01 solver needs the controller's Gateway API support.
    ...(gatewayApi
      ? {
          config: {
            apiVersion: "controller.config.cert-manager.io/v1alpha1",
            kind: "ControllerConfiguration",
            enableGatewayAPI: true,
          },
        }
      : {}),
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

/** The ClusterIssuer's one solver: DNS-01 by config, else HTTP-01 through the edge. */
export function acmeSolver(config: PlatformConfig): Record<string, unknown> {
  const i = config.ingress;
  if (i.tls.solver === "dns01") return { dns01: i.tls.dns01 };
  if (i.kind === "gateway")
    return {
      http01: {
        gatewayHTTPRoute: {
          // ClusterIP: the default NodePort would open a port on every node.
          serviceType: "ClusterIP",
          parentRefs: [
            {
              group: "gateway.networking.k8s.io",
              kind: "Gateway",
              name: EDGE_GATEWAY_NAME,
              namespace: config.namespaces.system,
              sectionName: LISTENERS.http,
            },
          ],
        },
      },
    };
  return { http01: { ingress: { ingressClassName: i.className, serviceType: "ClusterIP" } } };
}

/** Where the Gateway is and where its Envoy proxies (and their Service) run. */
export interface GatewayEndpoint {
  namespace: string;
  name: string;
  className: string;
  /** `kubectl -n <dataPlaneNamespace> get svc -l <dataPlaneSelector>` shows the public address */
  dataPlaneNamespace: string;
  dataPlaneSelector: string;
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
  /** `gateway` or `ingress` */
  public readonly kind: string;
  public readonly gateway: GatewayEndpoint | undefined;

  constructor(name: string, args: IngressArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:ingress:Ingress", name, {}, opts);
    const { config, namespaces } = args;
    const i = config.ingress;
    const instance = instanceName(config.environment);
    const labels = standardLabels({ name: INGRESS_NAME, component: "ingress", instance });

    const implementation =
      i.kind === "gateway" && config.operators.envoyGateway.install
        ? installEnvoyGateway(name, config, this)
        : undefined;

    // The edge does not wait for the Certificates: it serves no certificate (Gateway) or its
    // default one (nginx) until cert-manager writes the Secret, and issuance needs the edge.
    if (i.tls.mode === "acme") this.acme(name, config, namespaces, labels, implementation?.chart);

    if (i.kind === "gateway")
      gatewayEdge(
        name,
        { config, namespaces, labels, implementation: implementation?.gatewayClass },
        this,
      );
    else this.ingresses(name, config, namespaces, labels);

    this.host = i.host;
    this.url = `https://${i.host}/`;
    this.orchestratorUrl = `https://${i.host}${i.paths.orchestrator}`;
    this.tlsMode = i.tls.mode;
    this.kind = i.kind;
    this.gateway =
      i.kind === "gateway"
        ? {
            namespace: config.namespaces.system,
            name: EDGE_GATEWAY_NAME,
            className: gatewayClassName(config),
            dataPlaneNamespace: config.operators.envoyGateway.namespace,
            dataPlaneSelector: Object.entries(gatewayDataPlaneLabels(config))
              .map(([k, v]) => `${k}=${v}`)
              .join(","),
          }
        : undefined;
    this.registerOutputs({
      gateway: this.gateway,
      host: this.host,
      url: this.url,
      orchestratorUrl: this.orchestratorUrl,
      tlsMode: this.tlsMode,
      kind: this.kind,
    });
  }

  /** `kind: ingress`: one Ingress per backend namespace, merged by the controller. */
  private ingresses(
    name: string,
    config: PlatformConfig,
    namespaces: Record<NamespaceRole, pulumi.Output<string>>,
    labels: Record<string, string>,
  ): void {
    const i = config.ingress;
    const backends = {
      reflex: { path: i.paths.reflex, service: REFLEX_NAME, port: config.reflexLayer.port },
      workloads: {
        path: i.paths.orchestrator,
        service: ORCHESTRATOR_NAME,
        port: config.orchestrator.ports.http,
      },
    };
    const annotations = ingressAnnotations(config);
    for (const role of ["reflex", "workloads"] as const) {
      const b = backends[role];
      new k8s.networking.v1.Ingress(
        `${name}-${role}`,
        {
          metadata: {
            name: INGRESS_NAME,
            namespace: namespaces[role],
            labels,
            ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
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
        { parent: this },
      );
    }
  }

  /**
   * cert-manager (optionally installed), its readiness Job, the ClusterIssuer and one
   * Certificate per namespace the edge reads `octollm-tls` from.
   */
  private acme(
    name: string,
    config: PlatformConfig,
    namespaces: Record<NamespaceRole, pulumi.Output<string>>,
    labels: Record<string, string>,
    gatewayApiCrds: pulumi.Resource | undefined,
  ): void {
    const i = config.ingress;
    const cm = config.operators.certManager;
    const child = { parent: this };
    const dependsOn: pulumi.Resource[] = [];

    if (cm.install) {
      const ownNamespaces: string[] = Object.values(config.namespaces);
      const chartDeps: pulumi.Resource[] = [];
      if (!ownNamespaces.includes(cm.namespace)) {
        chartDeps.push(
          new k8s.core.v1.Namespace(
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
          ),
        );
      }
      // With Gateway API support on, cert-manager's controller watches Gateway API kinds: their
      // CRDs (from Envoy Gateway's chart) come first.
      if (gatewayApiCrds) chartDeps.push(gatewayApiCrds);
      const chart = new k8s.helm.v4.Chart(
        `${name}-cert-manager`,
        {
          chart: "cert-manager",
          version: cm.version,
          namespace: cm.namespace,
          repositoryOpts: { repo: CERT_MANAGER_REPO },
          values: chartValuesInput(config, "certManager", certManagerValues(config)),
        },
        { ...child, dependsOn: chartDeps },
      );
      dependsOn.push(this.certManagerReadiness(name, config, chart));
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
            solvers: [acmeSolver(config)],
          },
        },
      },
      crOpts,
    );

    for (const role of edgeTlsRoles(config)) {
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

      // HTTP-01 solver pods start beside the Certificate, where all ingress is denied by
      // default: let the edge's data plane reach them.
      if (i.tls.solver === "http01")
        new k8s.networking.v1.NetworkPolicy(
          `${name}-acme-solver-${role}`,
          {
            metadata: { name: "acme-http01-solver", namespace: namespaces[role], labels },
            spec: policySpec(
              ACME_SOLVER_LABELS,
              [{ from: [edgePeer(config)], ports: tcp(ACME_SOLVER_PORT) }],
              [],
            ),
          },
          child,
        );
    }
  }

  /**
   * cert-manager's startupapicheck (`cmctl check api`: a dry-run CertificateRequest through the
   * webhook, retried until it succeeds or `--wait` ends) as a plain Job built by the hardened pod
   * builder. Pulumi waits for a Job to complete, so whatever depends on it starts only once the
   * webhook answers with its CA injected — the chart's Deployments being ready does not say that.
   */
  private certManagerReadiness(
    name: string,
    config: PlatformConfig,
    chart: pulumi.Resource,
  ): pulumi.Resource {
    const cm = config.operators.certManager;
    const labels = standardLabels({
      name: STARTUPAPICHECK_NAME,
      component: "ingress",
      instance: instanceName(config.environment),
    });
    // In our system namespace (quota, LimitRange, default deny), not cert-manager's: the check
    // talks only to the API server, which calls the webhook.
    const namespace = config.namespaces.system;
    const meta = { name: STARTUPAPICHECK_NAME, namespace, labels };
    const opts = { parent: this, dependsOn: [chart] };
    const account = new k8s.core.v1.ServiceAccount(
      `${name}-startupapicheck-sa`,
      { metadata: meta, automountServiceAccountToken: false },
      opts,
    );
    const role = new k8s.rbac.v1.Role(
      `${name}-startupapicheck-role`,
      {
        metadata: meta,
        // What the chart's hook Role grants: the dry-run create the check performs.
        rules: [
          {
            apiGroups: ["cert-manager.io"],
            resources: ["certificaterequests"],
            verbs: ["create"],
          },
        ],
      },
      opts,
    );
    const binding = new k8s.rbac.v1.RoleBinding(
      `${name}-startupapicheck-binding`,
      {
        metadata: meta,
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "Role",
          name: STARTUPAPICHECK_NAME,
        },
        subjects: [{ kind: "ServiceAccount", name: STARTUPAPICHECK_NAME, namespace }],
      },
      { ...opts, dependsOn: [chart, role, account] },
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-startupapicheck-netpol`,
      {
        metadata: meta,
        spec: policySpec(
          selectorLabels({
            name: STARTUPAPICHECK_NAME,
            component: "ingress",
            instance: instanceName(config.environment),
          }),
          [],
          [
            {
              to: config.network.apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })),
              ports: tcp(443, 6443),
            },
          ],
        ),
      },
      { parent: this },
    );
    return new k8s.batch.v1.Job(
      `${name}-startupapicheck`,
      {
        metadata: meta,
        spec: {
          // The check retries inside (--wait); a few pod retries cover a slow first webhook start.
          backoffLimit: 4,
          template: hardenedPodTemplate({
            labels,
            serviceAccountName: STARTUPAPICHECK_NAME,
            apiAccess: { reason: "cmctl check api creates a dry-run CertificateRequest" },
            restartPolicy: "OnFailure",
            containers: [
              {
                name: "startupapicheck",
                image: { repository: STARTUPAPICHECK_IMAGE, tag: cm.version },
                resources: STARTUPAPICHECK_RESOURCES,
                args: ["check", "api", "--wait=5m", "-v"],
                env: [
                  {
                    name: "POD_NAMESPACE",
                    valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
                  },
                ],
              },
            ],
          }),
        },
      },
      { ...opts, dependsOn: [chart, binding] },
    );
  }
}

export const STARTUPAPICHECK_RESOURCES = {
  requests: { cpu: "20m", memory: "32Mi" },
  limits: { cpu: "80m", memory: "64Mi" },
};
