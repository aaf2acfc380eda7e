/**
 * The default edge: Gateway API on Envoy Gateway (components/gateway.ts, components/ingress.ts).
 */
import { describe, expect, it } from "vitest";
import { compareQuantities, parseQuantity, ratio } from "../../components/k8s/quantity";
import {
  STACKS,
  configProblems,
  findObject,
  helmCharts,
  objectsOf,
  ofKind,
  ofType,
  renderStack,
} from "../harness";
import type { Obj } from "./support";
import { configOf, validateModel } from "./support";

const GATEWAY_KINDS = [
  "Gateway",
  "HTTPRoute",
  "EnvoyProxy",
  "ClientTrafficPolicy",
  "BackendTrafficPolicy",
];

describe.each(STACKS)("Gateway edge on %s", (stack) => {
  const config = configOf(stack);
  const ns = config.namespaces;
  const host = config.ingress.host;

  it("is the default: a Gateway with an HTTPS listener and a redirect-only HTTP listener, and no Ingress", async () => {
    const objects = await objectsOf(stack);
    expect(ofKind(objects, "Ingress")).toEqual([]);
    const gw = findObject(objects, "Gateway", "octollm", ns.system) as Obj;
    expect(gw.spec.gatewayClassName).toBe("envoy-gateway");
    expect(gw.spec.infrastructure.parametersRef).toEqual({
      group: "gateway.envoyproxy.io",
      kind: "EnvoyProxy",
      name: "octollm-proxy",
    });
    const [http, https] = gw.spec.listeners;
    expect(http).toMatchObject({ name: "http", protocol: "HTTP", port: 80, hostname: host });
    expect(http.allowedRoutes).toEqual({
      namespaces: { from: "Same" },
      kinds: [{ kind: "HTTPRoute" }],
    });
    expect(https).toMatchObject({ name: "https", protocol: "HTTPS", port: 443, hostname: host });
    expect(https.tls).toEqual({
      mode: "Terminate",
      certificateRefs: [{ group: "", kind: "Secret", name: "octollm-tls" }],
    });
    // Only the two backend namespaces may attach routes to the public listener.
    expect(https.allowedRoutes.namespaces).toEqual({
      from: "Selector",
      selector: {
        matchExpressions: [
          {
            key: "kubernetes.io/metadata.name",
            operator: "In",
            values: [ns.reflex, ns.workloads],
          },
        ],
      },
    });
  });

  it("routes / to the reflex layer and /api/orchestrator to the orchestrator, unchanged, beside their Services", async () => {
    const objects = await objectsOf(stack);
    const routes = ofKind(objects, "HTTPRoute") as Obj[];
    const publicRoutes = routes.filter((r) => r.metadata.name !== "octollm-https-redirect");
    const summary = publicRoutes.map((r) => {
      expect(r.spec.parentRefs).toEqual([
        {
          group: "gateway.networking.k8s.io",
          kind: "Gateway",
          name: "octollm",
          namespace: ns.system,
          sectionName: "https",
        },
      ]);
      expect(r.spec.hostnames).toEqual([host]);
      expect(r.spec.rules).toHaveLength(1);
      const [rule] = r.spec.rules;
      // No rewrite: the orchestrator serves under its prefix (the seed's rewrite-target was wrong).
      expect(rule.filters).toBeUndefined();
      expect(rule.timeouts).toEqual({ request: `${config.ingress.proxyTimeoutSeconds}s` });
      const [b] = rule.backendRefs;
      // Each backend is a Service of the route's own namespace (no ReferenceGrant needed).
      const svc = findObject(objects, "Service", b.name, r.metadata.namespace) as Obj;
      expect(svc.spec.ports.map((p: Obj) => p.port)).toContain(b.port);
      return [
        r.metadata.namespace,
        rule.matches[0].path.type,
        rule.matches[0].path.value,
        b.name,
        b.port,
      ];
    });
    expect(summary.sort((a, b) => String(a[2]).localeCompare(String(b[2])))).toEqual([
      [ns.reflex, "PathPrefix", "/", "reflex-layer", 8080],
      [ns.workloads, "PathPrefix", "/api/orchestrator", "orchestrator", 8000],
    ]);
    expect(ofKind(objects, "ReferenceGrant")).toEqual([]);
  });

  it("answers plain HTTP with a redirect to HTTPS only", async () => {
    const objects = await objectsOf(stack);
    const r = findObject(objects, "HTTPRoute", "octollm-https-redirect", ns.system) as Obj;
    expect(r.spec.parentRefs[0]).toMatchObject({ name: "octollm", sectionName: "http" });
    expect(r.spec.rules).toEqual([
      {
        filters: [
          { type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } },
        ],
      },
    ]);
  });

  it("sets TLS 1.2 minimum, AEAD ciphers and the connection cap in a ClientTrafficPolicy on the Gateway", async () => {
    const objects = await objectsOf(stack);
    const p = findObject(objects, "ClientTrafficPolicy", "octollm", ns.system) as Obj;
    expect(p.spec.targetRefs).toEqual([
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "octollm" },
    ]);
    expect(p.spec.tls.minVersion).toBe("1.2");
    expect(p.spec.tls.ciphers.length).toBeGreaterThan(0);
    for (const c of p.spec.tls.ciphers)
      expect(c).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    expect(p.spec.connection).toEqual({
      connectionLimit: { value: config.ingress.rateLimit.listenerConnections },
    });
  });

  it("rate-limits each public route per client address with a BackendTrafficPolicy", async () => {
    const objects = await objectsOf(stack);
    const policies = ofKind(objects, "BackendTrafficPolicy") as Obj[];
    const byRoute = new Map(
      policies.map((p) => [p.spec.targetRefs[0].name, [p.metadata.namespace, p.spec.targetRefs]]),
    );
    expect(Object.fromEntries(byRoute)).toEqual({
      "octollm-reflex": [
        ns.reflex,
        [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "octollm-reflex" }],
      ],
      "octollm-orchestrator": [
        ns.workloads,
        [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "octollm-orchestrator" }],
      ],
    });
    for (const p of policies) {
      expect(p.spec.rateLimit.local.rules).toEqual(
        ["0.0.0.0/0", "::/0"].map((cidr) => ({
          clientSelectors: [{ sourceCIDR: { type: "Distinct", value: cidr } }],
          limit: { requests: config.ingress.rateLimit.rps, unit: "Second" },
        })),
      );
      if (stack === "production") expect(p.spec.rateLimit.local.rules[0].limit.requests).toBe(100);
    }
  });

  it("runs the data plane hardened, every container within the LimitRange ratio, client addresses kept", async () => {
    const objects = await objectsOf(stack);
    const proxy = findObject(objects, "EnvoyProxy", "octollm-proxy", ns.system) as Obj;
    const k = proxy.spec.provider.kubernetes;
    const d = k.envoyDeployment;
    expect(d.replicas).toBe(config.ingress.gateway.replicas);
    expect(d.pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(d.pod.securityContext.runAsUser).toBeGreaterThanOrEqual(1000);
    expect(d.container.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
    });
    const [shutdownManager] = d.patch.value.spec.template.spec.containers;
    expect(d.patch.type).toBe("StrategicMerge");
    expect(shutdownManager.name).toBe("shutdown-manager");
    // The limit/request ratio every LimitRange of ours allows (production's is the tightest).
    const maxRatio = config.quotas.system.limitRange.maxLimitRequestRatio;
    for (const r of [d.container.resources, shutdownManager.resources]) {
      for (const kind of ["cpu", "memory"] as const) {
        expect(compareQuantities(r.limits[kind], r.requests[kind])).toBeGreaterThanOrEqual(0);
        expect(
          ratio(parseQuantity(r.limits[kind]), parseQuantity(r.requests[kind])),
        ).toBeLessThanOrEqual(maxRatio[kind]);
      }
    }
    expect(k.envoyService.type).toBe(config.ingress.gateway.serviceType);
    if (config.ingress.gateway.serviceType !== "ClusterIP")
      expect(k.envoyService.externalTrafficPolicy).toBe("Local");
    if (config.ingress.gateway.replicas > 1) expect(k.envoyPDB).toEqual({ minAvailable: 1 });
  });

  it("installs Envoy Gateway from its pinned OCI chart with a GatewayClass, before the Gateway", async () => {
    const run = await renderStack(stack);
    const [chart] = helmCharts(run).filter((c) => c.chart.endsWith("/gateway-helm"));
    expect(chart).toMatchObject({
      chart: "oci://docker.io/envoyproxy/gateway-helm",
      version: "v1.9.0",
      namespace: "envoy-gateway-system",
    });
    const objects = await objectsOf(stack);
    expect(findObject(objects, "Namespace", "envoy-gateway-system").metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
    });
    const cls = findObject(objects, "GatewayClass", "envoy-gateway") as Obj;
    expect(cls.spec.controllerName).toBe("gateway.envoyproxy.io/gatewayclass-controller");
    const [chartRes] = ofType(run, "kubernetes:helm.sh/v4:Chart").filter((c) =>
      c.name.endsWith("-envoy-gateway"),
    );
    const [classRes] = ofType(run, "kubernetes:gateway.networking.k8s.io/v1:GatewayClass");
    expect(classRes.dependencies).toContain(chartRes.urn);
    for (const type of [
      "kubernetes:gateway.networking.k8s.io/v1:Gateway",
      "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
      "kubernetes:gateway.envoyproxy.io/v1alpha1:EnvoyProxy",
      "kubernetes:gateway.envoyproxy.io/v1alpha1:ClientTrafficPolicy",
      "kubernetes:gateway.envoyproxy.io/v1alpha1:BackendTrafficPolicy",
    ])
      for (const r of ofType(run, type)) expect(r.dependencies, r.name).toContain(classRes.urn);
  });

  it("validates every Gateway API and Envoy Gateway object against its schema", async () => {
    const objects = await objectsOf(stack);
    const edge = objects.filter((o) => [...GATEWAY_KINDS, "GatewayClass"].includes(o.kind));
    expect(edge.length).toBe(9);
    for (const o of edge) await validateModel(o);
  });

  it("writes no ingress-nginx annotation anywhere", async () => {
    const objects = await objectsOf(stack);
    for (const o of objects)
      for (const key of Object.keys(o.metadata.annotations ?? {}))
        expect(key.startsWith("nginx.ingress.kubernetes.io/"), `${o.kind} ${key}`).toBe(false);
  });

  it("exports the public URLs and the edge kind", async () => {
    const run = await renderStack(stack);
    expect(run.outputs).toMatchObject({
      ingressUrl: `https://${host}/`,
      orchestratorUrl: `https://${host}/api/orchestrator`,
      ingressKind: "gateway",
    });
  });
});

describe("schema checks of the edge objects", () => {
  it("reject an unknown EnvoyProxy field and a wrong type (vendored CRD schema)", async () => {
    const objects = await objectsOf("production");
    const proxy = structuredClone(findObject(objects, "EnvoyProxy", "octollm-proxy")) as Obj;
    await validateModel(proxy);
    proxy.spec.provider.kubernetes.envoyDeployment.replica = 2;
    await expect(validateModel(proxy)).rejects.toThrow(/replica/);
    const typo = structuredClone(findObject(objects, "ClientTrafficPolicy", "octollm")) as Obj;
    typo.spec.tls.minVersion = 1.2;
    await expect(validateModel(typo)).rejects.toThrow(/minVersion/);
  });

  it("reject a Gateway listener with an unknown protocol field and a route without parentRefs type (model package)", async () => {
    const objects = await objectsOf("production");
    const gw = structuredClone(findObject(objects, "Gateway", "octollm")) as Obj;
    gw.spec.listeners[0].port = "eighty";
    await expect(validateModel(gw)).rejects.toThrow(/port/);
    const route = structuredClone(findObject(objects, "HTTPRoute", "octollm-orchestrator")) as Obj;
    route.spec.rules[0].matches[0].path.type = "Glob";
    await expect(validateModel(route)).rejects.toThrow();
  });
});

describe("Gateway edge with ACME (production)", () => {
  it("solves HTTP-01 through the Gateway's HTTP listener and issues one Certificate beside the Gateway", async () => {
    const objects = await objectsOf("production");
    const issuer = findObject(objects, "ClusterIssuer", "letsencrypt-prod") as Obj;
    await validateModel(issuer);
    expect(issuer.spec.acme.solvers).toEqual([
      {
        http01: {
          gatewayHTTPRoute: {
            serviceType: "ClusterIP",
            parentRefs: [
              {
                group: "gateway.networking.k8s.io",
                kind: "Gateway",
                name: "octollm",
                namespace: "octollm-system",
                sectionName: "http",
              },
            ],
          },
        },
      },
    ]);
    const certs = ofKind(objects, "Certificate") as Obj[];
    expect(certs.map((c) => `${c.metadata.namespace}/${c.metadata.name}`)).toEqual([
      "octollm-system/octollm-tls",
    ]);
    await validateModel(certs[0]);
    // The solver pods start beside the Certificate: only our Envoy proxies may reach them.
    const p = findObject(objects, "NetworkPolicy", "acme-http01-solver", "octollm-system") as Obj;
    expect(p.spec.ingress).toEqual([
      {
        from: [
          {
            namespaceSelector: {
              matchLabels: { "kubernetes.io/metadata.name": "envoy-gateway-system" },
            },
            podSelector: {
              matchLabels: {
                "app.kubernetes.io/name": "envoy",
                "app.kubernetes.io/component": "proxy",
                "app.kubernetes.io/managed-by": "envoy-gateway",
                "gateway.envoyproxy.io/owning-gateway-name": "octollm",
                "gateway.envoyproxy.io/owning-gateway-namespace": "octollm-system",
              },
            },
          },
        ],
        ports: [{ protocol: "TCP", port: 8089 }],
      },
    ]);
  });

  it("turns on cert-manager's Gateway API support and installs it after the Gateway API CRDs", async () => {
    const run = await renderStack("production");
    const [cm] = helmCharts(run).filter((c) => c.chart === "cert-manager");
    expect(cm.values).toMatchObject({
      config: {
        apiVersion: "controller.config.cert-manager.io/v1alpha1",
        kind: "ControllerConfiguration",
        enableGatewayAPI: true,
      },
    });
    const charts = ofType(run, "kubernetes:helm.sh/v4:Chart");
    const eg = charts.find((c) => c.name.endsWith("-envoy-gateway"))!;
    const certManager = charts.find((c) => c.name.endsWith("-cert-manager"))!;
    expect(certManager.dependencies).toContain(eg.urn);
  });

  it("gates the ClusterIssuer and the Gateway's Certificate on cert-manager's API check, a hardened plain Job", async () => {
    const run = await renderStack("production");
    const objects = await objectsOf("production");
    const job = findObject(objects, "Job", "cert-manager-startupapicheck", "octollm-system") as Obj;
    await validateModel(job);
    // No Helm hook: a hook annotation would make it a chart-only object Pulumi never waits on.
    expect(Object.keys(job.metadata.annotations ?? {})).not.toContainEqual(
      expect.stringMatching(/^helm\.sh\//),
    );
    const c = job.spec.template.spec.containers[0];
    expect(c.image).toBe("quay.io/jetstack/cert-manager-startupapicheck:v1.18.2");
    expect(c.args.slice(0, 2)).toEqual(["check", "api"]);
    expect(c.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    const role = findObject(
      objects,
      "Role",
      "cert-manager-startupapicheck",
      "octollm-system",
    ) as Obj;
    expect(role.rules).toEqual([
      { apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["create"] },
    ]);
    // It may talk to the API server and nothing else.
    const np = findObject(
      objects,
      "NetworkPolicy",
      "cert-manager-startupapicheck",
      "octollm-system",
    ) as Obj;
    expect(np.spec.ingress).toEqual([]);
    expect(np.spec.egress).toHaveLength(1);
    expect(np.spec.egress[0].ports.map((p: Obj) => p.port)).toEqual([443, 6443]);

    const chart = ofType(run, "kubernetes:helm.sh/v4:Chart").find((r) =>
      r.name.endsWith("-cert-manager"),
    )!;
    const jobRes = ofType(run, "kubernetes:batch/v1:Job").find((r) =>
      r.name.endsWith("-startupapicheck"),
    )!;
    expect(jobRes.dependencies).toContain(chart.urn);
    const gated = [
      ...ofType(run, "kubernetes:cert-manager.io/v1:ClusterIssuer"),
      ...ofType(run, "kubernetes:cert-manager.io/v1:Certificate"),
    ];
    expect(gated).toHaveLength(2);
    for (const r of gated) expect(r.dependencies, r.name).toContain(jobRes.urn);
  });

  it("solves DNS-01 by config, with no HTTP-01 solver policy", async () => {
    const dns01 = { route53: { region: "eu-west-1" } };
    const overrides = { "octollm:ingress": { tls: { solver: "dns01", dns01 } } };
    const objects = await objectsOf("production", overrides);
    const issuer = findObject(objects, "ClusterIssuer", "letsencrypt-prod") as Obj;
    expect(issuer.spec.acme.solvers).toEqual([{ dns01 }]);
    await validateModel(issuer);
    expect(
      objects.filter((o) => o.kind === "NetworkPolicy" && o.metadata.name === "acme-http01-solver"),
    ).toEqual([]);
  });
});

describe("Gateway edge with an existing implementation", () => {
  it("installs no chart and no GatewayClass, and uses the named class", async () => {
    const overrides = {
      "octollm:operators": { envoyGateway: { install: false } },
      "octollm:ingress": { gateway: { className: "shared-eg" } },
    };
    const run = await renderStack("production", overrides);
    expect(helmCharts(run).filter((c) => c.chart.endsWith("/gateway-helm"))).toEqual([]);
    const objects = await objectsOf("production", overrides);
    expect(ofKind(objects, "GatewayClass")).toEqual([]);
    expect((findObject(objects, "Gateway", "octollm") as Obj).spec.gatewayClassName).toBe(
      "shared-eg",
    );
  });
});

describe("dev and staging keep the private CA on the Gateway", () => {
  it.each(["dev", "staging"] as const)(
    "%s: octollm-tls Secret beside the Gateway, no issuer",
    async (stack) => {
      const objects = await objectsOf(stack);
      const system = configOf(stack).namespaces.system;
      expect((findObject(objects, "Secret", "octollm-tls", system) as Obj).type).toBe(
        "kubernetes.io/tls",
      );
      expect(ofKind(objects, "ClusterIssuer")).toEqual([]);
      expect(ofKind(objects, "Job").map((j) => j.metadata.name)).not.toContain(
        "cert-manager-startupapicheck",
      );
    },
  );
});

describe("edge configuration errors", () => {
  it("rejects a relative route path", () => {
    expect(
      configProblems({ "octollm:ingress": { paths: { orchestrator: "api/orchestrator" } } }),
    ).toContainEqual(
      expect.stringMatching(
        /^octollm:ingress\.paths\.orchestrator: got "api\/orchestrator"; must be an absolute path/,
      ),
    );
  });

  it("rejects a host that is not a DNS name", () => {
    expect(
      configProblems({ "octollm:ingress": { host: "https://api.octollm.io/" } }),
    ).toContainEqual(
      expect.stringMatching(
        /^octollm:ingress\.host: got "https:\/\/api\.octollm\.io\/"; must be a DNS host name/,
      ),
    );
  });

  it("rejects rate limits of zero or below", () => {
    expect(configProblems({ "octollm:ingress": { rateLimit: { rps: 0 } } })).toContainEqual(
      expect.stringMatching(/^octollm:ingress\.rateLimit\.rps: got 0; must be ≥ 1/),
    );
    expect(
      configProblems({ "octollm:ingress": { rateLimit: { listenerConnections: -5 } } }),
    ).toContainEqual(
      expect.stringMatching(/^octollm:ingress\.rateLimit\.listenerConnections: got -5/),
    );
  });

  it("rejects the Gateway edge with no implementation installed and no GatewayClass", () => {
    expect(
      configProblems({ "octollm:operators": { envoyGateway: { install: false } } }),
    ).toContainEqual(
      expect.stringMatching(/^octollm:ingress\.gateway\.className: .*needs the GatewayClass/),
    );
    // The Ingress path needs no GatewayClass.
    expect(
      configProblems({
        "octollm:operators": { envoyGateway: { install: false } },
        "octollm:ingress": { kind: "ingress" },
      }),
    ).toEqual([]);
  });

  it("rejects DNS-01 without a solver block, and an unknown edge kind", () => {
    expect(configProblems({ "octollm:ingress": { tls: { solver: "dns01" } } })).toContainEqual(
      expect.stringMatching(/^octollm:ingress\.tls\.dns01: .*dns01 solver block/),
    );
    expect(configProblems({ "octollm:ingress": { kind: "nginx" } })).toContainEqual(
      expect.stringMatching(
        /^octollm:ingress\.kind: got "nginx"; must be one of "gateway", "ingress"/,
      ),
    );
  });

  it("rejects proxy resources that break the LimitRange of the namespace the proxies land in", () => {
    const overrides = {
      "octollm:operators": { envoyGateway: { namespace: "octollm-system" } },
      "octollm:ingress": {
        gateway: {
          proxyResources: {
            requests: { cpu: "100m", memory: "128Mi" },
            limits: { cpu: "2", memory: "256Mi" },
          },
        },
      },
    };
    expect(configProblems(overrides)).toContainEqual(
      expect.stringMatching(
        /^octollm:ingress\.gateway\.proxyResources\.limits\.cpu: .*ratio of 20\.00: the LimitRange of octollm-system allows at most 4/,
      ),
    );
  });
});
