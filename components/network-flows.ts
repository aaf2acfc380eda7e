/**
 * The vocabulary of the platform's network flows, in one place: who the peers are (ingress
 * controller, Prometheus, the host-network reflex layer, the data stores, the LLM APIs) and on
 * which ports they talk. Each tier writes the NetworkPolicy of its own pods with these helpers
 * (the orchestrator's policy lives with the orchestrator, an arm's with the arm, so a sixth arm
 * gets its policy with its Deployment); this module only guarantees that a client's egress rule
 * and the server's ingress rule name the same pods and ports.
 *
 * The foundation denies everything in every namespace and allows DNS; nothing here widens that
 * beyond the flows listed in docs/services.md.
 *
 * hostNetwork caveat: NetworkPolicies never select host-network pods, and traffic from them
 * leaves with a node address. The reflex layer is such a pod, so (a) its own policy is inert
 * while it runs on the host network (it is still written: it documents the intent and takes
 * effect if the exemption is ever dropped), and (b) servers admit it by `network.nodeCidrs`.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig } from "./config";
import type { Labels } from "./k8s/labels";
import { instanceName, selectorLabels } from "./k8s/labels";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Port = k8s.types.input.networking.v1.NetworkPolicyPort;
export type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
export type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;

/** Data-store ports every client and every data-store policy agree on. */
export const DATA_STORE_PORTS = {
  postgres: [5432],
  /** client port and, in sentinel mode, the sentinel port clients ask for the master */
  redis: [6379, 26379],
  /** http and grpc; p2p (6335) is for Qdrant peers only */
  qdrant: [6333, 6334],
} as const;
export type DataStore = keyof typeof DATA_STORE_PORTS;

/** Pod labels of the data stores (CloudNativePG labels its instances with the cluster name). */
export function dataStorePodLabels(config: PlatformConfig, store: DataStore): Labels {
  if (store === "postgres") return { "cnpg.io/cluster": "postgres" };
  return {
    "app.kubernetes.io/name": store,
    "app.kubernetes.io/instance": instanceName(config.environment),
  };
}

/** Identity labels of the platform's HTTP services (selectors of their pods). */
export function servicePodLabels(
  config: PlatformConfig,
  name: string,
  component: "orchestrator" | "arm" | "reflex-layer",
): Labels {
  return selectorLabels({ name, component, instance: instanceName(config.environment) });
}

export const orchestratorPodLabels = (config: PlatformConfig): Labels =>
  servicePodLabels(config, "orchestrator", "orchestrator");
export const armPodLabels = (config: PlatformConfig, arm: string): Labels =>
  servicePodLabels(config, `${arm}-arm`, "arm");
export const reflexPodLabels = (config: PlatformConfig): Labels =>
  servicePodLabels(config, "reflex-layer", "reflex-layer");

const inNamespace = (namespace: string): Peer["namespaceSelector"] => ({
  matchLabels: { "kubernetes.io/metadata.name": namespace },
});

/** Pods of a namespace (`kubernetes.io/metadata.name` is set by the API server on every namespace). */
export function podsIn(namespace: string, labels: Labels): Peer {
  return { namespaceSelector: inNamespace(namespace), podSelector: { matchLabels: labels } };
}

/**
 * The ingress controller: its whole namespace. Controller pod labels differ between
 * installations (chart, cloud add-on), the namespace is what the stack config names.
 */
export function ingressControllerPeer(config: PlatformConfig): Peer {
  return { namespaceSelector: inNamespace(config.network.ingressControllerNamespace) };
}

/** Name of the platform's Gateway (in the system namespace). */
export const EDGE_GATEWAY_NAME = "octollm";

/**
 * Labels Envoy Gateway puts on every Envoy proxy pod it runs for a Gateway (v1.9.0,
 * internal/infrastructure/kubernetes/proxy/resource.go `EnvoyAppLabel` and
 * internal/gatewayapi/translator.go `OwningGateway*Label`).
 */
export const ENVOY_PROXY_LABELS: Labels = {
  "app.kubernetes.io/name": "envoy",
  "app.kubernetes.io/component": "proxy",
  "app.kubernetes.io/managed-by": "envoy-gateway",
};
export function gatewayDataPlaneLabels(config: PlatformConfig): Labels {
  return {
    ...ENVOY_PROXY_LABELS,
    "gateway.envoyproxy.io/owning-gateway-name": EDGE_GATEWAY_NAME,
    "gateway.envoyproxy.io/owning-gateway-namespace": config.namespaces.system,
  };
}

/**
 * The edge's data plane as a source: with `ingress.kind: gateway`, the Envoy proxy pods of our
 * Gateway only (Envoy Gateway runs them in its own namespace); with `kind: ingress`, the ingress
 * controller's namespace.
 */
export function edgePeer(config: PlatformConfig): Peer {
  if (config.ingress.kind === "gateway")
    return podsIn(config.operators.envoyGateway.namespace, gatewayDataPlaneLabels(config));
  return ingressControllerPeer(config);
}

/** Prometheus (kube-prometheus-stack or an existing one) in the system namespace. */
export const PROMETHEUS_POD_LABELS: Labels = { "app.kubernetes.io/name": "prometheus" };
export function prometheusPeer(config: PlatformConfig): Peer {
  return podsIn(config.namespaces.system, PROMETHEUS_POD_LABELS);
}

/**
 * Prometheus scraping `ports`, when the stack runs monitoring (no rule for a Prometheus that is
 * not there: an unused peer is only an opening waiting for a pod with the right labels).
 */
export function prometheusIngress(config: PlatformConfig, ...ports: number[]): IngressRule[] {
  return config.observability.enabled
    ? [{ from: [prometheusPeer(config)], ports: tcp(...ports) }]
    : [];
}

/** Node addresses: how traffic from host-network pods (the reflex layer) is seen. */
export function nodePeers(config: PlatformConfig): Peer[] {
  return config.network.nodeCidrs.map((cidr) => ({ ipBlock: { cidr } }));
}

/**
 * The reflex layer as a source: by node address while it runs on the host network, and by pod
 * identity (what applies if it ever leaves the host network).
 */
export function reflexPeers(config: PlatformConfig): Peer[] {
  return [podsIn(config.namespaces.reflex, reflexPodLabels(config)), ...nodePeers(config)];
}

export function tcp(...ports: readonly number[]): Port[] {
  return ports.map((port) => ({ protocol: "TCP", port }));
}

/** Pods of the CloudNativePG Pooler (data-stores/pooler.ts), labelled by the operator. */
export const POOLER_POD_LABELS: Labels = { "cnpg.io/poolerName": "postgres-pooler-rw" };

/**
 * Egress from a workload-namespace pod to a data store (same namespace). With the pooler on,
 * the apps' way to Postgres is PgBouncer, not the instances.
 */
export function dataStoreEgress(config: PlatformConfig, store: DataStore): EgressRule {
  const pooled = store === "postgres" && config.dataStores.postgres.pooler.enabled;
  return {
    to: [
      {
        podSelector: {
          matchLabels: pooled ? POOLER_POD_LABELS : dataStorePodLabels(config, store),
        },
      },
    ],
    ports: tcp(...DATA_STORE_PORTS[store]),
  };
}

/** HTTPS to the LLM providers: the configured CIDRs minus the carved-out private ranges. */
export function llmEgress(config: PlatformConfig): EgressRule {
  const except = config.network.llmEgressExceptCidrs;
  return {
    to: config.network.llmEgressCidrs.map((cidr) => {
      // An `except` entry must lie inside its cidr; only carve out what the block contains.
      const inside = except.filter((e) => cidrContains(cidr, e));
      return { ipBlock: { cidr, ...(inside.length > 0 ? { except: inside } : {}) } };
    }),
    ports: tcp(443),
  };
}

/** IPv4/IPv6 CIDR containment (`outer` ⊇ `inner`), exact, on bigints. */
export function cidrContains(outer: string, inner: string): boolean {
  const a = parseCidr(outer);
  const b = parseCidr(inner);
  if (!a || !b || a.bits !== b.bits || b.prefix < a.prefix) return false;
  const shift = BigInt(a.bits - a.prefix);
  return a.address >> shift === b.address >> shift;
}

/** An address (no prefix) inside a CIDR. */
export function ipInCidr(ip: string, cidr: string): boolean {
  const bits = ip.includes(":") ? 128 : 32;
  return cidrContains(cidr, `${ip}/${bits}`);
}

function parseCidr(text: string): { address: bigint; prefix: number; bits: number } | undefined {
  const [ip, prefixText] = text.split("/");
  const prefix = Number(prefixText);
  if (!ip.includes(":")) {
    const parts = ip.split(".").map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
      return undefined;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) return undefined;
    const address = parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
    return { address, prefix, bits: 32 };
  }
  const [head, tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const zeros: string[] = Array.from({ length: 8 - h.length - t.length }, () => "0");
  const groups: string[] = ip.includes("::") ? [...h, ...zeros, ...t] : h;
  if (groups.length !== 8 || !Number.isInteger(prefix) || prefix < 0 || prefix > 128)
    return undefined;
  const address = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || "0", 16)), 0n);
  return { address, prefix, bits: 128 };
}

/** A NetworkPolicy body for one workload: both directions are always declared. */
export function policySpec(
  podLabels: Labels,
  ingress: IngressRule[],
  egress: EgressRule[],
): k8s.types.input.networking.v1.NetworkPolicySpec {
  return {
    podSelector: { matchLabels: podLabels },
    policyTypes: ["Ingress", "Egress"],
    ingress,
    egress,
  };
}
