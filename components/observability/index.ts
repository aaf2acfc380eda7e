/**
 * Observability tier (`octollm:observability:Observability`):
 *
 * - kube-prometheus-stack (helm.v4.Chart, pinned) in the system namespace when
 *   `operators.prometheusStack.install`, configured so nothing relies on a Helm hook
 *   (stack-chart.ts), with the Alertmanager routing in a Secret (receiver URLs are secrets) and
 *   NetworkPolicies for the stack's pods (the foundation denies everything by default);
 * - ServiceMonitors/PodMonitors next to their targets (monitors.ts), one PrometheusRule with the
 *   platform's alerts (alerts.ts), Grafana dashboards as labelled ConfigMaps (dashboards.ts);
 *   CRD-based objects depend on the chart when this program installs it, so a first
 *   `pulumi up` on an empty cluster works;
 * - optional tracing: OpenTelemetry Collector and Jaeger (tracing.ts).
 *
 * Monitors select by the label and port-name conventions of the other tiers, so this tier needs
 * only the config, the namespaces and the provider.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import type { PlatformConfig } from "../config";
import type { NamespaceRole } from "../foundation";
import { instanceName, standardLabels } from "../k8s/labels";
import { nodePeers, tcp } from "../network-flows";
import { alertGroups } from "./alerts";
import { dashboards } from "./dashboards";
import { MONITORING_API, SCRAPE_INTERVAL, monitorSpecs, veleroServiceMonitor } from "./monitors";
import {
  ALERTMANAGER_CONFIG_SECRET,
  DASHBOARD_LABEL,
  MONITORING_POD_LABEL,
  PROMETHEUS_STACK_CHART,
  PROMETHEUS_STACK_RELEASE,
  PROMETHEUS_STACK_REPO,
  alertmanagerConfig,
  missingReceivers,
  prometheusStackValues,
  watchedNamespaces,
} from "./stack-chart";
import { COLLECTOR_NAME, collectorIdentity, createTracing } from "./tracing";
import { chartValuesInput } from "../chart-values";

export { tracingEnv, tracingEnvMap } from "./tracing";

export interface ObservabilityArgs {
  config: PlatformConfig;
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
}

/** Name of the PrometheusRule with the platform's alerts (system namespace). */
export const PROMETHEUS_RULE_NAME = "octollm-alerts";
/** Grafana folder of the platform's dashboards. */
export const DASHBOARD_FOLDER = "OctoLLM";

/** Ports of the configured Alertmanager receivers (for the egress rule). */
export function receiverPorts(config: PlatformConfig): number[] {
  const urls = [config.secrets.alerting.pagerUrl, config.secrets.alerting.chatWebhookUrl];
  const ports = urls
    .filter((u): u is string => u !== undefined)
    .map((u) => {
      const url = new URL(u);
      return url.port ? Number(url.port) : url.protocol === "http:" ? 80 : 443;
    });
  // 443 for HTTPS receivers; the API server's own ports (minikube: 8443) for the operator,
  // kube-state-metrics and Prometheus' service discovery.
  return [...new Set([443, ...config.network.apiServerPorts, ...ports])].sort((a, b) => a - b);
}

export class Observability extends pulumi.ComponentResource {
  /** the kube-prometheus-stack chart, when this stack installs it */
  public readonly chart: k8s.helm.v4.Chart | undefined;
  /** names of the alerts the PrometheusRule defines */
  public readonly alerts: string[];
  /** in-cluster OTLP endpoint of the collector, when tracing is enabled */
  public readonly otlpEndpoint: string | undefined;

  constructor(name: string, args: ObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:observability:Observability", name, {}, opts);
    const { config, namespaces } = args;
    const o = config.observability;
    const instance = instanceName(config.environment);
    const labels = (objectName: string, extra: Record<string, string> = {}) =>
      standardLabels({ name: objectName, component: "monitoring", instance }, extra);
    const child = { parent: this };

    this.chart = undefined;
    this.alerts = [];
    const install = o.enabled && config.operators.prometheusStack.install;

    if (install) {
      const missing = missingReceivers(config);
      if (missing.length > 0) {
        void pulumi.log.warn(
          `Alertmanager has no endpoint for ${missing.join(" and ")}: those alerts go to the "null" receiver. ` +
            `Set them with: pulumi config set --secret --path 'octollm:secrets.alerting.pagerUrl' <url>`,
          this,
        );
      }
      // The routing config carries the receiver URLs: a Secret with a secret payload.
      const amSecret = new k8s.core.v1.Secret(
        `${name}-alertmanager-config`,
        {
          metadata: {
            name: ALERTMANAGER_CONFIG_SECRET,
            namespace: namespaces.system,
            labels: labels(ALERTMANAGER_CONFIG_SECRET),
          },
          type: "Opaque",
          stringData: { "alertmanager.yaml": pulumi.secret(stringify(alertmanagerConfig(config))) },
        },
        { ...child, additionalSecretOutputs: ["data", "stringData"] },
      );
      this.chart = new k8s.helm.v4.Chart(
        `${name}-prometheus-stack`,
        {
          name: PROMETHEUS_STACK_RELEASE,
          chart: PROMETHEUS_STACK_CHART,
          version: config.operators.prometheusStack.version,
          repositoryOpts: { repo: PROMETHEUS_STACK_REPO },
          namespace: namespaces.system,
          values: chartValuesInput(config, "prometheusStack", prometheusStackValues(config)),
        },
        { ...child, dependsOn: [amSecret] },
      );
      this.monitoringNetworkPolicy(name, config, namespaces.system, labels);
    }

    // CRD-based objects wait for the chart (and its CRDs) when this stack installs it.
    const crdOpts = { ...child, ...(this.chart ? { dependsOn: [this.chart] } : {}) };

    if (o.enabled) {
      for (const m of monitorSpecs(config)) {
        new k8s.apiextensions.CustomResource(
          `${name}-${m.kind === "ServiceMonitor" ? "sm" : "pm"}-${m.name}`,
          {
            apiVersion: m.object.apiVersion,
            kind: m.object.kind,
            metadata: { ...m.object.metadata, namespace: namespaces[m.namespaceRole] },
            spec: m.object.spec,
          },
          crdOpts,
        );
      }

      const velero = veleroServiceMonitor(config);
      if (velero) {
        new k8s.apiextensions.CustomResource(
          `${name}-sm-velero`,
          {
            apiVersion: velero.apiVersion,
            kind: velero.kind,
            metadata: { ...velero.metadata, namespace: namespaces.system },
            spec: velero.spec,
          },
          crdOpts,
        );
      }

      const groups = alertGroups(config);
      this.alerts = [...new Set(groups.flatMap((g) => g.rules.map((r) => r.alert)))];
      new k8s.apiextensions.CustomResource(
        `${name}-rules`,
        {
          apiVersion: MONITORING_API,
          kind: "PrometheusRule",
          metadata: {
            name: PROMETHEUS_RULE_NAME,
            namespace: namespaces.system,
            labels: labels(PROMETHEUS_RULE_NAME),
          },
          spec: { groups },
        },
        crdOpts,
      );

      for (const [key, dashboard] of Object.entries(dashboards(config))) {
        const cmName = key.replace(/\.json$/, "");
        new k8s.core.v1.ConfigMap(
          `${name}-dashboard-${cmName}`,
          {
            metadata: {
              name: cmName,
              namespace: namespaces.system,
              labels: labels(cmName, { ...DASHBOARD_LABEL }),
              annotations: { grafana_folder: DASHBOARD_FOLDER },
            },
            data: { [key]: JSON.stringify(dashboard, null, 2) },
          },
          child,
        );
      }
    }

    this.otlpEndpoint = undefined;
    if (o.tracing.enabled) {
      const tracing = createTracing(name, config, namespaces, this);
      this.otlpEndpoint = `http://${COLLECTOR_NAME}.${config.namespaces.system}.svc.cluster.local:4317`;
      if (o.enabled) {
        const cid = collectorIdentity(config);
        new k8s.apiextensions.CustomResource(
          `${name}-sm-${COLLECTOR_NAME}`,
          {
            apiVersion: MONITORING_API,
            kind: "ServiceMonitor",
            metadata: {
              name: COLLECTOR_NAME,
              namespace: namespaces.system,
              labels: labels(COLLECTOR_NAME),
            },
            spec: {
              selector: {
                matchLabels: {
                  "app.kubernetes.io/name": cid.name,
                  "app.kubernetes.io/instance": cid.instance,
                  "app.kubernetes.io/component": cid.component,
                },
              },
              endpoints: [{ port: "metrics", path: "/metrics", interval: SCRAPE_INTERVAL }],
            },
          },
          {
            ...crdOpts,
            dependsOn: [...(this.chart ? [this.chart] : []), tracing.collectorService],
          },
        );
      }
    }

    this.registerOutputs({
      alerts: this.alerts,
      otlpEndpoint: this.otlpEndpoint,
    });
  }

  /**
   * The monitoring stack's own flows (its namespace denies everything by default): among its
   * pods (Grafana → Prometheus → Alertmanager, Prometheus scraping them); out to every pod of
   * the stack's namespaces (scrapes), the nodes (kubelet/cAdvisor 10250 and the host-network
   * reflex layer), cluster DNS metrics, and HTTPS to the API server and the alert receivers.
   * The API server has no pod selector: 443/6443 are open to any address for these pods only.
   */
  private monitoringNetworkPolicy(
    name: string,
    config: PlatformConfig,
    namespace: pulumi.Output<string>,
    labels: (n: string) => Record<string, string>,
  ): void {
    const byName = (ns: string) => ({
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } },
    });
    new k8s.networking.v1.NetworkPolicy(
      `${name}-monitoring-netpol`,
      {
        metadata: { name: "monitoring-stack", namespace, labels: labels("monitoring-stack") },
        spec: {
          podSelector: { matchLabels: { ...MONITORING_POD_LABEL } },
          policyTypes: ["Ingress", "Egress"],
          ingress: [{ from: [{ podSelector: { matchLabels: { ...MONITORING_POD_LABEL } } }] }],
          egress: [
            // Scrapes (and the stack's own pods): every watched namespace, any port.
            { to: watchedNamespaces(config).map(byName) },
            { to: nodePeers(config), ports: tcp(10250, config.reflexLayer.port) },
            {
              to: [
                {
                  ...byName(config.network.dnsNamespace),
                  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
                },
              ],
              ports: tcp(9153),
            },
            { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: tcp(...receiverPorts(config)) },
          ],
        },
      },
      { parent: this },
    );
  }
}
