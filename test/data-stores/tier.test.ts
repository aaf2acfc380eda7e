/**
 * The data-store tier as a whole: component structure, stack outputs, no generated secret in
 * any rendered object, and the bad-input rules that concern data stores (both sides of each).
 */
import { describe, expect, it } from "vitest";
import { ConfigError, parsePlatformConfig } from "../../components/config";
import { toYaml } from "../../scripts/manifests";
import { STACKS, objectsOf, ofType, parentOf, renderStack } from "../harness";
import { rawConfigOf } from "./support";

describe.each(STACKS)("data-store tier on %s", (stack) => {
  it("is one DataStores component with Postgres, Redis and Qdrant children", async () => {
    const run = await renderStack(stack);
    const tier = ofType(run, "octollm:data:DataStores");
    expect(tier).toHaveLength(1);
    expect(parentOf(run, tier[0])?.type).toBe("octollm:platform:OctoLLMPlatform");
    for (const type of ["octollm:data:Postgres", "octollm:data:Redis", "octollm:data:Qdrant"]) {
      const children = ofType(run, type);
      expect(children, type).toHaveLength(1);
      expect(parentOf(run, children[0])?.urn).toBe(tier[0].urn);
    }
    // every Kubernetes object of the tier is a child of one of the stores
    const storeUrns = new Set(
      run.resources.filter((r) => r.type.startsWith("octollm:data:")).map((r) => r.urn),
    );
    const mine = run.resources.filter((r) => r.parent && storeUrns.has(r.parent) && r.custom);
    expect(mine.length).toBeGreaterThan(10);
  });

  it("exports the stores' service names and Redis mode", async () => {
    const run = await renderStack(stack);
    const ds = run.outputs.dataStores as Record<string, any>;
    expect(ds.postgres).toEqual({ rw: "postgres-rw", ro: "postgres-ro", r: "postgres-r" });
    const sentinel = stack !== "dev";
    expect(ds.redis.mode).toBe(sentinel ? "sentinel" : "standalone");
    expect(ds.redis.masterName).toBe("mymaster");
    expect(ds.redis.services.sentinel).toBe(sentinel ? "redis-sentinel" : undefined);
    expect(ds.qdrantUrl).toMatch(/^http:\/\/qdrant\.octollm-[a-z]+\.svc\.cluster\.local:6333$/);
  });

  it("renders no generated credential anywhere (YAML of every object, outputs)", async () => {
    const run = await renderStack(stack);
    const yaml = toYaml(await objectsOf(stack));
    // Mock RandomPassword results are `mock-<resource name>-xxxx…` (length x's); the public CA
    // certificate's mock PEM (`mock-octollm-secrets-ca`, no x's) is not a credential.
    const generated = /mock-octollm-secrets-[a-z0-9-]+-x{16,}/;
    expect(`mock-octollm-secrets-redis-${"x".repeat(32)}`).toMatch(generated);
    expect(yaml).not.toMatch(generated);
    expect(JSON.stringify(run.outputs)).not.toMatch(generated);
    // ...and the YAML does reference the credentials, by Secret name only
    expect(yaml).toContain("redis-credentials");
  });
});

function parse(stack: string, overrides: Record<string, unknown>): () => unknown {
  return () => parsePlatformConfig(rawConfigOf(stack, overrides));
}

function problems(stack: string, overrides: Record<string, unknown>): string {
  try {
    parse(stack, overrides)();
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join("\n");
    throw e;
  }
  return "";
}

describe("bad input concerning data stores is rejected at parse time, with its key", () => {
  it("Redis maxmemory above its memory limit (with headroom)", () => {
    const tooBig = { "octollm:dataStores": { redis: { maxmemory: "3gb" } } };
    expect(problems("production", tooBig)).toMatch(
      /^octollm:dataStores\.redis\.maxmemory: got "3gb"; maxmemory 3gb plus 25% headroom exceeds the memory limit 3Gi/m,
    );
    // limit 3Gi holds 2gb + 25% = 2.5Gi, and exactly 2.4gb (= 3Gi / 1.25)…
    expect(
      parse("production", { "octollm:dataStores": { redis: { maxmemory: "2gb" } } }),
    ).not.toThrow();
    expect(
      parse("production", { "octollm:dataStores": { redis: { maxmemory: "2516582kb" } } }),
    ).not.toThrow();
    // …but not one kilobyte more than the headroom allows
    expect(
      problems("production", { "octollm:dataStores": { redis: { maxmemory: "2516583kb" } } }),
    ).toContain("octollm:dataStores.redis.maxmemory");
  });

  it("Postgres synchronous replicas ≥ instances", () => {
    const equal = { "octollm:dataStores": { postgres: { instances: 2, synchronousReplicas: 2 } } };
    expect(problems("staging", equal)).toMatch(
      /octollm:dataStores\.postgres\.synchronousReplicas: got 2; 2 synchronous replicas need more than 2 instances/,
    );
    expect(
      parse("staging", {
        "octollm:dataStores": { postgres: { instances: 2, synchronousReplicas: 1 } },
      }),
    ).not.toThrow();
    expect(
      problems("dev", {
        "octollm:dataStores": { postgres: { instances: 1, synchronousReplicas: 1 } },
      }),
    ).toContain("octollm:dataStores.postgres.synchronousReplicas");
  });

  it("production Postgres without 3 instances and a synchronous standby", () => {
    expect(
      problems("production", { "octollm:dataStores": { postgres: { synchronousReplicas: 0 } } }),
    ).toContain("octollm:dataStores.postgres.instances");
  });

  it("Qdrant cluster mode with 1 replica, and several replicas without cluster mode", () => {
    const lonely = { "octollm:dataStores": { qdrant: { replicas: 1, clusterMode: true } } };
    expect(problems("dev", lonely)).toMatch(
      /octollm:dataStores\.qdrant\.clusterMode: got true; cluster mode with 1 replica is not a cluster/,
    );
    const diverging = { "octollm:dataStores": { qdrant: { replicas: 3, clusterMode: false } } };
    expect(problems("dev", diverging)).toContain("octollm:dataStores.qdrant.replicas");
    expect(
      parse("dev", { "octollm:dataStores": { qdrant: { replicas: 2, clusterMode: true } } }),
    ).not.toThrow();
  });

  it("Redis sentinel mode with too few pods or a non-majority quorum; standalone with several", () => {
    expect(problems("production", { "octollm:dataStores": { redis: { replicas: 2 } } })).toContain(
      "octollm:dataStores.redis.replicas",
    );
    expect(
      problems("production", { "octollm:dataStores": { redis: { sentinelQuorum: 1 } } }),
    ).toContain("octollm:dataStores.redis.sentinelQuorum");
    expect(problems("dev", { "octollm:dataStores": { redis: { replicas: 2 } } })).toContain(
      "standalone mode runs exactly 1 replica",
    );
    expect(
      parse("production", { "octollm:dataStores": { redis: { replicas: 5, sentinelQuorum: 3 } } }),
    ).not.toThrow();
  });

  it("an API server CIDR that is not a CIDR", () => {
    expect(problems("dev", { "octollm:network": { apiServerCidrs: ["kubernetes"] } })).toContain(
      "octollm:network.apiServerCidrs",
    );
    expect(problems("dev", { "octollm:network": { apiServerCidrs: [] } })).toContain(
      "octollm:network.apiServerCidrs",
    );
  });
});
