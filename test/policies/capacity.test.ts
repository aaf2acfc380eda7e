/** quota-capacity-at-peak and the capacity report: exact arithmetic at HPA maxima. */
import { describe, expect, it } from "vitest";
import type { K8sObject } from "../fixtures/stack";
import { compliantStack, find, namespaceObjects, rendered } from "../fixtures/stack";
import { clone, evaluate, messagesOf } from "./helpers";
import { formatCapacityTable, loadPolicyConfig } from "../../policies/evaluate";
import type { RenderedResource } from "../../policies/evaluate";

const NS = "capacity-test";

function pod(containers: Record<string, unknown>[], extra: Record<string, unknown> = {}) {
  return { metadata: { labels: { app: "x" } }, spec: { containers, ...extra } };
}
const c = (name: string, rc?: string, rm?: string, lc?: string, lm?: string) => ({
  name,
  image: "docker.io/x/y:1",
  resources: {
    ...(rc || rm
      ? { requests: { ...(rc ? { cpu: rc } : {}), ...(rm ? { memory: rm } : {}) } }
      : {}),
    ...(lc || lm ? { limits: { ...(lc ? { cpu: lc } : {}), ...(lm ? { memory: lm } : {}) } } : {}),
  },
});

function capacityStack(quota: Record<string, string>): RenderedResource[] {
  const objects: K8sObject[] = [
    ...namespaceObjects(NS, "restricted", quota),
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: NS },
      spec: { replicas: 2, template: pod([c("web", "100m", "128Mi", "200m", "256Mi")]) },
    },
    {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web", namespace: NS },
      spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, minReplicas: 2, maxReplicas: 7 },
    },
    {
      // init container larger than the app container: the pod reserves the larger of the two
      apiVersion: "apps/v1",
      kind: "DaemonSet",
      metadata: { name: "agent", namespace: NS },
      spec: {
        template: pod([c("agent", "50m", "64Mi", "100m", "128Mi")], {
          initContainers: [c("warm", "250m", "32Mi", "250m", "32Mi")],
        }),
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: NS },
      spec: {
        replicas: 3,
        template: pod([c("db", "1", "1Gi", "2", "2Gi")]),
        volumeClaimTemplates: [
          { metadata: { name: "data" }, spec: { resources: { requests: { storage: "10Gi" } } } },
          { metadata: { name: "wal" }, spec: { resources: { requests: { storage: "1.5Gi" } } } },
        ],
      },
    },
    {
      apiVersion: "postgresql.cnpg.io/v1",
      kind: "Cluster",
      metadata: { name: "pg", namespace: NS },
      spec: {
        instances: 3,
        storage: { size: "20Gi" },
        walStorage: { size: "5Gi" },
        resources: {
          requests: { cpu: "500m", memory: "1Gi" },
          limits: { cpu: "1", memory: "2Gi" },
        },
      },
    },
    {
      // no resources at all: the LimitRange defaults (100m/128Mi → 500m/512Mi) apply
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: { name: "backup", namespace: NS },
      spec: { jobTemplate: { spec: { template: pod([{ name: "b", image: "docker.io/x/b:1" }]) } } },
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "scratch", namespace: NS },
      spec: { resources: { requests: { storage: "500M" } } },
    },
  ];
  return objects.map((o) => rendered(o));
}

/*
 * Peak by hand (nodeCount 3):
 *   requests.cpu    web 7×100m + agent 3×250m + db 3×1 + pg 3×500m + backup 100m = 700m+750m+3+1500m+100m = 6050m
 *   requests.memory web 7×128Mi + agent 3×64Mi + db 3×1Gi + pg 3×1Gi + backup 128Mi = 896+192+3072+3072+128 = 7360Mi
 *   limits.cpu      7×200m + 3×250m + 3×2 + 3×1 + 500m = 1400m+750m+6+3+500m = 11650m
 *   limits.memory   7×256Mi + 3×128Mi + 3×2Gi + 3×2Gi + 512Mi = 1792+384+6144+6144+512 = 14976Mi
 *   pods            7 + 3 + 3 + 3 + 1 = 17
 *   pvcs            db 3×2 + pg 3×2 + scratch 1 = 13
 *   storage         3×11.5Gi + 3×25Gi + 500M = 34.5Gi + 75Gi + 500000000 bytes ≈ 112605Mi (rounded up)
 * Baseline: web at its HPA minimum (2), no CronJob running: 200m + 750m + 3 + 1500m = 5450m CPU, 11 pods.
 */
const EXACT_FIT = {
  "requests.cpu": "6.05",
  "requests.memory": "7360Mi",
  "limits.cpu": "11650m",
  "limits.memory": "14976Mi",
  pods: "17",
  persistentvolumeclaims: "13",
  "requests.storage": String(Math.round(109.5 * 2 ** 30) + 500_000_000),
};

function config(nodeCount: number) {
  const c = loadPolicyConfig("production");
  c["quota-capacity-at-peak"] = { enforcementLevel: "mandatory", nodeCount };
  return c;
}

describe("quota-capacity-at-peak", () => {
  it("computes baseline and peak exactly; a quota equal to the peak fits", async () => {
    const report = await evaluate(capacityStack(EXACT_FIT), config(3));
    expect(messagesOf(report, "quota-capacity-at-peak")).toEqual([]);
    const row = report.capacity.find((r) => r.namespace === NS);
    expect(row?.fits).toBe(true);
    expect(row?.quotas).toEqual(["octollm-quota"]);
    const peak = Object.fromEntries(Object.entries(row!.cells).map(([k, v]) => [k, v.peak]));
    expect(peak).toEqual({
      "requests.cpu": "6050m",
      "requests.memory": "7360Mi",
      "limits.cpu": "11650m",
      "limits.memory": "14976Mi",
      pods: "17",
      persistentvolumeclaims: "13",
      "requests.storage": "112605Mi",
    });
    for (const cell of Object.values(row!.cells)) expect(cell.headroomValue).toBe(0);
    // baseline: HPA minimum, no CronJob running
    expect(row!.cells["requests.cpu"].baseline).toBe("5450m");
    expect(row!.cells.pods.baseline).toBe("11");
  });

  it("reports each quota key short at peak, by how much, with the largest contributors", async () => {
    const quota = { ...EXACT_FIT, "requests.cpu": "6", pods: "16", "requests.storage": "100Gi" };
    const report = await evaluate(capacityStack(quota), config(3));
    const [message] = messagesOf(report, "quota-capacity-at-peak");
    expect(message).toMatch(
      /^namespace capacity-test: at peak \(HPA maxima, DaemonSets × 3 node\(s\)\) the workloads do not fit ResourceQuota octollm-quota: /,
    );
    expect(message).toContain(
      "requests.cpu 6050m exceeds the quota 6 by 50m (largest: StatefulSet capacity-test/db 3 at 3 replica(s); Cluster capacity-test/pg 1500m at 3 replica(s); DaemonSet capacity-test/agent 750m at 3 replica(s))",
    );
    expect(message).toContain("pods 17 exceeds the quota 16 by 1");
    expect(message).toContain("requests.storage 112605Mi exceeds the quota 100Gi by 10205Mi");
    expect(report.violations.find((v) => v.policy === "quota-capacity-at-peak")?.resource).toBe(
      "ResourceQuota capacity-test/octollm-quota",
    );
  });

  it("counts DaemonSets on every configured node", async () => {
    const report = await evaluate(capacityStack(EXACT_FIT), config(4));
    expect(messagesOf(report, "quota-capacity-at-peak")[0]).toContain(
      "pods 18 exceeds the quota 17 by 1",
    );
  });

  it("holds the compliant production fixture with headroom, and fails when an HPA max grows past the quota", async () => {
    const ok = await evaluate(compliantStack());
    expect(ok.capacity.every((r) => r.fits)).toBe(true);
    const stack = clone(compliantStack());
    find(stack, "HorizontalPodAutoscaler", "coder-arm").spec.maxReplicas = 40;
    const [message] = messagesOf(await evaluate(stack), "quota-capacity-at-peak");
    // 40 × 500m takes requests.cpu from 16600m to 32600m: 600m over the 32-core quota.
    expect(message).toContain(
      "requests.cpu 32600m exceeds the quota 32 by 600m (largest: Deployment octollm-production/coder-arm 20 at 40 replica(s)",
    );
  });

  it("renders a plain-text table with headroom", async () => {
    const report = await evaluate(capacityStack(EXACT_FIT), config(3));
    const table = formatCapacityTable(report.capacity);
    expect(table.split("\n")[0]).toMatch(
      /^namespace\s+resource\s+baseline\s+peak\s+quota\s+headroom$/,
    );
    expect(table).toMatch(/capacity-test\s+requests.cpu\s+5450m\s+6050m \(100%\)\s+6050m\s+0/);
  });
});
