/** Services, availability, namespaces and references: both sides of every policy. */
import { describe, expect, it } from "vitest";
import type { K8sObject } from "../fixtures/stack";
import { compliantStack, find, rendered } from "../fixtures/stack";
import { clone, evaluate, messagesOf } from "./helpers";
import { loadPolicyConfig } from "../../policies/evaluate";

describe("service-type-allowed", () => {
  it("reports NodePort/LoadBalancer unless the stack allows them", async () => {
    const stack = clone(compliantStack());
    find(stack, "Service", "orchestrator").spec.type = "LoadBalancer";
    find(stack, "Service", "coder-arm").spec.ports[0].nodePort = 30080;
    expect(messagesOf(await evaluate(stack), "service-type-allowed")).toEqual([
      "Service octollm-production/orchestrator: type LoadBalancer is not allowed in this stack (allowed: ClusterIP)",
      "Service octollm-production/coder-arm: sets a nodePort on a ClusterIP Service",
    ]);
    const config = loadPolicyConfig("production");
    config["service-type-allowed"] = { allowedTypes: ["ClusterIP", "LoadBalancer"] };
    expect(messagesOf(await evaluate(stack, config), "service-type-allowed")).toHaveLength(1);
  });

  it("reports externalIPs on any Service type; none is fine", async () => {
    const stack = clone(compliantStack());
    expect(messagesOf(await evaluate(stack), "service-type-allowed")).toEqual([]);
    find(stack, "Service", "orchestrator").spec.externalIPs = ["203.0.113.10"];
    find(stack, "Service", "coder-arm").spec.externalIPs = [];
    expect(messagesOf(await evaluate(stack), "service-type-allowed")).toEqual([
      "Service octollm-production/orchestrator: sets externalIPs 203.0.113.10; any Service with externalIPs can intercept cluster traffic to those addresses (CVE-2020-8554)",
    ]);
  });
});

describe("ingress-tls", () => {
  it("reports hosts without TLS, rules without host, and TLS without secretName", async () => {
    const stack = clone(compliantStack());
    const ing = find(stack, "Ingress", "octollm");
    ing.spec.rules.push(
      { host: "admin.octollm.io", http: ing.spec.rules[0].http },
      { http: ing.spec.rules[0].http },
    );
    ing.spec.tls.push({ hosts: ["other.octollm.io"] });
    expect(messagesOf(await evaluate(stack), "ingress-tls")).toEqual([
      "Ingress octollm-production/octollm: TLS entry for other.octollm.io has no secretName",
      "Ingress octollm-production/octollm: host admin.octollm.io has no TLS entry",
      "Ingress octollm-production/octollm: a rule has no host, so it is served without TLS on every name",
    ]);
  });

  it("accepts a wildcard certificate for one label only", async () => {
    const stack = clone(compliantStack());
    const ing = find(stack, "Ingress", "octollm");
    ing.spec.tls = [{ hosts: ["*.octollm.io"], secretName: "wild" }];
    ing.spec.rules.push({ host: "a.b.octollm.io", http: ing.spec.rules[0].http });
    expect(messagesOf(await evaluate(stack), "ingress-tls")).toEqual([
      "Ingress octollm-production/octollm: host a.b.octollm.io has no TLS entry",
    ]);
  });
});

describe("workload-replicas", () => {
  it("reports single replicas (HPA minimum or spec.replicas) and single-instance clusters", async () => {
    const stack = clone(compliantStack());
    find(stack, "HorizontalPodAutoscaler", "coder-arm").spec.minReplicas = 1;
    find(stack, "StatefulSet", "redis").spec.replicas = 1;
    find(stack, "Cluster", "postgres").spec.instances = 1;
    const report = await evaluate(stack);
    expect(messagesOf(report, "workload-replicas")).toEqual([
      "Deployment octollm-production/coder-arm: its HPA coder-arm has minReplicas 1; needs ≥ 2",
      "StatefulSet octollm-production/redis: replicas is 1; needs ≥ 2",
      "Cluster octollm-production/postgres: instances is 1; needs ≥ 2",
    ]);
    // dev reports the same as advisory: a laptop cluster runs single replicas.
    const dev = await evaluate(stack, loadPolicyConfig("dev"));
    expect(
      dev.violations.filter((v) => v.policy === "workload-replicas").map((v) => v.enforcementLevel),
    ).toEqual(["advisory", "advisory", "advisory"]);
  });
});

describe("pod-anti-affinity", () => {
  it("reports multi-replica workloads that do not spread across nodes", async () => {
    const stack = clone(compliantStack());
    delete find(stack, "Deployment", "coder-arm").spec.template.spec.affinity;
    const redisSpec = find(stack, "StatefulSet", "redis").spec.template.spec;
    delete redisSpec.affinity;
    redisSpec.topologySpreadConstraints = [
      { topologyKey: "kubernetes.io/hostname", maxSkew: 1, whenUnsatisfiable: "DoNotSchedule" },
    ];
    expect(messagesOf(await evaluate(stack), "pod-anti-affinity")).toEqual([
      "Deployment octollm-production/coder-arm: runs up to 8 replicas with no pod anti-affinity or topology spread on kubernetes.io/hostname or topology.kubernetes.io/zone",
    ]);
  });
});

describe("pod-anti-affinity for CloudNativePG", () => {
  it("reports clusters that turn the operator's anti-affinity off or spread on another key", async () => {
    const stack = clone(compliantStack());
    find(stack, "Cluster", "postgres").spec.affinity = { enablePodAntiAffinity: false };
    expect(messagesOf(await evaluate(stack), "pod-anti-affinity")).toEqual([
      "Cluster octollm-production/postgres: 3 instances with affinity.enablePodAntiAffinity: false",
    ]);
    find(stack, "Cluster", "postgres").spec.affinity = {
      enablePodAntiAffinity: true,
      topologyKey: "rack",
    };
    expect(messagesOf(await evaluate(stack), "pod-anti-affinity")).toEqual([
      "Cluster octollm-production/postgres: spreads instances on rack, not on kubernetes.io/hostname or topology.kubernetes.io/zone",
    ]);
  });
});

describe("rolling-update-keeps-capacity", () => {
  it("reports Recreate, the 25% default and a non-zero maxUnavailable", async () => {
    const stack = clone(compliantStack());
    find(stack, "Deployment", "orchestrator").spec.strategy = { type: "Recreate" };
    find(stack, "Deployment", "coder-arm").spec.strategy = {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: "25%" },
    };
    expect(messagesOf(await evaluate(stack), "rolling-update-keeps-capacity")).toEqual([
      "Deployment octollm-production/orchestrator: strategy Recreate stops every pod before starting new ones; use RollingUpdate with maxUnavailable 0",
      "Deployment octollm-production/coder-arm: rollingUpdate.maxUnavailable is 25%; set 0 so updates keep capacity",
    ]);
    delete find(stack, "Deployment", "coder-arm").spec.strategy;
    expect(messagesOf(await evaluate(stack), "rolling-update-keeps-capacity")[1]).toBe(
      "Deployment octollm-production/coder-arm: rollingUpdate.maxUnavailable is unset (defaults to 25%); set 0 so updates keep capacity",
    );
  });
});

describe("pdb-coverage", () => {
  it("reports a multi-replica workload without PDB, and PDBs that block every eviction", async () => {
    const stack = clone(compliantStack()).filter(
      (r) =>
        !(
          (r.props as { kind?: string }).kind === "PodDisruptionBudget" &&
          r.name.endsWith("coder-arm")
        ),
    );
    find(stack, "PodDisruptionBudget", "orchestrator").spec = {
      maxUnavailable: 0,
      selector: find(stack, "PodDisruptionBudget", "orchestrator").spec.selector,
    };
    find(stack, "PodDisruptionBudget", "redis").spec.minAvailable = 3;
    expect(messagesOf(await evaluate(stack), "pdb-coverage")).toEqual([
      "Deployment octollm-production/coder-arm: runs up to 8 replicas but no PodDisruptionBudget selects its pods (app.kubernetes.io/name=coder-arm, app.kubernetes.io/instance=octollm-production, app.kubernetes.io/component=arm, app.kubernetes.io/part-of=octollm, app.kubernetes.io/managed-by=pulumi)",
      "PodDisruptionBudget octollm-production/orchestrator: maxUnavailable 0 blocks every voluntary eviction (node drains hang)",
      "PodDisruptionBudget octollm-production/redis: minAvailable 3 is not below the 3 pod(s) it protects at steady state, so it blocks every voluntary eviction",
    ]);
  });

  it("reports minAvailable 100% whatever it selects; counts ReplicaSets and bare Pods like Deployments", async () => {
    const stack = clone(compliantStack());
    const ns = "octollm-production";
    const template = find(stack, "Deployment", "coder-arm").spec.template;
    const pdb = (name: string, spec: Record<string, unknown>) =>
      rendered({
        apiVersion: "policy/v1",
        kind: "PodDisruptionBudget",
        metadata: { name, namespace: ns },
        spec,
      });
    const pod = (name: string, app = "batch-worker") =>
      rendered({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, namespace: ns, labels: { app } },
        spec: structuredClone(template.spec),
      });
    stack.push(
      // selects pods outside the stack: 100% still blocks every eviction
      pdb("outside", { minAvailable: "100%", selector: { matchLabels: { app: "elsewhere" } } }),
      // a ReplicaSet of 3 with no PDB
      rendered({
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: { name: "legacy", namespace: ns },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: "legacy" } },
          template: { ...structuredClone(template), metadata: { labels: { app: "legacy" } } },
        },
      }),
      // two bare Pods protected by minAvailable 2: nothing may be evicted
      pod("worker-a"),
      pod("worker-b"),
      pdb("batch-worker", { minAvailable: 2, selector: { matchLabels: { app: "batch-worker" } } }),
      // two more bare Pods under minAvailable 1: fine
      pod("other-a", "other"),
      pod("other-b", "other"),
      pdb("other", { minAvailable: 1, selector: { matchLabels: { app: "other" } } }),
    );
    expect(messagesOf(await evaluate(stack), "pdb-coverage")).toEqual([
      "ReplicaSet octollm-production/legacy: runs up to 3 replicas but no PodDisruptionBudget selects its pods (app=legacy)",
      "PodDisruptionBudget octollm-production/outside: minAvailable 100% blocks every voluntary eviction (node drains hang)",
      "PodDisruptionBudget octollm-production/batch-worker: minAvailable 2 is not below the 2 pod(s) it protects at steady state, so it blocks every voluntary eviction",
    ]);
  });

  it("reports pods selected by two PDBs", async () => {
    const stack = clone(compliantStack());
    const extra = structuredClone(find(stack, "PodDisruptionBudget", "orchestrator"));
    extra.metadata.name = "orchestrator-extra";
    stack.push(rendered(extra as K8sObject));
    expect(messagesOf(await evaluate(stack), "pdb-coverage")).toEqual([
      "Deployment octollm-production/orchestrator: its pods are selected by 2 PodDisruptionBudgets (orchestrator, orchestrator-extra); the eviction API refuses pods with more than one",
    ]);
  });
});

describe("hpa-sanity", () => {
  it("reports min > max, a floor breach, and a target without the requests its metrics need", async () => {
    const stack = clone(compliantStack());
    const hpa = find(stack, "HorizontalPodAutoscaler", "orchestrator");
    hpa.spec.minReplicas = 12;
    const coder = find(stack, "HorizontalPodAutoscaler", "coder-arm");
    coder.spec.minReplicas = 1;
    delete find(stack, "Deployment", "coder-arm").spec.template.spec.containers[0].resources
      .requests.memory;
    expect(messagesOf(await evaluate(stack), "hpa-sanity")).toEqual([
      "HorizontalPodAutoscaler octollm-production/orchestrator: minReplicas 12 is above maxReplicas 10",
      "HorizontalPodAutoscaler octollm-production/coder-arm: minReplicas 1 is below this stack's floor of 2",
      "HorizontalPodAutoscaler octollm-production/coder-arm: scales Deployment octollm-production/coder-arm on memory utilisation, but container(s) coder-arm request no memory, so the utilisation cannot be computed",
    ]);
  });
});

describe("namespace-guardrails", () => {
  it("reports namespaces that run pods without labels, quota, LimitRange or default deny", async () => {
    const stack = clone(compliantStack()).filter(
      (r) =>
        !(r.name === "octollm-production-octollm-quota") &&
        !(r.name === "octollm-production-reflex-octollm-limits") &&
        !(r.name === "octollm-production-reflex-default-deny"),
    );
    delete find(stack, "Namespace", "octollm-production").metadata.labels[
      "pod-security.kubernetes.io/enforce"
    ];
    find(stack, "Namespace", "octollm-production-reflex").metadata.labels[
      "pod-security.kubernetes.io/warn"
    ] = "baseline";
    find(stack, "Deployment", "coder-arm").metadata.namespace = "octollm-elsewhere";
    expect(messagesOf(await evaluate(stack), "namespace-guardrails")).toEqual([
      "namespace octollm-elsewhere: runs pods but is not a Namespace of this stack, so its guardrails are not managed here",
      "namespace octollm-production: has no pod-security.kubernetes.io/enforce label",
      "namespace octollm-production: has no ResourceQuota",
      "namespace octollm-production-reflex: enforces privileged but does not warn at restricted, so deviations go unnoticed",
      "namespace octollm-production-reflex: has no LimitRange",
      "namespace octollm-production-reflex: has no default-deny NetworkPolicy (empty podSelector, policyTypes Ingress and Egress, no rules)",
    ]);
  });

  it("reports Pod Security labels that are not a valid level, version or mode; valid ones pass", async () => {
    const stack = clone(compliantStack());
    const labels = find(stack, "Namespace", "octollm-production").metadata.labels;
    Object.assign(labels, {
      "pod-security.kubernetes.io/enforce-version": "v1.36",
      "pod-security.kubernetes.io/warn-version": "latest",
    });
    expect(messagesOf(await evaluate(stack), "namespace-guardrails")).toEqual([]);
    Object.assign(labels, {
      "pod-security.kubernetes.io/enforce": "Restricted",
      "pod-security.kubernetes.io/enforce-version": "1.36",
      "pod-security.kubernetes.io/audit-version": "v1.036",
      "pod-security.kubernetes.io/enforcing": "restricted",
    });
    expect(messagesOf(await evaluate(stack), "namespace-guardrails")).toEqual([
      'namespace octollm-production: label pod-security.kubernetes.io/enforce is "Restricted", not a level (privileged, baseline, restricted)',
      'namespace octollm-production: label pod-security.kubernetes.io/enforce-version is "1.36", not a version ("latest" or "v1.<minor>", e.g. v1.36)',
      'namespace octollm-production: label pod-security.kubernetes.io/audit-version is "v1.036", not a version ("latest" or "v1.<minor>", e.g. v1.36)',
      "namespace octollm-production: label pod-security.kubernetes.io/enforcing is not a Pod Security Admission label (known: enforce, enforce-version, audit, audit-version, warn, warn-version), so it does nothing",
    ]);
  });

  it("does not take an allow-all policy for a default deny", async () => {
    const stack = clone(compliantStack());
    find(stack, "NetworkPolicy", "default-deny").spec.ingress = [{}];
    expect(messagesOf(await evaluate(stack), "namespace-guardrails")).toEqual([
      "namespace octollm-production: has no default-deny NetworkPolicy (empty podSelector, policyTypes Ingress and Egress, no rules)",
    ]);
  });
});

describe("selectors-match", () => {
  it("reports Service, PDB, NetworkPolicy and ServiceMonitor selectors that match nothing", async () => {
    const stack = clone(compliantStack());
    find(stack, "Service", "orchestrator").spec.selector["app.kubernetes.io/name"] = "orchestrater";
    find(stack, "PodDisruptionBudget", "redis").spec.selector.matchLabels[
      "app.kubernetes.io/component"
    ] = "cache";
    stack.push(
      rendered({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "allow-qdrant", namespace: "octollm-production" },
        spec: {
          podSelector: { matchLabels: { "app.kubernetes.io/name": "qdrant" } },
          policyTypes: ["Ingress"],
        },
      }),
    );
    find(stack, "ServiceMonitor", "orchestrator").spec.endpoints[0].port = "prometheus";
    expect(messagesOf(await evaluate(stack), "selectors-match")).toEqual([
      "Service octollm-production/orchestrator: selector app.kubernetes.io/name=orchestrater, app.kubernetes.io/instance=octollm-production, app.kubernetes.io/component=orchestrator matches no pod template in namespace octollm-production",
      "PodDisruptionBudget octollm-production/redis: selector app.kubernetes.io/name=redis, app.kubernetes.io/instance=octollm-production, app.kubernetes.io/component=cache matches no pod template in namespace octollm-production",
      "NetworkPolicy octollm-production/allow-qdrant: podSelector app.kubernetes.io/name=qdrant matches no pod template in namespace octollm-production",
      'ServiceMonitor octollm-production/orchestrator: endpoint port "prometheus" is not a port name of the selected Service(s) orchestrator',
    ]);
  });

  it("reports a PDB with an empty or missing selector as protecting nothing (policy/v1)", async () => {
    const compliant = clone(compliantStack());
    expect(messagesOf(await evaluate(compliant), "selectors-match")).toEqual([]);
    const empty = clone(compliantStack());
    find(empty, "PodDisruptionBudget", "redis").spec.selector = {};
    const missing = clone(compliantStack());
    delete find(missing, "PodDisruptionBudget", "redis").spec.selector;
    for (const stack of [empty, missing])
      expect(messagesOf(await evaluate(stack), "selectors-match")).toEqual([
        "PodDisruptionBudget octollm-production/redis: has an empty selector, which in policy/v1 selects no pod: it protects nothing in octollm-production",
      ]);
  });

  it("does not judge a ServiceMonitor into a namespace the stack does not declare, but does into its own", async () => {
    const stack = clone(compliantStack());
    const monitor = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "ServiceMonitor",
      metadata: { name: "velero", namespace: "octollm-production" },
      spec: {
        namespaceSelector: { matchNames: ["velero"] },
        selector: { matchLabels: { "app.kubernetes.io/name": "velero" } },
        endpoints: [{ port: "http-monitoring" }],
      },
    };
    stack.push(rendered(monitor));
    expect(messagesOf(await evaluate(stack), "selectors-match")).toEqual([]);
    monitor.spec.namespaceSelector.matchNames = ["octollm-production"];
    stack[stack.length - 1] = rendered(monitor);
    expect(messagesOf(await evaluate(stack), "selectors-match")).toEqual([
      "ServiceMonitor octollm-production/velero: selector app.kubernetes.io/name=velero matches no Service's labels",
    ]);
  });

  it("understands the CloudNativePG operator's pod labels", async () => {
    const stack = clone(compliantStack());
    stack.push(
      rendered({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "postgres", namespace: "octollm-production" },
        spec: {
          podSelector: { matchLabels: { "cnpg.io/cluster": "postgres" } },
          policyTypes: ["Ingress"],
        },
      }),
    );
    expect(messagesOf(await evaluate(stack), "selectors-match")).toEqual([]);
  });
});

describe("network-policy-peers", () => {
  const policy = (peers: { from?: unknown[]; to?: unknown[] }) =>
    rendered({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "orchestrator", namespace: "octollm-production" },
      spec: {
        podSelector: { matchLabels: { "app.kubernetes.io/name": "orchestrator" } },
        policyTypes: ["Ingress", "Egress"],
        ingress: peers.from ? [{ from: peers.from }] : [],
        egress: peers.to ? [{ to: peers.to }] : [],
      },
    });

  it("reports peers whose podSelector matches no pod where it points", async () => {
    const stack = clone(compliantStack());
    stack.push(
      policy({
        from: [
          {
            namespaceSelector: {
              matchLabels: { "kubernetes.io/metadata.name": "octollm-production-reflex" },
            },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "reflex" } },
          },
        ],
        to: [
          {
            podSelector: {
              matchLabels: {
                "app.kubernetes.io/name": "redis",
                "app.kubernetes.io/component": "cache",
              },
            },
          },
        ],
      }),
    );
    expect(messagesOf(await evaluate(stack), "network-policy-peers")).toEqual([
      "NetworkPolicy octollm-production/orchestrator: ingress from pods app.kubernetes.io/name=reflex in namespace octollm-production-reflex, which match no pod template",
      "NetworkPolicy octollm-production/orchestrator: egress to pods app.kubernetes.io/name=redis, app.kubernetes.io/component=cache in namespace octollm-production, which match no pod template",
    ]);
  });

  it("accepts matching peers, operator pods, and peers outside the stack's namespaces", async () => {
    const stack = clone(compliantStack());
    stack.push(
      policy({
        from: [
          {
            namespaceSelector: {
              matchLabels: { "kubernetes.io/metadata.name": "octollm-production-reflex" },
            },
            podSelector: { matchLabels: { "app.kubernetes.io/name": "reflex-layer" } },
          },
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } },
            podSelector: { matchLabels: { app: "x" } },
          },
        ],
        to: [
          { podSelector: { matchLabels: { "app.kubernetes.io/name": "redis" } } },
          { podSelector: { matchLabels: { "cnpg.io/cluster": "postgres" } } },
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
          },
          { ipBlock: { cidr: "0.0.0.0/0" } },
        ],
      }),
    );
    expect(messagesOf(await evaluate(stack), "network-policy-peers")).toEqual([]);
  });
});

describe("backend-references", () => {
  it("reports missing HPA targets, Ingress backends and Service target ports", async () => {
    const stack = clone(compliantStack());
    find(stack, "HorizontalPodAutoscaler", "coder-arm").spec.scaleTargetRef.name = "coder";
    const paths = find(stack, "Ingress", "octollm").spec.rules[0].http.paths;
    paths[0].backend.service.port = { number: 8080 };
    paths[1].backend.service.name = "reflex-layer";
    find(stack, "Service", "redis").spec.ports[0].targetPort = 6380;
    expect(messagesOf(await evaluate(stack), "backend-references")).toEqual([
      "HorizontalPodAutoscaler octollm-production/coder-arm: scaleTargetRef Deployment coder does not exist in namespace octollm-production",
      "Ingress octollm-production/octollm: api.octollm.io/api/orchestrator → Service orchestrator port 8080, which the Service does not expose (ports: http, metrics)",
      "Ingress octollm-production/octollm: api.octollm.io/ → Service reflex-layer, which does not exist in namespace octollm-production",
      "Service octollm-production/redis: port redis targets 6380, which no selected pod's container declares",
    ]);
  });
});

describe("config-references", () => {
  it("reports Secrets and ConfigMaps that neither exist nor are declared external", async () => {
    const stack = clone(compliantStack());
    const spec = find(stack, "Deployment", "orchestrator").spec.template.spec;
    spec.containers[0].env.push(
      { name: "LLM_KEY", valueFrom: { secretKeyRef: { name: "llm-credentials", key: "api-key" } } },
      {
        name: "OPTIONAL",
        valueFrom: { secretKeyRef: { name: "maybe", key: "x", optional: true } },
      },
      { name: "FLAGS", valueFrom: { configMapKeyRef: { name: "feature-flags", key: "all" } } },
    );
    spec.volumes.push(
      { name: "ca", configMap: { name: "kube-root-ca.crt" } },
      { name: "tls", secret: { secretName: "octollm-tls" } },
    );
    find(stack, "Cluster", "postgres").spec.bootstrap.initdb.secret.name = "pg-owner";
    expect(messagesOf(await evaluate(stack), "config-references")).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" env LLM_KEY reads Secret llm-credentials, which is neither in namespace octollm-production of this stack, made by an operator the stack uses, nor declared in octollm.io/external-secrets',
      'Deployment octollm-production/orchestrator: container "orchestrator" env FLAGS reads ConfigMap feature-flags, which is neither in namespace octollm-production of this stack nor declared in octollm.io/external-configmaps',
      "Cluster octollm-production/postgres: bootstrap.initdb.secret reads Secret pg-owner, which is neither in namespace octollm-production of this stack, made by an operator the stack uses, nor declared in octollm.io/external-secrets",
    ]);
  });

  it("accepts external declarations and operator-made Secrets (CNPG <cluster>-app, cert-manager TLS)", async () => {
    const stack = clone(compliantStack());
    const d = find(stack, "Deployment", "orchestrator");
    d.spec.template.metadata.annotations = {
      "octollm.io/external-secrets": "llm-credentials, vault-token",
    };
    const spec = d.spec.template.spec;
    spec.containers[0].env.push(
      { name: "LLM_KEY", valueFrom: { secretKeyRef: { name: "llm-credentials", key: "api-key" } } },
      {
        name: "PGPASSWORD",
        valueFrom: { secretKeyRef: { name: "postgres-app", key: "password" } },
      },
    );
    spec.volumes.push({ name: "tls", secret: { secretName: "octollm-tls" } });
    expect(messagesOf(await evaluate(stack), "config-references")).toEqual([]);
  });
});

describe("selectors-match for PodMonitors", () => {
  it("accepts CloudNativePG instance pods and their metrics port; reports unknown ports", async () => {
    const stack = clone(compliantStack());
    const podMonitor = {
      apiVersion: "monitoring.coreos.com/v1",
      kind: "PodMonitor",
      metadata: { name: "postgres-instances", namespace: "octollm-production" },
      spec: {
        selector: { matchLabels: { "cnpg.io/cluster": "postgres", "cnpg.io/podRole": "instance" } },
        podMetricsEndpoints: [{ port: "metrics" }],
      },
    };
    stack.push(rendered(podMonitor));
    expect(messagesOf(await evaluate(stack), "selectors-match")).toEqual([]);
    podMonitor.spec.podMetricsEndpoints[0].port = "exporter";
    podMonitor.spec.selector.matchLabels["cnpg.io/cluster"] = "pg";
    stack[stack.length - 1] = rendered(podMonitor);
    expect(messagesOf(await evaluate(stack), "selectors-match")).toEqual([
      "PodMonitor octollm-production/postgres-instances: selector cnpg.io/cluster=pg, cnpg.io/podRole=instance matches no pod template in octollm-production",
    ]);
  });
});
