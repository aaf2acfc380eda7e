/**
 * Which setting names are credentials: one rule (components/k8s/sensitive.ts) for the config
 * schema's plain `env` and for the pack's env and ConfigMap checks. Real-world names both ways.
 */
import { describe, expect, it } from "vitest";
import { isSensitiveName } from "../../components/k8s/sensitive";
import { compliantStack, find } from "../fixtures/stack";
import { configProblems } from "../harness";
import { clone, evaluate, messagesOf } from "./helpers";

const CREDENTIALS = [
  "OPENAI_API_KEY",
  "ANTHROPIC_API_KEY",
  "OPENAI_KEY",
  "openaiApiKey",
  "apiKey",
  "APIKEY",
  "GITHUB_TOKEN",
  "HF_TOKEN",
  "SLACK_BOT_TOKEN",
  "ACCESS_TOKEN",
  "REFRESH_TOKEN",
  "authToken",
  "REDIS_PASSWORD",
  "POSTGRES_PASSWORD",
  "PGPASSWORD",
  "DB_PASSWD",
  "SSH_PASSPHRASE",
  "JWT_SECRET",
  "CLIENT_SECRET",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_ACCESS_KEY_ID",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "DB_CREDENTIALS",
  "TLS_PRIVATE_KEY",
  "SSH_PRIVATE_KEY",
  "ENCRYPTION_KEY",
  "SIGNING_KEY",
  "tls.key",
  "server.key",
  "KEY",
];

const ORDINARY = [
  "MAX_TOKENS",
  "MAX_INPUT_TOKENS",
  "MAX_OUTPUT_TOKENS",
  "maxTokens",
  "MAX_TOKEN_COUNT",
  "TOKEN_LIMIT",
  "TOKENS_PER_MINUTE",
  "PROMPT_TOKEN_BUDGET",
  "CONTEXT_WINDOW_TOKENS",
  "EMBEDDING_MAX_TOKENS",
  "TOKENIZER",
  "TOKENIZER_PATH",
  "CACHE_KEY_PREFIX",
  "CACHE_KEY",
  "PARTITION_KEY",
  "ROUTING_KEY",
  "IDEMPOTENCY_KEY_HEADER",
  "KEYCLOAK_REALM",
  "KEYSPACE",
  "MONKEY_PATCH",
  "TOKEN_TTL",
  "PASSWORD_MIN_LENGTH",
  "TLS_KEY_FILE",
  "API_KEY_HEADER",
  "JWT_SECRET_NAME",
  "LOG_LEVEL",
  "QDRANT_URL",
  "ca.crt",
];

describe("isSensitiveName", () => {
  it.each(CREDENTIALS)("%s names a credential", (name) => {
    expect(isSensitiveName(name)).toBe(true);
  });
  it.each(ORDINARY)("%s is an ordinary setting", (name) => {
    expect(isSensitiveName(name)).toBe(false);
  });
});

describe("the config schema's plain env", () => {
  it("accepts token-count limits and cache key prefixes, refuses credential names", () => {
    expect(
      configProblems({
        "octollm:orchestrator": {
          env: { MAX_TOKENS: "4096", MAX_INPUT_TOKENS: "8192", CACHE_KEY_PREFIX: "octo:" },
        },
      }),
    ).toEqual([]);
    const problems = configProblems({
      "octollm:orchestrator": { env: { MAX_TOKENS: "4096", HF_TOKEN: "x", OPENAI_API_KEY: "y" } },
    });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^octollm:orchestrator\.env\.HF_TOKEN: .*looks sensitive/);
    expect(problems[1]).toMatch(/^octollm:orchestrator\.env\.OPENAI_API_KEY: .*looks sensitive/);
  });
});

describe("the pack on LLM settings", () => {
  it("no-secret-literals-in-env: literal token limits pass, a literal credential does not", async () => {
    const stack = clone(compliantStack());
    const c = find(stack, "Deployment", "orchestrator").spec.template.spec.containers[0];
    c.env.push(
      ...ORDINARY.filter((n) => /^[A-Za-z_]\w*$/.test(n)).map((name) => ({ name, value: "42" })),
      { name: "HF_TOKEN", value: "hf_abc" },
      // a key-shaped value is caught whatever its name
      { name: "MAX_TOKENS_NOTE", value: "sk-proj-abcdefghijklmnopqrstuvwxyz" },
    );
    expect(messagesOf(await evaluate(stack), "no-secret-literals-in-env")).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" env HF_TOKEN looks sensitive but has a literal value; read it from a Secret (secretKeyRef)',
      'Deployment octollm-production/orchestrator: container "orchestrator" env MAX_TOKENS_NOTE has a literal value that looks like an LLM provider API key; read it from a Secret',
    ]);
  });

  it("no-secrets-in-configmaps: token limits and cache prefixes pass, credential keys do not", async () => {
    const stack = clone(compliantStack());
    const cm = find(stack, "ConfigMap", "orchestrator-config");
    cm.data = {
      MAX_TOKENS: "4096",
      MAX_INPUT_TOKENS: "8192",
      CACHE_KEY_PREFIX: "octo:",
      ANTHROPIC_API_KEY: "x",
    };
    expect(messagesOf(await evaluate(stack), "no-secrets-in-configmaps")).toEqual([
      'ConfigMap octollm-production/orchestrator-config: key "ANTHROPIC_API_KEY" looks sensitive; put it in a Secret',
    ]);
  });
});
