/**
 * The program: read the stack's config, build the platform, return the stack outputs.
 * `index.ts` (pulumi up/preview), the tests and the offline render all run this one function.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import { parsePlatformConfig } from "./config";
import { OctoLLMPlatform } from "./platform";

/** Parses the current stack's `octollm:*` config; throws ConfigError before anything registers. */
export function readPlatformConfig(): PlatformConfig {
  return parsePlatformConfig(pulumi.runtime.allConfig());
}

export function buildPlatform(config: PlatformConfig = readPlatformConfig()) {
  const platform = new OctoLLMPlatform("octollm", { config });
  return {
    environment: config.environment,
    namespaces: platform.namespaces,
    storageClass: platform.storageClassName,
    ingressHost: config.ingress.enabled ? config.ingress.host : undefined,
    ingressUrl: platform.endpoints.ingressUrl,
    orchestratorUrl: platform.endpoints.orchestratorPublicUrl,
    orchestratorInternalUrl: platform.endpoints.orchestratorInternalUrl,
    armUrls: platform.endpoints.armUrls,
    tlsMode: platform.endpoints.tlsMode,
    ingressKind: config.ingress.enabled ? config.ingress.kind : undefined,
    gateway: platform.endpoints.gateway,
    caCertificate: platform.caCertificate,
    missingLlmKeys: platform.missingLlmKeys,
    dataStores: {
      postgres: platform.dataStores.postgresServices,
      redis: {
        mode: platform.dataStores.redisMode,
        services: platform.dataStores.redisServices,
        masterName: platform.dataStores.redisMasterName,
      },
      qdrantUrl: platform.dataStores.qdrantUrl,
    },
    observability: {
      alerts: platform.observability.alerts,
      otlpEndpoint: platform.observability.otlpEndpoint,
    },
    backups: {
      cronJobs: platform.backups.cronJobs,
      scheduledBackup: platform.backups.scheduledBackup,
      veleroSchedule: platform.backups.veleroSchedule,
    },
  };
}
