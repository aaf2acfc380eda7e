/**
 * The public edge on the Gateway API (`ingress.kind: gateway`, the default), implemented by
 * Envoy Gateway. Why Envoy Gateway and why not ingress-nginx: docs/ingress.md.
 *
 * Objects (all in the stack's system namespace unless said otherwise):
 * - Envoy Gateway's chart (`operators.envoyGateway.install`): controller, its CRDs and the
 *   Gateway API CRDs, in its own namespace; a GatewayClass `ingress.gateway.className`
 *   (default `envoy-gateway`). With `install: false` both must exist.
 * - EnvoyProxy: the data plane's shape: replicas, hardened pods whose every container has
 *   requests and limits within the LimitRange ratio (the shutdown-manager sidecar has hard-coded
 *   requests and no limits upstream, so a strategic-merge patch sets them), Service type with
 *   `externalTrafficPolicy: Local` so Envoy sees client addresses (per-client rate limits).
 * - Gateway `octollm`: listener `http` (80) admits only routes of its own namespace — the
 *   redirect below and cert-manager's HTTP-01 solver routes — and listener `https` (443)
 *   terminates TLS with the Secret `octollm-tls` of the same namespace (no ReferenceGrant) and
 *   admits routes from the reflex and workloads namespaces only.
 * - HTTPRoutes: `octollm-https-redirect` (http listener, RequestRedirect to https, no backend);
 *   `/` → reflex-layer:8080 in the reflex namespace and `/api/orchestrator` → orchestrator:8000
 *   in the workloads namespace, each route beside its Service, so no backendRef crosses a
 *   namespace and no ReferenceGrant is needed. PathPrefix matches whole path segments; no
 *   rewrite: the orchestrator receives its paths unchanged.
 * - ClientTrafficPolicy on the Gateway: TLS 1.2 minimum, AEAD cipher list, a connection cap per
 *   listener. BackendTrafficPolicy on each public route: a local rate limit per client IP.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig, Resources } from "./config";
import type { NamespaceRole } from "./foundation";
import { instanceName, standardLabels } from "./k8s/labels";
import { EDGE_GATEWAY_NAME, gatewayDataPlaneLabels } from "./network-flows";
import { ORCHESTRATOR_NAME } from "./orchestrator";
import { REFLEX_NAME } from "./reflex-layer";
import { SECRET_NAMES } from "./secrets";
import { chartValuesInput } from "./chart-values";

export const GATEWAY_API = "gateway.networking.k8s.io/v1";
export const ENVOY_GATEWAY_API = "gateway.envoyproxy.io/v1alpha1";
export const ENVOY_GATEWAY_CHART = "oci://docker.io/envoyproxy/gateway-helm";
export const ENVOY_GATEWAY_CONTROLLER = "gateway.envoyproxy.io/gatewayclass-controller";
export const DEFAULT_GATEWAY_CLASS = "envoy-gateway";
export const ENVOY_PROXY_NAME = "octollm-proxy";
export const REDIRECT_ROUTE = "octollm-https-redirect";
export const LISTENERS = { http: "http", https: "https" } as const;
/** UID/GID of Envoy Gateway's images (distroless nonroot). */
export const ENVOY_UID = 65532;

/**
 * TLS 1.2 AEAD suites with forward secrecy (BoringSSL/OpenSSL names; Envoy and nginx spell them
 * alike). None exists before TLS 1.2; TLS 1.3 suites are negotiated separately.
 */
export const TLS12_CIPHER_SUITES = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
];

/** The GatewayClass the Gateway names. */
export function gatewayClassName(config: PlatformConfig): string {
  return config.ingress.gateway.className ?? DEFAULT_GATEWAY_CLASS;
}

/** The public routes: path prefix → Service and port, in the Service's own namespace. */
export function publicRoutes(config: PlatformConfig): {
  name: string;
  role: NamespaceRole;
  path: string;
  service: string;
  port: number;
}[] {
  return [
    {
      name: "octollm-reflex",
      role: "reflex",
      path: config.ingress.paths.reflex,
      service: REFLEX_NAME,
      port: config.reflexLayer.port,
    },
    {
      name: "octollm-orchestrator",
      role: "workloads",
      path: config.ingress.paths.orchestrator,
      service: ORCHESTRATOR_NAME,
      port: config.orchestrator.ports.http,
    },
  ];
}

const res = (cpu: string, memory: string, limCpu: string, limMem: string): Resources => ({
  requests: { cpu, memory },
  limits: { cpu: limCpu, memory: limMem },
});
/** Envoy Gateway's controller, its certgen Job and the proxies' shutdown-manager sidecar. */
export const ENVOY_GATEWAY_RESOURCES = {
  controller: res("100m", "256Mi", "400m", "512Mi"),
  certgen: res("50m", "64Mi", "200m", "128Mi"),
  shutdownManager: res("10m", "32Mi", "40m", "64Mi"),
} as const;

const hardenedContainer = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  privileged: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: ENVOY_UID,
  runAsGroup: ENVOY_UID,
  seccompProfile: { type: "RuntimeDefault" },
};

/**
 * Envoy Gateway chart values (v1.9.0 values.yaml). Its one hook, the `certgen` pre-install Job,
 * is applied by helm.v4.Chart as an ordinary Job: Pulumi waits for it to complete, and the
 * controller's pods wait for the Secret it writes.
 */
export function envoyGatewayValues(config: PlatformConfig): Record<string, unknown> {
  const replicas = config.environment === "production" ? 2 : 1;
  return {
    deployment: {
      replicas,
      envoyGateway: { resources: ENVOY_GATEWAY_RESOURCES.controller },
    },
    // The chart renders the PDB with this; 0 (its default) would allow evicting every replica.
    podDisruptionBudget: { minAvailable: replicas > 1 ? 1 : 0 },
    certgen: { job: { resources: ENVOY_GATEWAY_RESOURCES.certgen } },
  };
}

/** The EnvoyProxy spec: the data plane Envoy Gateway runs for our Gateway. */
export function envoyProxySpec(config: PlatformConfig): Record<string, unknown> {
  const g = config.ingress.gateway;
  const selector = gatewayDataPlaneLabels(config);
  const tmp = { name: "tmp", mountPath: "/tmp" };
  return {
    provider: {
      type: "Kubernetes",
      kubernetes: {
        envoyDeployment: {
          replicas: g.replicas,
          pod: {
            securityContext: {
              runAsNonRoot: true,
              runAsUser: ENVOY_UID,
              runAsGroup: ENVOY_UID,
              fsGroup: ENVOY_UID,
              seccompProfile: { type: "RuntimeDefault" },
            },
            volumes: [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }],
            topologySpreadConstraints: [
              {
                maxSkew: 1,
                topologyKey: "kubernetes.io/hostname",
                whenUnsatisfiable: "ScheduleAnyway",
                labelSelector: { matchLabels: selector },
              },
            ],
          },
          container: {
            resources: g.proxyResources,
            // Applies to both containers (Envoy Gateway uses it for the shutdown manager too).
            // Read-only root: Envoy's admin log goes to /dev/null and the shutdown manager's
            // one file is /tmp/shutdown-ready, on the emptyDir.
            securityContext: hardenedContainer,
            volumeMounts: [tmp],
          },
          // The shutdown-manager sidecar's resources are hard-coded upstream (10m/32Mi requests,
          // no limits): a LimitRange default limit would break its ratio. Set both here.
          patch: {
            type: "StrategicMerge",
            value: {
              spec: {
                template: {
                  spec: {
                    containers: [
                      {
                        name: "shutdown-manager",
                        resources: ENVOY_GATEWAY_RESOURCES.shutdownManager,
                        volumeMounts: [tmp],
                      },
                    ],
                  },
                },
              },
            },
          },
        },
        envoyService: {
          type: g.serviceType,
          // Local: the client's address survives to Envoy (rate limits are per client IP).
          ...(g.serviceType === "ClusterIP" ? {} : { externalTrafficPolicy: "Local" }),
        },
        ...(g.replicas > 1 ? { envoyPDB: { minAvailable: 1 } } : {}),
      },
    },
  };
}

export interface GatewayEdgeArgs {
  config: PlatformConfig;
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
  labels: Record<string, string>;
  /** the Envoy Gateway chart when the program installs it */
  implementation?: pulumi.Resource;
}

/** Gateway, routes and policies, children of `parent`. */
export function gatewayEdge(name: string, args: GatewayEdgeArgs, parent: pulumi.Resource): void {
  const { config, namespaces, labels } = args;
  const i = config.ingress;
  const system = namespaces.system;
  const opts = { parent, dependsOn: args.implementation ? [args.implementation] : [] };
  const gatewayGvk = { group: "gateway.networking.k8s.io", kind: "Gateway" };

  const proxy = new k8s.apiextensions.CustomResource(
    `${name}-envoy-proxy`,
    {
      apiVersion: ENVOY_GATEWAY_API,
      kind: "EnvoyProxy",
      metadata: { name: ENVOY_PROXY_NAME, namespace: system, labels },
      spec: envoyProxySpec(config),
    },
    opts,
  );

  const gateway = new k8s.apiextensions.CustomResource(
    `${name}-gateway`,
    {
      apiVersion: GATEWAY_API,
      kind: "Gateway",
      metadata: { name: EDGE_GATEWAY_NAME, namespace: system, labels },
      spec: {
        gatewayClassName: gatewayClassName(config),
        infrastructure: {
          parametersRef: {
            group: "gateway.envoyproxy.io",
            kind: "EnvoyProxy",
            name: ENVOY_PROXY_NAME,
          },
        },
        listeners: [
          {
            name: LISTENERS.http,
            protocol: "HTTP",
            port: 80,
            hostname: i.host,
            // The redirect and cert-manager's HTTP-01 solver routes live here; nothing else.
            allowedRoutes: { namespaces: { from: "Same" }, kinds: [{ kind: "HTTPRoute" }] },
          },
          {
            name: LISTENERS.https,
            protocol: "HTTPS",
            port: 443,
            hostname: i.host,
            tls: {
              mode: "Terminate",
              certificateRefs: [{ group: "", kind: "Secret", name: SECRET_NAMES.tls }],
            },
            allowedRoutes: {
              namespaces: {
                from: "Selector",
                selector: {
                  matchExpressions: [
                    {
                      key: "kubernetes.io/metadata.name",
                      operator: "In",
                      values: [
                        ...new Set(publicRoutes(config).map((r) => config.namespaces[r.role])),
                      ],
                    },
                  ],
                },
              },
              kinds: [{ kind: "HTTPRoute" }],
            },
          },
        ],
      },
    },
    { ...opts, dependsOn: [...opts.dependsOn, proxy] },
  );
  const afterGateway = { ...opts, dependsOn: [...opts.dependsOn, gateway] };

  new k8s.apiextensions.CustomResource(
    `${name}-https-redirect`,
    {
      apiVersion: GATEWAY_API,
      kind: "HTTPRoute",
      metadata: { name: REDIRECT_ROUTE, namespace: system, labels },
      spec: {
        parentRefs: [
          {
            ...gatewayGvk,
            name: EDGE_GATEWAY_NAME,
            namespace: system,
            sectionName: LISTENERS.http,
          },
        ],
        hostnames: [i.host],
        rules: [
          {
            filters: [
              { type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } },
            ],
          },
        ],
      },
    },
    afterGateway,
  );

  new k8s.apiextensions.CustomResource(
    `${name}-client-policy`,
    {
      apiVersion: ENVOY_GATEWAY_API,
      kind: "ClientTrafficPolicy",
      metadata: { name: EDGE_GATEWAY_NAME, namespace: system, labels },
      spec: {
        targetRefs: [{ ...gatewayGvk, name: EDGE_GATEWAY_NAME }],
        tls: { minVersion: "1.2", ciphers: TLS12_CIPHER_SUITES },
        connection: { connectionLimit: { value: i.rateLimit.listenerConnections } },
      },
    },
    afterGateway,
  );

  for (const route of publicRoutes(config)) {
    const namespace = namespaces[route.role];
    const httpRoute = new k8s.apiextensions.CustomResource(
      `${name}-route-${route.role}`,
      {
        apiVersion: GATEWAY_API,
        kind: "HTTPRoute",
        metadata: { name: route.name, namespace, labels },
        spec: {
          parentRefs: [
            {
              ...gatewayGvk,
              name: EDGE_GATEWAY_NAME,
              namespace: system,
              sectionName: LISTENERS.https,
            },
          ],
          hostnames: [i.host],
          rules: [
            {
              matches: [{ path: { type: "PathPrefix", value: route.path } }],
              backendRefs: [{ group: "", kind: "Service", name: route.service, port: route.port }],
              // LLM calls take minutes; Envoy's default route timeout is 15 s.
              timeouts: { request: `${i.proxyTimeoutSeconds}s` },
            },
          ],
        },
      },
      afterGateway,
    );
    new k8s.apiextensions.CustomResource(
      `${name}-rate-limit-${route.role}`,
      {
        apiVersion: ENVOY_GATEWAY_API,
        kind: "BackendTrafficPolicy",
        metadata: { name: route.name, namespace, labels },
        spec: {
          targetRefs: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: route.name }],
          rateLimit: {
            // Local: one token bucket per client address per Envoy replica (Distinct), no Redis.
            local: {
              rules: ["0.0.0.0/0", "::/0"].map((cidr) => ({
                clientSelectors: [{ sourceCIDR: { type: "Distinct", value: cidr } }],
                limit: { requests: i.rateLimit.rps, unit: "Second" },
              })),
            },
          },
        },
      },
      { ...afterGateway, dependsOn: [...afterGateway.dependsOn, httpRoute] },
    );
  }
}

/** Envoy Gateway's chart (with the Gateway API CRDs), its namespace and the GatewayClass. */
export function installEnvoyGateway(
  name: string,
  config: PlatformConfig,
  parent: pulumi.Resource,
): { chart: pulumi.Resource; gatewayClass: pulumi.Resource } {
  const eg = config.operators.envoyGateway;
  const instance = instanceName(config.environment);
  const ownNamespaces: string[] = Object.values(config.namespaces);
  const dependsOn: pulumi.Resource[] = [];
  if (!ownNamespaces.includes(eg.namespace)) {
    dependsOn.push(
      new k8s.core.v1.Namespace(
        `${name}-envoy-gateway-ns`,
        {
          metadata: {
            name: eg.namespace,
            labels: standardLabels(
              { name: eg.namespace, component: "ingress", instance },
              {
                // Controller and proxies run restricted-compliant pods (EnvoyProxy above).
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
              },
            ),
          },
        },
        { parent },
      ),
    );
  }
  const chart = new k8s.helm.v4.Chart(
    `${name}-envoy-gateway`,
    {
      chart: ENVOY_GATEWAY_CHART,
      version: eg.version,
      namespace: eg.namespace,
      values: chartValuesInput(config, "envoyGateway", envoyGatewayValues(config)),
    },
    { parent, dependsOn },
  );
  const gatewayClass = new k8s.apiextensions.CustomResource(
    `${name}-gateway-class`,
    {
      apiVersion: GATEWAY_API,
      kind: "GatewayClass",
      metadata: {
        name: gatewayClassName(config),
        labels: standardLabels({ name: gatewayClassName(config), component: "ingress", instance }),
      },
      spec: {
        controllerName: ENVOY_GATEWAY_CONTROLLER,
        description: "Envoy Gateway, installed by the OctoLLM program",
      },
    },
    { parent, dependsOn: [chart] },
  );
  return { chart, gatewayClass };
}
