import { describe, expect, it } from "vitest";
import {
  cronMaxGapHours,
  cronProblem,
  environmentDefaults,
  parsePlatformConfig,
  redisBytes,
} from "../../components/config";
import { loadStackConfig } from "../../scripts/offline";
import { STACKS, configProblems } from "../harness";

/** Parses production with extra raw `octollm:*` overrides and returns the error lines. */

describe("stack configuration", () => {
  it.each(STACKS)("parses the real Pulumi.%s.yaml into a frozen, typed config", (stack) => {
    const config = parsePlatformConfig(loadStackConfig(stack));
    expect(config.environment).toBe(stack);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.arms[0].resources.requests)).toBe(true);
    expect(() => {
      (config as { environment: string }).environment = "x";
    }).toThrow();
  });

  it("carries the seed values in production", () => {
    const c = parsePlatformConfig({ "octollm:environment": "production" });
    expect(c.orchestrator.replicas).toBe(3);
    expect(c.orchestrator.hpa).toMatchObject({
      minReplicas: 3,
      maxReplicas: 10,
      targetCpuUtilization: 70,
      targetMemoryUtilization: 80,
    });
    expect(c.orchestrator.hpa.behavior.scaleDown).toMatchObject({
      stabilizationWindowSeconds: 300,
      policies: [{ type: "Percent", value: 50, periodSeconds: 60 }],
    });
    expect(c.orchestrator.resources).toEqual({
      requests: { cpu: "500m", memory: "512Mi" },
      limits: { cpu: "2", memory: "2Gi" },
    });
    const coder = c.arms.find((a) => a.name === "coder");
    expect(coder).toMatchObject({
      port: 8102,
      replicas: 5,
      hpa: { minReplicas: 5, maxReplicas: 20 },
    });
    expect(c.arms.map((a) => [a.name, a.port])).toEqual([
      ["coder", 8102],
      ["judge", 8103],
      ["executor", 8104],
      ["planner", 8105],
      ["retriever", 8106],
    ]);
    expect(c.dataStores.postgres).toMatchObject({ instances: 3, storage: "100Gi" });
    expect(c.dataStores.redis).toMatchObject({
      replicas: 3,
      sentinelQuorum: 2,
      maxmemory: "2gb",
      maxmemoryPolicy: "allkeys-lru",
      storage: "10Gi",
    });
    expect(c.dataStores.qdrant).toMatchObject({ replicas: 3, storage: "50Gi", clusterMode: true });
    expect(c.reflexLayer).toMatchObject({
      port: 8080,
      resources: { requests: { cpu: "2", memory: "512Mi" }, limits: { cpu: "4", memory: "1Gi" } },
    });
    expect(c.dataStores.storageClass.name).toBe("octollm-fast-ssd");
    expect(c.ingress.host).toBe("api.octollm.io");
  });

  it("keeps dev small enough for a 4 CPU / 8 GiB laptop cluster at its quota", () => {
    const d = parsePlatformConfig({ "octollm:environment": "dev" });
    const q = d.quotas;
    const cpu = (s: string) => (s.endsWith("m") ? Number(s.slice(0, -1)) / 1000 : Number(s));
    const gi = (s: string) =>
      s.endsWith("Gi") ? Number(s.slice(0, -2)) : Number(s.slice(0, -2)) / 1024;
    const totalCpu =
      cpu(q.system.quota["requests.cpu"]) +
      cpu(q.workloads.quota["requests.cpu"]) +
      cpu(q.reflex.quota["requests.cpu"]);
    const totalMem =
      gi(q.system.quota["requests.memory"]) +
      gi(q.workloads.quota["requests.memory"]) +
      gi(q.reflex.quota["requests.memory"]);
    expect(totalCpu).toBeLessThanOrEqual(4);
    expect(totalMem).toBeLessThanOrEqual(8);
    expect(d.dataStores.redis.mode).toBe("standalone");
  });

  it("lets a stack override one arm by name and add a new one with a port only", () => {
    const c = parsePlatformConfig({
      "octollm:environment": "staging",
      "octollm:arms": JSON.stringify([
        { name: "coder", replicas: 3, hpa: { minReplicas: 3 } },
        { name: "summarizer", port: 8107 },
      ]),
    });
    expect(c.arms.find((a) => a.name === "coder")?.replicas).toBe(3);
    expect(c.arms.find((a) => a.name === "judge")?.replicas).toBe(2);
    const added = c.arms.find((a) => a.name === "summarizer");
    expect(added).toMatchObject({
      port: 8107,
      image: { repository: "docker.io/octollm/summarizer-arm" },
    });
  });

  it("keeps defaults per environment in one place, with staging between dev and production", () => {
    const replicas = (env: "dev" | "staging" | "production") =>
      (environmentDefaults(env).orchestrator as { replicas: number }).replicas;
    expect(replicas("dev")).toBeLessThan(replicas("staging"));
    expect(replicas("staging")).toBeLessThan(replicas("production"));
  });
});

describe("bad input is rejected at parse time with key, value and what is allowed", () => {
  it("names a missing or unknown environment", () => {
    expect(configProblems({}, "qa")).toEqual([
      'octollm:environment: got "qa"; must be one of dev, staging, production',
    ]);
  });

  it("rejects unknown top-level and nested keys", () => {
    expect(configProblems({ "octollm:replicaz": 3 })[0]).toMatch(
      /^octollm:replicaz: unknown configuration key; allowed: octollm:environment/,
    );
    expect(configProblems({ "octollm:orchestrator": { replicaz: 3 } })).toContainEqual(
      expect.stringMatching(
        /^octollm:orchestrator: unknown key "replicaz"; allowed here: image, replicas/,
      ),
    );
  });

  it("rejects wrong types", () => {
    expect(configProblems({ "octollm:orchestrator": { replicas: "three" } })).toContainEqual(
      'octollm:orchestrator.replicas: got "three"; must be a number',
    );
    expect(configProblems({ "octollm:orchestrator": { replicas: 1.5 } })).toContainEqual(
      "octollm:orchestrator.replicas: got 1.5; must be a whole number",
    );
    expect(configProblems({ "octollm:orchestrator": { logLevel: "TRACE" } })).toContainEqual(
      'octollm:orchestrator.logLevel: got "TRACE"; must be one of "DEBUG", "INFO", "WARNING", "ERROR"',
    );
  });

  it("refuses monitoring in dev under a system quota too small for it, naming the quota key", () => {
    const monitoring = {
      "octollm:observability": { enabled: true },
      "octollm:operators": { prometheusStack: { install: true } },
    };
    const problems = configProblems(monitoring, "dev").filter((p) => p.includes("monitoring"));
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^octollm:quotas\.system\.quota\.requests\.cpu: got "1"; monitoring .* needs requests\.cpu of at least 1175m/,
      ),
    );
    expect(problems).toContainEqual(
      expect.stringMatching(
        /^octollm:quotas\.system\.quota\.requests\.storage: got "10Gi"; monitoring/,
      ),
    );
    // room for it: the same switch passes
    const roomy = {
      ...monitoring,
      "octollm:quotas": {
        system: {
          quota: {
            "requests.cpu": "4",
            "requests.memory": "8Gi",
            "limits.cpu": "12",
            "limits.memory": "16Gi",
            "requests.storage": "200Gi",
          },
        },
      },
    };
    expect(configProblems(roomy, "dev").filter((p) => p.includes("monitoring"))).toEqual([]);
    // monitoring off (dev's default): no such problem
    expect(configProblems({}, "dev")).toEqual([]);
  });

  it("says a key is required when `null` removed its default, in words, not zod's", () => {
    const problems = configProblems({ "octollm:orchestrator": { image: { tag: null } } });
    expect(problems).toEqual([
      "octollm:orchestrator.image.tag: required: must be a string (it has no default here, or `null` in the stack file removed it)",
    ]);
    expect(problems.join("\n")).not.toMatch(/received|Invalid input|expected string/);
  });

  it("rejects zero or negative replicas", () => {
    expect(configProblems({ "octollm:orchestrator": { replicas: 0 } })).toContainEqual(
      expect.stringMatching(/^octollm:orchestrator\.replicas: got 0; must be ≥ 1$/),
    );
    expect(configProblems({ "octollm:arms": [{ name: "judge", replicas: -2 }] })).toContainEqual(
      expect.stringMatching(/^octollm:arms\[judge\]\.replicas: got -2; must be ≥ 1$/),
    );
  });

  it("rejects minReplicas above maxReplicas", () => {
    expect(
      configProblems({ "octollm:arms": [{ name: "coder", hpa: { minReplicas: 25 } }] }),
    ).toContainEqual(
      "octollm:arms[coder].hpa.minReplicas: got 25; minReplicas 25 is above maxReplicas 20: must be ≤ maxReplicas",
    );
  });

  it("rejects limits below requests", () => {
    expect(
      configProblems({ "octollm:orchestrator": { resources: { limits: { memory: "256Mi" } } } }),
    ).toContainEqual(
      'octollm:orchestrator.resources.limits.memory: got "256Mi"; limit 256Mi is below the request 512Mi: a limit must be at least the request',
    );
  });

  it("rejects unparsable quantities", () => {
    expect(
      configProblems({ "octollm:orchestrator": { resources: { requests: { cpu: "2 cores" } } } }),
    ).toContainEqual(
      'octollm:orchestrator.resources.requests.cpu: got "2 cores"; must be a CPU quantity in cores or millicores, e.g. 500m, 0.5, 2',
    );
  });

  it("rejects a memory quantity for CPU, and its error suggests no memory unit", () => {
    const [problem] = configProblems({
      "octollm:orchestrator": { resources: { limits: { cpu: "2Gi" } } },
    }).filter((p) => p.startsWith("octollm:orchestrator.resources.limits.cpu"));
    expect(problem).toBe(
      'octollm:orchestrator.resources.limits.cpu: got "2Gi"; must be a CPU quantity in cores or millicores, e.g. 500m, 0.5, 2',
    );
    expect(problem).not.toMatch(/\d(Ki|Mi|Gi)\b(?!")/);
    // what a person means by a CPU passes (within the LimitRange's ratio 4 over the 500m request)
    for (const cpu of ["1500m", "1.5", "2", 2])
      expect(
        configProblems({ "octollm:orchestrator": { resources: { limits: { cpu } } } }),
        String(cpu),
      ).toEqual([]);
  });

  it("rejects a bare number (bytes) or millibytes for memory and storage", () => {
    for (const memory of ["2", 2, "512m", "1e9"])
      expect(
        configProblems({ "octollm:orchestrator": { resources: { limits: { memory } } } }),
        String(memory),
      ).toContainEqual(
        `octollm:orchestrator.resources.limits.memory: got ${JSON.stringify(memory)}; must be a memory quantity with a unit, e.g. 512Mi, 1.5Gi, 2G (a bare number is bytes)`,
      );
    expect(
      configProblems({ "octollm:dataStores": { postgres: { storage: "100" } } }),
    ).toContainEqual(
      expect.stringMatching(
        /^octollm:dataStores\.postgres\.storage: got "100"; must be a storage quantity with a unit/,
      ),
    );
    // (within the LimitRange's ratio 4 over the 512Mi request)
    for (const memory of ["2Gi", "1.5Gi", "2G"])
      expect(
        configProblems({ "octollm:orchestrator": { resources: { limits: { memory } } } }),
        memory,
      ).toEqual([]);
  });

  it("rejects missing and `latest` image tags", () => {
    expect(configProblems({ "octollm:orchestrator": { image: { tag: "latest" } } })).toContainEqual(
      'octollm:orchestrator.image.tag: got "latest"; must be a pinned version: `latest` changes under a running cluster',
    );
    expect(configProblems({ "octollm:orchestrator": { image: { tag: "" } } })).toContainEqual(
      expect.stringMatching(/^octollm:orchestrator\.image\.tag: got ""; must be an image tag/),
    );
    expect(
      configProblems({
        "octollm:reflexLayer": { image: { repository: "docker.io/octollm/reflex:v2" } },
      }),
    ).toContainEqual(
      expect.stringMatching(/^octollm:reflexLayer\.image\.repository: .*must not carry a tag/),
    );
  });

  it("rejects a JWT secret under 32 characters without printing it", () => {
    const problems = configProblems({ "octollm:secrets": { jwtSecret: "short-secret-value" } });
    expect(problems).toContainEqual(
      "octollm:secrets.jwtSecret: got <redacted>; must be at least 32 characters",
    );
    expect(problems.join("\n")).not.toContain("short-secret-value");
  });

  it("rejects arm names that are not DNS labels", () => {
    expect(
      configProblems({ "octollm:arms": [{ name: "Code_Reviewer", port: 8110 }] }),
    ).toContainEqual(
      expect.stringMatching(
        /^octollm:arms\[Code_Reviewer\]\.name: got "Code_Reviewer"; must be a DNS label/,
      ),
    );
  });

  it("rejects duplicate arm names and ports", () => {
    expect(
      configProblems({
        "octollm:arms": [
          { name: "x1", port: 8110 },
          { name: "x1", port: 8111 },
        ],
      }),
    ).toEqual(['octollm:arms[x1].name: got "x1" twice; each arm name may appear once']);
    expect(
      configProblems({
        "octollm:arms": [
          { name: "x1", port: 8110 },
          { name: "x2", port: 8110 },
        ],
      }),
    ).toContainEqual(
      "octollm:arms[x2].port: got 8110; port 8110 is already used by arm x1: each arm needs its own port",
    );
  });

  it("rejects an arm port taken by another arm or service", () => {
    expect(configProblems({ "octollm:arms": [{ name: "summarizer", port: 8102 }] })).toContainEqual(
      "octollm:arms[summarizer].port: got 8102; port 8102 is already used by arm coder: each arm needs its own port",
    );
    expect(configProblems({ "octollm:arms": [{ name: "summarizer", port: 9090 }] })).toContainEqual(
      "octollm:arms[summarizer].port: got 9090; port 9090 is already used by orchestrator metrics: each arm needs its own port",
    );
  });

  it("rejects tier rules: Redis maxmemory over its limit, sync replicas ≥ instances, 1-replica Qdrant cluster, PDB over HPA min", () => {
    expect(
      configProblems({ "octollm:dataStores": { redis: { maxmemory: "3gb" } } }),
    ).toContainEqual(
      'octollm:dataStores.redis.maxmemory: got "3gb"; maxmemory 3gb plus 25% headroom exceeds the memory limit 3Gi: raise the limit or lower maxmemory',
    );
    expect(
      configProblems({ "octollm:dataStores": { postgres: { synchronousReplicas: 3 } } }),
    ).toContainEqual(
      "octollm:dataStores.postgres.synchronousReplicas: got 3; 3 synchronous replicas need more than 3 instances: must be < instances",
    );
    expect(configProblems({ "octollm:dataStores": { qdrant: { replicas: 1 } } })).toContainEqual(
      "octollm:dataStores.qdrant.clusterMode: got true; cluster mode with 1 replica is not a cluster: needs ≥ 2 replicas (3 for quorum)",
    );
    expect(configProblems({ "octollm:orchestrator": { pdb: { minAvailable: 3 } } })).toContainEqual(
      "octollm:orchestrator.pdb.minAvailable: got 3; minAvailable 3 is not below the HPA minimum 3: the PDB would block every eviction (node drains hang)",
    );
  });

  it("rejects invalid cron schedules and retentions", () => {
    expect(
      configProblems({ "octollm:backups": { redis: { schedule: "0 25 * * *" } } }),
    ).toContainEqual(
      'octollm:backups.redis.schedule: got "0 25 * * *"; "0 25 * * *" is not a valid cron schedule: hour "25" is outside 0-23',
    );
    expect(
      configProblems({ "octollm:backups": { qdrant: { retention: "a week" } } }),
    ).toContainEqual(
      'octollm:backups.qdrant.retention: got "a week"; must be a retention like 7d, 4w or 1m (days, weeks, months)',
    );
  });

  it("rejects a StorageClass without encryption at rest", () => {
    expect(
      configProblems({
        "octollm:dataStores": { storageClass: { parameters: { encrypted: "false" } } },
      }),
    ).toContainEqual(
      expect.stringMatching(
        /^octollm:dataStores\.storageClass\.parameters: got \{"type":"gp3","encrypted":"false","iops":"3000","throughput":"125"\}; must enable encryption at rest/,
      ),
    );
  });

  it("rejects a backup schedule sparser than the BackupTooOld alert allows", () => {
    expect(
      configProblems({ "octollm:backups": { redis: { schedule: "0 2 * * 0" } } }),
    ).toContainEqual(
      'octollm:observability.alerts.backupMaxAgeHours: got 26; 26h is not more than the 168h between two runs of backups.redis.schedule "0 2 * * 0": BackupTooOld would fire between healthy backups; raise it above 168',
    );
    expect(
      configProblems({
        "octollm:backups": { redis: { schedule: "0 2 * * 0" } },
        "octollm:observability": { alerts: { backupMaxAgeHours: 170 } },
      }),
    ).toEqual([]);
    // dev runs no monitoring, so no alert to keep consistent
    expect(
      configProblems({ "octollm:backups": { redis: { schedule: "0 2 * * 0" } } }, "dev"),
    ).toEqual([]);
  });

  it("reports every problem at once, before anything is registered", () => {
    const problems = configProblems({
      "octollm:orchestrator": { replicas: 0, image: { tag: "latest" } },
      "octollm:ingress": { host: "Not A Host" },
    });
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });
});

describe("helpers", () => {
  it("reads Redis memory units like Redis does", () => {
    expect(redisBytes("2gb")).toBe(2n * 1024n ** 3n);
    expect(redisBytes("2g")).toBe(2_000_000_000n);
    expect(redisBytes("512mb")).toBe(512n * 1024n ** 2n);
  });

  it("measures the longest gap between two runs of a schedule", () => {
    expect(cronMaxGapHours("0 2 * * *")).toBe(24);
    expect(cronMaxGapHours("0 */6 * * *")).toBe(6);
    expect(cronMaxGapHours("0 2 * * 0")).toBe(168);
    expect(cronMaxGapHours("@weekly")).toBe(168);
    expect(cronMaxGapHours("0 2 1 * *")).toBe(31 * 24);
    expect(cronMaxGapHours("30 1,13 * * 1-5")).toBe(60); // Friday 13:30 → Monday 01:30
    expect(cronMaxGapHours("0 0 1,15 * 5")).toBeLessThanOrEqual(7 * 24); // day OR weekday
  });

  it("validates cron expressions", () => {
    expect(cronProblem("0 2 * * *")).toBeUndefined();
    expect(cronProblem("*/15 1-5 * * 1,3")).toBeUndefined();
    expect(cronProblem("0 2 * *")).toMatch(/needs 5 fields/);
    expect(cronProblem("61 2 * * *")).toMatch(/minute "61" is outside 0-59/);
  });
});

describe("private CA lifetimes (ingress.tls.privateCa)", () => {
  const ca = (privateCa: Record<string, number>) => ({
    "octollm:ingress": { tls: { privateCa } },
  });
  it("accepts the defaults and a consistent custom set", () => {
    expect(configProblems({}, "staging")).toEqual([]);
    expect(
      configProblems(
        ca({ caValidityDays: 1000, serverValidityDays: 90, renewBeforeDays: 20 }),
        "dev",
      ),
    ).toEqual([]);
  });
  it("rejects a renewal window as long as the certificate, a CA that cannot outlive it, an over-long server certificate", () => {
    expect(
      configProblems(
        ca({ caValidityDays: 3650, serverValidityDays: 30, renewBeforeDays: 30 }),
        "dev",
      ),
    ).toEqual([
      "octollm:ingress.tls.privateCa.renewBeforeDays: got 30; 30 days is not shorter than serverValidityDays 30: every up would replace the certificate; must be < serverValidityDays",
    ]);
    expect(
      configProblems(
        ca({ caValidityDays: 365, serverValidityDays: 365, renewBeforeDays: 30 }),
        "dev",
      ),
    ).toEqual([
      "octollm:ingress.tls.privateCa.caValidityDays: got 365; 365 days does not outlive a server certificate plus its renewal window (395 days): must be > serverValidityDays + renewBeforeDays",
    ]);
    expect(
      configProblems(
        ca({ caValidityDays: 3650, serverValidityDays: 900, renewBeforeDays: 30 }),
        "dev",
      )[0],
    ).toMatch(/^octollm:ingress\.tls\.privateCa\.serverValidityDays: got 900; .*825/);
  });
});
