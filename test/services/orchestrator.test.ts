import { describe, expect, it } from "vitest";
import { STACKS, findObject, objectsOf, ofType, parentOf, renderStack } from "../harness";
import type { Obj } from "./support";
import { configOf, containerOf, envOf } from "./support";

describe.each(STACKS)("orchestrator on %s", (stack) => {
  const config = configOf(stack);
  const ns = config.namespaces.workloads;

  it("is one octollm:orchestrator:Orchestrator component owning its objects", async () => {
    const run = await renderStack(stack);
    const components = ofType(run, "octollm:orchestrator:Orchestrator");
    expect(components).toHaveLength(1);
    for (const type of [
      "kubernetes:apps/v1:Deployment",
      "kubernetes:core/v1:Service",
      "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
      "kubernetes:policy/v1:PodDisruptionBudget",
      "kubernetes:core/v1:ServiceAccount",
      "kubernetes:core/v1:ConfigMap",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy",
    ]) {
      const owned = ofType(run, type).filter((r) => parentOf(run, r)?.urn === components[0].urn);
      expect(owned, type).toHaveLength(1);
    }
  });

  it("serves http 8000 and metrics 9090 under named ports", async () => {
    const objects = await objectsOf(stack);
    const svc = findObject(objects, "Service", "orchestrator", ns) as Obj;
    expect(svc.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort])).toEqual([
      ["http", 8000, "http"],
      ["metrics", 9090, "metrics"],
    ]);
    const c = containerOf(findObject(objects, "Deployment", "orchestrator", ns));
    expect(c.ports.map((p: Obj) => [p.name, p.containerPort])).toEqual([
      ["http", 8000],
      ["metrics", 9090],
    ]);
  });

  it("reads settings and arm URLs derived from config from its ConfigMap", async () => {
    const cm = findObject(await objectsOf(stack), "ConfigMap", "orchestrator-env", ns) as Obj;
    expect(cm.data).toMatchObject({
      ENVIRONMENT: stack,
      LOG_LEVEL: config.orchestrator.logLevel,
      LOG_FORMAT: "json",
      QDRANT_URL: `http://qdrant.${ns}.svc.cluster.local:6333`,
      ARM_CODER_URL: `http://coder-arm.${ns}.svc.cluster.local:8102`,
      ARM_JUDGE_URL: `http://judge-arm.${ns}.svc.cluster.local:8103`,
      ARM_EXECUTOR_URL: `http://executor-arm.${ns}.svc.cluster.local:8104`,
      ARM_PLANNER_URL: `http://planner-arm.${ns}.svc.cluster.local:8105`,
      ARM_RETRIEVER_URL: `http://retriever-arm.${ns}.svc.cluster.local:8106`,
    });
    const armUrls = Object.keys(cm.data as object).filter((k) => /^ARM_.*_URL$/.test(k));
    expect(armUrls).toHaveLength(config.arms.length);
    if (config.dataStores.redis.mode === "sentinel") {
      expect(cm.data).toMatchObject({
        REDIS_MODE: "sentinel",
        REDIS_SENTINEL_HOST: `redis-sentinel.${ns}.svc.cluster.local`,
        REDIS_SENTINEL_PORT: "26379",
        REDIS_SENTINEL_MASTER: "mymaster",
      });
      expect(cm.data.REDIS_HOST).toBeUndefined();
    } else {
      expect(cm.data).toMatchObject({
        REDIS_MODE: "standalone",
        REDIS_HOST: `redis.${ns}.svc.cluster.local`,
        REDIS_PORT: "6379",
      });
    }
  });

  it("reads every credential through secretKeyRef; LLM keys are optional per provider", async () => {
    const c = containerOf(findObject(await objectsOf(stack), "Deployment", "orchestrator", ns));
    const env = envOf(c);
    const ref = (name: string) => env.get(name)?.valueFrom?.secretKeyRef;
    expect(ref("DATABASE_URL")).toEqual({ name: "octollm-database", key: "url" });
    expect(ref("REDIS_URL")).toEqual({ name: "redis-credentials", key: "url" });
    expect(ref("REDIS_PASSWORD")).toEqual({ name: "redis-credentials", key: "password" });
    expect(ref("JWT_SECRET")).toEqual({ name: "octollm-jwt", key: "secret" });
    expect(ref("QDRANT_API_KEY")).toEqual({ name: "qdrant-credentials", key: "api-key" });
    expect(ref("OPENAI_API_KEY")).toEqual({
      name: "llm-credentials",
      key: "openai-api-key",
      optional: true,
    });
    expect(ref("ANTHROPIC_API_KEY")).toEqual({
      name: "llm-credentials",
      key: "anthropic-api-key",
      optional: true,
    });
    expect(ref("DATABASE_URL")?.optional).toBeUndefined();
  });

  it("follows config.llm.providers for the key variables", async () => {
    const overrides = { "octollm:llm": { providers: ["openai", "azure-openai"] } };
    const c = containerOf(
      findObject(await objectsOf(stack, overrides), "Deployment", "orchestrator", ns),
    );
    const names = (c.env as Obj[]).map((e) => e.name);
    expect(names).toContain("AZURE_OPENAI_API_KEY");
    expect(names).not.toContain("ANTHROPIC_API_KEY");
  });

  it("lets user env into the ConfigMap but never shadows a secret", async () => {
    const overrides = { "octollm:orchestrator": { env: { FEATURE_FLAGS: "a,b" } } };
    const objects = await objectsOf(stack, overrides);
    const cm = findObject(objects, "ConfigMap", "orchestrator-env", ns) as Obj;
    expect(cm.data.FEATURE_FLAGS).toBe("a,b");
    // A ConfigMap key named like a secret would be overridden by the explicit secretKeyRef env
    // (explicit env wins over envFrom), and the schema refuses sensitive names anyway.
    expect(() => configOf(stack, { "octollm:orchestrator": { env: { API_TOKEN: "x" } } })).toThrow(
      /octollm:orchestrator\.env\.API_TOKEN.*looks sensitive/,
    );
  });
});
