/**
 * Issue 14 item 12: bring-your-own credentials. `existingSecret` for the Postgres owner, the
 * Redis password, the Qdrant API key and the LLM keys replaces the generated ones: nothing is
 * generated or written for them, every consumer reads the existing Secret, URLs are composed by
 * Kubernetes' `$(VAR)` expansion, and the config-references policy still proves every Secret a
 * pod reads exists in the stack or is declared external.
 */
import { describe, expect, it } from "vitest";
import { evaluatePolicies, loadPolicyConfig } from "../../policies/evaluate";
import { validateObjects } from "../../scripts/validate";
import {
  configProblems,
  containerOf,
  envOf,
  findObject,
  kubernetesObjects,
  ofKind,
  ofType,
  podSpecOf,
  renderStack,
  renderedResources,
} from "../harness";

const byo = {
  "octollm:dataStores": {
    postgres: { existingSecret: { name: "pg-owner", key: "password" } },
    redis: { existingSecret: { name: "redis-auth", key: "redis-password" } },
    qdrant: { existingSecret: { name: "qdrant-auth", key: "api-key" } },
  },
  "octollm:llm": {
    existingSecret: { name: "llm-keys", keys: { openai: "OPENAI" } },
  },
};
const NS = "octollm-production";

function secretRef(env: Map<string, Record<string, any>>, name: string) {
  return env.get(name)?.valueFrom?.secretKeyRef as Record<string, unknown> | undefined;
}

describe("existingSecret: the schema", () => {
  it("accepts an existing Secret for each credential", () => {
    expect(configProblems(byo)).toEqual([]);
  });

  it.each([
    [
      "a Postgres key other than password (CloudNativePG reads basic-auth)",
      { "octollm:dataStores": { postgres: { existingSecret: { name: "pg", key: "pw" } } } },
      /octollm:dataStores\.postgres\.existingSecret\.key: .*must be "password"/,
    ],
    [
      "a Secret name that is no Kubernetes name",
      { "octollm:dataStores": { redis: { existingSecret: { name: "Redis_Auth", key: "p" } } } },
      /octollm:dataStores\.redis\.existingSecret\.name: got "Redis_Auth"; must be a Kubernetes Secret name/,
    ],
    [
      "LLM keys from config and from an existing Secret at once",
      {
        "octollm:llm": { existingSecret: { name: "llm-keys" } },
        "octollm:secrets": { llmApiKeys: { openai: "sk-test-not-a-real-key-000000" } },
      },
      /octollm:llm\.existingSecret: .*the LLM keys come from one place/,
    ],
    [
      "a key for a provider that is not configured",
      { "octollm:llm": { existingSecret: { name: "llm-keys", keys: { mistral: "m" } } } },
      /octollm:llm\.existingSecret\.keys\.mistral: .*"mistral" is not in llm\.providers \(openai, anthropic\)/,
    ],
  ])("rejects %s, naming the key", (_what, overrides, message) => {
    const problems = configProblems(overrides).join("\n");
    expect(problems).toMatch(message);
    expect(problems).not.toContain("sk-test-not-a-real-key");
  });
});

describe("existingSecret: the rendered production stack", () => {
  const run = () => renderStack("production", byo);

  it("generates and writes none of those credentials", async () => {
    const r = await run();
    const passwords = ofType(r, "random:index/randomPassword:RandomPassword").map((p) => p.name);
    expect(passwords.some((n) => /postgres-owner|qdrant-api-key/.test(n))).toBe(false);
    // Neither Redis slot: the only Redis-related random value is the seed of the renamed CONFIG
    // command's name, which must not be derived from the user's password.
    expect(passwords.filter((n) => /redis/.test(n))).toEqual([
      "octollm-secrets-redis-config-command",
    ]);
    expect(passwords.some((n) => /grafana-admin/.test(n))).toBe(true); // still ours
    const secrets = ofKind(kubernetesObjects(r), "Secret").map((s) => s.metadata.name);
    for (const name of [
      "postgres-owner-credentials",
      "redis-credentials",
      "redis-server-credentials",
      "qdrant-credentials",
      "llm-credentials",
    ])
      expect(secrets, name).not.toContain(name);
    // The connection facts stay; the password and the URL do not exist anywhere of ours.
    const database = findObject(kubernetesObjects(r), "Secret", "octollm-database", NS) as Record<
      string,
      any
    >;
    expect(Object.keys(database.stringData as object).sort()).toEqual([
      "database",
      "host",
      "port",
      "username",
    ]);
  });

  it("points every consumer at the existing Secrets and composes the URLs", async () => {
    const objects = kubernetesObjects(await run());
    const orchestrator = envOf(containerOf(findObject(objects, "Deployment", "orchestrator", NS)));
    expect(secretRef(orchestrator, "DATABASE_PASSWORD")).toEqual({
      name: "pg-owner",
      key: "password",
    });
    expect(orchestrator.get("DATABASE_URL")?.value).toBe(
      `postgresql://octollm:$(DATABASE_PASSWORD)@postgres-rw.${NS}.svc.cluster.local:5432/octollm?sslmode=require`,
    );
    expect(secretRef(orchestrator, "REDIS_PASSWORD")).toEqual({
      name: "redis-auth",
      key: "redis-password",
    });
    expect(orchestrator.get("REDIS_URL")?.value).toBe(
      `redis+sentinel://:$(REDIS_PASSWORD)@redis-sentinel.${NS}.svc.cluster.local:26379/mymaster/0`,
    );
    // Kubernetes expands $(VAR) only from variables defined earlier in the list.
    const names = [...orchestrator.keys()];
    expect(names.indexOf("DATABASE_PASSWORD")).toBeLessThan(names.indexOf("DATABASE_URL"));
    expect(names.indexOf("REDIS_PASSWORD")).toBeLessThan(names.indexOf("REDIS_URL"));
    expect(secretRef(orchestrator, "QDRANT_API_KEY")).toEqual({
      name: "qdrant-auth",
      key: "api-key",
    });
    expect(secretRef(orchestrator, "OPENAI_API_KEY")).toEqual({
      name: "llm-keys",
      key: "OPENAI",
      optional: true,
    });
    expect(secretRef(orchestrator, "ANTHROPIC_API_KEY")).toEqual({
      name: "llm-keys",
      key: "anthropic-api-key",
      optional: true,
    });

    const cluster = findObject(objects, "Cluster", "postgres", NS) as Record<string, any>;
    expect(cluster.spec.bootstrap.initdb.secret).toEqual({ name: "pg-owner" });

    const redis = findObject(objects, "StatefulSet", "redis", NS);
    const spec = podSpecOf(redis);
    for (const c of [...spec.initContainers, ...spec.containers] as Record<string, any>[]) {
      for (const e of (c.env ?? []) as Record<string, any>[]) {
        const ref = e.valueFrom?.secretKeyRef as { name?: string } | undefined;
        // The renamed CONFIG command's name is ours (no password in it).
        if (ref && e.name !== "REDIS_CONFIG_COMMAND")
          expect(ref.name, `${c.name} ${e.name}`).toBe("redis-auth");
      }
    }
    const qdrant = envOf(containerOf(findObject(objects, "StatefulSet", "qdrant", NS), "qdrant"));
    expect(secretRef(qdrant, "QDRANT__SERVICE__API_KEY")).toEqual({
      name: "qdrant-auth",
      key: "api-key",
    });
    const reflex = envOf(containerOf(findObject(objects, "DaemonSet", "reflex-layer")));
    expect(secretRef(reflex, "REDIS_PASSWORD")?.name).toBe("redis-auth");
    const monitor = findObject(objects, "PodMonitor", "qdrant", NS) as Record<string, any>;
    expect(monitor.spec.podMetricsEndpoints[0].authorization.credentials).toEqual({
      name: "qdrant-auth",
      key: "api-key",
    });
  });

  it("declares on each pod exactly the existing Secrets it reads", async () => {
    const objects = kubernetesObjects(await run());
    const external = (kind: string, name: string) =>
      (
        (findObject(objects, kind, name) as Record<string, any>).spec.template.metadata
          .annotations?.["octollm.io/external-secrets"] ?? ""
      )
        .split(",")
        .filter(Boolean)
        .sort();
    expect(external("Deployment", "orchestrator")).toEqual([
      "llm-keys",
      "pg-owner",
      "qdrant-auth",
      "redis-auth",
    ]);
    // executor: Redis only (no Postgres, Qdrant or LLM).
    expect(external("Deployment", "executor-arm")).toEqual(["redis-auth"]);
    expect(external("DaemonSet", "reflex-layer")).toEqual(["redis-auth"]);
    expect(external("StatefulSet", "qdrant")).toEqual(["qdrant-auth"]);
  });

  it("validates against the schemas and passes every mandatory policy", async () => {
    const r = await run();
    expect((await validateObjects(kubernetesObjects(r))).errors).toEqual([]);
    const report = await evaluatePolicies(renderedResources(r), loadPolicyConfig("production"));
    const mandatory = report.violations.filter((v) => v.enforcementLevel === "mandatory");
    expect(mandatory.map((v) => `${v.policy}: ${v.message}`)).toEqual([]);
  });

  it("still catches an undeclared existing Secret and a URL around a variable not from a Secret", async () => {
    const resources = renderedResources(await run());
    const deployment = resources.find(
      (r) =>
        (r.props as { kind?: string }).kind === "Deployment" &&
        (r.props as { metadata?: { name?: string } }).metadata?.name === "orchestrator",
    );
    const template = (deployment?.props as Record<string, any>).spec.template;
    delete template.metadata.annotations["octollm.io/external-secrets"];
    const env = template.spec.containers[0].env as Record<string, any>[];
    const url = env.find((e) => e.name === "DATABASE_URL") as Record<string, any>;
    url.value = String(url.value).replace("$(DATABASE_PASSWORD)", "$(NOT_FROM_A_SECRET)");
    const report = await evaluatePolicies(resources, loadPolicyConfig("production"));
    const messages = report.violations.map((v) => `${v.policy}: ${v.message}`).join("\n");
    expect(messages).toMatch(/config-references: .*env DATABASE_PASSWORD reads Secret pg-owner/);
    expect(messages).toMatch(
      /no-secret-literals-in-env: .*env DATABASE_URL is a literal URL with embedded credentials/,
    );
    // The composed REDIS_URL next to it is not reported.
    expect(messages).not.toMatch(/env REDIS_URL/);
  });
});

/**
 * Redis keeps its two-slot rotation with an existing Secret: `key` is slot a, `keyB` slot b, and
 * passwordRotation picks which key every reader uses, as it picks the generated slots.
 */
describe("existingSecret: Redis password rotation with the user's Secret", () => {
  const withRotation = (
    rotation: { active: "a" | "b"; acceptBoth: boolean },
    secret: Record<string, string> = { name: "redis-auth", key: "password-a", keyB: "password-b" },
  ) => ({
    "octollm:dataStores": { redis: { existingSecret: secret, passwordRotation: rotation } },
  });

  it.each([
    [{ active: "a", acceptBoth: true }, "active a, acceptBoth true"],
    [{ active: "b", acceptBoth: false }, "active b, acceptBoth false"],
  ] as const)("refuses a rotation that uses slot b without keyB (%j)", (rotation, phase) => {
    const problems = configProblems(
      withRotation(rotation, { name: "redis-auth", key: "password-a" }),
    ).join("\n");
    expect(problems).toContain(
      `octollm:dataStores.redis.existingSecret.keyB: got nothing; dataStores.redis.passwordRotation (${phase}) uses slot b: name the key of slot b's password in Secret "redis-auth" (keyB)`,
    );
  });

  it("refuses keyB equal to key, and accepts the steady state without keyB", () => {
    expect(
      configProblems(
        withRotation(
          { active: "a", acceptBoth: true },
          { name: "redis-auth", key: "pw", keyB: "pw" },
        ),
      ).join("\n"),
    ).toMatch(
      /octollm:dataStores\.redis\.existingSecret\.keyB: .*"pw" is also key: slot b needs its own key/,
    );
    expect(
      configProblems(
        withRotation({ active: "a", acceptBoth: false }, { name: "redis-auth", key: "pw" }),
      ),
    ).toEqual([]);
  });

  // Each phase of docs/runbook.md: the key clients, servers (REDIS_PASSWORD: masterauth,
  // auth-pass, sentinel-pass) and the init script's second accepted password read.
  const PHASES = [
    { active: "a", acceptBoth: false, phase: "a", uses: "password-a", accepts: "password-a" },
    { active: "a", acceptBoth: true, phase: "a+b", uses: "password-a", accepts: "password-b" },
    { active: "b", acceptBoth: true, phase: "b+a", uses: "password-b", accepts: "password-a" },
    { active: "b", acceptBoth: false, phase: "b", uses: "password-b", accepts: "password-b" },
  ] as const;

  it.each(PHASES)(
    "phase $phase: every reader takes the active slot's key, the servers also accept $accepts",
    async (p) => {
      const run = await renderStack(
        "production",
        withRotation({ active: p.active, acceptBoth: p.acceptBoth }),
      );
      const objects = kubernetesObjects(run);
      const sts = findObject(objects, "StatefulSet", "redis", NS);
      expect(
        (sts as Record<string, any>).spec.template.metadata.annotations[
          "octollm.io/password-phase"
        ],
      ).toBe(p.phase);
      const spec = podSpecOf(sts);
      const init = envOf(spec.initContainers[0]);
      expect(secretRef(init, "REDIS_PASSWORD")).toEqual({ name: "redis-auth", key: p.uses });
      expect(secretRef(init, "REDIS_ACCEPT_PASSWORD")).toEqual({
        name: "redis-auth",
        key: p.accepts,
      });
      for (const c of ["redis", "sentinel", "exporter"]) {
        const env = envOf(containerOf(sts, c));
        expect(secretRef(env, "REDIS_PASSWORD"), c).toEqual({ name: "redis-auth", key: p.uses });
      }
      const clients = [
        envOf(containerOf(findObject(objects, "Deployment", "orchestrator", NS))),
        envOf(containerOf(findObject(objects, "Deployment", "executor-arm", NS))),
        envOf(containerOf(findObject(objects, "DaemonSet", "reflex-layer"))),
      ];
      for (const env of clients)
        expect(secretRef(env, "REDIS_PASSWORD")).toEqual({ name: "redis-auth", key: p.uses });
      const backup = findObject(objects, "CronJob", "redis-backup", NS) as Record<string, any>;
      const backupEnv = envOf(backup.spec.jobTemplate.spec.template.spec.containers[0]);
      expect(secretRef(backupEnv, "REDISCLI_AUTH")).toEqual({ name: "redis-auth", key: p.uses });
      // Nothing of ours holds a Redis password in any phase.
      const secrets = ofKind(objects, "Secret").map((o) => o.metadata.name);
      expect(secrets).not.toContain("redis-credentials");
      expect(secrets).not.toContain("redis-server-credentials");
    },
  );
});
