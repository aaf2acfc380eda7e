/**
 * kube-prometheus-stack: chart coordinates and values, as a pure function of the configuration.
 * Keys checked against the chart's values.yaml at the pinned version (77.6.2; subcharts
 * grafana 9.4.5, kube-state-metrics 6.3.0).
 *
 * Nothing may depend on a Helm hook (helm.v4.Chart renders `helm template`-style and does not
 * run hooks):
 * - the operator's admission webhook is disabled, with its certificate patch Jobs (hooks) and
 *   the operator's TLS listener (which mounts the Secret those hooks would create);
 * - Grafana's test pod (a `test` hook) is disabled;
 * - the CRD upgrade Job (a hook) stays disabled: CRDs come from the chart's `crds/` directory,
 *   which Pulumi applies before the other objects; upgrade them by bumping the chart version.
 *
 * Every resources block here fits the system namespace's LimitRange (limit/request ≤ 4, after
 * the LimitRange defaults fill what a block leaves out): parsePlatformConfig walks these values
 * (components/resource-placements.ts) and rejects a config that breaks it.
 *
 * Pod Security "restricted" (the system namespace enforces it): every pod the chart creates
 * runs as non-root with seccomp RuntimeDefault, no privilege escalation, all capabilities
 * dropped and, where the component allows it, a read-only root filesystem. node-exporter needs
 * hostNetwork, hostPID and hostPath, which no restricted namespace admits: it is disabled (node
 * metrics come from the cluster's own node-exporter, when it has one). Grafana's root init
 * container (chown of a data PVC) is disabled: Grafana keeps no state (dashboards, datasources
 * and admin come from ConfigMaps and a Secret), so it needs no volume.
 */
import type { PlatformConfig, Resources } from "../config";
import { parseQuantity } from "../k8s/quantity";
import { SECRET_KEYS, SECRET_NAMES } from "../secrets";

export const PROMETHEUS_STACK_REPO = "https://prometheus-community.github.io/helm-charts";
export const PROMETHEUS_STACK_CHART = "kube-prometheus-stack";
/** Release name and fullnameOverride: object names are `kps-*`, predictable for runbooks. */
export const PROMETHEUS_STACK_RELEASE = "kps";
/** The Alertmanager configuration Secret (built by the component, never in chart values). */
export const ALERTMANAGER_CONFIG_SECRET = "alertmanager-octollm";
/** Label on every pod of the stack: the monitoring NetworkPolicies select it. */
export const MONITORING_POD_LABEL = { "octollm.io/monitoring-stack": "true" } as const;
/** Grafana's dashboard sidecar picks up ConfigMaps with this label, in every namespace. */
export const DASHBOARD_LABEL = { grafana_dashboard: "1" } as const;
/** Non-root identity of the Grafana pod (the image runs under any UID; ≥ 1000 like every pod). */
export const GRAFANA_UID = 10001;

const RUNTIME_DEFAULT = { type: "RuntimeDefault" };

/** Container securityContext that PSS restricted admits. */
export function restrictedContainer(readOnlyRootFilesystem = true) {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem,
    runAsNonRoot: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: RUNTIME_DEFAULT,
  };
}

/** Pod securityContext that PSS restricted admits. */
export function restrictedPod(uid: number, gid = uid) {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: gid,
    fsGroup: gid,
    seccompProfile: RUNTIME_DEFAULT,
  };
}

function res(r: Resources) {
  return {
    requests: { cpu: r.requests.cpu, memory: r.requests.memory },
    limits: { cpu: r.limits.cpu, memory: r.limits.memory },
  };
}

const small = (cpu: string, memory: string, limitCpu: string, limitMemory: string) => ({
  requests: { cpu, memory },
  limits: { cpu: limitCpu, memory: limitMemory },
});

/**
 * Prometheus deletes old blocks when the TSDB exceeds retentionSize; 85% of the volume keeps
 * the WAL and compaction headroom, so retention by time can never fill the disk. Prometheus
 * size units are powers of two (1MB = 2^20 bytes).
 */
export function retentionSize(storage: string): string {
  const q = parseQuantity(storage);
  const bytes = q.num / q.den;
  return `${(bytes * 85n) / 100n / (1n << 20n)}MB`;
}

/** Alertmanager replicas: two in production (gossip-clustered, so a node drain loses no page). */
export function alertmanagerReplicas(config: PlatformConfig): number {
  return config.environment === "production" ? 2 : 1;
}

/**
 * Namespaces whose monitors and rules this stack's Prometheus reads: the stack's own three and,
 * when backups use Velero, Velero's (its chart brings the ServiceMonitor of velero_backup_*).
 */
export function watchedNamespaces(config: PlatformConfig): string[] {
  return [
    config.namespaces.system,
    config.namespaces.workloads,
    config.namespaces.reflex,
    ...(config.backups.enabled && config.backups.velero.enabled
      ? [config.operators.velero.namespace]
      : []),
  ];
}

export function stackNamespaceSelector(config: PlatformConfig) {
  return {
    matchExpressions: [
      { key: "kubernetes.io/metadata.name", operator: "In", values: watchedNamespaces(config) },
    ],
  };
}

export function prometheusStackValues(config: PlatformConfig): Record<string, unknown> {
  const o = config.observability;
  const storageClassName = config.dataStores.storageClass.name;
  const selector = stackNamespaceSelector(config);
  const podLabels = { ...MONITORING_POD_LABEL };
  const volumeClaim = (size: string) => ({
    volumeClaimTemplate: {
      spec: {
        storageClassName,
        accessModes: ["ReadWriteOnce"],
        resources: { requests: { storage: size } },
      },
    },
  });
  const amReplicas = alertmanagerReplicas(config);

  return {
    fullnameOverride: PROMETHEUS_STACK_RELEASE,
    cleanPrometheusOperatorObjectNames: true,
    crds: { enabled: true, upgradeJob: { enabled: false } },
    // Default rules and dashboards of kube-prometheus, minus the parts a managed control plane
    // does not expose (etcd, scheduler, controller-manager, kube-proxy) and node-exporter's.
    defaultRules: {
      create: true,
      rules: {
        etcd: false,
        kubeControllerManager: false,
        kubeProxy: false,
        kubeSchedulerAlerting: false,
        kubeSchedulerRecording: false,
        node: false,
        nodeExporterAlerting: false,
        nodeExporterRecording: false,
        windows: false,
      },
    },
    windowsMonitoring: { enabled: false },
    kubeEtcd: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeControllerManager: { enabled: false },
    kubeProxy: { enabled: false },
    // hostNetwork + hostPID + hostPath: not admissible under PSS restricted.
    nodeExporter: { enabled: false },
    kubeStateMetrics: { enabled: true },
    "kube-state-metrics": {
      podLabels,
      resources: small("50m", "128Mi", "200m", "256Mi"),
      securityContext: { enabled: true, ...restrictedPod(65534) },
      containerSecurityContext: restrictedContainer(),
    },

    prometheusOperator: {
      // The webhook's certificate comes from hook Jobs (not run by helm.v4.Chart); the TLS
      // listener mounts that certificate's Secret. Without them the operator serves plain HTTP
      // metrics inside the cluster and validates rules itself at reconcile time.
      admissionWebhooks: {
        enabled: false,
        patch: { enabled: false },
        certManager: { enabled: false },
      },
      tls: { enabled: false },
      podLabels,
      resources: small("125m", "128Mi", "500m", "512Mi"),
      securityContext: restrictedPod(65534),
      containerSecurityContext: restrictedContainer(),
      // Becomes the operator's --config-reloader-{cpu,memory}-{request,limit} flags: the
      // config-reloader sidecar and init container of every Prometheus and Alertmanager pod.
      // A missing field renders "0" (unset) and the LimitRange default fills it.
      prometheusConfigReloader: { resources: small("25m", "32Mi", "100m", "64Mi") },
    },

    prometheus: {
      prometheusSpec: {
        retention: o.prometheus.retention,
        retentionSize: retentionSize(o.prometheus.storage),
        storageSpec: volumeClaim(o.prometheus.storage),
        resources: res(o.prometheus.resources),
        scrapeInterval: "30s",
        evaluationInterval: "30s",
        // Pick up monitors and rules without the chart's `release` label, but only from this
        // stack's namespaces (several stacks may share a cluster).
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
        serviceMonitorNamespaceSelector: selector,
        podMonitorNamespaceSelector: selector,
        ruleNamespaceSelector: selector,
        probeNamespaceSelector: selector,
        scrapeConfigNamespaceSelector: selector,
        podMetadata: { labels: podLabels },
        securityContext: restrictedPod(1000, 2000),
      },
    },

    alertmanager: {
      enabled: true,
      podDisruptionBudget: amReplicas > 1 ? { enabled: true, minAvailable: 1 } : { enabled: false },
      alertmanagerSpec: {
        replicas: amReplicas,
        // The routing config (with the receivers' URLs) is a Secret the component writes.
        useExistingSecret: true,
        configSecret: ALERTMANAGER_CONFIG_SECRET,
        retention: "120h",
        storage: volumeClaim("1Gi"),
        resources: res(o.alertmanager.resources),
        podMetadata: { labels: podLabels },
        securityContext: restrictedPod(1000, 2000),
      },
    },

    grafana: {
      enabled: true,
      // Admin credentials from the generated Secret: stable across `pulumi up`, never in values.
      admin: {
        existingSecret: SECRET_NAMES.grafanaAdmin,
        userKey: SECRET_KEYS.adminUser,
        passwordKey: SECRET_KEYS.adminPassword,
      },
      testFramework: { enabled: false },
      initChownData: { enabled: false },
      persistence: { enabled: false },
      rbac: { pspEnabled: false },
      podLabels,
      resources: res(o.grafana.resources),
      securityContext: restrictedPod(GRAFANA_UID),
      containerSecurityContext: restrictedContainer(),
      // Read-only root filesystem: the few paths Grafana writes besides its data volume.
      extraEmptyDirMounts: [
        { name: "tmp", mountPath: "/tmp" },
        { name: "logs", mountPath: "/var/log/grafana" },
      ],
      sidecar: {
        // Every sidecar container (dashboards, datasources) and its init variants.
        resources: small("25m", "64Mi", "100m", "128Mi"),
        securityContext: restrictedContainer(),
        dashboards: {
          enabled: true,
          label: Object.keys(DASHBOARD_LABEL)[0],
          labelValue: DASHBOARD_LABEL.grafana_dashboard,
          searchNamespace: "ALL",
          folderAnnotation: "grafana_folder",
          provider: { foldersFromFilesStructure: true },
        },
        datasources: { enabled: true, uid: "prometheus" },
      },
    },
  };
}

/**
 * The Alertmanager configuration: route by severity (critical → pager, warning → chat), with
 * a receiver without endpoints (`null`) wherever a URL is not configured. Contains the receiver
 * URLs: the component writes it only into a Secret, as a Pulumi secret.
 */
export function alertmanagerConfig(config: PlatformConfig): Record<string, unknown> {
  const { pagerUrl, chatWebhookUrl } = config.secrets.alerting;
  const webhook = (name: string, url: string | undefined) =>
    url ? { name, webhook_configs: [{ url, send_resolved: true }] } : undefined;
  const pager = webhook("pager", pagerUrl);
  const chat = webhook("chat", chatWebhookUrl);
  return {
    global: { resolve_timeout: "5m" },
    route: {
      receiver: "null",
      group_by: ["alertname", "namespace", "job"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [
        // kube-prometheus' always-firing dead man's switch; route it to an external heartbeat if you have one.
        { receiver: "null", matchers: ['alertname = "Watchdog"'] },
        { receiver: pager ? "pager" : "null", matchers: ['severity = "critical"'] },
        { receiver: chat ? "chat" : "null", matchers: ['severity = "warning"'] },
      ],
    },
    inhibit_rules: [
      {
        // A critical alert silences the warnings of the same alert on the same target.
        source_matchers: ['severity = "critical"'],
        target_matchers: ['severity = "warning"'],
        equal: ["alertname", "namespace"],
      },
    ],
    receivers: [{ name: "null" }, ...(pager ? [pager] : []), ...(chat ? [chat] : [])],
  };
}

/** Receivers without an endpoint, for the warning the component logs. */
export function missingReceivers(config: PlatformConfig): string[] {
  const a = config.secrets.alerting;
  return [
    ...(a.pagerUrl ? [] : ["secrets.alerting.pagerUrl (critical alerts)"]),
    ...(a.chatWebhookUrl ? [] : ["secrets.alerting.chatWebhookUrl (warnings)"]),
  ];
}
