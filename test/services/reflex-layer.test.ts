import { describe, expect, it } from "vitest";
import {
  EXEMPTIONS,
  EXEMPTION_ANNOTATION,
  exemptionAnnotation,
} from "../../components/k8s/exemptions";
import { STACKS, findObject, objectsOf, ofKind, ofType, renderStack } from "../harness";
import type { Obj } from "./support";
import { configOf, containerOf, envOf, podSpecOf, validateModel } from "./support";

const NODES = { dev: 1, staging: 4, production: 12 } as const;

describe.each(STACKS)("reflex layer on %s", (stack) => {
  const config = configOf(stack);
  const ns = config.namespaces.reflex;

  it("is a DaemonSet in the reflex namespace, on the host network through the named exemption", async () => {
    const objects = await objectsOf(stack);
    const ds = findObject(objects, "DaemonSet", "reflex-layer", ns) as Obj;
    await validateModel(ds);
    const pod = podSpecOf(ds);
    expect(pod.hostNetwork).toBe(true);
    expect(pod.dnsPolicy).toBe("ClusterFirstWithHostNet");
    expect(ds.spec.template.metadata.annotations[EXEMPTION_ANNOTATION]).toBe(
      exemptionAnnotation(EXEMPTIONS.reflexHostNetwork),
    );
    expect(ds.metadata.annotations?.["octollm.io/expected-nodes"]).toBe(String(NODES[stack]));
    expect(ds.spec.updateStrategy).toEqual({
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
    });
    // The only host-network workload of the stack.
    const hostNetwork = objects.filter((o: Obj) => o.spec?.template?.spec?.hostNetwork === true);
    expect(hostNetwork.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "DaemonSet/reflex-layer",
    ]);
    const run = await renderStack(stack);
    expect(ofType(run, "octollm:reflex:ReflexLayer")).toHaveLength(1);
  });

  it("binds 8080 as container and host port with every capability dropped (no NET_BIND_SERVICE)", async () => {
    const ds = findObject(await objectsOf(stack), "DaemonSet", "reflex-layer", ns) as Obj;
    const c = containerOf(ds);
    expect(c.ports).toEqual([
      { name: "http", containerPort: 8080, hostPort: 8080, protocol: "TCP" },
    ]);
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.securityContext.capabilities.add).toBeUndefined();
    expect(podSpecOf(ds).securityContext.runAsUser).toBeGreaterThanOrEqual(1000);
    expect(podSpecOf(ds).automountServiceAccountToken).toBe(false);
    const sa = findObject(await objectsOf(stack), "ServiceAccount", "reflex-layer", ns) as Obj;
    expect(sa.automountServiceAccountToken).toBe(false);
  });

  it("sizes and probes from config (/health)", async () => {
    const c = containerOf(findObject(await objectsOf(stack), "DaemonSet", "reflex-layer", ns));
    expect(c.resources).toEqual({
      requests: { ...config.reflexLayer.resources.requests },
      limits: { ...config.reflexLayer.resources.limits },
    });
    if (stack === "production")
      expect(c.resources).toEqual({
        requests: { cpu: "2", memory: "512Mi" },
        limits: { cpu: "4", memory: "1Gi" },
      });
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"])
      expect(c[probe].httpGet).toEqual({ path: "/health", port: "http" });
    expect(c.livenessProbe.periodSeconds).toBe(config.reflexLayer.probes.liveness.periodSeconds);
  });

  it("reads rate limits and the orchestrator URL from its ConfigMap, Redis from the secret copy in its namespace", async () => {
    const objects = await objectsOf(stack);
    const ds = findObject(objects, "DaemonSet", "reflex-layer", ns) as Obj;
    const c = containerOf(ds);
    expect(c.envFrom).toEqual([{ configMapRef: { name: "reflex-layer-env" } }]);
    const cm = findObject(objects, "ConfigMap", "reflex-layer-env", ns) as Obj;
    const rl = config.reflexLayer.rateLimit;
    expect(cm.data).toMatchObject({
      RATE_LIMIT_ENABLED: String(rl.enabled),
      RATE_LIMIT_REQUESTS_PER_MINUTE: String(rl.requestsPerMinute),
      RATE_LIMIT_BURST: String(rl.burst),
      ORCHESTRATOR_URL: `http://orchestrator.${config.namespaces.workloads}.svc.cluster.local:8000`,
      LOG_FORMAT: "json",
    });
    const env = envOf(c);
    expect(env.get("REDIS_URL")!.valueFrom.secretKeyRef).toEqual({
      name: "redis-credentials",
      key: "url",
    });
    for (const e of c.env as Obj[]) expect(e.value).toBeUndefined();
    // The referenced Secret exists in the reflex namespace.
    expect(findObject(objects, "Secret", "redis-credentials", ns)).toBeDefined();
  });

  it("has a ClusterIP Service reflex-layer on 8080 for the ingress", async () => {
    const objects = await objectsOf(stack);
    const svc = findObject(objects, "Service", "reflex-layer", ns) as Obj;
    await validateModel(svc);
    const ds = findObject(objects, "DaemonSet", "reflex-layer", ns) as Obj;
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.selector).toEqual(ds.spec.selector.matchLabels);
    expect(svc.spec.ports).toEqual([
      { name: "http", port: 8080, targetPort: "http", protocol: "TCP", appProtocol: "http" },
    ]);
    // Nothing else runs in the reflex namespace.
    const workloads = objects.filter(
      (o) =>
        o.metadata.namespace === ns &&
        ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"].includes(o.kind),
    );
    expect(workloads.map((o) => o.metadata.name)).toEqual(["reflex-layer"]);
    expect(ofKind(objects, "NetworkPolicy").some((p) => p.metadata.namespace === ns)).toBe(true);
  });
});
