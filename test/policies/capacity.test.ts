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
      "requests.cpu": "6.05",
      "requests.memory": "7360Mi",
      "limits.cpu": "11.65",
      "limits.memory": "14976Mi",
      pods: "17",
      persistentvolumeclaims: "13",
      // 112605Mi, rounded up to the hundredth of a Gi
      "requests.storage": "109.97Gi",
    });
    for (const cell of Object.values(row!.cells)) expect(cell.headroomValue).toBe(0);
    // baseline: HPA minimum, no CronJob running
    expect(row!.cells["requests.cpu"].baseline).toBe("5.45");
    expect(row!.cells.pods.baseline).toBe("11");
  });

  it("reports each quota key short at peak, by how much, with the largest contributors", async () => {
    const quota = { ...EXACT_FIT, "requests.cpu": "6", pods: "16", "requests.storage": "100Gi" };
    const report = await evaluate(capacityStack(quota), config(3));
    const [message] = messagesOf(report, "quota-capacity-at-peak");
    expect(message).toMatch(
      /^namespace capacity-test: at peak \(HPA maxima, DaemonSets × 3 node\(s\)\) the workloads do not fit ResourceQuota octollm-quota: /,
    );
    // a quota the program did not make (no octollm.io/namespace-role label): its field is named
    expect(message).toContain(
      'requests.cpu at peak 6.05 cores exceeds the quota 6 cores by 0.05 cores: raise ResourceQuota capacity-test/octollm-quota spec.hard["requests.cpu"] to at least 6.05, or lower the largest: StatefulSet capacity-test/db 3 cores at 3 replica(s); Cluster capacity-test/pg 1.5 cores at 3 replica(s); DaemonSet capacity-test/agent 0.75 cores at 3 replica(s)',
    );
    expect(message).toContain("pods at peak 17 exceeds the quota 16 by 1: raise");
    expect(message).toContain(
      "requests.storage at peak 109.97Gi exceeds the quota 100Gi by 9.97Gi: raise",
    );
    expect(report.violations.find((v) => v.policy === "quota-capacity-at-peak")?.resource).toBe(
      "ResourceQuota capacity-test/octollm-quota",
    );
  });

  it("counts DaemonSets on every configured node", async () => {
    const report = await evaluate(capacityStack(EXACT_FIT), config(4));
    expect(messagesOf(report, "quota-capacity-at-peak")[0]).toContain(
      "pods at peak 18 exceeds the quota 17 by 1",
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
      'requests.cpu at peak 32.6 cores exceeds the quota 32 cores by 0.6 cores: raise ResourceQuota octollm-production/octollm-quota spec.hard["requests.cpu"] to at least 32.6, or lower the largest: Deployment octollm-production/coder-arm 20 cores at 40 replica(s)',
    );
  });

  it("renders a plain-text table with headroom", async () => {
    const report = await evaluate(capacityStack(EXACT_FIT), config(3));
    const table = formatCapacityTable(report.capacity);
    expect(table.split("\n")[0]).toMatch(
      /^namespace\s+resource\s+baseline\s+peak\s+quota\s+headroom$/,
    );
    expect(table).toMatch(
      /capacity-test\s+requests.cpu \(cores\)\s+5.45\s+6.05 \(100%\)\s+6.05\s+0\s+WARN >90%/,
    );
  });
});

/** The stack with the quota labelled the way the foundation tier labels the workloads quota. */
function labelledStack(quota: Record<string, string>): RenderedResource[] {
  const stack = capacityStack(quota);
  const rq = find(stack, "ResourceQuota", "octollm-quota");
  rq.metadata.labels = { ...rq.metadata.labels, "octollm.io/namespace-role": "workloads" };
  return stack;
}

/** Every key but requests.cpu far from its quota, so only requests.cpu is judged. */
const roomy = {
  "requests.memory": "100Gi",
  "limits.cpu": "100",
  "limits.memory": "100Gi",
  pods: "100",
  persistentvolumeclaims: "100",
  "requests.storage": "1Ti",
};

function headroomConfig(nodeCount: number) {
  const c = config(nodeCount);
  c["quota-headroom-at-peak"] = { enforcementLevel: "advisory", nodeCount };
  return c;
}

describe("capacity messages name the config key and use one unit per resource", () => {
  it("a quota the program made: the message names octollm:quotas.<role>.quota.<key>", async () => {
    const report = await evaluate(
      labelledStack({ ...EXACT_FIT, "requests.memory": "7Gi", "limits.cpu": "11" }),
      headroomConfig(3),
    );
    const [message, ...rest] = messagesOf(report, "quota-capacity-at-peak");
    expect(rest).toEqual([]);
    expect(message).toContain(
      "requests.memory at peak 7360Mi exceeds the quota 7168Mi by 192Mi: raise octollm:quotas.workloads.quota.requests.memory to at least 7360Mi, or lower the largest: StatefulSet capacity-test/db 3072Mi at 3 replica(s);",
    );
    expect(message).toContain(
      "limits.cpu at peak 11.65 cores exceeds the quota 11 cores by 0.65 cores: raise octollm:quotas.workloads.quota.limits.cpu to at least 11.65, or lower",
    );
  });

  it("CPU in cores, memory in Mi, storage in Gi, whatever unit the objects were written in", async () => {
    const report = await evaluate(capacityStack(EXACT_FIT), headroomConfig(3));
    const row = report.capacity.find((r) => r.namespace === NS)!;
    for (const key of ["requests.cpu", "limits.cpu"] as const)
      for (const v of [row.cells[key].baseline, row.cells[key].peak, row.cells[key].hard ?? ""])
        expect(v, key).toMatch(/^\d+(\.\d{1,3})?$/);
    for (const key of ["requests.memory", "limits.memory"] as const)
      for (const v of [row.cells[key].baseline, row.cells[key].peak, row.cells[key].hard ?? ""])
        expect(v, key).toMatch(/^\d+Mi$/);
    expect(row.cells["requests.storage"].peak).toMatch(/^\d+(\.\d{1,2})?Gi$/);
    // every contributor figure too (the message's "largest" list)
    for (const c of row.contributors) {
      expect(c.peak["requests.cpu"]).toMatch(/^\d+(\.\d{1,3})?$/);
      expect(c.peak["requests.memory"]).toMatch(/^\d+Mi$/);
    }
  });
});

describe("quota-headroom-at-peak (advisory)", () => {
  // requests.cpu at peak is 6.05 cores: 6.8 holds it at 89%, 6.65 at 91%.
  it("89% of a quota: no warning", async () => {
    const report = await evaluate(
      labelledStack({ ...EXACT_FIT, ...roomy, "requests.cpu": "6.8" }),
      headroomConfig(3),
    );
    expect(messagesOf(report, "quota-headroom-at-peak")).toEqual([]);
    expect(formatCapacityTable(report.capacity)).not.toContain("WARN");
  });

  it("91% of a quota: an advisory warning naming the key, and WARN in the table", async () => {
    const report = await evaluate(
      labelledStack({ ...EXACT_FIT, ...roomy, "requests.cpu": "6.65" }),
      headroomConfig(3),
    );
    expect(messagesOf(report, "quota-capacity-at-peak")).toEqual([]);
    expect(report.violations.filter((v) => v.policy === "quota-headroom-at-peak")).toEqual([
      {
        policy: "quota-headroom-at-peak",
        enforcementLevel: "advisory",
        resource: "ResourceQuota capacity-test/octollm-quota",
        urn: expect.any(String),
        message:
          "namespace capacity-test: requests.cpu at peak 6.05 cores is 91% of the quota 6.65 cores (above 90%; headroom 0.6 cores): one more replica or a rolling update's surge pod may not fit; raise octollm:quotas.workloads.quota.requests.cpu",
      },
    ]);
    expect(formatCapacityTable(report.capacity)).toMatch(
      /capacity-test\s+requests.cpu \(cores\)\s+5.45\s+6.05 \(91%\)\s+6.65\s+0.6\s+WARN >90%/,
    );
  });

  it("the threshold is configurable, and a quota that does not fit is the mandatory policy's", async () => {
    const c = headroomConfig(3);
    c["quota-headroom-at-peak"] = {
      enforcementLevel: "advisory",
      nodeCount: 3,
      warnAbovePercent: 95,
    };
    const stack = labelledStack({ ...EXACT_FIT, ...roomy, "requests.cpu": "6.65" });
    expect(messagesOf(await evaluate(stack, c), "quota-headroom-at-peak")).toEqual([]);
    const over = await evaluate(
      labelledStack({ ...EXACT_FIT, ...roomy, "requests.cpu": "6" }),
      headroomConfig(3),
    );
    expect(messagesOf(over, "quota-headroom-at-peak")).toEqual([]);
    expect(messagesOf(over, "quota-capacity-at-peak")).toHaveLength(1);
  });
});
