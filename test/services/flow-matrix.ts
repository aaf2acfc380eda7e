/**
 * A small NetworkPolicy evaluator for the flow-matrix test: given the rendered objects of a stack
 * (every NetworkPolicy of every tier, the namespaces and the workloads) it decides whether a
 * connection A → B:port/protocol is allowed, with the semantics of networking.k8s.io/v1:
 *
 * - a pod selected by no policy of a direction is open in that direction; once selected, only
 *   what some selecting policy's rules allow passes (default deny is such a policy);
 * - a flow passes iff the source's egress allows it AND the destination's ingress allows it;
 * - peers: podSelector (same namespace), namespaceSelector (+ podSelector), ipBlock with except;
 *   ports by number or by name (resolved on the destination's container ports), with endPort;
 * - host-network pods are never selected by policies (open both ways) and are seen by other
 *   pods as their node's address, so only ipBlock peers match them.
 *
 * ipBlock peers also match pod addresses (as Calico and Cilium do); the model gives pods
 * addresses from a pod CIDR disjoint from the node CIDRs, as docs/services.md asks.
 */
import type { KubernetesObject } from "../harness";
import { ipInCidr } from "../../components/network-flows";

export type Labels = Record<string, string>;

export interface PortSpec {
  name?: string;
  port: number;
  protocol: string;
}

export interface Endpoint {
  /** short id used in expectations, e.g. "orchestrator", "arm:coder", "internet" */
  id: string;
  /** undefined for addresses outside the cluster */
  namespace?: string;
  namespaceLabels: Labels;
  labels: Labels;
  ip: string;
  hostNetwork: boolean;
  /** true when no policy of ours can ever select it (outside the stack's namespaces) */
  external: boolean;
  ports: PortSpec[];
}

interface Selector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface RulePort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: RulePort[];
}

export interface Policy {
  name: string;
  namespace: string;
  podSelector: Selector;
  policyTypes: string[];
  ingress: Rule[];
  egress: Rule[];
}

export function selectorMatches(selector: Selector | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key];
    const values = e.values ?? [];
    if (e.operator === "In" && !(has && values.includes(value))) return false;
    if (e.operator === "NotIn" && has && values.includes(value)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

export function policiesOf(objects: KubernetesObject[]): Policy[] {
  return objects
    .filter((o) => o.kind === "NetworkPolicy")
    .map((o) => {
      const spec = (o.spec ?? {}) as Record<string, any>;
      const egress = (spec.egress ?? []) as Rule[];
      const types = (spec.policyTypes as string[] | undefined) ?? [
        "Ingress",
        ...(spec.egress ? ["Egress"] : []),
      ];
      return {
        name: o.metadata.name ?? "",
        namespace: o.metadata.namespace ?? "",
        podSelector: (spec.podSelector ?? {}) as Selector,
        policyTypes: types,
        ingress: (spec.ingress ?? []) as Rule[],
        egress,
      };
    });
}

function peerMatches(peer: Peer, policyNamespace: string, other: Endpoint): boolean {
  if (peer.ipBlock) {
    return (
      ipInCidr(other.ip, peer.ipBlock.cidr) &&
      !(peer.ipBlock.except ?? []).some((c) => ipInCidr(other.ip, c))
    );
  }
  // Selector peers match pods only, and host-network traffic carries the node's address.
  if (other.namespace === undefined || other.hostNetwork) return false;
  const namespaceOk = peer.namespaceSelector
    ? selectorMatches(peer.namespaceSelector, other.namespaceLabels)
    : other.namespace === policyNamespace;
  return namespaceOk && selectorMatches(peer.podSelector, other.labels);
}

function portMatches(ports: RulePort[] | undefined, dst: Endpoint, port: PortSpec): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== port.protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "string")
      return dst.ports.some(
        (d) => d.name === p.port && d.port === port.port && d.protocol === port.protocol,
      );
    return p.endPort !== undefined
      ? port.port >= p.port && port.port <= p.endPort
      : port.port === p.port;
  });
}

function selecting(policies: Policy[], pod: Endpoint, type: "Ingress" | "Egress"): Policy[] {
  if (pod.hostNetwork || pod.external || pod.namespace === undefined) return [];
  return policies.filter(
    (p) =>
      p.namespace === pod.namespace &&
      p.policyTypes.includes(type) &&
      selectorMatches(p.podSelector, pod.labels),
  );
}

export function egressAllows(
  policies: Policy[],
  src: Endpoint,
  dst: Endpoint,
  port: PortSpec,
): boolean {
  const applying = selecting(policies, src, "Egress");
  if (applying.length === 0) return true;
  return applying.some((p) =>
    p.egress.some(
      (r) =>
        (!r.to || r.to.length === 0 || r.to.some((peer) => peerMatches(peer, p.namespace, dst))) &&
        portMatches(r.ports, dst, port),
    ),
  );
}

export function ingressAllows(
  policies: Policy[],
  src: Endpoint,
  dst: Endpoint,
  port: PortSpec,
): boolean {
  const applying = selecting(policies, dst, "Ingress");
  if (applying.length === 0) return true;
  return applying.some((p) =>
    p.ingress.some(
      (r) =>
        (!r.from ||
          r.from.length === 0 ||
          r.from.some((peer) => peerMatches(peer, p.namespace, src))) &&
        portMatches(r.ports, dst, port),
    ),
  );
}

export function allowed(policies: Policy[], src: Endpoint, dst: Endpoint, port: PortSpec): boolean {
  return egressAllows(policies, src, dst, port) && ingressAllows(policies, src, dst, port);
}

// ---------------------------------------------------------------------------------------------
// Endpoints from a rendered stack
// ---------------------------------------------------------------------------------------------

/**
 * Addresses of the model: a public and a private host, and nodes and pods as the stack's
 * cluster numbers them. A cloud cluster (pod CIDR unknown): pods in 172.20/16, nodes in
 * 10.0.1/24. A cluster with a known pod CIDR (kind, k3d, minikube): pods in it, nodes at the
 * 17th address of the first node range (kind: 172.16.0.17 on docker's network).
 */
export const ADDRESSES = {
  node: "10.0.1.17",
  internet: "104.18.6.1",
  privateHost: "10.1.2.3",
  pod: (n: number) => `172.20.${Math.floor(n / 250)}.${(n % 250) + 2}`,
};
const CLOUD = { node: ADDRESSES.node, pod: ADDRESSES.pod };

/** Numbers nodes and pods the way the configured cluster does (call before building endpoints). */
export function useClusterAddresses(network: {
  nodeCidrs: readonly string[];
  podCidrs: readonly string[];
}): void {
  const pods = network.podCidrs.find((c) => c.includes("."));
  if (!pods) {
    Object.assign(ADDRESSES, CLOUD);
    return;
  }
  const [a, b] = pods.split(".");
  const [na, nb, nc] = network.nodeCidrs[0].split(".");
  Object.assign(ADDRESSES, {
    node: `${na}.${nb}.${nc}.17`,
    pod: (n: number) => `${a}.${b}.${Math.floor(n / 250)}.${(n % 250) + 2}`,
  });
}

export function namespaceLabelsOf(objects: KubernetesObject[]): Map<string, Labels> {
  const out = new Map<string, Labels>();
  for (const o of objects.filter((x) => x.kind === "Namespace")) {
    const name = o.metadata.name ?? "";
    // The API server sets kubernetes.io/metadata.name on every namespace.
    out.set(name, { ...(o.metadata.labels ?? {}), "kubernetes.io/metadata.name": name });
  }
  return out;
}

function podTemplateOf(o: KubernetesObject): Record<string, any> | undefined {
  const spec = o.spec as Record<string, any> | undefined;
  if (["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].includes(o.kind))
    return spec?.template;
  if (o.kind === "CronJob") return spec?.jobTemplate?.spec?.template;
  return undefined;
}

/** One endpoint per workload (Deployment, StatefulSet, DaemonSet, CNPG Cluster) of the stack. */
export function workloadEndpoints(objects: KubernetesObject[]): Endpoint[] {
  const nsLabels = namespaceLabelsOf(objects);
  const out: Endpoint[] = [];
  let n = 0;
  for (const o of objects) {
    const ns = o.metadata.namespace ?? "";
    const template = podTemplateOf(o);
    if (template) {
      const hostNetwork = template.spec?.hostNetwork === true;
      const containers = [...(template.spec?.containers ?? [])] as Record<string, any>[];
      out.push({
        id: `${o.kind}/${o.metadata.name ?? ""}`,
        namespace: ns,
        namespaceLabels: nsLabels.get(ns) ?? { "kubernetes.io/metadata.name": ns },
        labels: (template.metadata?.labels ?? {}) as Labels,
        ip: hostNetwork ? ADDRESSES.node : ADDRESSES.pod(n++),
        hostNetwork,
        external: false,
        ports: containers.flatMap((c) =>
          ((c.ports ?? []) as Record<string, any>[]).map((p) => ({
            name: p.name as string | undefined,
            port: p.containerPort as number,
            protocol: (p.protocol as string | undefined) ?? "TCP",
          })),
        ),
      });
    }
    if (o.kind === "Cluster" && o.apiVersion.startsWith("postgresql.cnpg.io/")) {
      out.push({
        id: `Cluster/${o.metadata.name ?? ""}`,
        namespace: ns,
        namespaceLabels: nsLabels.get(ns) ?? { "kubernetes.io/metadata.name": ns },
        // What the operator puts on its instance pods (primary shown; replicas differ in role).
        labels: {
          "cnpg.io/cluster": o.metadata.name ?? "",
          "cnpg.io/podRole": "instance",
          "cnpg.io/instanceRole": "primary",
          role: "primary",
        },
        ip: ADDRESSES.pod(n++),
        hostNetwork: false,
        external: false,
        ports: [
          { name: "postgresql", port: 5432, protocol: "TCP" },
          { name: "metrics", port: 9187, protocol: "TCP" },
        ],
      });
    }
    if (o.kind === "Pooler" && o.apiVersion.startsWith("postgresql.cnpg.io/")) {
      const spec = (o as unknown as { spec: { cluster: { name: string } } }).spec;
      out.push({
        id: `Pooler/${o.metadata.name ?? ""}`,
        namespace: ns,
        namespaceLabels: nsLabels.get(ns) ?? { "kubernetes.io/metadata.name": ns },
        // What the operator puts on the pooler's pods (CNPG pkg/specs/pgbouncer).
        labels: {
          ...((o as unknown as { spec: { template?: { metadata?: { labels?: Labels } } } }).spec
            .template?.metadata?.labels ?? {}),
          "cnpg.io/poolerName": o.metadata.name ?? "",
          "cnpg.io/cluster": spec.cluster.name,
          "cnpg.io/podRole": "pooler",
        },
        ip: ADDRESSES.pod(n++),
        hostNetwork: false,
        external: false,
        ports: [
          { name: "pgbouncer", port: 5432, protocol: "TCP" },
          { name: "metrics", port: 9127, protocol: "TCP" },
        ],
      });
    }
  }
  return out;
}

/** A pod outside the stack's namespaces (no policy of ours selects it). */
export function externalPod(
  id: string,
  namespace: string,
  labels: Labels,
  ports: PortSpec[] = [],
  n = 900,
): Endpoint {
  return {
    id,
    namespace,
    namespaceLabels: { "kubernetes.io/metadata.name": namespace },
    labels,
    ip: ADDRESSES.pod(n),
    hostNetwork: false,
    external: true,
    ports,
  };
}

/** A pod inside one of the stack's namespaces that no tier created (policies do select it). */
export function strayPod(
  id: string,
  namespace: string,
  namespaceLabels: Labels,
  labels: Labels,
  ports: PortSpec[],
  n = 950,
): Endpoint {
  return {
    id,
    namespace,
    namespaceLabels,
    labels,
    ip: ADDRESSES.pod(n),
    hostNetwork: false,
    external: false,
    ports,
  };
}

export function address(id: string, ip: string, ports: PortSpec[]): Endpoint {
  return {
    id,
    namespaceLabels: {},
    labels: {},
    ip,
    hostNetwork: false,
    external: true,
    ports,
  };
}

export const tcpPort = (port: number, name?: string): PortSpec => ({ port, name, protocol: "TCP" });
