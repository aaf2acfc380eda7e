/**
 * Flow matrix: the allowed flows derived from the RENDERED NetworkPolicies of every tier (default
 * deny and DNS from the foundation, the services' policies, the data stores' and the ingress'),
 * evaluated on both ends, compared with the platform's list of flows (docs/services.md):
 *
 *   edge               → reflex layer, orchestrator (our Gateway's Envoy proxies, by namespace
 *                        and the pod labels Envoy Gateway sets; the ingress controller's
 *                        namespace with `ingress.kind: ingress`); ACME HTTP-01 solvers
 *   reflex layer       → orchestrator, Redis
 *   orchestrator       → every arm, Postgres, Redis, Qdrant, HTTPS to the LLM APIs
 *   arms               → Redis, Qdrant, Postgres, HTTPS to the LLM APIs, each only where `uses` says
 *   every pod          → DNS
 *   Prometheus         → metrics ports
 *
 * and nothing else. Whatever cannot be enforced is stated as such (host-network reflex layer,
 * namespaces outside the stack) rather than left out.
 */
import { describe, expect, it } from "vitest";
import type { PlatformConfig } from "../../components/config";
import { instanceName } from "../../components/k8s/labels";
import { ipInCidr } from "../../components/network-flows";
import { ACME_SOLVER_LABELS, ACME_SOLVER_PORT } from "../../components/ingress";
import { ENVOY_PROXY_LABELS, gatewayDataPlaneLabels } from "../../components/network-flows";
import { edgeTlsRoles } from "../../components/secrets";
import { MONITORING_POD_LABEL } from "../../components/observability/stack-chart";
import { STACKS, objectsOf } from "../harness";
import type { Endpoint, Policy, PortSpec } from "./flow-matrix";
import {
  ADDRESSES,
  useClusterAddresses,
  address,
  allowed,
  egressAllows,
  externalPod,
  ingressAllows,
  namespaceLabelsOf,
  policiesOf,
  strayPod,
  tcpPort,
  workloadEndpoints,
} from "./flow-matrix";
import { configOf } from "./support";

const SUMMARIZER = { name: "summarizer", port: 8107, uses: { llm: true } };

interface World {
  config: PlatformConfig;
  policies: Policy[];
  orchestrator: Endpoint;
  reflex: Endpoint;
  arms: Map<string, Endpoint>;
  /** the edge's data plane: our Gateway's Envoy proxies, or the ingress controller */
  edge: Endpoint;
  /** another Gateway's Envoy proxy in the same namespace (kind gateway), or an unrelated pod */
  otherProxy: Endpoint;
  otherNamespacePod: Endpoint;
  strayWorkloadPod: Endpoint;
  prometheus: Endpoint;
  kubeDns: Endpoint;
  internet: Endpoint;
  privateHost: Endpoint;
  acmeSolvers: Endpoint[];
  postgres?: Endpoint;
  redis?: Endpoint;
  qdrant?: Endpoint;
}

async function world(stack: string, overrides?: Record<string, unknown>): Promise<World> {
  const objects = await objectsOf(stack, overrides);
  const config = configOf(stack, overrides);
  useClusterAddresses(config.network);
  const instance = instanceName(config.environment);
  const endpoints = workloadEndpoints(objects);
  const byName = (name: string) =>
    endpoints.find(
      (e) =>
        e.labels["app.kubernetes.io/name"] === name &&
        e.labels["app.kubernetes.io/instance"] === instance,
    );
  const must = (name: string) => {
    const e = byName(name);
    if (!e) throw new Error(`no workload ${name} rendered`);
    return { ...e, id: name };
  };
  const ns = config.namespaces;
  const nsLabels = namespaceLabelsOf(objects);
  const postgres = endpoints.find((e) => e.id === "Cluster/postgres");
  const redis = byName("redis");
  const qdrant = byName("qdrant");
  return {
    config,
    policies: policiesOf(objects),
    orchestrator: must("orchestrator"),
    reflex: must("reflex-layer"),
    arms: new Map(config.arms.map((a) => [a.name, must(`${a.name}-arm`)])),
    edge:
      config.ingress.kind === "gateway"
        ? externalPod(
            "gateway-proxy",
            config.operators.envoyGateway.namespace,
            gatewayDataPlaneLabels(config),
            [tcpPort(10080), tcpPort(10443)],
            901,
          )
        : externalPod(
            "ingress-controller",
            config.network.ingressControllerNamespace,
            {
              "app.kubernetes.io/name": "ingress-nginx",
              "app.kubernetes.io/component": "controller",
            },
            [tcpPort(80), tcpPort(443)],
            901,
          ),
    // Same namespace and implementation, another Gateway: must get nothing of ours.
    otherProxy: externalPod(
      "other-gateway-proxy",
      config.operators.envoyGateway.namespace,
      {
        ...ENVOY_PROXY_LABELS,
        "gateway.envoyproxy.io/owning-gateway-name": "someone-elses",
        "gateway.envoyproxy.io/owning-gateway-namespace": "default",
      },
      [tcpPort(10443)],
      906,
    ),
    otherNamespacePod: externalPod("other-namespace-pod", "default", { app: "debug" }, [], 902),
    strayWorkloadPod: strayPod(
      "stray-workload-pod",
      ns.workloads,
      nsLabels.get(ns.workloads)!,
      { app: "debug" },
      [tcpPort(8080)],
      903,
    ),
    prometheus: strayPod(
      "prometheus",
      ns.system,
      nsLabels.get(ns.system)!,
      // kube-prometheus-stack's Prometheus pods, with the label the observability tier adds
      { "app.kubernetes.io/name": "prometheus", ...MONITORING_POD_LABEL },
      [tcpPort(9090)],
      904,
    ),
    kubeDns: externalPod(
      "kube-dns",
      config.network.dnsNamespace,
      { "k8s-app": "kube-dns" },
      [
        { port: 53, protocol: "UDP" },
        { port: 53, protocol: "TCP" },
      ],
      905,
    ),
    internet: address("internet", ADDRESSES.internet, [tcpPort(443), tcpPort(80)]),
    privateHost: address("private-host", ADDRESSES.privateHost, [tcpPort(443)]),
    acmeSolvers:
      config.ingress.enabled &&
      config.ingress.tls.mode === "acme" &&
      config.ingress.tls.solver === "http01"
        ? edgeTlsRoles(config).map((role, i) =>
            strayPod(
              `acme-solver@${role}`,
              ns[role],
              nsLabels.get(ns[role])!,
              ACME_SOLVER_LABELS,
              [tcpPort(ACME_SOLVER_PORT)],
              910 + i,
            ),
          )
        : [],
    postgres: postgres && { ...postgres, id: "postgres" },
    redis: redis && { ...redis, id: "redis" },
    qdrant: qdrant && { ...qdrant, id: "qdrant" },
  };
}

const flow = (src: Endpoint, dst: Endpoint, p: PortSpec) =>
  `${src.id} → ${dst.id}:${p.port}/${p.protocol}`;

/** Every allowed flow between `sources` and `destinations` (each destination port). */
function matrix(policies: Policy[], sources: Endpoint[], destinations: Endpoint[]): string[] {
  const out: string[] = [];
  for (const src of sources)
    for (const dst of destinations) {
      if (src === dst) continue;
      for (const p of dst.ports) if (allowed(policies, src, dst, p)) out.push(flow(src, dst, p));
    }
  return out.sort();
}

function portsOf(dst: Endpoint, numbers: number[]): PortSpec[] {
  return dst.ports.filter((p) => numbers.includes(p.port) && p.protocol === "TCP");
}

/** The platform's flow list, among the services, the outside world and DNS. */
function expectedServiceFlows(w: World): string[] {
  const out: string[] = [];
  const add = (src: Endpoint, dst: Endpoint, ports: PortSpec[]) => {
    for (const p of ports) out.push(flow(src, dst, p));
  };
  const services = [w.reflex, w.orchestrator, ...w.arms.values()];
  const sources = [w.edge, ...services, w.otherNamespacePod, w.otherProxy, w.strayWorkloadPod];
  // Sources no policy of ours can restrict: other namespaces, and the host-network reflex layer.
  const unrestricted = [w.edge, w.otherNamespacePod, w.otherProxy, w.reflex];

  for (const src of sources) add(src, w.kubeDns, w.kubeDns.ports); // all → DNS
  for (const src of unrestricted) {
    add(src, w.internet, w.internet.ports);
    add(src, w.privateHost, w.privateHost.ports);
    // The reflex layer listens on every node address and no policy can select it.
    if (src !== w.reflex) add(src, w.reflex, w.reflex.ports);
  }
  add(w.edge, w.orchestrator, portsOf(w.orchestrator, [8000]));
  add(w.reflex, w.orchestrator, portsOf(w.orchestrator, [8000]));
  for (const arm of w.config.arms) {
    const a = w.arms.get(arm.name)!;
    add(w.orchestrator, a, portsOf(a, [arm.port]));
    if (arm.uses.llm) add(a, w.internet, portsOf(w.internet, [443]));
  }
  add(w.orchestrator, w.internet, portsOf(w.internet, [443]));
  for (const solver of w.acmeSolvers) add(w.edge, solver, solver.ports);
  return out.sort();
}

/** The platform's flow list towards the data stores. */
function expectedDataStoreFlows(w: World): string[] {
  const out: string[] = [];
  const add = (src: Endpoint, dst: Endpoint | undefined, ports: number[]) => {
    if (!dst) throw new Error(`data store missing for ${src.id}`);
    for (const p of portsOf(dst, ports)) out.push(flow(src, dst, p));
  };
  add(w.orchestrator, w.postgres, [5432]);
  add(w.orchestrator, w.redis, [6379, 26379]);
  add(w.orchestrator, w.qdrant, [6333, 6334]);
  add(w.reflex, w.redis, [6379, 26379]);
  for (const arm of w.config.arms) {
    const a = w.arms.get(arm.name)!;
    if (arm.uses.redis) add(a, w.redis, [6379, 26379]);
    if (arm.uses.qdrant) add(a, w.qdrant, [6333, 6334]);
    if (arm.uses.postgres) add(a, w.postgres, [5432]);
  }
  return out.sort();
}

function serviceSources(w: World): Endpoint[] {
  return [
    w.edge,
    w.reflex,
    w.orchestrator,
    ...w.arms.values(),
    w.otherNamespacePod,
    w.otherProxy,
    w.strayWorkloadPod,
  ];
}

/** Where service traffic can go: the services, DNS, the internet, a private host, ACME solvers. */
function serviceDestinations(w: World): Endpoint[] {
  return [
    w.reflex,
    w.orchestrator,
    ...w.arms.values(),
    w.kubeDns,
    w.internet,
    w.privateHost,
    ...w.acmeSolvers,
  ];
}

describe.each(STACKS)("network flows on %s", (stack) => {
  it("allows exactly the listed flows among services, the ingress controller, DNS and the internet", async () => {
    const w = await world(stack);
    const destinations = serviceDestinations(w);
    expect(matrix(w.policies, serviceSources(w), destinations)).toEqual(expectedServiceFlows(w));
  });

  it("allows exactly the listed flows to Postgres, Redis and Qdrant (with the data stores' own policies)", async () => {
    const w = await world(stack);
    expect(w.postgres, "CloudNativePG Cluster `postgres` rendered").toBeDefined();
    expect(w.redis, "Redis StatefulSet rendered").toBeDefined();
    expect(w.qdrant, "Qdrant StatefulSet rendered").toBeDefined();
    const stores = [w.postgres!, w.redis!, w.qdrant!];
    expect(matrix(w.policies, serviceSources(w), stores)).toEqual(expectedDataStoreFlows(w));
  });

  it("admits Prometheus on the metrics ports only, and only when monitoring is on (our ingress side)", async () => {
    const w = await world(stack);
    const admitted: string[] = [];
    for (const dst of [w.orchestrator, ...w.arms.values()])
      for (const p of dst.ports)
        if (ingressAllows(w.policies, w.prometheus, dst, p))
          admitted.push(flow(w.prometheus, dst, p));
    if (!w.config.observability.enabled) {
      expect(admitted).toEqual([]); // no monitoring in this stack, no opening for it
      return;
    }
    expect(admitted.sort()).toEqual(
      [
        `prometheus → orchestrator:${w.config.orchestrator.ports.metrics}/TCP`,
        ...w.config.arms.map((a) => `prometheus → ${a.name}-arm:${a.port}/TCP`),
      ].sort(),
    );
  });

  it("lets Prometheus scrape every metrics port end to end when monitoring is on", async () => {
    const w = await world(stack);
    if (!w.config.observability.enabled) {
      // No Prometheus in this stack: nothing in the system namespace may reach the services.
      for (const dst of [w.orchestrator, ...w.arms.values()])
        for (const p of dst.ports) expect(allowed(w.policies, w.prometheus, dst, p)).toBe(false);
      return;
    }
    const expected = [
      flow(w.prometheus, w.orchestrator, tcpPort(w.config.orchestrator.ports.metrics)),
      ...w.config.arms.map((a) => flow(w.prometheus, w.arms.get(a.name)!, tcpPort(a.port))),
      flow(w.prometheus, w.reflex, tcpPort(w.config.reflexLayer.port)),
      // exporters: CloudNativePG 9187, redis_exporter 9121, Qdrant's /metrics on 6333
      flow(w.prometheus, w.postgres!, tcpPort(9187)),
      flow(w.prometheus, w.redis!, tcpPort(9121)),
      flow(w.prometheus, w.qdrant!, tcpPort(6333)),
    ].sort();
    const destinations = [
      w.orchestrator,
      ...w.arms.values(),
      w.reflex,
      w.postgres!,
      w.redis!,
      w.qdrant!,
    ];
    expect(
      matrix(w.policies, [w.prometheus], destinations).filter((f) => !f.includes("kube-dns")),
    ).toEqual(expected);
  });

  it("denies the flows the platform must never have", async () => {
    const w = await world(stack);
    const p = (n: number) => tcpPort(n);
    const coder = w.arms.get("coder")!;
    const judge = w.arms.get("judge")!;
    const executor = w.arms.get("executor")!;
    const retriever = w.arms.get("retriever")!;
    const denied: [Endpoint, Endpoint, PortSpec][] = [
      [coder, judge, p(8103)], // arms never call each other
      [judge, coder, p(8102)],
      [executor, w.internet, p(443)], // executor does not use an LLM
      [retriever, w.internet, p(443)],
      [coder, w.orchestrator, p(8000)], // arms do not call back
      [w.orchestrator, w.reflex, p(w.config.reflexLayer.port)],
      [w.orchestrator, w.privateHost, p(443)], // LLM egress excludes private ranges
      [w.orchestrator, w.internet, p(80)], // HTTPS only
      [w.otherNamespacePod, w.orchestrator, p(8000)],
      [w.otherNamespacePod, coder, p(8102)],
      [w.edge, coder, p(8102)], // arms are not public
      [w.edge, w.orchestrator, p(9090)], // metrics are not public
      [w.otherProxy, w.orchestrator, p(8000)], // only our Gateway's proxies are the edge
      [w.strayWorkloadPod, w.orchestrator, p(8000)], // default deny inside the namespace
      [w.strayWorkloadPod, w.internet, p(443)],
    ];
    if (w.postgres) denied.push([w.reflex, w.postgres, p(5432)], [coder, w.postgres, p(5432)]);
    if (w.qdrant) denied.push([w.reflex, w.qdrant, p(6333)], [coder, w.qdrant, p(6333)]);
    for (const [src, dst, port] of denied)
      expect(allowed(w.policies, src, dst, port), flow(src, dst, port)).toBe(false);
  });
});

describe("network flows with ingress.kind ingress", () => {
  it("admits the ingress controller's namespace instead of the Gateway's proxies", async () => {
    const w = await world("production", { "octollm:ingress": { kind: "ingress" } });
    expect(w.edge.id).toBe("ingress-controller");
    expect(w.acmeSolvers.map((s) => s.id)).toEqual(["acme-solver@workloads", "acme-solver@reflex"]);
    expect(matrix(w.policies, serviceSources(w), serviceDestinations(w))).toEqual(
      expectedServiceFlows(w),
    );
    const gw = await world("production");
    expect(gw.edge.id).toBe("gateway-proxy");
    expect(allowed(w.policies, gw.edge, w.orchestrator, tcpPort(8000))).toBe(false);
    expect(allowed(gw.policies, w.edge, gw.orchestrator, tcpPort(8000))).toBe(false);
  });
});

describe("the matrix notices a missing or widened policy", () => {
  it("differs from the flow list when a policy is dropped or widened", async () => {
    const w = await world("production");
    const destinations = serviceDestinations(w);
    const without = w.policies.filter(
      (p) => !(p.name === "orchestrator" && p.namespace === w.config.namespaces.workloads),
    );
    const m = matrix(without, serviceSources(w), destinations);
    expect(m).not.toEqual(expectedServiceFlows(w));
    // default deny still holds: the orchestrator loses its flows
    expect(m).not.toContain("gateway-proxy → orchestrator:8000/TCP");
    const open = w.policies.map((p) => (p.name === "orchestrator" ? { ...p, egress: [{}] } : p));
    expect(matrix(open, serviceSources(w), destinations)).toContain(
      "orchestrator → private-host:443/TCP",
    );
    const widened = w.policies.map((p) => (p.name === "coder-arm" ? { ...p, ingress: [{}] } : p));
    expect(matrix(widened, serviceSources(w), destinations)).toContain(
      "other-namespace-pod → coder-arm:8102/TCP",
    );
  });
});

describe("the reflex layer's own policy (applies if it ever leaves the host network)", () => {
  it.each(STACKS)(
    "%s: allows the edge in and the orchestrator out, nothing else",
    async (stack) => {
      const w = await world(stack);
      const podReflex: Endpoint = { ...w.reflex, hostNetwork: false, ip: ADDRESSES.pod(950) };
      const http = tcpPort(w.config.reflexLayer.port);
      expect(ingressAllows(w.policies, w.edge, podReflex, http)).toBe(true);
      expect(ingressAllows(w.policies, w.otherNamespacePod, podReflex, http)).toBe(false);
      expect(allowed(w.policies, podReflex, w.orchestrator, tcpPort(8000))).toBe(true);
      expect(egressAllows(w.policies, podReflex, w.arms.get("coder")!, tcpPort(8102))).toBe(false);
      expect(egressAllows(w.policies, podReflex, w.internet, tcpPort(443))).toBe(false);
      expect(egressAllows(w.policies, podReflex, w.kubeDns, { port: 53, protocol: "UDP" })).toBe(
        true,
      );
    },
  );
});

describe("a sixth arm from config only", () => {
  it("gets its flows: orchestrator in, LLM egress out, nothing it does not use", async () => {
    const w = await world("production", { "octollm:arms": [SUMMARIZER] });
    const summarizer = w.arms.get("summarizer")!;
    expect(summarizer).toBeDefined();
    expect(allowed(w.policies, w.orchestrator, summarizer, tcpPort(8107))).toBe(true);
    expect(allowed(w.policies, summarizer, w.internet, tcpPort(443))).toBe(true);
    expect(allowed(w.policies, w.edge, summarizer, tcpPort(8107))).toBe(false);
    expect(allowed(w.policies, w.arms.get("coder")!, summarizer, tcpPort(8107))).toBe(false);
    if (w.redis) expect(allowed(w.policies, summarizer, w.redis, tcpPort(6379))).toBe(false);
    const destinations = serviceDestinations(w);
    expect(matrix(w.policies, serviceSources(w), destinations)).toEqual(expectedServiceFlows(w));
  });
});

describe.each(STACKS)("with the PgBouncer pooler on %s", (stack) => {
  const POOLED = { "octollm:dataStores": { postgres: { pooler: { enabled: true } } } };

  it("apps reach Postgres only through the pooler, the pooler reaches the instances, nothing else", async () => {
    const w = await world(stack, POOLED);
    const objects = await objectsOf(stack, POOLED);
    const pooler = workloadEndpoints(objects).find((e) => e.id === "Pooler/postgres-pooler-rw");
    expect(pooler, "Pooler rendered").toBeDefined();
    const pool = { ...pooler!, id: "pooler" };
    const stores = [pool, w.postgres!, w.redis!, w.qdrant!];
    const sources = [...serviceSources(w), pool];
    // The data-store flows of the plain stack, with Postgres replaced by the pooler for the
    // apps, plus the pooler's own way to the instances.
    const expected = expectedDataStoreFlows(w)
      .map((f) => f.replace(/→ postgres:5432/, "→ pooler:5432"))
      .concat([`pooler → postgres:5432/TCP`])
      .sort();
    expect(matrix(w.policies, sources, stores)).toEqual(expected);
    // The pooler goes nowhere else but the API server (its instance manager watches the Pooler):
    // no other service, no internet; the test's private host lies in apiServerCidrs.
    const apiServer = w.config.network.apiServerCidrs.some((c) =>
      ipInCidr(ADDRESSES.privateHost, c),
    );
    expect(
      matrix(w.policies, [pool], serviceDestinations(w)).filter((f) => !f.includes("kube-dns")),
    ).toEqual(apiServer ? ["pooler → private-host:443/TCP"] : []);
    if (w.config.observability.enabled)
      expect(allowed(w.policies, w.prometheus, pool, tcpPort(9127))).toBe(true);
    expect(allowed(w.policies, w.prometheus, pool, tcpPort(5432))).toBe(false);
  });
});

describe("the evaluator itself", () => {
  it("is default-open without policies and default-deny with an empty one", () => {
    const a = strayPod("a", "ns", { "kubernetes.io/metadata.name": "ns" }, { app: "a" }, [], 1);
    const b = strayPod(
      "b",
      "ns",
      { "kubernetes.io/metadata.name": "ns" },
      { app: "b" },
      [tcpPort(80)],
      2,
    );
    expect(allowed([], a, b, tcpPort(80))).toBe(true);
    const deny: Policy = {
      name: "deny",
      namespace: "ns",
      podSelector: {},
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [],
    };
    expect(allowed([deny], a, b, tcpPort(80))).toBe(false);
    const allowAtoB: Policy[] = [
      deny,
      {
        ...deny,
        name: "a-out",
        podSelector: { matchLabels: { app: "a" } },
        policyTypes: ["Egress"],
        egress: [{ to: [{ podSelector: { matchLabels: { app: "b" } } }], ports: [{ port: 80 }] }],
      },
    ];
    // egress alone is not enough: b's ingress still denies
    expect(allowed(allowAtoB, a, b, tcpPort(80))).toBe(false);
    const both: Policy[] = [
      ...allowAtoB,
      {
        ...deny,
        name: "b-in",
        podSelector: { matchLabels: { app: "b" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "a" } } }] }],
      },
    ];
    expect(allowed(both, a, b, tcpPort(80))).toBe(true);
    expect(allowed(both, a, b, tcpPort(81))).toBe(false);
    expect(allowed(both, b, a, tcpPort(80))).toBe(false);
  });

  it("matches ipBlock with except, and never matches a host-network pod by selector", () => {
    useClusterAddresses({ nodeCidrs: ["10.0.0.0/8"], podCidrs: [] });
    const node: Endpoint = {
      ...strayPod("n", "ns", {}, { app: "n" }, [], 3),
      ip: ADDRESSES.node,
      hostNetwork: true,
    };
    const dst = strayPod(
      "d",
      "ns",
      { "kubernetes.io/metadata.name": "ns" },
      { app: "d" },
      [tcpPort(80)],
      4,
    );
    const policy = (from: any[]): Policy => ({
      name: "p",
      namespace: "ns",
      podSelector: {},
      policyTypes: ["Ingress"],
      ingress: [{ from }],
      egress: [],
    });
    expect(
      allowed([policy([{ podSelector: { matchLabels: { app: "n" } } }])], node, dst, tcpPort(80)),
    ).toBe(false);
    expect(allowed([policy([{ ipBlock: { cidr: "10.0.0.0/8" } }])], node, dst, tcpPort(80))).toBe(
      true,
    );
    expect(
      allowed(
        [policy([{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.0.1.0/24"] } }])],
        node,
        dst,
        tcpPort(80),
      ),
    ).toBe(false);
  });
});
