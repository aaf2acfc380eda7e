/**
 * Orchestrator tier: the platform's brain, an HTTP service (ports `http` 8000 and `metrics`
 * 9090) built by the shared builder, plus its NetworkPolicy.
 *
 * Environment: a ConfigMap with LOG_LEVEL, LOG_FORMAT=json, ENVIRONMENT, one
 * `ARM_<NAME>_URL` per configured arm, QDRANT_URL and the Redis discovery settings; secrets
 * through secretKeyRef only (DATABASE_URL, REDIS_URL/REDIS_PASSWORD, QDRANT_API_KEY, JWT_SECRET,
 * and one optional `<PROVIDER>_API_KEY` per LLM provider).
 *
 * Flows: in from the ingress controller (http), the reflex layer (http; by node address since it
 * runs on the host network) and Prometheus (metrics); out to every arm on its port, Postgres,
 * Redis, Qdrant and HTTPS to the LLM APIs.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import type { NamespaceRole } from "./foundation";
import { armUrl, armUrlEnvName } from "./arms";
import {
  armPodLabels,
  dataStoreEgress,
  edgePeer,
  llmEgress,
  orchestratorPodLabels,
  policySpec,
  prometheusIngress,
  reflexPeers,
  tcp,
} from "./network-flows";
import { httpService, qdrantUrl, redisConfigEnv, secretEnvs } from "./k8s/http-service";
import { instanceName, standardLabels } from "./k8s/labels";
import { externalCredentialSecrets } from "./credentials";
import { resolvePodOptions } from "./k8s/pod-options";
import { tracingEnvMap } from "./observability/tracing";
import { serviceHost } from "./secrets";

export const ORCHESTRATOR_NAME = "orchestrator";

/** Non-secret environment of the orchestrator (its ConfigMap). */
export function orchestratorEnv(config: PlatformConfig): Record<string, string> {
  const o = config.orchestrator;
  return {
    ENVIRONMENT: config.environment,
    LOG_LEVEL: o.logLevel,
    LOG_FORMAT: "json",
    PORT: String(o.ports.http),
    METRICS_PORT: String(o.ports.metrics),
    ...Object.fromEntries(config.arms.map((arm) => [armUrlEnvName(arm.name), armUrl(config, arm)])),
    QDRANT_URL: qdrantUrl(config),
    ...redisConfigEnv(config),
    ...tracingEnvMap(config, ORCHESTRATOR_NAME),
    ...o.env,
  };
}

/** In-cluster URL of the orchestrator's http port. */
export function orchestratorUrl(config: PlatformConfig): string {
  return `http://${serviceHost(ORCHESTRATOR_NAME, config.namespaces.workloads)}:${config.orchestrator.ports.http}`;
}

export interface OrchestratorArgs {
  config: PlatformConfig;
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
}

export class Orchestrator extends pulumi.ComponentResource {
  public readonly serviceName: pulumi.Output<string>;
  /** in-cluster URL of the http port */
  public readonly url: string;

  constructor(name: string, args: OrchestratorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:orchestrator:Orchestrator", name, {}, opts);
    const { config, namespaces } = args;
    const o = config.orchestrator;
    const identity = {
      name: ORCHESTRATOR_NAME,
      component: "orchestrator",
      instance: instanceName(config.environment),
    };
    const namespace = namespaces.workloads;

    const svc = httpService(
      name,
      {
        identity,
        namespace,
        workload: o,
        ports: [
          { name: "http", port: o.ports.http },
          { name: "metrics", port: o.ports.metrics },
        ],
        env: orchestratorEnv(config),
        secretEnv: [
          ...secretEnvs.database(config),
          ...secretEnvs.redis(config),
          ...secretEnvs.qdrant(config),
          ...secretEnvs.jwt(),
          ...secretEnvs.llm(config),
        ],
        requireSpread: config.environment === "production",
        pod: resolvePodOptions(config.podDefaults, o.pod, externalCredentialSecrets(config)),
      },
      this,
    );

    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      {
        metadata: { name: ORCHESTRATOR_NAME, namespace, labels: standardLabels(identity) },
        spec: policySpec(
          orchestratorPodLabels(config),
          [
            { from: [edgePeer(config)], ports: tcp(o.ports.http) },
            { from: reflexPeers(config), ports: tcp(o.ports.http) },
            ...prometheusIngress(config, o.ports.metrics),
          ],
          [
            // One rule per arm, so each arm is reachable on its own port only.
            ...config.arms.map((arm) => ({
              to: [{ podSelector: { matchLabels: armPodLabels(config, arm.name) } }],
              ports: tcp(arm.port),
            })),
            dataStoreEgress(config, "postgres"),
            dataStoreEgress(config, "redis"),
            dataStoreEgress(config, "qdrant"),
            llmEgress(config),
          ],
        ),
      },
      { parent: this },
    );

    this.serviceName = svc.service.metadata.name;
    this.url = orchestratorUrl(config);
    this.registerOutputs({ serviceName: this.serviceName, url: this.url });
  }
}
