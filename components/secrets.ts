/**
 * Platform secrets: credentials generated with @pulumi/random (stable across `pulumi up`: they
 * live in the stack state), put into Kubernetes Secrets through `stringData`, and marked secret.
 * LLM provider keys are never generated: they come from `pulumi config set --secret`.
 * For private-CA TLS (dev/staging) a CA and a server certificate are made with @pulumi/tls.
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { PlatformConfig } from "./config";
import type { NamespaceRole } from "./foundation";
import { standardLabels } from "./k8s/labels";

/** Names of the Kubernetes Secrets every tier refers to. */
export const SECRET_NAMES = {
  /** CloudNativePG bootstrap owner credentials (kubernetes.io/basic-auth) */
  postgresOwner: "postgres-owner-credentials",
  /** what applications use: url, host, port, database, username, password */
  database: "octollm-database",
  redis: "redis-credentials",
  /** Redis servers and Sentinels only (workloads namespace): the password they also accept */
  redisServer: "redis-server-credentials",
  /** the stable name of Redis' renamed CONFIG command (see secrets.ts) */
  redisConfigCommand: "redis-config-command",
  qdrant: "qdrant-credentials",
  jwt: "octollm-jwt",
  llm: "llm-credentials",
  grafanaAdmin: "grafana-admin",
  tls: "octollm-tls",
} as const;

/** Keys inside those Secrets. */
export const SECRET_KEYS = {
  username: "username",
  password: "password",
  url: "url",
  apiKey: "api-key",
  jwt: "secret",
  adminUser: "admin-user",
  adminPassword: "admin-password",
  /** redis-server-credentials: the other slot's password while acceptBoth, else the active one */
  acceptPassword: "accept-password",
  /** redis-config-command */
  commandName: "name",
} as const;

/** The env var and Secret key of an LLM provider's API key: openai → OPENAI_API_KEY / openai-api-key. */
export function llmKey(provider: string): { env: string; key: string } {
  return {
    env: `${provider.toUpperCase().replace(/-/g, "_")}_API_KEY`,
    key: `${provider}-api-key`,
  };
}

/**
 * Lifetimes of the private CA and its server certificate (`ingress.tls.privateCa`), in the
 * hours @pulumi/tls takes. The CA renews early enough that the last server certificate it signs
 * still expires before it does (config.ts checks caValidityDays leaves room for that).
 */
export function tlsLifetimeHours(config: PlatformConfig) {
  const ca = config.ingress.tls.privateCa;
  return {
    ca: {
      validity: 24 * ca.caValidityDays,
      earlyRenewal: 24 * (ca.serverValidityDays + ca.renewBeforeDays),
    },
    server: { validity: 24 * ca.serverValidityDays, earlyRenewal: 24 * ca.renewBeforeDays },
  };
}

/**
 * Namespaces whose `octollm-tls` Secret the edge reads: the Gateway's (system) namespace, or,
 * with Ingress objects (one per backend namespace), both backend namespaces.
 */
export function edgeTlsRoles(config: PlatformConfig): NamespaceRole[] {
  return config.ingress.kind === "gateway" ? ["system"] : ["workloads", "reflex"];
}

/** ConfigMap holding the private CA certificate (public), for clients that must trust it. */
export const CA_CONFIGMAP = "octollm-ca";

/** The application's database URL around a password (a value, or a `$(VAR)` reference). */
export function databaseUrl(config: PlatformConfig, password: string): string {
  const pg = config.dataStores.postgres;
  // Through PgBouncer (the Pooler's Service, data-stores/pooler.ts) when pooling is on.
  const service = pg.pooler.enabled ? "postgres-pooler-rw" : "postgres-rw";
  const host = serviceHost(service, config.namespaces.workloads);
  const sslmode = pg.requireTls ? "require" : "prefer";
  return `postgresql://${pg.owner}:${password}@${host}:5432/${pg.database}?sslmode=${sslmode}`;
}

/** The Redis URL around a password: through the Sentinels in sentinel mode, direct otherwise. */
export function redisUrl(config: PlatformConfig, password: string): string {
  const ns = config.namespaces.workloads;
  return config.dataStores.redis.mode === "sentinel"
    ? `redis+sentinel://:${password}@${serviceHost("redis-sentinel", ns)}:26379/mymaster/0`
    : `redis://:${password}@${serviceHost("redis", ns)}:6379/0`;
}

/** In-cluster addresses derived from the stack's namespaces. */
export function serviceHost(service: string, namespace: string): string {
  return `${service}.${namespace}.svc.cluster.local`;
}

/**
 * Which Redis password slot goes where in a rotation phase: `password` (redis-credentials: clients,
 * masterauth, Sentinel auth-pass and sentinel-pass) and `accept` (redis-server-credentials: the
 * servers accept it besides `password`; the same slot when no rotation runs).
 */
export function redisPasswordSlots(config: PlatformConfig): {
  password: "a" | "b";
  accept: "a" | "b";
} {
  const { active, acceptBoth } = config.dataStores.redis.passwordRotation;
  const other = active === "a" ? "b" : "a";
  return { password: active, accept: acceptBoth ? other : active };
}

export interface PlatformSecretsArgs {
  config: PlatformConfig;
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
}

export class PlatformSecrets extends pulumi.ComponentResource {
  /** the private CA certificate (PEM) in private-ca mode; public, safe to export */
  public readonly caCertificate: pulumi.Output<string> | undefined;
  /** LLM providers without a configured key */
  public readonly missingLlmKeys: string[];

  constructor(name: string, args: PlatformSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:foundation:PlatformSecrets", name, {}, opts);
    const { config, namespaces } = args;
    const instance = `octollm-${config.environment}`;
    const labels = standardLabels({ name: "platform-secrets", component: "foundation", instance });
    const child = { parent: this };
    const ns = config.namespaces;

    // URL-safe alphabets: these values end up inside connection URLs.
    const password = (id: string, length: number) =>
      new random.RandomPassword(
        `${name}-${id}`,
        { length, special: false, minLower: 2, minUpper: 2, minNumeric: 2 },
        child,
      );

    const grafanaPassword = password("grafana-admin", 32);
    const jwt: pulumi.Output<string> = config.secrets.jwtSecret
      ? pulumi.secret(config.secrets.jwtSecret)
      : password("jwt", 64).result;

    const secret = (
      id: string,
      secretName: string,
      namespace: pulumi.Output<string>,
      data: Record<string, pulumi.Input<string>>,
      type = "Opaque",
    ) =>
      new k8s.core.v1.Secret(
        `${name}-${id}`,
        {
          metadata: { name: secretName, namespace, labels },
          type,
          // Each value is secret on its own so the keys stay visible to reviews and policies.
          stringData: Object.fromEntries(
            Object.entries(data).map(([k, v]) => [k, pulumi.secret(v)]),
          ),
        },
        { ...child, additionalSecretOutputs: ["data", "stringData"] },
      );

    // Bring-your-own credentials (existingSecret): nothing generated, nothing written for them.
    const pg = config.dataStores.postgres;
    const pgHost = serviceHost("postgres-rw", ns.workloads);
    const pgConnection = {
      host: pgHost,
      port: "5432",
      database: pg.database,
      username: pg.owner,
    };
    if (pg.existingSecret) {
      // Connection facts only; the password (and so the URL) lives in the existing Secret.
      secret("database", SECRET_NAMES.database, namespaces.workloads, pgConnection);
    } else {
      const postgresPassword = password("postgres-owner", 32);
      secret(
        "postgres-owner",
        SECRET_NAMES.postgresOwner,
        namespaces.workloads,
        { username: pg.owner, password: postgresPassword.result },
        "kubernetes.io/basic-auth",
      );
      secret("database", SECRET_NAMES.database, namespaces.workloads, {
        ...pgConnection,
        password: postgresPassword.result,
        url: postgresPassword.result.apply((p) => databaseUrl(config, p)),
      });
    }

    const redis = config.dataStores.redis;
    // Redis has two password slots so a rotation never leaves anybody unauthenticated: slot a
    // (the original resource, URN unchanged) and slot b. dataStores.redis.passwordRotation says
    // which one is in use and whether the servers accept both (docs/runbook.md). With
    // existingSecret the slots are two keys of the user's Secret (credentials.ts) and the pods
    // read them there: nothing generated, nothing written.
    let configCommandSeed: pulumi.Output<string>;
    if (!redis.existingSecret) {
      const redisSlots = { a: password("redis", 32), b: password("redis-b", 32) };
      const slots = redisPasswordSlots(config);
      const redisPassword = redisSlots[slots.password];
      const url = redisPassword.result.apply((p) => redisUrl(config, p));
      // The reflex layer lives in its own namespace and Secrets are namespaced: it gets a copy.
      for (const role of ["workloads", "reflex"] as const) {
        secret(`redis-${role}`, SECRET_NAMES.redis, namespaces[role], {
          password: redisPassword.result,
          url,
        });
      }
      // What the servers accept besides the active password: the other slot while a rotation
      // runs, else the active one again (the init script then writes a single password).
      secret("redis-server", SECRET_NAMES.redisServer, namespaces.workloads, {
        [SECRET_KEYS.acceptPassword]: redisSlots[slots.accept].result,
      });
      configCommandSeed = redisSlots.a.result;
    } else {
      // Only the CONFIG name below needs a seed; it must not depend on the user's password.
      configCommandSeed = password("redis-config-command", 32).result;
    }
    if (redis.disableDangerousCommands) {
      // CONFIG is renamed (Sentinel still needs it) to a name that must be the same on every
      // Redis and Sentinel at all times: a mismatch makes a failover's MULTI … CONFIG REWRITE …
      // EXEC abort, SLAVEOF NO ONE included. It used to be derived from the password in the
      // pod, so a rotation changed it mid-roll. Now it is computed once, from slot a as it is
      // when this Secret is created (the same name the old derivation gave, so existing sets
      // keep it), and frozen: ignoreChanges keeps it when slot a is replaced later, or when the
      // stack moves to (or from) an existing Secret and the seed changes.
      new k8s.core.v1.Secret(
        `${name}-redis-config-command`,
        {
          metadata: {
            name: SECRET_NAMES.redisConfigCommand,
            namespace: namespaces.workloads,
            labels,
          },
          type: "Opaque",
          stringData: {
            [SECRET_KEYS.commandName]: pulumi.secret(
              configCommandSeed.apply(
                (p) => `CONFIG_${createHash("sha256").update(p).digest("hex").slice(0, 32)}`,
              ),
            ),
          },
        },
        {
          ...child,
          additionalSecretOutputs: ["data", "stringData"],
          ignoreChanges: ["stringData", "data"],
        },
      );
    }
    if (!config.dataStores.qdrant.existingSecret) {
      secret("qdrant", SECRET_NAMES.qdrant, namespaces.workloads, {
        [SECRET_KEYS.apiKey]: password("qdrant-api-key", 48).result,
      });
    }
    secret("jwt", SECRET_NAMES.jwt, namespaces.workloads, { [SECRET_KEYS.jwt]: jwt });
    secret("grafana-admin", SECRET_NAMES.grafanaAdmin, namespaces.system, {
      [SECRET_KEYS.adminUser]: "admin",
      [SECRET_KEYS.adminPassword]: grafanaPassword.result,
    });

    const llmData: Record<string, pulumi.Input<string>> = {};
    this.missingLlmKeys = [];
    for (const provider of config.llm.providers) {
      const value = config.secrets.llmApiKeys[provider];
      if (value) llmData[llmKey(provider).key] = pulumi.secret(value);
      else this.missingLlmKeys.push(provider);
    }
    if (config.llm.existingSecret) this.missingLlmKeys = [];
    for (const provider of this.missingLlmKeys) {
      void pulumi.log.warn(
        `LLM provider "${provider}" has no API key: pods start without ${llmKey(provider).env}. ` +
          `Set it with: pulumi config set --secret --path 'octollm:secrets.llmApiKeys.${provider}' <key>`,
        this,
      );
    }
    // With llm.existingSecret the keys are in that Secret; the program writes none.
    if (!config.llm.existingSecret) secret("llm", SECRET_NAMES.llm, namespaces.workloads, llmData);

    this.caCertificate = undefined;
    if (config.ingress.enabled && config.ingress.tls.mode === "private-ca") {
      this.caCertificate = this.privateCa(name, config, namespaces, labels);
    }

    this.registerOutputs({
      caCertificate: this.caCertificate,
      missingLlmKeys: this.missingLlmKeys,
    });
  }

  /** A CA and a server certificate for the ingress host, as kubernetes.io/tls Secrets. */
  private privateCa(
    name: string,
    config: PlatformConfig,
    namespaces: Record<NamespaceRole, pulumi.Output<string>>,
    labels: Record<string, string>,
  ): pulumi.Output<string> {
    const child = { parent: this };
    const hours = tlsLifetimeHours(config);
    const caKey = new tls.PrivateKey(
      `${name}-ca-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      child,
    );
    const ca = new tls.SelfSignedCert(
      `${name}-ca`,
      {
        privateKeyPem: caKey.privateKeyPem,
        isCaCertificate: true,
        validityPeriodHours: hours.ca.validity,
        earlyRenewalHours: hours.ca.earlyRenewal,
        allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
        subject: { commonName: `OctoLLM ${config.environment} CA`, organization: "OctoLLM" },
      },
      child,
    );
    const serverKey = new tls.PrivateKey(
      `${name}-server-key`,
      { algorithm: "ECDSA", ecdsaCurve: "P256" },
      child,
    );
    const csr = new tls.CertRequest(
      `${name}-server-csr`,
      {
        privateKeyPem: serverKey.privateKeyPem,
        dnsNames: [config.ingress.host],
        subject: { commonName: config.ingress.host, organization: "OctoLLM" },
      },
      child,
    );
    const server = new tls.LocallySignedCert(
      `${name}-server-cert`,
      {
        certRequestPem: csr.certRequestPem,
        caPrivateKeyPem: caKey.privateKeyPem,
        caCertPem: ca.certPem,
        validityPeriodHours: hours.server.validity,
        earlyRenewalHours: hours.server.earlyRenewal,
        allowedUses: ["digital_signature", "key_encipherment", "server_auth"],
      },
      child,
    );
    for (const role of edgeTlsRoles(config)) {
      new k8s.core.v1.Secret(
        `${name}-tls-${role}`,
        {
          metadata: { name: SECRET_NAMES.tls, namespace: namespaces[role], labels },
          type: "kubernetes.io/tls",
          stringData: {
            "tls.crt": pulumi.secret(pulumi.interpolate`${server.certPem}${ca.certPem}`),
            "tls.key": pulumi.secret(serverKey.privateKeyPem),
            "ca.crt": ca.certPem,
          },
        },
        { ...child, additionalSecretOutputs: ["data", "stringData"] },
      );
    }
    new k8s.core.v1.ConfigMap(
      `${name}-ca-bundle`,
      {
        metadata: { name: CA_CONFIGMAP, namespace: namespaces.workloads, labels },
        data: { "ca.crt": ca.certPem },
      },
      child,
    );
    return ca.certPem;
  }
}
