/**
 * OctoLLMPlatform wires the tiers in dependency order: foundation (provider, namespaces,
 * storage) → secrets → data stores → services → ingress → observability → backups.
 * Each tier is a ComponentResource of its own; this file only connects them.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import { Foundation } from "./foundation";
import type { NamespaceRole } from "./foundation";
import { PlatformSecrets } from "./secrets";
import { DataStores } from "./data-stores";
import { ReflexLayer } from "./reflex-layer";
import { Orchestrator } from "./orchestrator";
import { Arms } from "./arms";
import { Ingress } from "./ingress";
import type { GatewayEndpoint } from "./ingress";
import { Observability } from "./observability";
import { Backups } from "./backups";

/** Where the platform answers: public URLs (when the ingress is enabled) and in-cluster ones. */
export interface PlatformEndpoints {
  ingressUrl: string | undefined;
  orchestratorPublicUrl: string | undefined;
  orchestratorInternalUrl: string;
  armUrls: Record<string, string>;
  tlsMode: string | undefined;
  /** the Gateway and where its Envoy proxies run (`ingress.kind: gateway`) */
  gateway: GatewayEndpoint | undefined;
}

export interface OctoLLMPlatformArgs {
  config: PlatformConfig;
}

export class OctoLLMPlatform extends pulumi.ComponentResource {
  public readonly namespaces: Record<NamespaceRole, pulumi.Output<string>>;
  public readonly storageClassName: pulumi.Output<string>;
  public readonly caCertificate: pulumi.Output<string> | undefined;
  public readonly missingLlmKeys: string[];
  public readonly endpoints: PlatformEndpoints;
  /** Postgres, Redis, Qdrant: service names, selector labels, the CNPG chart (for dependsOn) */
  public readonly dataStores: DataStores;
  /** monitoring stack, monitors, alert rules, dashboards, tracing */
  public readonly observability: Observability;
  /** Velero schedule, CNPG ScheduledBackup or pg_dump, Redis RDB and Qdrant snapshot CronJobs */
  public readonly backups: Backups;

  constructor(name: string, args: OctoLLMPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:platform:OctoLLMPlatform", name, {}, opts);
    const { config } = args;

    const foundation = new Foundation(`${name}-foundation`, { config }, { parent: this });
    // Every tier below inherits the stack's one Kubernetes provider through `providers`.
    const tierOpts = { parent: this, providers: [foundation.provider] };
    const secrets = new PlatformSecrets(
      `${name}-secrets`,
      { config, namespaces: foundation.namespaces },
      tierOpts,
    );

    // Data stores read the generated credentials (CNPG bootstrap, Redis password, Qdrant key).
    this.dataStores = new DataStores(
      `${name}-data`,
      {
        config,
        namespaces: foundation.namespaces,
        storageClassName: foundation.storageClassName,
      },
      { ...tierOpts, dependsOn: [secrets] },
    );

    // Services read the Secrets above (secretKeyRef) and report ready only once they reach the
    // data stores (readiness probes), so they come after both.
    const serviceArgs = { config, namespaces: foundation.namespaces };
    const serviceOpts = { ...tierOpts, dependsOn: [secrets, this.dataStores] };
    const reflex = new ReflexLayer(`${name}-reflex`, serviceArgs, serviceOpts);
    const orchestrator = new Orchestrator(`${name}-orchestrator`, serviceArgs, serviceOpts);
    const arms = new Arms(`${name}-arms`, serviceArgs, serviceOpts);
    const ingress = config.ingress.enabled
      ? new Ingress(`${name}-ingress`, serviceArgs, {
          ...tierOpts,
          dependsOn: [secrets, reflex, orchestrator],
        })
      : undefined;
    // Observability selects its targets by label and port-name conventions, so it needs only the
    // config, the namespaces and the provider; it reads the grafana-admin and qdrant Secrets.
    this.observability = new Observability(
      `${name}-observability`,
      { config, namespaces: foundation.namespaces },
      { ...tierOpts, dependsOn: [secrets] },
    );

    // Backups come last: they read the stores' Secrets, schedule jobs against running stores, and
    // Velero's ServiceMonitor needs the monitoring CRDs.
    this.backups = new Backups(
      `${name}-backups`,
      {
        config,
        namespaces: foundation.namespaces,
        storageClassName: foundation.storageClassName,
        cnpgOperator: this.dataStores.cnpgChart,
        dataStores: [this.dataStores],
        monitoringOperator: this.observability.chart,
      },
      { ...tierOpts, dependsOn: [secrets] },
    );

    this.endpoints = {
      ingressUrl: ingress?.url,
      orchestratorPublicUrl: ingress?.orchestratorUrl,
      orchestratorInternalUrl: orchestrator.url,
      armUrls: arms.urls,
      tlsMode: ingress?.tlsMode,
      gateway: ingress?.gateway,
    };

    this.namespaces = foundation.namespaces;
    this.storageClassName = foundation.storageClassName;
    this.caCertificate = secrets.caCertificate;
    this.missingLlmKeys = secrets.missingLlmKeys;
    this.registerOutputs({
      namespaces: this.namespaces,
      storageClassName: this.storageClassName,
      caCertificate: this.caCertificate,
    });
  }
}
