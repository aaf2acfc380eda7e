/**
 * Optional distributed tracing (`observability.tracing.enabled`):
 *
 *   orchestrator, arms --OTLP 4317/4318--> OpenTelemetry Collector (system namespace)
 *        --OTLP--> Jaeger all-in-one in the system namespace      (mode jaeger: dev, in memory)
 *               or an external OTLP/HTTP endpoint                  (mode otlp: production)
 *
 * The services get OTEL_* variables (tracingEnv) pointing at the collector, so they never know
 * where traces end up; head sampling (parentbased_traceidratio) with the configured ratio.
 * Collector and Jaeger are hardened pods from the shared builder, with NetworkPolicies for every
 * flow: services → collector, Prometheus → collector metrics, collector → Jaeger or the endpoint.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import type { PlatformConfig } from "../config";
import { checksumOf } from "../k8s/http-service";
import { instanceName, selectorLabels, standardLabels } from "../k8s/labels";
import type { Identity, Labels } from "../k8s/labels";
import { hardenedPodTemplate } from "../k8s/pod";
import { externalCredentialSecrets } from "../credentials";
import { resolvePodOptions } from "../k8s/pod-options";
import { prometheusPeer, tcp } from "../network-flows";
import { serviceHost } from "../secrets";

type EnvVar = k8s.types.input.core.v1.EnvVar;

export const COLLECTOR_NAME = "otel-collector";
export const JAEGER_NAME = "jaeger";
export const OTLP_GRPC_PORT = 4317;
export const OTLP_HTTP_PORT = 4318;
export const COLLECTOR_METRICS_PORT = 8888;
export const COLLECTOR_HEALTH_PORT = 13133;
export const JAEGER_UI_PORT = 16686;
export const JAEGER_ADMIN_PORT = 14269;

export function collectorIdentity(config: PlatformConfig): Identity {
  return { name: COLLECTOR_NAME, component: "tracing", instance: instanceName(config.environment) };
}
export function jaegerIdentity(config: PlatformConfig): Identity {
  return { name: JAEGER_NAME, component: "tracing", instance: instanceName(config.environment) };
}

/** In-cluster OTLP/gRPC address of the collector. */
export function collectorEndpoint(config: PlatformConfig): string {
  return `http://${serviceHost(COLLECTOR_NAME, config.namespaces.system)}:${OTLP_GRPC_PORT}`;
}

/**
 * OpenTelemetry SDK environment of a service (standard OTEL_* variables); empty when tracing is
 * disabled. Non-secret: fits a ConfigMap or plain `env`.
 */
export function tracingEnv(config: PlatformConfig, serviceName: string): EnvVar[] {
  return Object.entries(tracingEnvMap(config, serviceName)).map(([name, value]) => ({
    name,
    value,
  }));
}

/** The same variables as a map (for the services' env ConfigMaps). */
export function tracingEnvMap(config: PlatformConfig, serviceName: string): Record<string, string> {
  const t = config.observability.tracing;
  if (!t.enabled) return {};
  return {
    OTEL_SERVICE_NAME: serviceName,
    OTEL_EXPORTER_OTLP_ENDPOINT: collectorEndpoint(config),
    OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: String(t.samplingRatio),
    OTEL_RESOURCE_ATTRIBUTES: `deployment.environment=${config.environment},service.namespace=octollm`,
  };
}

/** The collector's pipeline: OTLP in, memory limiter + batch, OTLP out. */
export function collectorConfig(config: PlatformConfig): Record<string, unknown> {
  const t = config.observability.tracing;
  const exporter =
    t.mode === "jaeger"
      ? {
          // In-cluster, inside the NetworkPolicy perimeter: plain gRPC to Jaeger's OTLP receiver.
          otlp: {
            endpoint: `${serviceHost(JAEGER_NAME, config.namespaces.system)}:${OTLP_GRPC_PORT}`,
            tls: { insecure: true },
          },
        }
      : {
          // The configured endpoint is an OTLP/HTTP base URL (…/v1/traces is appended).
          otlphttp: { endpoint: t.endpoint, compression: "gzip" },
        };
  return {
    extensions: { health_check: { endpoint: `0.0.0.0:${COLLECTOR_HEALTH_PORT}` } },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `0.0.0.0:${OTLP_GRPC_PORT}` },
          http: { endpoint: `0.0.0.0:${OTLP_HTTP_PORT}` },
        },
      },
    },
    processors: {
      // Refuse data before the container's memory limit is reached, instead of being OOM-killed.
      memory_limiter: { check_interval: "1s", limit_percentage: 80, spike_limit_percentage: 20 },
      batch: { send_batch_size: 1024, timeout: "5s" },
    },
    exporters: exporter,
    service: {
      extensions: ["health_check"],
      pipelines: {
        traces: {
          receivers: ["otlp"],
          processors: ["memory_limiter", "batch"],
          exporters: [Object.keys(exporter)[0]],
        },
      },
      telemetry: {
        metrics: {
          readers: [
            {
              pull: {
                exporter: { prometheus: { host: "0.0.0.0", port: COLLECTOR_METRICS_PORT } },
              },
            },
          ],
        },
      },
    },
  };
}

/** Port of the external endpoint (for the egress rule). */
export function endpointPort(endpoint: string): number {
  const url = new URL(endpoint);
  if (url.port) return Number(url.port);
  return url.protocol === "http:" ? 80 : 443;
}

export function collectorReplicas(config: PlatformConfig): number {
  return config.environment === "production" ? 2 : 1;
}

/** Pods that send traces: the orchestrator and every arm of this stack. */
function tracedWorkloads(config: PlatformConfig): k8s.types.input.meta.v1.LabelSelector {
  return {
    matchLabels: { "app.kubernetes.io/instance": instanceName(config.environment) },
    matchExpressions: [
      { key: "app.kubernetes.io/component", operator: "In", values: ["orchestrator", "arm"] },
    ],
  };
}

export interface TracingResources {
  collectorService: k8s.core.v1.Service;
  jaegerService?: k8s.core.v1.Service;
}

/** Creates the collector (and, in mode jaeger, Jaeger) as children of `parent`. */
export function createTracing(
  name: string,
  config: PlatformConfig,
  namespaces: { system: pulumi.Input<string>; workloads: pulumi.Input<string> },
  parent: pulumi.Resource,
): TracingResources {
  const t = config.observability.tracing;
  const child = { parent };
  const system = namespaces.system;
  const ws = config.namespaces.workloads;

  // ---- collector ------------------------------------------------------------------------------
  const cid = collectorIdentity(config);
  const cLabels = standardLabels(cid, { "app.kubernetes.io/version": t.collectorImage.tag });
  const cSelector = selectorLabels(cid);
  const configYaml = stringify(collectorConfig(config));
  const sa = new k8s.core.v1.ServiceAccount(
    `${name}-collector-sa`,
    {
      metadata: { name: COLLECTOR_NAME, namespace: system, labels: cLabels },
      automountServiceAccountToken: false,
    },
    child,
  );
  const cm = new k8s.core.v1.ConfigMap(
    `${name}-collector-config`,
    {
      metadata: { name: COLLECTOR_NAME, namespace: system, labels: cLabels },
      data: { "config.yaml": configYaml },
    },
    child,
  );
  const replicas = collectorReplicas(config);
  const healthProbe = (failureThreshold: number) => ({
    httpGet: { path: "/", port: "health" },
    periodSeconds: 10,
    timeoutSeconds: 3,
    failureThreshold,
  });
  new k8s.apps.v1.Deployment(
    `${name}-collector`,
    {
      metadata: { name: COLLECTOR_NAME, namespace: system, labels: cLabels },
      spec: {
        replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: cSelector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        template: hardenedPodTemplate({
          labels: cLabels,
          annotations: { "octollm.io/config-checksum": checksumOf({ "config.yaml": configYaml }) },
          serviceAccountName: sa.metadata.name,
          options: resolvePodOptions(config.podDefaults, t.pod, externalCredentialSecrets(config)),
          containers: [
            {
              name: "otel-collector",
              image: t.collectorImage,
              resources: t.resources,
              args: ["--config=/conf/config.yaml"],
              ports: [
                { name: "otlp-grpc", containerPort: OTLP_GRPC_PORT },
                { name: "otlp-http", containerPort: OTLP_HTTP_PORT },
                { name: "metrics", containerPort: COLLECTOR_METRICS_PORT },
                { name: "health", containerPort: COLLECTOR_HEALTH_PORT },
              ],
              // The Go runtime collects harder near the container limit; memory_limiter refuses
              // data at 80% of it, before the kernel's OOM killer would act.
              env: [
                {
                  name: "GOMEMLIMIT",
                  valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1" } },
                },
              ],
              volumeMounts: [{ name: "config", mountPath: "/conf", readOnly: true }],
              startupProbe: { ...healthProbe(30), periodSeconds: 2 },
              livenessProbe: healthProbe(3),
              readinessProbe: healthProbe(2),
            },
          ],
          volumes: [{ name: "config", configMap: { name: COLLECTOR_NAME } }],
          topologySpreadConstraints:
            replicas > 1
              ? [
                  {
                    maxSkew: 1,
                    topologyKey: "kubernetes.io/hostname",
                    whenUnsatisfiable: "ScheduleAnyway",
                    labelSelector: { matchLabels: cSelector },
                  },
                ]
              : undefined,
        }),
      },
    },
    { ...child, dependsOn: [cm] },
  );
  const collectorService = new k8s.core.v1.Service(
    `${name}-collector-service`,
    {
      metadata: { name: COLLECTOR_NAME, namespace: system, labels: cLabels },
      spec: {
        type: "ClusterIP",
        selector: cSelector,
        ports: [
          {
            name: "otlp-grpc",
            port: OTLP_GRPC_PORT,
            targetPort: "otlp-grpc",
            protocol: "TCP",
            appProtocol: "grpc",
          },
          {
            name: "otlp-http",
            port: OTLP_HTTP_PORT,
            targetPort: "otlp-http",
            protocol: "TCP",
            appProtocol: "http",
          },
          {
            name: "metrics",
            port: COLLECTOR_METRICS_PORT,
            targetPort: "metrics",
            protocol: "TCP",
            appProtocol: "http",
          },
        ],
      },
    },
    child,
  );
  if (replicas > 1) {
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-collector-pdb`,
      {
        metadata: { name: COLLECTOR_NAME, namespace: system, labels: cLabels },
        spec: {
          selector: { matchLabels: cSelector },
          maxUnavailable: 1,
          unhealthyPodEvictionPolicy: "AlwaysAllow",
        },
      },
      child,
    );
  }

  // ---- Jaeger all-in-one (mode jaeger) --------------------------------------------------------
  let jaegerService: k8s.core.v1.Service | undefined;
  const jid = jaegerIdentity(config);
  const jSelector = selectorLabels(jid);
  if (t.mode === "jaeger") {
    const jLabels = standardLabels(jid, { "app.kubernetes.io/version": t.jaegerImage.tag });
    const jsa = new k8s.core.v1.ServiceAccount(
      `${name}-jaeger-sa`,
      {
        metadata: { name: JAEGER_NAME, namespace: system, labels: jLabels },
        automountServiceAccountToken: false,
      },
      child,
    );
    const adminProbe = (failureThreshold: number) => ({
      httpGet: { path: "/", port: "admin" },
      periodSeconds: 10,
      timeoutSeconds: 3,
      failureThreshold,
    });
    new k8s.apps.v1.Deployment(
      `${name}-jaeger`,
      {
        metadata: { name: JAEGER_NAME, namespace: system, labels: jLabels },
        spec: {
          // In-memory storage: one replica by nature (a second would hold other traces).
          replicas: 1,
          revisionHistoryLimit: 5,
          selector: { matchLabels: jSelector },
          strategy: { type: "Recreate" },
          template: hardenedPodTemplate({
            labels: jLabels,
            serviceAccountName: jsa.metadata.name,
            options: resolvePodOptions(
              config.podDefaults,
              t.pod,
              externalCredentialSecrets(config),
            ),
            containers: [
              {
                name: "jaeger",
                image: t.jaegerImage,
                resources: t.resources,
                env: [
                  { name: "SPAN_STORAGE_TYPE", value: "memory" },
                  { name: "MEMORY_MAX_TRACES", value: "20000" },
                  { name: "COLLECTOR_OTLP_ENABLED", value: "true" },
                ],
                ports: [
                  { name: "otlp-grpc", containerPort: OTLP_GRPC_PORT },
                  { name: "query", containerPort: JAEGER_UI_PORT },
                  { name: "admin", containerPort: JAEGER_ADMIN_PORT },
                ],
                startupProbe: { ...adminProbe(30), periodSeconds: 2 },
                livenessProbe: adminProbe(3),
                readinessProbe: adminProbe(2),
              },
            ],
          }),
        },
      },
      child,
    );
    jaegerService = new k8s.core.v1.Service(
      `${name}-jaeger-service`,
      {
        metadata: { name: JAEGER_NAME, namespace: system, labels: jLabels },
        spec: {
          type: "ClusterIP",
          selector: jSelector,
          ports: [
            {
              name: "otlp-grpc",
              port: OTLP_GRPC_PORT,
              targetPort: "otlp-grpc",
              protocol: "TCP",
              appProtocol: "grpc",
            },
            {
              name: "query",
              port: JAEGER_UI_PORT,
              targetPort: "query",
              protocol: "TCP",
              appProtocol: "http",
            },
          ],
        },
      },
      child,
    );
    new k8s.networking.v1.NetworkPolicy(
      `${name}-jaeger-netpol`,
      {
        metadata: { name: JAEGER_NAME, namespace: system, labels: jLabels },
        spec: {
          podSelector: { matchLabels: jSelector },
          policyTypes: ["Ingress", "Egress"],
          // Spans from the collector only; the UI is reached with `kubectl port-forward`.
          ingress: [
            { from: [{ podSelector: { matchLabels: cSelector } }], ports: tcp(OTLP_GRPC_PORT) },
          ],
          egress: [],
        },
      },
      child,
    );
  }

  // ---- NetworkPolicies ------------------------------------------------------------------------
  new k8s.networking.v1.NetworkPolicy(
    `${name}-collector-netpol`,
    {
      metadata: { name: COLLECTOR_NAME, namespace: system, labels: cLabels },
      spec: {
        podSelector: { matchLabels: cSelector },
        policyTypes: ["Ingress", "Egress"],
        ingress: [
          {
            from: [{ namespaceSelector: nsSelector(ws), podSelector: tracedWorkloads(config) }],
            ports: tcp(OTLP_GRPC_PORT, OTLP_HTTP_PORT),
          },
          // Prometheus scrapes the collector's own metrics when the stack has monitoring.
          ...(config.observability.enabled
            ? [{ from: [prometheusPeer(config)], ports: tcp(COLLECTOR_METRICS_PORT) }]
            : []),
        ],
        egress:
          t.mode === "jaeger"
            ? [{ to: [{ podSelector: { matchLabels: jSelector } }], ports: tcp(OTLP_GRPC_PORT) }]
            : [
                {
                  // An external endpoint's addresses are not known in advance (and may be an
                  // in-VPC gateway): its port only, anywhere.
                  to: [{ ipBlock: { cidr: "0.0.0.0/0" } }],
                  ports: tcp(endpointPort(t.endpoint ?? "https://invalid")),
                },
              ],
      },
    },
    child,
  );
  // The services' side: the workloads namespace denies egress by default.
  new k8s.networking.v1.NetworkPolicy(
    `${name}-otlp-egress`,
    {
      metadata: {
        name: "allow-otlp-egress",
        namespace: namespaces.workloads,
        labels: standardLabels({ ...cid, name: "allow-otlp-egress" }),
      },
      spec: {
        podSelector: tracedWorkloads(config),
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: nsSelector(config.namespaces.system),
                podSelector: { matchLabels: cSelector },
              },
            ],
            ports: tcp(OTLP_GRPC_PORT, OTLP_HTTP_PORT),
          },
        ],
      },
    },
    child,
  );

  return { collectorService, jaegerService };
}

function nsSelector(namespace: string): { matchLabels: Labels } {
  return { matchLabels: { "kubernetes.io/metadata.name": namespace } };
}
