/**
 * Bring-your-own credentials (issue 14, item 12): where each credential a pod reads comes from.
 *
 * By default the platform generates the Postgres owner password, the Redis password and the
 * Qdrant API key (components/secrets.ts) and takes the LLM keys from secret config. With
 * `existingSecret` (`dataStores.{postgres,redis,qdrant}.existingSecret`, `llm.existingSecret`) a
 * Secret made outside the stack supplies it instead, and the program neither generates nor
 * writes that credential. Every consumer asks this module for the reference, so a credential has
 * one source in every pod (apps, data stores, exporters, backup jobs, monitors).
 *
 * Connection URLs (DATABASE_URL, REDIS_URL) cannot be written into a Secret without knowing the
 * password; with an existing Secret the pods get the password as its own variable and the URL as
 * a Kubernetes dependent variable, `postgresql://owner:$(DATABASE_PASSWORD)@host...`, expanded by
 * the kubelet at container start: no secret is written anywhere by the program.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { PlatformConfig } from "./config";
import { SECRET_KEYS, SECRET_NAMES, llmKey, redisPasswordSlots } from "./secrets";

type EnvVar = k8s.types.input.core.v1.EnvVar;

export interface SecretRef {
  name: string;
  key: string;
  /** made outside the stack (existingSecret) */
  external: boolean;
}

export type Credential = "database" | "redis" | "qdrant";

/**
 * The Secret and key that hold a credential. For Redis: the password of passwordRotation's
 * active slot (with an existing Secret, `key` for slot a and `keyB` for slot b).
 */
export function credentialRef(config: PlatformConfig, what: Credential): SecretRef {
  const stores = config.dataStores;
  if (what === "redis") {
    const existing = stores.redis.existingSecret;
    if (existing) return redisSlotRef(existing, redisPasswordSlots(config).password);
    return { name: SECRET_NAMES.redis, key: SECRET_KEYS.password, external: false };
  }
  const existing =
    what === "database" ? stores.postgres.existingSecret : stores.qdrant.existingSecret;
  if (existing) return { name: existing.name, key: existing.key, external: true };
  const ours = {
    database: { name: SECRET_NAMES.database, key: SECRET_KEYS.password },
    qdrant: { name: SECRET_NAMES.qdrant, key: SECRET_KEYS.apiKey },
  }[what];
  return { ...ours, external: false };
}

type RedisExistingSecret = NonNullable<PlatformConfig["dataStores"]["redis"]["existingSecret"]>;

function redisSlotRef(existing: RedisExistingSecret, slot: "a" | "b"): SecretRef {
  // config.ts refuses a rotation that uses slot b without keyB; this is a guard, not a path.
  const key = slot === "a" ? existing.key : existing.keyB;
  if (key === undefined) throw new Error("dataStores.redis.existingSecret.keyB is not set");
  return { name: existing.name, key, external: true };
}

/**
 * What the Redis servers and Sentinels accept besides the active password (redisPasswordSlots'
 * `accept` slot: the other one while acceptBoth, else the active one again). Read by the init
 * container only; clients never see it.
 */
export function redisAcceptRef(config: PlatformConfig): SecretRef {
  const existing = config.dataStores.redis.existingSecret;
  if (existing) return redisSlotRef(existing, redisPasswordSlots(config).accept);
  return { name: SECRET_NAMES.redisServer, key: SECRET_KEYS.acceptPassword, external: false };
}

/** The Secret and key of an LLM provider's API key. */
export function llmKeyRef(config: PlatformConfig, provider: string): SecretRef {
  const existing = config.llm.existingSecret;
  if (existing)
    return {
      name: existing.name,
      key: existing.keys?.[provider] ?? llmKey(provider).key,
      external: true,
    };
  return { name: SECRET_NAMES.llm, key: llmKey(provider).key, external: false };
}

/** The CloudNativePG bootstrap Secret (kubernetes.io/basic-auth: username, password). */
export function postgresOwnerSecret(config: PlatformConfig): { name: string; external: boolean } {
  const existing = config.dataStores.postgres.existingSecret;
  return existing
    ? { name: existing.name, external: true }
    : { name: SECRET_NAMES.postgresOwner, external: false };
}

/**
 * Names of the existing Secrets the stack reads. Pods that reference them declare them in
 * `octollm.io/external-secrets` (the builder keeps only the ones a pod really reads), so the
 * config-references policy proves every other Secret exists in the stack.
 */
export function externalCredentialSecrets(config: PlatformConfig): string[] {
  const names = [
    ...(["database", "redis", "qdrant"] as const)
      .map((c) => credentialRef(config, c))
      .filter((r) => r.external)
      .map((r) => r.name),
    ...(config.llm.existingSecret ? [config.llm.existingSecret.name] : []),
  ];
  return [...new Set(names)];
}

/** An env var from a credential reference. */
export function refEnv(name: string, ref: SecretRef, optional = false): EnvVar {
  return {
    name,
    valueFrom: {
      secretKeyRef: { name: ref.name, key: ref.key, ...(optional ? { optional: true } : {}) },
    },
  };
}

/**
 * A connection URL: read whole from our Secret, or, with an existing Secret, composed from the
 * password variable by Kubernetes' `$(VAR)` expansion (the password must then be URL-safe).
 */
export function urlEnv(
  name: string,
  ours: { secret: string; key: string },
  password: { env: string; ref: SecretRef },
  template: (passwordVar: string) => string,
): EnvVar[] {
  if (!password.ref.external) {
    return [{ name, valueFrom: { secretKeyRef: { name: ours.secret, key: ours.key } } }];
  }
  return [refEnv(password.env, password.ref), { name, value: template(`$(${password.env})`) }];
}
