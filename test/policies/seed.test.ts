/**
 * The source documents' production manifests (seed 000) and quota (seed 001), translated into
 * fixtures: the pack reports the faults the design calls out.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { PolicyReport } from "../../policies/evaluate";
import { loadPolicyConfig } from "../../policies/evaluate";
import { seedProductionStack, seedStagingStack } from "../fixtures/seed";
import { evaluate, messagesOf } from "./helpers";

let report: PolicyReport;
beforeAll(async () => {
  report = await evaluate(seedProductionStack(), loadPolicyConfig("production"));
});

const has = (policy: string, re: RegExp) => {
  const messages = messagesOf(report, policy);
  expect(
    messages.some((m) => re.test(m)),
    `${policy} ${re} in:\n${messages.join("\n")}`,
  ).toBe(true);
};

describe("seed 000/001 production manifests", () => {
  it("fail the seed quota at peak, saying by how much (requests.cpu 55 vs 32)", () => {
    // 10 orchestrators × 500m + 20 coders × 1 + 12 reflex nodes × 2 + 3 postgres × 2 = 55 cores
    const [message, ...rest] = messagesOf(report, "quota-capacity-at-peak");
    expect(rest).toEqual([]);
    expect(message).toContain(
      "namespace octollm-production: at peak (HPA maxima, DaemonSets × 12 node(s))",
    );
    expect(message).toContain(
      'requests.cpu at peak 55 cores exceeds the quota 32 cores by 23 cores: raise ResourceQuota octollm-production/octollm-quota spec.hard["requests.cpu"] to at least 55, or lower the largest: DaemonSet octollm-production/reflex-layer 24 cores at 12 replica(s); Deployment octollm-production/coder-arm 20 cores at 20 replica(s); StatefulSet octollm-production/postgresql 6 cores at 3 replica(s)',
    );
    const row = report.capacity.find((r) => r.namespace === "octollm-production");
    expect(row?.cells["requests.cpu"]).toMatchObject({
      peak: "55",
      hard: "32",
      headroom: "-23",
      fits: false,
    });
    expect(row?.cells.pods).toMatchObject({ peak: "45", hard: "50", fits: true });
  });

  it("have no complete security context (orchestrator lacks seccomp; coder arm, reflex and postgres lack everything)", () => {
    has(
      "pod-security-standards",
      /^Deployment octollm-production\/orchestrator: container "orchestrator" has no seccompProfile RuntimeDefault or Localhost/,
    );
    has(
      "pod-security-standards",
      /^Deployment octollm-production\/coder-arm: container "coder-arm" does not set runAsNonRoot: true/,
    );
    has(
      "pod-security-standards",
      /^StatefulSet octollm-production\/postgresql: container "postgresql" does not set allowPrivilegeEscalation: false/,
    );
    has(
      "pod-security-standards",
      /^DaemonSet octollm-production\/reflex-layer: uses hostNetwork \(fails PSS baseline; namespace octollm-production does not declare/,
    );
    has(
      "pod-security-standards",
      /^DaemonSet octollm-production\/reflex-layer: container "reflex-layer" uses hostPort 8080/,
    );
    has(
      "read-only-root-filesystem",
      /coder-arm: container "coder-arm" does not set readOnlyRootFilesystem: true/,
    );
    has(
      "service-account-token",
      /^Deployment octollm-production\/orchestrator: does not set automountServiceAccountToken: false/,
    );
    // the orchestrator's container context alone is complete apart from seccomp
    expect(
      messagesOf(report, "pod-security-standards").filter((m) => m.includes("/orchestrator:")),
    ).toHaveLength(1);
  });

  it("have no probes on the reflex layer", () => {
    expect(messagesOf(report, "container-probes")).toEqual([
      'DaemonSet octollm-production/reflex-layer: container "reflex-layer" has no readinessProbe and no livenessProbe',
    ]);
  });

  it("run in a namespace without PSS labels, LimitRange or default-deny policy", () => {
    expect(messagesOf(report, "namespace-guardrails")).toEqual([
      "namespace octollm-production: has no pod-security.kubernetes.io/enforce label",
      "namespace octollm-production: has no LimitRange",
      "namespace octollm-production: has no default-deny NetworkPolicy (empty podSelector, policyTypes Ingress and Egress, no rules)",
    ]);
  });

  it("have no PDBs, no spreading across nodes, and a coder arm rolling out at the 25% default", () => {
    expect(messagesOf(report, "pdb-coverage").map((m) => m.split(":")[0])).toEqual([
      "Deployment octollm-production/orchestrator",
      "Deployment octollm-production/coder-arm",
      "StatefulSet octollm-production/postgresql",
    ]);
    expect(messagesOf(report, "pod-anti-affinity")).toHaveLength(3);
    expect(messagesOf(report, "rolling-update-keeps-capacity")).toEqual([
      "Deployment octollm-production/coder-arm: rollingUpdate.maxUnavailable is unset (defaults to 25%); set 0 so updates keep capacity",
    ]);
  });

  it("route / to a reflex-layer Service that does not exist, and monitor Services that match nothing", () => {
    expect(messagesOf(report, "backend-references")).toEqual([
      "Ingress octollm-production/octollm-ingress: api.octollm.io/ → Service reflex-layer, which does not exist in namespace octollm-production",
    ]);
    expect(messagesOf(report, "selectors-match")).toEqual([
      "ServiceMonitor octollm-production/octollm-metrics: selector app=octollm matches no Service's labels",
    ]);
  });

  it("read Secrets no manifest creates (redis-credentials, postgresql-credentials)", () => {
    expect(
      messagesOf(report, "config-references").map((m) => /reads Secret ([^\s,]+)/.exec(m)?.[1]),
    ).toEqual(["redis-credentials", "postgresql-credentials"]);
  });

  it("keep credentials out of env and ConfigMaps, and pull from allowed registries (what the seeds got right)", () => {
    for (const policy of [
      "no-secret-literals-in-env",
      "no-secrets-in-configmaps",
      "image-registry-allowed",
      "image-tag-pinned",
      "container-resources",
      "ingress-tls",
      "hpa-sanity",
      "workload-replicas",
    ])
      expect(messagesOf(report, policy), policy).toEqual([]);
  });

  it("are all mandatory violations under the production config", () => {
    expect(report.violations.length).toBeGreaterThan(20);
    expect(report.violations.every((v) => v.enforcementLevel === "mandatory")).toBe(true);
    expect(report.exemptions).toEqual([]);
  });
});

describe("seed 000 staging overlay", () => {
  it("uses unpinned latest tags (and a single orchestrator)", async () => {
    const staging = await evaluate(seedStagingStack(), loadPolicyConfig("staging"));
    expect(messagesOf(staging, "image-tag-pinned")).toEqual([
      'Deployment octollm-staging/orchestrator: container "orchestrator" image octollm/orchestrator:latest uses the mutable tag latest',
      'Deployment octollm-staging/coder-arm: container "coder-arm" image octollm/coder-arm:latest uses the mutable tag latest',
    ]);
    // …and runs a single orchestrator, which staging's policy config does not accept.
    expect(messagesOf(staging, "workload-replicas")).toEqual([
      "Deployment octollm-staging/orchestrator: replicas is 1; needs ≥ 2",
    ]);
  });
});
