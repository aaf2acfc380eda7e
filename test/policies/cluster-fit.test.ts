/**
 * cluster-fit-at-peak: every pod at peak placed on the configured nodes, and the node facts kept
 * equal between the stack file and the policy config.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import type { K8sObject } from "../fixtures/stack";
import { namespaceObjects, rendered } from "../fixtures/stack";
import { evaluate, messagesOf } from "./helpers";
import type { PolicyPackConfig, RenderedResource } from "../../policies/evaluate";
import { evaluatePolicies, formatClusterFit, loadPolicyConfig } from "../../policies/evaluate";
import { nodeFactsDrift } from "../../scripts/node-facts";
import { REPO_ROOT } from "../../scripts/offline";
import { configOf, listStacks, renderStack, renderedResources } from "../harness";

const NS = "fit-test";
const FIT = "cluster-fit-at-peak";

const container = (cpu: string, memory: string) => ({
  name: "app",
  image: "docker.io/x/y:1",
  resources: { requests: { cpu, memory }, limits: { cpu, memory } },
});

function deployment(
  name: string,
  replicas: number,
  cpu: string,
  memory: string,
  extra: Record<string, unknown> = {},
): K8sObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [container(cpu, memory)], ...extra },
      },
    },
  };
}

const antiAffinity = (app: string) => ({
  affinity: {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: { app } } },
      ],
    },
  },
});

function fitConfig(nodeCount: number, extra: Record<string, unknown> = {}): PolicyPackConfig {
  return {
    all: "mandatory",
    "quota-capacity-at-peak": { nodeCount },
    [FIT]: {
      nodeCount,
      nodeCpu: "4",
      nodeMemory: "8Gi",
      nodePods: 110,
      reservedCpu: "500m",
      reservedMemory: "1Gi",
      ...extra,
    },
  };
}

function stack(objects: K8sObject[]): RenderedResource[] {
  return [
    ...namespaceObjects(NS, "restricted", { "requests.cpu": "1000", pods: "1000" }),
    ...objects,
  ].map((o) => rendered(o));
}

describe("cluster-fit-at-peak placement", () => {
  /*
   * Each node: 4 CPU − 500m reserved − 250m agent (DaemonSet) = 3250m free.
   * db: 3 × 2 CPU, one per node (required anti-affinity) → 3 nodes at least.
   * web: HPA 2..6 × 1 CPU → at peak 6 CPU more: 6 + 6 + 3 × 250m = 12.75 CPU on 3250m-nodes:
   * 3 nodes hold db + 1 web each (3 CPU), the other 3 web need a 4th node... each 3250m node
   * left with 1250m after db takes one web; 3 web remain → 1 node of 3 (3 CPU ≤ 3250m).
   */
  const objects = (): K8sObject[] => [
    deployment("db", 3, "2", "1Gi", antiAffinity("db")),
    deployment("web", 2, "1", "512Mi"),
    {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web", namespace: NS },
      spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 2, maxReplicas: 6 },
    },
    {
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: NS },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: {
          metadata: { labels: { app: "agent" } },
          spec: { containers: [container("250m", "128Mi")] },
        },
      },
    },
  ];

  it("fits at peak on enough nodes, and says how many baseline and peak need", async () => {
    const report = await evaluate(stack(objects()), fitConfig(4));
    expect(messagesOf(report, FIT)).toEqual([]);
    expect(report.clusterFit.nodesNeeded).toEqual({ baseline: 3, peak: 4 });
    expect(report.clusterFit.peak.fits).toBe(true);
    // every node carries the reservation and one agent pod
    for (const n of report.clusterFit.peak.nodes) expect(n.usedCpu).toBeGreaterThanOrEqual(750);
    const text = formatClusterFit(report.clusterFit);
    expect(text).toContain("4 node(s) of 4 CPU / 8Gi / 110 pods, 500m CPU / 1Gi reserved per node");
    expect(text).toContain("nodes needed: baseline 3, peak 4 — peak fits on 4");
  });

  it("fails when peak does not fit, naming the first pod, why, and the key to change", async () => {
    const report = await evaluate(stack(objects()), fitConfig(3));
    expect(messagesOf(report, FIT)).toEqual([
      "at peak the stack's pods do not fit on 3 node(s) (octollm:kubernetes.nodeCount = 3): first pod that does not fit: Deployment fit-test/web (replica 4 of 6): 0/3 nodes can take it (1 CPU, 512Mi): 3 insufficient cpu; most free: node-1 with 250m CPU, 5504Mi, 107 pod slot(s); peak needs 4 node(s): raise octollm:kubernetes.nodeCount to ≥ 4 (and nodeCount in the policy config's quota-capacity-at-peak, quota-headroom-at-peak and cluster-fit-at-peak)",
    ]);
  });

  it("honours required anti-affinity: three db pods never share a node", async () => {
    const report = await evaluate(
      stack([deployment("db", 3, "100m", "64Mi", antiAffinity("db"))]),
      fitConfig(2),
    );
    expect(messagesOf(report, FIT)[0]).toContain(
      "first pod that does not fit: Deployment fit-test/db (replica 3 of 3): 0/2 nodes can take it (100m CPU, 64Mi): 2 required anti-affinity (one per kubernetes.io/hostname)",
    );
    expect(report.clusterFit.nodesNeeded.peak).toBe(3);
  });

  it("honours DoNotSchedule topology spread on zones, and ignores ScheduleAnyway", async () => {
    const spread = (when: string) => ({
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: when,
          labelSelector: { matchLabels: { app: "web" } },
        },
      ],
    });
    // node-1 (zone a) takes the big pod and has room for one web pod, node-2 (zone b) for four:
    // maxSkew 1 between the zones allows 1 + 2, so replica 4 cannot be placed.
    const big = deployment("big", 1, "3", "1Gi");
    const zones = { zones: ["a", "b"], reservedCpu: "0", reservedMemory: "0" };
    const strict = await evaluate(
      stack([big, deployment("web", 5, "1", "256Mi", spread("DoNotSchedule"))]),
      fitConfig(2, zones),
    );
    expect(messagesOf(strict, FIT)[0]).toContain(
      "first pod that does not fit: Deployment fit-test/web (replica 4 of 5): 0/2 nodes can take it (1 CPU, 256Mi): 1 insufficient cpu, 1 topology spread (maxSkew 1 on topology.kubernetes.io/zone)",
    );
    const lax = await evaluate(
      stack([big, deployment("web", 5, "1", "256Mi", spread("ScheduleAnyway"))]),
      fitConfig(2, zones),
    );
    expect(messagesOf(lax, FIT)).toEqual([]);
  });

  it("counts the pods a chart's values size (offline, the chart is not expanded)", async () => {
    const chart: RenderedResource = {
      type: "kubernetes:helm.sh/v4:Chart",
      name: "monitoring",
      urn: "urn:pulumi:test::octollm::kubernetes:helm.sh/v4:Chart::monitoring",
      props: {
        name: "monitoring",
        namespace: NS,
        values: {
          server: { replicas: 3, resources: { requests: { cpu: "1500m", memory: "1Gi" } } },
          persistence: { resources: { requests: { storage: "10Gi" } } },
        },
      },
    };
    const report = await evaluate([...stack([]), chart], fitConfig(1));
    expect(report.clusterFit.groups.map((g) => [g.owner, g.peak, g.cpu])).toEqual([
      ["chart monitoring: server", 3, 1500],
    ]);
    expect(messagesOf(report, FIT)[0]).toContain(
      "first pod that does not fit: chart monitoring: server (replica 3 of 3)",
    );
  });
});

describe("the real stacks", () => {
  async function production(): Promise<RenderedResource[]> {
    const run = await renderStack("production");
    return renderedResources(run);
  }

  it("production fits at peak on its 12 nodes; with nodeCount lowered until it cannot, the pack names the key", async () => {
    const config = loadPolicyConfig("production");
    const ok = await evaluatePolicies(await production(), config);
    expect(messagesOf(ok, FIT)).toEqual([]);
    const needed = ok.clusterFit.nodesNeeded.peak;
    expect(needed).toBeDefined();
    expect(needed).toBeLessThanOrEqual(12);
    const lowered = structuredClone(config);
    const n = (needed ?? 1) - 1;
    (lowered[FIT] as Record<string, unknown>).nodeCount = n;
    (lowered["quota-capacity-at-peak"] as Record<string, unknown>).nodeCount = n;
    const report = await evaluatePolicies(await production(), lowered);
    const [message] = messagesOf(report, FIT);
    expect(message).toMatch(
      new RegExp(
        `^at peak the stack's pods do not fit on ${n} node\\(s\\) \\(octollm:kubernetes.nodeCount = ${n}\\): first pod that does not fit: .+; peak needs ${needed} node\\(s\\): raise octollm:kubernetes.nodeCount to ≥ ${needed}`,
      ),
    );
    expect(report.violations.find((v) => v.policy === FIT)?.enforcementLevel).toBe("mandatory");
  });

  it.each(listStacks())(
    "%s: the stack file and its policy config agree on every node fact (kubernetes.version included)",
    (stack) => {
      expect(
        nodeFactsDrift(
          `Pulumi.${stack}.yaml`,
          configOf(stack),
          `policies/config/${stack}.json`,
          loadPolicyConfig(stack),
        ),
      ).toEqual([]);
    },
  );

  it("places the PgBouncer pooler's pods one per node where its template requires it", async () => {
    const pooled = async (stack: string) => {
      const run = await renderStack(stack, {
        "octollm:dataStores": { postgres: { pooler: { enabled: true } } },
      });
      const report = await evaluatePolicies(renderedResources(run), loadPolicyConfig(stack));
      return report.clusterFit.groups.find((g) => g.owner.startsWith("Pooler "));
    };
    // production requires the spread (required anti-affinity on the pooler's own pods)
    expect(await pooled("production")).toMatchObject({
      baseline: 2,
      peak: 2,
      maxPerDomain: [{ key: "kubernetes.io/hostname", max: 1 }],
    });
    // staging only prefers it: nothing to honour
    expect((await pooled("staging"))?.maxPerDomain).toEqual([]);
  });

  it("a dev stack file with another node count than its policy config fails, naming both files", () => {
    expect(
      nodeFactsDrift(
        "Pulumi.dev.yaml",
        configOf("dev", { "octollm:kubernetes": { nodeCount: 3 } }),
        "policies/config/dev.json",
        loadPolicyConfig("dev"),
      ),
    ).toEqual([
      "octollm:kubernetes.nodeCount is 3 in Pulumi.dev.yaml but quota-capacity-at-peak.nodeCount is 1 in policies/config/dev.json: keep them equal (under pulumi preview the pack reads only policies/config/dev.json)",
      "octollm:kubernetes.nodeCount is 3 in Pulumi.dev.yaml but quota-headroom-at-peak.nodeCount is 1 in policies/config/dev.json: keep them equal (under pulumi preview the pack reads only policies/config/dev.json)",
      "octollm:kubernetes.nodeCount is 3 in Pulumi.dev.yaml but cluster-fit-at-peak.nodeCount is 1 in policies/config/dev.json: keep them equal (under pulumi preview the pack reads only policies/config/dev.json)",
    ]);
  });

  it("npm run policy on such a dev stack file exits 2 naming both files", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-nodes-"));
    fs.writeFileSync(
      path.join(root, "Pulumi.dev.yaml"),
      "config:\n  octollm:environment: dev\n  octollm:kubernetes:\n    nodeCount: 3\n",
    );
    const result = spawnSync(
      path.join(REPO_ROOT, "node_modules", ".bin", "tsx"),
      [path.join(REPO_ROOT, "scripts", "render.ts"), "--policy-only", "dev", "--root", root],
      { cwd: REPO_ROOT, encoding: "utf8" },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      `octollm:kubernetes.nodeCount is 3 in ${path.join(root, "Pulumi.dev.yaml")} but cluster-fit-at-peak.nodeCount is 1 in policies/config/dev.json`,
    );
  });
});
