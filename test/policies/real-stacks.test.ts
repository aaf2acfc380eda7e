/**
 * The real program, rendered under Pulumi mocks for each stack (test/harness.ts), evaluated with
 * the stack's own policy config: no mandatory violation. Then mutation tests on the production
 * render: break one thing at a time and the right policy fires with the right message.
 */
import { describe, expect, it } from "vitest";
import type { PolicyReport, RenderedResource } from "../../policies/evaluate";
import { evaluatePolicies, loadPolicyConfig } from "../../policies/evaluate";
import { STACKS, renderStack, renderedResources } from "../harness";

async function renderedStack(stack: string): Promise<RenderedResource[]> {
  const run = await renderStack(stack);
  return renderedResources(run);
}

function mandatory(report: PolicyReport): string[] {
  return report.violations
    .filter((v) => v.enforcementLevel === "mandatory")
    .map((v) => `${v.policy}: ${v.message}`);
}

/** The Kubernetes object of kind/name (and namespace) in a rendered stack, for mutation. */
function object(stack: RenderedResource[], kind: string, name: string, namespace?: string) {
  const found = stack.find((r) => {
    const p = r.props as { kind?: string; metadata?: { name?: string; namespace?: string } };
    return (
      p.kind === kind &&
      p.metadata?.name === name &&
      (namespace === undefined || p.metadata?.namespace === namespace)
    );
  });
  if (!found) throw new Error(`rendered stack has no ${kind} ${namespace ?? "*"}/${name}`);
  return found.props as Record<string, any>;
}

describe.each(STACKS)("the real %s stack", (stack) => {
  it("passes every mandatory policy of its policy config", async () => {
    const report = await evaluatePolicies(await renderedStack(stack), loadPolicyConfig(stack));
    expect(mandatory(report)).toEqual([]);
  });

  it("uses exactly the reflex layer's documented exemption", async () => {
    const report = await evaluatePolicies(await renderedStack(stack), loadPolicyConfig(stack));
    expect(report.exemptions.map((e) => `${e.policy} ${e.resource}`)).toEqual([
      `pod-security-standards DaemonSet ${stack === "production" ? "octollm-production" : `octollm-${stack}`}-reflex/reflex-layer`,
    ]);
    expect(report.exemptions[0].reason).toMatch(/ADR-005/);
  });

  it("has headroom at peak in every namespace with a quota", async () => {
    const report = await evaluatePolicies(await renderedStack(stack), loadPolicyConfig(stack));
    const withQuota = report.capacity.filter((r) => r.quotas.length > 0);
    expect(withQuota.length).toBeGreaterThanOrEqual(3);
    for (const row of withQuota) expect(row.fits, row.namespace).toBe(true);
  });
});

describe("mutations of the production render", () => {
  const config = loadPolicyConfig("production");
  const NS = "octollm-production";

  /**
   * The production render with one thing broken; only the mandatory violations the mutation
   * adds are kept, so each test sees its own effect (the unbroken render must pass anyway, above).
   */
  async function mutated(mutate: (stack: RenderedResource[]) => void): Promise<PolicyReport> {
    const baseline = new Set(
      mandatory(await evaluatePolicies(await renderedStack("production"), config)),
    );
    const stack = await renderedStack("production");
    mutate(stack);
    const report = await evaluatePolicies(stack, config);
    return {
      ...report,
      violations: report.violations.filter(
        (v) => v.enforcementLevel !== "mandatory" || !baseline.has(`${v.policy}: ${v.message}`),
      ),
    };
  }

  it("drop a container's limits → container-resources", async () => {
    const report = await mutated((s) => {
      delete object(s, "Deployment", "orchestrator", NS).spec.template.spec.containers[0].resources
        .limits;
    });
    expect(mandatory(report)).toEqual([
      'container-resources: Deployment octollm-production/orchestrator: container "orchestrator" has no limits.cpu',
      'container-resources: Deployment octollm-production/orchestrator: container "orchestrator" has no limits.memory',
    ]);
  });

  it("set privileged → pod-security-standards", async () => {
    const report = await mutated((s) => {
      object(
        s,
        "Deployment",
        "coder-arm",
        NS,
      ).spec.template.spec.containers[0].securityContext.privileged = true;
    });
    expect(mandatory(report)).toEqual([
      'pod-security-standards: Deployment octollm-production/coder-arm: container "coder-arm" is privileged (fails PSS baseline; namespace octollm-production enforces restricted, so admission would reject this pod)',
    ]);
  });

  it("remove a PDB → pdb-coverage", async () => {
    const report = await mutated((s) => {
      const pdb = object(s, "PodDisruptionBudget", "orchestrator", NS);
      s.splice(
        s.findIndex((r) => r.props === pdb),
        1,
      );
    });
    expect(mandatory(report)).toEqual([
      expect.stringMatching(
        /^pdb-coverage: Deployment octollm-production\/orchestrator: runs up to \d+ replicas but no PodDisruptionBudget selects its pods/,
      ),
    ]);
  });

  it("raise an HPA max past the quota → quota-capacity-at-peak saying by how much, and cluster-fit-at-peak", async () => {
    const report = await mutated((s) => {
      object(s, "HorizontalPodAutoscaler", "coder-arm", NS).spec.maxReplicas = 200;
    });
    const messages = mandatory(report);
    expect(messages).toHaveLength(2);
    expect(messages[1]).toMatch(
      /^cluster-fit-at-peak: at peak the stack's pods do not fit on 12 node\(s\) \(octollm:kubernetes.nodeCount = 12\): first pod that does not fit: Deployment octollm-production\/coder-arm \(replica \d+ of 200\)/,
    );
    expect(messages[0]).toMatch(
      /^quota-capacity-at-peak: namespace octollm-production: at peak \(HPA maxima, DaemonSets × 12 node\(s\)\) the workloads do not fit ResourceQuota octollm-quota: requests.cpu at peak \S+ cores exceeds the quota \S+ cores by \S+ cores: raise octollm:quotas\.workloads\.quota\.requests\.cpu to at least \S+, or lower the largest: Deployment octollm-production\/coder-arm \S+ cores at 200 replica\(s\)/,
    );
    expect(messages[0]).toMatch(
      /pods at peak \d+ exceeds the quota \d+ by \d+: raise octollm:quotas\.workloads\.quota\.pods/,
    );
  });

  it("point a Service at a missing label → selectors-match", async () => {
    const report = await mutated((s) => {
      object(s, "Service", "orchestrator", NS).spec.selector["app.kubernetes.io/component"] =
        "orchestrater";
    });
    expect(mandatory(report)).toEqual([
      expect.stringMatching(
        /^selectors-match: Service octollm-production\/orchestrator: selector .*app.kubernetes.io\/component=orchestrater.* matches no pod template in namespace octollm-production$/,
      ),
    ]);
  });

  it("unpin an image → image-tag-pinned; a literal password → no-secret-literals-in-env", async () => {
    const report = await mutated((s) => {
      const c = object(s, "Deployment", "judge-arm", NS).spec.template.spec.containers[0];
      c.image = c.image.replace(/:[^:/@]+(@.*)?$/, ":latest");
      c.env = [...(c.env ?? []), { name: "REDIS_PASSWORD", value: "hunter2" }];
    });
    expect(mandatory(report)).toEqual([
      expect.stringMatching(
        /^image-tag-pinned: Deployment octollm-production\/judge-arm: container "judge-arm" image \S+:latest uses the mutable tag latest$/,
      ),
      'no-secret-literals-in-env: Deployment octollm-production/judge-arm: container "judge-arm" env REDIS_PASSWORD looks sensitive but has a literal value; read it from a Secret (secretKeyRef)',
    ]);
  });

  it("remove a namespace's default deny → namespace-guardrails", async () => {
    const report = await mutated((s) => {
      const np = object(s, "NetworkPolicy", "default-deny", NS);
      s.splice(
        s.findIndex((r) => r.props === np),
        1,
      );
    });
    expect(mandatory(report)).toEqual([
      "namespace-guardrails: namespace octollm-production: has no default-deny NetworkPolicy (empty podSelector, policyTypes Ingress and Egress, no rules)",
    ]);
  });

  it("drop the reflex exemption → pod-security-standards, even in its privileged namespace", async () => {
    const report = await mutated((s) => {
      const ds = object(s, "DaemonSet", "reflex-layer", "octollm-production-reflex");
      delete ds.spec.template.metadata.annotations["octollm.io/policy-exemption"];
    });
    expect(mandatory(report)).toEqual([
      "pod-security-standards: DaemonSet octollm-production-reflex/reflex-layer: uses hostNetwork (fails PSS baseline; namespace octollm-production-reflex enforces privileged, but the pod has no octollm.io/policy-exemption for pod-security-standards)",
      'pod-security-standards: DaemonSet octollm-production-reflex/reflex-layer: container "reflex-layer" uses hostPort 8080 (fails PSS baseline; namespace octollm-production-reflex enforces privileged, but the pod has no octollm.io/policy-exemption for pod-security-standards)',
    ]);
    expect(report.exemptions).toEqual([]);
  });
});
