/**
 * Arms tier: one HTTP service per entry of `config.arms`, nothing about a particular arm in code.
 * Each arm gets ServiceAccount, ConfigMap, Deployment, Service, HPA and PDB from the shared
 * builder (components/k8s/http-service.ts) and a NetworkPolicy derived from its `uses`:
 *
 * - ingress: the orchestrator on the arm's port; Prometheus on the same port (metrics are served
 *   at `/metrics` on the http port);
 * - egress: Redis, Qdrant, Postgres and HTTPS to the LLM APIs only where `uses` says so
 *   (DNS comes from the foundation). Arms never talk to each other.
 *
 * Adding an arm is a config change: `octollm:arms: [{ name: summarizer, port: 8107 }]`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ArmConfig, PlatformConfig } from "./config";
import type { NamespaceRole } from "./foundation";
import type { EgressRule } from "./network-flows";
import {
  armPodLabels,
  dataStoreEgress,
  llmEgress,
  orchestratorPodLabels,
  policySpec,
  prometheusIngress,
  tcp,
} from "./network-flows";
import { qdrantUrl, redisConfigEnv, secretEnvs, httpService } from "./k8s/http-service";
import { instanceName, standardLabels } from "./k8s/labels";
import { externalCredentialSecrets } from "./credentials";
import { resolvePodOptions } from "./k8s/pod-options";
import { tracingEnvMap } from "./observability/tracing";
import { serviceHost } from "./secrets";

/** Kubernetes name of an arm's objects (Deployment, Service, ...): `<arm>-arm`. */
export function armObjectName(arm: string): string {
  return `${arm}-arm`;
}

/** The orchestrator's env var for an arm's URL: planner → ARM_PLANNER_URL. */
export function armUrlEnvName(arm: string): string {
  return `ARM_${arm.toUpperCase().replace(/-/g, "_")}_URL`;
}

/** In-cluster URL of an arm's Service. */
export function armUrl(config: PlatformConfig, arm: Pick<ArmConfig, "name" | "port">): string {
  return `http://${serviceHost(armObjectName(arm.name), config.namespaces.workloads)}:${arm.port}`;
}

/** Non-secret environment of an arm (its ConfigMap). */
export function armEnv(config: PlatformConfig, arm: ArmConfig): Record<string, string> {
  return {
    ARM_TYPE: arm.name,
    ENVIRONMENT: config.environment,
    LOG_LEVEL: arm.logLevel,
    LOG_FORMAT: "json",
    PORT: String(arm.port),
    ...(arm.uses.qdrant ? { QDRANT_URL: qdrantUrl(config) } : {}),
    ...(arm.uses.redis ? redisConfigEnv(config) : {}),
    ...tracingEnvMap(config, armObjectName(arm.name)),
    ...arm.env,
  };
}

/** Egress of an arm, from what it uses. */
export function armEgress(config: PlatformConfig, arm: ArmConfig): EgressRule[] {
  return [
    ...(arm.uses.redis ? [dataStoreEgress(config, "redis")] : []),
    ...(arm.uses.qdrant ? [dataStoreEgress(config, "qdrant")] : []),
    ...(arm.uses.postgres ? [dataStoreEgress(config, "postgres")] : []),
    ...(arm.uses.llm ? [llmEgress(config)] : []),
  ];
}

export interface ArmsArgs {
  config: PlatformConfig;
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
}

export class Arms extends pulumi.ComponentResource {
  /** arm name → in-cluster URL */
  public readonly urls: Record<string, string>;
  /** arm name → Service name */
  public readonly serviceNames: Record<string, pulumi.Output<string>>;

  constructor(name: string, args: ArmsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:arms:Arms", name, {}, opts);
    const { config, namespaces } = args;
    const instance = instanceName(config.environment);
    const namespace = namespaces.workloads;

    this.urls = {};
    this.serviceNames = {};
    for (const arm of config.arms) {
      const identity = { name: armObjectName(arm.name), component: "arm", instance };
      const secretEnv = [
        ...(arm.uses.postgres ? secretEnvs.database(config) : []),
        ...(arm.uses.redis ? secretEnvs.redis(config) : []),
        ...(arm.uses.qdrant ? secretEnvs.qdrant(config) : []),
        ...(arm.uses.llm ? secretEnvs.llm(config) : []),
      ];
      const svc = httpService(
        `${name}-${arm.name}`,
        {
          identity,
          namespace,
          workload: arm,
          ports: [{ name: "http", port: arm.port }],
          env: armEnv(config, arm),
          secretEnv,
          requireSpread: config.environment === "production",
          pod: resolvePodOptions(config.podDefaults, arm.pod, externalCredentialSecrets(config)),
        },
        this,
      );

      new k8s.networking.v1.NetworkPolicy(
        `${name}-${arm.name}-netpol`,
        {
          metadata: {
            name: armObjectName(arm.name),
            namespace,
            labels: standardLabels(identity),
          },
          spec: policySpec(
            armPodLabels(config, arm.name),
            [
              {
                from: [{ podSelector: { matchLabels: orchestratorPodLabels(config) } }],
                ports: tcp(arm.port),
              },
              // metrics: /metrics on the http port
              ...prometheusIngress(config, arm.port),
            ],
            armEgress(config, arm),
          ),
        },
        { parent: this },
      );

      this.urls[arm.name] = armUrl(config, arm);
      this.serviceNames[arm.name] = svc.service.metadata.name;
    }

    this.registerOutputs({ urls: this.urls, serviceNames: this.serviceNames });
  }
}
