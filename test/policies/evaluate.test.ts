/** The offline analyzer: config reconciliation like the CLI's, args like @pulumi/policy's. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import * as k8s from "@pulumi/kubernetes";
import { validateResourceOfType, validateStackResourcesOfType } from "@pulumi/policy";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
  PolicyConfigError,
  evaluatePolicies,
  loadPolicyConfig,
  policyConfigFile,
  reconcileConfig,
} from "../../policies/evaluate";
import { policies } from "../../policies/policies";
import { compliantStack, find, rendered } from "../fixtures/stack";
import { clone, evaluate, messagesOf } from "./helpers";

describe("reconcileConfig", () => {
  it("applies schema defaults, then `all`, then each policy's entry", () => {
    const r = new Map(
      reconcileConfig({
        all: "advisory",
        "quota-capacity-at-peak": { enforcementLevel: "mandatory", nodeCount: 5 },
        "ingress-tls": "disabled",
      }).map((x) => [x.policy.name, x]),
    );
    expect(r.get("quota-capacity-at-peak")).toMatchObject({
      enforcementLevel: "mandatory",
      config: { nodeCount: 5 },
    });
    expect(r.get("ingress-tls")?.enforcementLevel).toBe("disabled");
    expect(r.get("pod-security-standards")?.enforcementLevel).toBe("advisory");
    expect(r.get("image-registry-allowed")?.config).toEqual({
      allowedRegistries: ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io"],
    });
  });

  it("uses each policy's own level without config", () => {
    for (const r of reconcileConfig({})) expect(r.enforcementLevel).toBe(r.policy.enforcementLevel);
  });

  it("rejects bad levels, unknown policies and values that fail a configSchema", () => {
    expect(() =>
      reconcileConfig({
        all: "strict" as never,
        "quota-capacity-at-peak": { nodeCount: 0 },
        "service-type-allowed": { allowedTypes: ["Ingress"] },
        "pod-security-standard": "mandatory",
        "ingress-tls": { hosts: 3 },
      }),
    ).toThrow(PolicyConfigError);
    let problems: string[] = [];
    try {
      reconcileConfig({
        "quota-capacity-at-peak": { nodeCount: "12" },
        "ingress-tls": { hosts: 3 },
      });
    } catch (e) {
      problems = (e as PolicyConfigError).problems;
    }
    expect(problems).toEqual([
      "ingress-tls: takes no configuration (got hosts)",
      "quota-capacity-at-peak.nodeCount: expected integer, got string",
    ]);
  });

  it("loads a stack's file and names the stacks it has when asked for another", () => {
    expect(loadPolicyConfig("production").all).toBe("mandatory");
    expect(() => loadPolicyConfig("qa")).toThrow(
      /no policy configuration for stack "qa".*have: dev, (e2e, )?production, staging/,
    );
  });

  it("gives a stack without its own file its environment's, and prefers the stack's own", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-policy-config-"));
    fs.writeFileSync(path.join(dir, "dev.json"), JSON.stringify({ all: "advisory" }));
    expect(policyConfigFile("qa", "dev", dir)).toBe(path.join(dir, "dev.json"));
    expect(loadPolicyConfig("qa", "dev", dir)).toEqual({ all: "advisory" });
    fs.writeFileSync(path.join(dir, "qa.json"), JSON.stringify({ all: "mandatory" }));
    expect(policyConfigFile("qa", "dev", dir)).toBe(path.join(dir, "qa.json"));
    expect(loadPolicyConfig("qa", "dev", dir)).toEqual({ all: "mandatory" });
    expect(() => loadPolicyConfig("qa", "staging", path.join(dir, "none"))).toThrow(
      /no policy configuration for stack "qa" nor its environment "staging"/,
    );
  });
});

describe("evaluatePolicies", () => {
  it("does not run disabled policies and reports advisory ones as advisory", async () => {
    const stack = clone(compliantStack());
    find(stack, "Deployment", "orchestrator").spec.template.spec.containers[0].image =
      "docker.io/octollm/orchestrator:latest";
    find(stack, "Service", "orchestrator").spec.type = "NodePort";
    const report = await evaluate(stack, {
      "image-tag-pinned": "disabled",
      "service-type-allowed": "advisory",
      // the fixture's node facts (the default shape is a one-node laptop, which it outgrows)
      "cluster-fit-at-peak": loadPolicyConfig("production")["cluster-fit-at-peak"],
    });
    expect(messagesOf(report, "image-tag-pinned")).toEqual([]);
    expect(report.violations.map((v) => [v.policy, v.enforcementLevel, v.resource])).toEqual([
      ["service-type-allowed", "advisory", "Service octollm-production/orchestrator"],
    ]);
  });

  it("reports `remediate` as mandatory, like the analyzer", async () => {
    const stack = clone(compliantStack());
    find(stack, "Service", "orchestrator").spec.type = "NodePort";
    const report = await evaluate(stack, { "service-type-allowed": "remediate" });
    expect(report.violations[0].enforcementLevel).toBe("mandatory");
  });

  it("gives resource and stack validations the args @pulumi/policy gives (isType/asType by __pulumiType)", async () => {
    const seen: string[] = [];
    const resourcePolicy: ResourceValidationPolicy = {
      name: "probe-resource",
      description: "test",
      validateResource: validateResourceOfType(k8s.apps.v1.Deployment, (d, args, report) => {
        seen.push(`${args.type} ${String(d.metadata?.name)} ${JSON.stringify(args.getConfig())}`);
        report("seen");
      }),
    };
    const stackPolicy: StackValidationPolicy = {
      name: "probe-stack",
      description: "test",
      validateStack: validateStackResourcesOfType(
        k8s.policy.v1.PodDisruptionBudget,
        (pdbs, args, report) => {
          seen.push(`pdbs ${pdbs.length} of ${args.resources.length}`);
          report("stack-wide");
          report("on one", args.resources[0].urn);
        },
      ),
    };
    // Exercise the adapter directly with third-party-style policies.
    policies.push(resourcePolicy, stackPolicy);
    try {
      const report = await evaluatePolicies(compliantStack(), {});
      expect(seen).toEqual([
        "kubernetes:apps/v1:Deployment orchestrator {}",
        "kubernetes:apps/v1:Deployment coder-arm {}",
        "pdbs 3 of 3",
      ]);
      expect(
        report.violations
          .filter((v) => v.policy.startsWith("probe-"))
          .map((v) => `${v.resource}: ${v.message}`),
      ).toEqual([
        "Deployment octollm-production/orchestrator: seen",
        "Deployment octollm-production/coder-arm: seen",
        "stack: stack-wide",
        "PodDisruptionBudget octollm-production/orchestrator: on one",
      ]);
    } finally {
      policies.splice(policies.indexOf(resourcePolicy), 2);
    }
  });
});

describe("operator-made objects", () => {
  it("understand cert-manager's ACME HTTP-01 solver pods in a Certificate's namespace", async () => {
    const stack = clone(compliantStack());
    const solverPolicy = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "acme-http01-solver", namespace: "octollm-production" },
      spec: {
        podSelector: { matchLabels: { "acme.cert-manager.io/http01-solver": "true" } },
        policyTypes: ["Ingress"],
      },
    };
    stack.push(rendered(solverPolicy));
    expect(messagesOf(await evaluate(stack), "selectors-match")).toHaveLength(1);
    stack.push(
      rendered({
        apiVersion: "cert-manager.io/v1",
        kind: "Certificate",
        metadata: { name: "octollm-tls", namespace: "octollm-production" },
        spec: {
          secretName: "octollm-tls",
          issuerRef: { kind: "ClusterIssuer", name: "letsencrypt-prod" },
        },
      }),
    );
    expect(messagesOf(await evaluate(stack), "selectors-match")).toEqual([]);
  });

  it("ask only for Pod Security labels in a namespace that holds nothing but a Helm chart", async () => {
    const stack = clone(compliantStack());
    stack.push(
      rendered({
        apiVersion: "v1",
        kind: "Namespace",
        metadata: { name: "cert-manager", labels: {} },
      }),
      {
        type: "kubernetes:helm.sh/v4:Chart",
        name: "cert-manager",
        urn: "urn:chart",
        props: { chart: "cert-manager", namespace: "cert-manager" },
      },
    );
    expect(messagesOf(await evaluate(stack), "namespace-guardrails")).toEqual([
      "namespace cert-manager: has no pod-security.kubernetes.io/enforce label",
    ]);
  });
});

describe("objects a Helm chart renders (children of helm.v4.Chart under pulumi preview)", () => {
  /** A rendered object as the chart's child: its URN's type chain passes through the chart. */
  function chartChild(obj: Parameters<typeof rendered>[0]): ReturnType<typeof rendered> {
    const r = rendered(obj);
    return {
      ...r,
      urn: `urn:pulumi:production::octollm::octollm:platform:OctoLLMPlatform$kubernetes:helm.sh/v4:Chart$${r.type}::${r.name}`,
    };
  }
  const chartPod = (image: string, privileged = false) => ({
    metadata: { labels: { app: "grafana" } },
    spec: {
      securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
      containers: [
        {
          name: "grafana",
          image,
          resources: { requests: { cpu: "100m", memory: "128Mi" } },
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            privileged,
          },
        },
      ],
    },
  });

  it("are left to the chart for hardening, but still answer to admission, registries and quota", async () => {
    const stack = clone(compliantStack());
    stack.push(
      chartChild({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "grafana", namespace: "octollm-production" },
        spec: { replicas: 3, template: chartPod("docker.io/grafana/grafana:11.0.0") },
      }),
      chartChild({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "sidecar", namespace: "octollm-production" },
        spec: { replicas: 1, template: chartPod("evil.example.com/sidecar:1", true) },
      }),
    );
    const report = await evaluate(stack);
    expect(report.violations.map((v) => `${v.policy}: ${v.message}`)).toEqual([
      'pod-security-standards: Deployment octollm-production/sidecar: container "grafana" is privileged (fails PSS baseline; namespace octollm-production enforces restricted, so admission would reject this pod)',
      // LimitRange defaults fill the missing limit (500m) before admission checks the ratio
      'limit-request-ratio: Deployment octollm-production/grafana: container "grafana" cpu limit/request ratio 5 (500m (LimitRange default) / 100m) exceeds the LimitRange maxLimitRequestRatio 4',
      'limit-request-ratio: Deployment octollm-production/sidecar: container "grafana" cpu limit/request ratio 5 (500m (LimitRange default) / 100m) exceeds the LimitRange maxLimitRequestRatio 4',
      'image-registry-allowed: Deployment octollm-production/sidecar: container "grafana" image evil.example.com/sidecar:1 comes from evil.example.com, which is not an allowed registry (docker.io, ghcr.io, quay.io, registry.k8s.io)',
    ]);
    // 4 chart pods at 100m (limits from the LimitRange default) are in the namespace's peak
    const row = report.capacity.find((r) => r.namespace === "octollm-production");
    expect(row?.cells.pods.peak).toBe("29");
  });
});
