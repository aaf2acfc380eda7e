import { describe, expect, it } from "vitest";
import { ConfigError, parsePlatformConfig } from "../../components/config";
import { STACKS, findObject, objectsOf, ofType, parentOf, renderStack } from "../harness";
import type { Obj } from "./support";
import { configOf, containerOf, envOf, validateModel } from "./support";

const SUMMARIZER = { name: "summarizer", port: 8107, uses: { llm: true } };

describe.each(STACKS)("arms on %s", (stack) => {
  const config = configOf(stack);
  const ns = config.namespaces.workloads;

  it("renders the five configured arms on their ports (planner on 8105)", async () => {
    const objects = await objectsOf(stack);
    expect(config.arms.map((a) => [a.name, a.port])).toEqual([
      ["coder", 8102],
      ["judge", 8103],
      ["executor", 8104],
      ["planner", 8105],
      ["retriever", 8106],
    ]);
    for (const arm of config.arms) {
      const svc = findObject(objects, "Service", `${arm.name}-arm`, ns) as Obj;
      expect(svc.spec.ports).toEqual([
        { name: "http", port: arm.port, targetPort: "http", protocol: "TCP", appProtocol: "http" },
      ]);
    }
  });

  it("gives each arm ARM_TYPE, its settings and only the credentials its `uses` asks for", async () => {
    const objects = await objectsOf(stack);
    for (const arm of config.arms) {
      const d = findObject(objects, "Deployment", `${arm.name}-arm`, ns) as Obj;
      const env = envOf(containerOf(d));
      const cm = findObject(objects, "ConfigMap", `${arm.name}-arm-env`, ns) as Obj;
      expect(cm.data.ARM_TYPE).toBe(arm.name);
      expect(cm.data.LOG_FORMAT).toBe("json");
      expect(cm.data.PORT).toBe(String(arm.port));
      expect(env.has("DATABASE_URL"), `${arm.name} DATABASE_URL`).toBe(arm.uses.postgres);
      expect(env.has("REDIS_URL"), `${arm.name} REDIS_URL`).toBe(arm.uses.redis);
      expect(env.has("REDIS_PASSWORD"), `${arm.name} REDIS_PASSWORD`).toBe(arm.uses.redis);
      expect("REDIS_MODE" in cm.data, `${arm.name} REDIS_MODE`).toBe(arm.uses.redis);
      expect(env.has("QDRANT_API_KEY"), `${arm.name} QDRANT_API_KEY`).toBe(arm.uses.qdrant);
      expect("QDRANT_URL" in cm.data, `${arm.name} QDRANT_URL`).toBe(arm.uses.qdrant);
      for (const provider of config.llm.providers) {
        const name = `${provider.toUpperCase()}_API_KEY`;
        expect(env.has(name), `${arm.name} ${name}`).toBe(arm.uses.llm);
        if (arm.uses.llm) expect(env.get(name)!.valueFrom.secretKeyRef.optional).toBe(true);
      }
    }
    // Seed specifics: the retriever reads Qdrant, the executor gets no LLM key.
    const retriever = findObject(objects, "ConfigMap", "retriever-arm-env", ns) as Obj;
    expect(retriever.data.QDRANT_URL).toBe(`http://qdrant.${ns}.svc.cluster.local:6333`);
    const executor = envOf(containerOf(findObject(objects, "Deployment", "executor-arm", ns)));
    expect(executor.has("OPENAI_API_KEY")).toBe(false);
  });

  it("puts every arm in the one octollm:arms:Arms component", async () => {
    const run = await renderStack(stack);
    const [arms] = ofType(run, "octollm:arms:Arms");
    expect(ofType(run, "octollm:arms:Arms")).toHaveLength(1);
    const deployments = ofType(run, "kubernetes:apps/v1:Deployment").filter(
      (r) => parentOf(run, r)?.urn === arms.urn,
    );
    expect(deployments.map((d) => (d.inputs as Obj).metadata.name).sort()).toEqual(
      config.arms.map((a) => `${a.name}-arm`).sort(),
    );
  });
});

describe("a sixth arm is a config change", () => {
  const overrides = { "octollm:arms": [SUMMARIZER] };

  it("gets Deployment, Service, HPA, PDB, ServiceAccount, ConfigMap and NetworkPolicy", async () => {
    const objects = await objectsOf("production", overrides);
    const ns = "octollm-production";
    for (const kind of [
      "Deployment",
      "Service",
      "HorizontalPodAutoscaler",
      "PodDisruptionBudget",
      "ServiceAccount",
      "NetworkPolicy",
    ]) {
      const o = findObject(objects, kind, "summarizer-arm", ns);
      await validateModel(o);
    }
    const d = findObject(objects, "Deployment", "summarizer-arm", ns) as Obj;
    expect(containerOf(d).ports).toEqual([{ name: "http", containerPort: 8107, protocol: "TCP" }]);
    expect(envOf(containerOf(d)).has("OPENAI_API_KEY")).toBe(true);
    expect(envOf(containerOf(d)).has("REDIS_URL")).toBe(false);
    const cm = findObject(objects, "ConfigMap", "summarizer-arm-env", ns) as Obj;
    expect(cm.data.ARM_TYPE).toBe("summarizer");
    const orchestratorEnv = findObject(objects, "ConfigMap", "orchestrator-env", ns) as Obj;
    expect(orchestratorEnv.data.ARM_SUMMARIZER_URL).toBe(
      "http://summarizer-arm.octollm-production.svc.cluster.local:8107",
    );
    // The orchestrator may now call it, on its port.
    const policy = findObject(objects, "NetworkPolicy", "orchestrator", ns) as Obj;
    expect(policy.spec.egress).toContainEqual({
      to: [
        {
          podSelector: {
            matchLabels: {
              "app.kubernetes.io/name": "summarizer-arm",
              "app.kubernetes.io/instance": "octollm-production",
              "app.kubernetes.io/component": "arm",
            },
          },
        },
      ],
      ports: [{ protocol: "TCP", port: 8107 }],
    });
    // And the five seed arms are still there.
    expect(
      objects.filter((o) => o.kind === "Deployment" && o.metadata.name?.endsWith("-arm")),
    ).toHaveLength(6);
  });

  it("stays out of the stack without the override", async () => {
    const objects = await objectsOf("production");
    expect(objects.some((o) => o.metadata.name === "summarizer-arm")).toBe(false);
  });
});

describe("bad arm input is rejected at parse time, naming the key", () => {
  const parse = (overrides: Record<string, unknown>) => () =>
    parsePlatformConfig({
      "octollm:environment": "production",
      ...Object.fromEntries(Object.entries(overrides).map(([k, v]) => [k, JSON.stringify(v)])),
    });

  it("an arm port that collides with another arm", () => {
    expect(parse({ "octollm:arms": [{ name: "summarizer", port: 8102 }] })).toThrow(ConfigError);
    expect(parse({ "octollm:arms": [{ name: "summarizer", port: 8102 }] })).toThrow(
      /octollm:arms\[summarizer\]\.port: got 8102; port 8102 is already used by arm coder/,
    );
  });

  it("an arm port that collides with a platform service", () => {
    expect(parse({ "octollm:arms": [{ name: "summarizer", port: 8000 }] })).toThrow(
      /octollm:arms\[summarizer\]\.port: got 8000; port 8000 is already used by orchestrator http/,
    );
    expect(parse({ "octollm:arms": [{ name: "summarizer", port: 6379 }] })).toThrow(
      /already used by redis/,
    );
    expect(parse({ "octollm:arms": [{ name: "summarizer", port: 8080 }] })).toThrow(
      /already used by reflex layer/,
    );
  });

  it("an HPA minimum at or below the PDB's minAvailable (drains would hang)", () => {
    expect(
      parse({
        "octollm:arms": [{ name: "coder", pdb: { minAvailable: 5, maxUnavailable: null } }],
      }),
    ).toThrow(
      /octollm:arms\[coder\]\.pdb\.minAvailable: got 5; minAvailable 5 is not below the HPA minimum 5/,
    );
    expect(
      parse({ "octollm:orchestrator": { pdb: { minAvailable: 4, maxUnavailable: null } } }),
    ).toThrow(/octollm:orchestrator\.pdb\.minAvailable: got 4; .*HPA minimum 3/);
    // One below the minimum is fine.
    expect(
      parse({
        "octollm:arms": [{ name: "coder", pdb: { minAvailable: 4, maxUnavailable: null } }],
      }),
    ).not.toThrow();
  });

  it("a reflex port below 1024 (it would need NET_BIND_SERVICE)", () => {
    expect(parse({ "octollm:reflexLayer": { port: 80 } })).toThrow(
      /octollm:reflexLayer\.port: got 80; must be ≥ 1024/,
    );
  });
});
