/**
 * What the shared HTTP service builder gives the orchestrator and every arm, on every stack:
 * the same hardening, probes, rollout, scaling and disruption rules, taken from the config.
 */
import { isSensitiveName } from "../../components/k8s/sensitive";
import { describe, expect, it } from "vitest";
import {
  HttpServiceError,
  checksumOf,
  httpService,
  spreadConstraints,
} from "../../components/k8s/http-service";
import type { PlatformConfig } from "../../components/config";
import { STACKS, findObject, objectsOf, renderStack } from "../harness";
import type { Obj } from "./support";
import { configOf, containerOf, podSpecOf, validateModel } from "./support";

type Workload = PlatformConfig["orchestrator"] | PlatformConfig["arms"][number];

function servicesOf(config: PlatformConfig): { name: string; workload: Workload }[] {
  return [
    { name: "orchestrator", workload: config.orchestrator },
    ...config.arms.map((a) => ({ name: `${a.name}-arm`, workload: a })),
  ];
}

describe.each(STACKS)("HTTP services on %s", (stack) => {
  const config = configOf(stack);
  const ns = config.namespaces.workloads;

  it.each(servicesOf(config))(
    "$name: Deployment from config, HPA-owned replicas, zero-downtime rollout",
    async ({ name, workload }) => {
      const objects = await objectsOf(stack);
      const d = findObject(objects, "Deployment", name, ns) as Obj;
      await validateModel(d);
      expect(d.spec.replicas).toBe(
        workload.hpa.enabled ? workload.hpa.minReplicas : workload.replicas,
      );
      expect(d.spec.strategy).toEqual({
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
      });
      const run = await renderStack(stack);
      const resource = run.resources.find(
        (r) =>
          r.type === "kubernetes:apps/v1:Deployment" && (r.inputs as Obj).metadata?.name === name,
      )!;
      expect(resource.ignoreChanges).toEqual(workload.hpa.enabled ? ["spec.replicas"] : []);
      expect(d.spec.selector.matchLabels).toEqual({
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/instance": `octollm-${stack}`,
        "app.kubernetes.io/component": name === "orchestrator" ? "orchestrator" : "arm",
      });
      expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
      const c = containerOf(d);
      expect(c.image).toBe(`${workload.image.repository}:${workload.image.tag}`);
      expect(c.resources).toEqual({
        requests: { ...workload.resources.requests },
        limits: { ...workload.resources.limits },
      });
    },
  );

  it.each(servicesOf(config))(
    "$name: probes from config on the http port, security context from the hardened builder",
    async ({ name, workload }) => {
      const d = findObject(await objectsOf(stack), "Deployment", name, ns) as Obj;
      const c = containerOf(d);
      for (const [field, cfg] of [
        ["startupProbe", workload.probes.startup],
        ["livenessProbe", workload.probes.liveness],
        ["readinessProbe", workload.probes.readiness],
      ] as const) {
        expect(c[field]).toEqual({
          httpGet: { path: cfg.path, port: "http" },
          initialDelaySeconds: cfg.initialDelaySeconds,
          periodSeconds: cfg.periodSeconds,
          timeoutSeconds: cfg.timeoutSeconds,
          failureThreshold: cfg.failureThreshold,
        });
      }
      expect(c.livenessProbe.httpGet.path).toBe("/health/live");
      expect(c.readinessProbe.httpGet.path).toBe("/health/ready");
      expect(c.ports[0]).toMatchObject({ name: "http" });
      const pod = podSpecOf(d);
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(pod.serviceAccountName).toBe(name);
      expect(pod.hostNetwork).toBeUndefined();
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(pod.securityContext.runAsUser).toBeGreaterThanOrEqual(1000);
      expect(pod.securityContext.seccompProfile).toEqual({ type: "RuntimeDefault" });
      expect(c.securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expect(c.securityContext.capabilities.add).toBeUndefined();
      const spread = pod.topologySpreadConstraints as Obj[];
      const byHost = spread.find((t) => t.topologyKey === "kubernetes.io/hostname")!;
      expect(byHost.whenUnsatisfiable).toBe(
        stack === "production" ? "DoNotSchedule" : "ScheduleAnyway",
      );
      expect(byHost.labelSelector.matchLabels).toEqual(d.spec.selector.matchLabels);
    },
  );

  it.each(servicesOf(config))(
    "$name: env only from its ConfigMap and secretKeyRefs, no secret in clear",
    async ({ name }) => {
      const objects = await objectsOf(stack);
      const d = findObject(objects, "Deployment", name, ns) as Obj;
      const c = containerOf(d);
      expect(c.envFrom).toEqual([{ configMapRef: { name: `${name}-env` } }]);
      for (const e of c.env as Obj[]) {
        expect(e.value, e.name).toBeUndefined();
        expect(e.valueFrom.secretKeyRef, e.name).toBeDefined();
      }
      const cm = findObject(objects, "ConfigMap", `${name}-env`, ns) as Obj;
      await validateModel(cm);
      for (const [k, v] of Object.entries(cm.data as Record<string, string>)) {
        expect(isSensitiveName(k), k).toBe(false);
        expect(v).not.toMatch(/mock-|:\/\/[^/]*:[^@/]*@/); // no generated value, no URL password
      }
      // A config change rolls the pods.
      expect(d.spec.template.metadata.annotations["octollm.io/config-checksum"]).toBe(
        checksumOf(cm.data),
      );
    },
  );

  it.each(servicesOf(config))(
    "$name: Service with named ports, HPA with the seed behaviour, PDB, ServiceAccount",
    async ({ name, workload }) => {
      const objects = await objectsOf(stack);
      const d = findObject(objects, "Deployment", name, ns) as Obj;
      const svc = findObject(objects, "Service", name, ns) as Obj;
      await validateModel(svc);
      expect(svc.spec.type).toBe("ClusterIP");
      expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
      for (const p of svc.spec.ports as Obj[]) {
        expect(p.targetPort).toBe(p.name);
        expect(containerOf(d).ports.map((cp: Obj) => cp.name)).toContain(p.name);
      }

      const hpa = findObject(objects, "HorizontalPodAutoscaler", name, ns) as Obj;
      await validateModel(hpa);
      expect(hpa.apiVersion).toBe("autoscaling/v2");
      expect(hpa.spec.scaleTargetRef).toEqual({
        apiVersion: "apps/v1",
        kind: "Deployment",
        name,
      });
      expect(hpa.spec.minReplicas).toBe(workload.hpa.minReplicas);
      expect(hpa.spec.maxReplicas).toBe(workload.hpa.maxReplicas);
      expect(hpa.spec.metrics).toEqual([
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
        },
        {
          type: "Resource",
          resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } },
        },
      ]);
      // The seed's behaviour: slow scale-down, fast scale-up.
      expect(hpa.spec.behavior).toEqual({
        scaleDown: {
          stabilizationWindowSeconds: 300,
          selectPolicy: "Max",
          policies: [{ type: "Percent", value: 50, periodSeconds: 60 }],
        },
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: "Max",
          policies: [
            { type: "Percent", value: 100, periodSeconds: 30 },
            { type: "Pods", value: 2, periodSeconds: 30 },
          ],
        },
      });

      const pdb = findObject(objects, "PodDisruptionBudget", name, ns) as Obj;
      await validateModel(pdb);
      expect(pdb.spec.selector.matchLabels).toEqual(d.spec.selector.matchLabels);
      expect(pdb.spec.maxUnavailable).toBe(1);
      expect(pdb.spec.unhealthyPodEvictionPolicy).toBe("AlwaysAllow");

      const sa = findObject(objects, "ServiceAccount", name, ns) as Obj;
      await validateModel(sa);
      expect(sa.automountServiceAccountToken).toBe(false);
    },
  );
});

describe("production sizing (seed values)", () => {
  it("orchestrator 3–10, coder 5–20 with 1 CPU / 1Gi – 4 CPU / 4Gi, judge 500m / 512Mi – 2 / 2Gi", async () => {
    const objects = await objectsOf("production");
    const ns = "octollm-production";
    const hpa = (n: string) => findObject(objects, "HorizontalPodAutoscaler", n, ns) as Obj;
    expect([hpa("orchestrator").spec.minReplicas, hpa("orchestrator").spec.maxReplicas]).toEqual([
      3, 10,
    ]);
    expect([hpa("coder-arm").spec.minReplicas, hpa("coder-arm").spec.maxReplicas]).toEqual([5, 20]);
    const res = (n: string) => containerOf(findObject(objects, "Deployment", n, ns)).resources;
    expect(res("orchestrator")).toEqual({
      requests: { cpu: "500m", memory: "512Mi" },
      limits: { cpu: "2", memory: "2Gi" },
    });
    expect(res("coder-arm")).toEqual({
      requests: { cpu: "1", memory: "1Gi" },
      limits: { cpu: "4", memory: "4Gi" },
    });
    expect(res("judge-arm")).toEqual({
      requests: { cpu: "500m", memory: "512Mi" },
      limits: { cpu: "2", memory: "2Gi" },
    });
    const replicas = (n: string) => (findObject(objects, "Deployment", n, ns) as Obj).spec.replicas;
    expect(
      [
        "orchestrator",
        "coder-arm",
        "judge-arm",
        "executor-arm",
        "planner-arm",
        "retriever-arm",
      ].map(replicas),
    ).toEqual([3, 5, 3, 5, 3, 3]);
  });
});

describe("builder guards and helpers", () => {
  const base = {
    identity: { name: "x", component: "arm", instance: "octollm-dev" },
    namespace: "ns",
    workload: configOf("dev").orchestrator,
    env: {},
    secretEnv: [],
    requireSpread: false,
  };
  const parent = {} as never; // never reached: the guards throw before any resource exists

  it("requires the first port to be named http, and unique port names", () => {
    expect(() => httpService("x", { ...base, ports: [{ name: "web", port: 80 }] }, parent)).toThrow(
      HttpServiceError,
    );
    expect(() =>
      httpService(
        "x",
        {
          ...base,
          ports: [
            { name: "http", port: 80 },
            { name: "http", port: 81 },
          ],
        },
        parent,
      ),
    ).toThrow(/unique/);
  });

  it("refuses a literal value as secret env", () => {
    expect(() =>
      httpService(
        "x",
        {
          ...base,
          ports: [{ name: "http", port: 80 }],
          secretEnv: [{ name: "JWT_SECRET", value: "hunter2" }],
        },
        parent,
      ),
    ).toThrow(/secretKeyRef/);
  });

  it("checksums ConfigMap data independently of key order, and changes with any value", () => {
    expect(checksumOf({ a: "1", b: "2" })).toBe(checksumOf({ b: "2", a: "1" }));
    expect(checksumOf({ a: "1", b: "2" })).not.toBe(checksumOf({ a: "1", b: "3" }));
  });

  it("spreads by hostname (required or preferred) and by zone (preferred)", () => {
    const sel = { app: "x" };
    const required = spreadConstraints(sel, true);
    expect(required.map((t) => [t.topologyKey, t.whenUnsatisfiable])).toEqual([
      ["kubernetes.io/hostname", "DoNotSchedule"],
      ["topology.kubernetes.io/zone", "ScheduleAnyway"],
    ]);
    expect(spreadConstraints(sel, false)[0].whenUnsatisfiable).toBe("ScheduleAnyway");
  });
});
