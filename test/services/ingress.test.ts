import { describe, expect, it } from "vitest";
import type { RenderedResource } from "../../policies/evaluate";
import { evaluatePolicies, loadPolicyConfig } from "../../policies/evaluate";
import {
  STACKS,
  findObject,
  helmCharts,
  objectsOf,
  ofKind,
  ofType,
  renderStack,
  renderedResources,
} from "../harness";
import type { Obj } from "./support";
import { configOf, validateModel } from "./support";

/** The Ingress path (`ingress.kind: ingress`); the default edge is the Gateway (gateway.test.ts). */
const AS_INGRESS = { "octollm:ingress": { kind: "ingress" } };

const HOSTS = {
  dev: "api.dev.octollm.local",
  staging: "api.staging.octollm.io",
  production: "api.octollm.io",
} as const;

describe.each(STACKS)("ingress.kind ingress on %s", (stack) => {
  const config = configOf(stack, AS_INGRESS);
  const ns = config.namespaces;

  it("routes / to the reflex layer and /api/orchestrator to the orchestrator with one Ingress per namespace", async () => {
    const objects = await objectsOf(stack, AS_INGRESS);
    const ingresses = ofKind(objects, "Ingress") as Obj[];
    expect(ingresses.map((i) => i.metadata.namespace).sort()).toEqual(
      [ns.reflex, ns.workloads].sort(),
    );
    const route = (namespace: string) => {
      const i = ingresses.find((x) => x.metadata.namespace === namespace)!;
      expect(i.spec.ingressClassName).toBe("nginx");
      expect(i.spec.rules).toHaveLength(1);
      expect(i.spec.rules[0].host).toBe(HOSTS[stack]);
      const [path] = i.spec.rules[0].http.paths;
      return [
        path.path,
        path.pathType,
        path.backend.service.name,
        path.backend.service.port.number,
      ];
    };
    expect(route(ns.reflex)).toEqual(["/", "Prefix", "reflex-layer", 8080]);
    expect(route(ns.workloads)).toEqual(["/api/orchestrator", "Prefix", "orchestrator", 8000]);
    for (const i of ingresses) {
      await validateModel(i);
      // Each backend is a Service of the Ingress's own namespace, on a port it exposes.
      const b = i.spec.rules[0].http.paths[0].backend.service;
      const svc = findObject(objects, "Service", b.name, i.metadata.namespace) as Obj;
      expect(svc.spec.ports.map((p: Obj) => p.port)).toContain(b.port.number);
    }
  });

  it("sets redirect, rate limits, body size and LLM-length timeouts, and no rewrite-target", async () => {
    const ingresses = ofKind(await objectsOf(stack, AS_INGRESS), "Ingress");
    for (const i of ingresses) {
      const a = i.metadata.annotations!;
      expect(a).toMatchObject({
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/force-ssl-redirect": "true",
        "nginx.ingress.kubernetes.io/limit-rps": String(config.ingress.rateLimit.rps),
        "nginx.ingress.kubernetes.io/limit-connections": String(
          config.ingress.rateLimit.connections,
        ),
        "nginx.ingress.kubernetes.io/proxy-body-size": config.ingress.proxyBodySize,
        "nginx.ingress.kubernetes.io/proxy-read-timeout": String(
          config.ingress.proxyTimeoutSeconds,
        ),
        "nginx.ingress.kubernetes.io/proxy-send-timeout": String(
          config.ingress.proxyTimeoutSeconds,
        ),
      });
      if (stack === "production") {
        expect(a["nginx.ingress.kubernetes.io/limit-rps"]).toBe("100");
        expect(a["nginx.ingress.kubernetes.io/proxy-read-timeout"]).toBe("300");
      }
      expect(a["nginx.ingress.kubernetes.io/rewrite-target"]).toBeUndefined();
      // Not ingress-nginx annotations: the seed's rate-limit, and a per-Ingress ssl-protocols.
      expect(a["nginx.ingress.kubernetes.io/rate-limit"]).toBeUndefined();
      expect(a["nginx.ingress.kubernetes.io/ssl-protocols"]).toBeUndefined();
      // TLS 1.2 minimum for this host: only suites that exist from TLS 1.2 on.
      const ciphers = a["nginx.ingress.kubernetes.io/ssl-ciphers"].split(":");
      expect(ciphers.length).toBeGreaterThan(0);
      for (const c of ciphers)
        expect(c).toMatch(/^ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$/);
    }
  });

  it("serves TLS for the host from the octollm-tls Secret of each namespace", async () => {
    const objects = await objectsOf(stack, AS_INGRESS);
    for (const i of ofKind(objects, "Ingress") as Obj[]) {
      expect(i.spec.tls).toEqual([{ hosts: [HOSTS[stack]], secretName: "octollm-tls" }]);
    }
    if (config.ingress.tls.mode === "private-ca") {
      for (const namespace of [ns.reflex, ns.workloads]) {
        const s = findObject(objects, "Secret", "octollm-tls", namespace) as Obj;
        expect(s.type).toBe("kubernetes.io/tls");
      }
      expect(ofKind(objects, "Certificate")).toEqual([]);
      expect(ofKind(objects, "ClusterIssuer")).toEqual([]);
    } else {
      for (const namespace of [ns.reflex, ns.workloads])
        expect(findObject(objects, "Certificate", "octollm-tls", namespace)).toBeDefined();
    }
  });

  it("exports the public URLs", async () => {
    const run = await renderStack(stack, AS_INGRESS);
    expect(run.outputs).toMatchObject({
      ingressUrl: `https://${HOSTS[stack]}/`,
      orchestratorUrl: `https://${HOSTS[stack]}/api/orchestrator`,
      orchestratorInternalUrl: `http://orchestrator.${ns.workloads}.svc.cluster.local:8000`,
      tlsMode: config.ingress.tls.mode,
    });
    expect(Object.keys(run.outputs.armUrls as object)).toEqual(config.arms.map((a) => a.name));
    expect(ofType(run, "octollm:ingress:Ingress")).toHaveLength(1);
  });
});

describe("ACME TLS in production", () => {
  it("installs cert-manager from its pinned chart with CRDs and without the chart's hook-based startup check", async () => {
    const run = await renderStack("production", AS_INGRESS);
    const charts = helmCharts(run).filter((c) => c.chart === "cert-manager");
    expect(charts).toHaveLength(1);
    const [chart] = charts;
    expect(chart).toMatchObject({
      version: "v1.18.2",
      namespace: "cert-manager",
      repository: "https://charts.jetstack.io",
    });
    expect(chart.values).toMatchObject({
      crds: { enabled: true },
      startupapicheck: { enabled: false },
    });
    // Solver pods must fit the namespaces' LimitRange (limit/request ratio ≤ 4).
    const args = (chart.values as { extraArgs: string[] }).extraArgs;
    const arg = (name: string) =>
      args.find((a) => a.startsWith(`--acme-http01-solver-resource-${name}=`))!.split("=")[1];
    expect(parseInt(arg("limits-cpu")) / parseInt(arg("request-cpu"))).toBeLessThanOrEqual(4);
    const objects = await objectsOf("production", AS_INGRESS);
    expect(findObject(objects, "Namespace", "cert-manager").metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "restricted",
    });
  });

  it("issues from a letsencrypt-prod ClusterIssuer (HTTP-01 through nginx) a Certificate per namespace, after the chart", async () => {
    const run = await renderStack("production", AS_INGRESS);
    const objects = await objectsOf("production", AS_INGRESS);
    const issuer = findObject(objects, "ClusterIssuer", "letsencrypt-prod") as Obj;
    await validateModel(issuer);
    expect(issuer.spec.acme).toEqual({
      server: "https://acme-v02.api.letsencrypt.org/directory",
      email: "platform@octollm.io",
      privateKeySecretRef: { name: "letsencrypt-prod-account-key" },
      solvers: [{ http01: { ingress: { ingressClassName: "nginx", serviceType: "ClusterIP" } } }],
    });
    for (const ns of ["octollm-production", "octollm-production-reflex"]) {
      const cert = findObject(objects, "Certificate", "octollm-tls", ns) as Obj;
      await validateModel(cert);
      expect(cert.spec).toMatchObject({
        secretName: "octollm-tls",
        dnsNames: ["api.octollm.io"],
        issuerRef: { name: "letsencrypt-prod", kind: "ClusterIssuer", group: "cert-manager.io" },
      });
    }
    const [chart] = ofType(run, "kubernetes:helm.sh/v4:Chart").filter(
      (c) => (c.inputs as Obj).chart === "cert-manager",
    );
    const crs = ofType(run, "kubernetes:cert-manager.io/v1:ClusterIssuer").concat(
      ofType(run, "kubernetes:cert-manager.io/v1:Certificate"),
    );
    expect(crs).toHaveLength(3);
    // Issuer and Certificates wait for cert-manager's API check, which waits for the chart.
    const [check] = ofType(run, "kubernetes:batch/v1:Job").filter((j) =>
      j.name.endsWith("-startupapicheck"),
    );
    expect(check.dependencies).toContain(chart.urn);
    for (const cr of crs) expect(cr.dependencies, cr.name).toContain(check.urn);
  });

  it("lets the ingress controller reach the HTTP-01 solver pods through default deny", async () => {
    const objects = await objectsOf("production", AS_INGRESS);
    for (const ns of ["octollm-production", "octollm-production-reflex"]) {
      const p = findObject(objects, "NetworkPolicy", "acme-http01-solver", ns) as Obj;
      expect(p.spec.podSelector).toEqual({
        matchLabels: { "acme.cert-manager.io/http01-solver": "true" },
      });
      expect(p.spec.ingress).toEqual([
        {
          from: [
            {
              namespaceSelector: {
                matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" },
              },
            },
          ],
          ports: [{ protocol: "TCP", port: 8089 }],
        },
      ]);
    }
  });

  it("assumes an existing cert-manager when the stack does not install it", async () => {
    const overrides = {
      ...AS_INGRESS,
      "octollm:operators": { certManager: { install: false } },
    };
    const run = await renderStack("production", overrides);
    expect(helmCharts(run).filter((c) => c.chart === "cert-manager")).toEqual([]);
    const objects = await objectsOf("production", overrides);
    expect(ofKind(objects, "Certificate")).toHaveLength(2);
    expect(objects.some((o) => o.kind === "Namespace" && o.metadata.name === "cert-manager")).toBe(
      false,
    );
  });
});

describe("ingress disabled", () => {
  it("renders no Ingress, Certificate or chart, and exports no public URL", async () => {
    const overrides = { "octollm:ingress": { enabled: false } };
    // (the default kind, gateway: no Gateway API object either)
    const run = await renderStack("production", overrides);
    const objects = await objectsOf("production", overrides);
    expect(ofKind(objects, "Ingress")).toEqual([]);
    expect(ofKind(objects, "Certificate")).toEqual([]);
    expect(helmCharts(run).filter((c) => c.chart === "cert-manager")).toEqual([]);
    expect(run.outputs.ingressUrl).toBeUndefined();
    expect(run.outputs.orchestratorInternalUrl).toBe(
      "http://orchestrator.octollm-production.svc.cluster.local:8000",
    );
  });
});

describe("ingress.kind ingress with another IngressClass", () => {
  const annotationsOf = async (className: string) =>
    (
      ofKind(
        await objectsOf("production", { "octollm:ingress": { kind: "ingress", className } }),
        "Ingress",
      ) as Obj[]
    ).map((i) => ({
      className: i.spec.ingressClassName as string,
      nginx: Object.keys(i.metadata.annotations ?? {}).filter((k) =>
        k.startsWith("nginx.ingress.kubernetes.io/"),
      ),
    }));

  it("writes no nginx annotation for a class that is not nginx, and does for nginx", async () => {
    const traefik = await annotationsOf("traefik");
    expect(traefik).toHaveLength(2);
    for (const i of traefik) expect(i).toEqual({ className: "traefik", nginx: [] });
    for (const i of await annotationsOf("nginx")) expect(i.nginx.length).toBeGreaterThan(3);
  });
});

describe.each(STACKS)("the policy pack on ingress.kind ingress (%s)", (stack) => {
  it("passes every mandatory policy", async () => {
    const run = await renderStack(stack, AS_INGRESS);
    const resources: RenderedResource[] = renderedResources(run);
    expect(resources.some((r) => r.type === "kubernetes:networking.k8s.io/v1:Ingress")).toBe(true);
    const report = await evaluatePolicies(resources, loadPolicyConfig(stack));
    const mandatory = report.violations.filter((v) => v.enforcementLevel === "mandatory");
    expect(mandatory.map((v) => `${v.policy}: ${v.message}`)).toEqual([]);
  });
});
