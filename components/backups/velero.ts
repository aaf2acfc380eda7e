/**
 * Velero: a daily Schedule of the stack's namespaces and, when `operators.velero.install`, Velero
 * itself from the vmware-tanzu chart with its BackupStorageLocation from config.
 *
 * Schedule (velero.io/v1) `octollm-<env>-daily` in Velero's namespace: the workloads, reflex and
 * system namespaces of the stack (manifests, and volume snapshots when `snapshotVolumes`),
 * the cluster-scoped resources they use, ttl from config, storage location `default`. Velero has no
 * published schema package; test/backups/velero-schedule.schema.json (from the CRD of the
 * pinned Velero release) checks every field set here.
 *
 * The chart, rendered by helm.v4.Chart, which runs no Helm hook:
 * - `upgradeCRDs: false`: that pre-install/pre-upgrade hook Job (kubectl in a bitnami image)
 *   would never run. The CRDs come from the chart's `crds/` directory instead, which
 *   helm.v4.Chart applies as ordinary resources before the rest (skipCrds is false), so Pulumi
 *   also updates them on a chart upgrade — what the hook existed for.
 * - `cleanUpCRDs: false`: a pre-delete hook that deletes the CRDs (and with them every Backup
 *   and Schedule object). Never wanted in production; and it would not run anyway.
 * - `namespace.labels: {}`: a non-empty value adds a post-install hook Job that labels the
 *   namespace. The program creates Velero's namespace itself, with its labels (PSS restricted).
 * - no other template of the chart carries a hook (checked on the 10.1.0 templates:
 *   upgrade-crds/*, cleanup-crds.yaml and label-namespace/labelnamespace.yaml are all of them).
 * - Velero's own pods run restricted (non-root 65532, read-only root, no capabilities), the
 *   provider plugin as an init container, credentials from the existing Secret named in config
 *   (key `cloud`, mounted at /credentials by the chart), no node agent (file-system backups of
 *   volumes need a privileged DaemonSet; volume snapshots go through the provider instead).
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import { instanceName, standardLabels } from "../k8s/labels";
import {
  backupCredentialsSecret,
  identityPodLabels,
  identityServiceAccountAnnotations,
  programMakesBackupSecrets,
} from "./credentials";
import { chartValuesInput } from "../chart-values";

export const VELERO_REPO = "https://vmware-tanzu.github.io/helm-charts";
export const VELERO_STORAGE_LOCATION = "default";
/** Key of the credentials file in `backups.velero.storageLocation.credentialsSecret`. */
export const VELERO_CREDENTIALS_KEY = "cloud";
/** Velero's server ServiceAccount in a workload-identity mode (what the cloud IAM binds). */
export const VELERO_SERVER_SERVICE_ACCOUNT = "velero-server";
/** The non-root user of Velero's distroless images. */
const VELERO_UID = 65532;

/**
 * Object store / snapshot plugin per provider, matched to Velero 1.16 (chart 10.1.0): the
 * versions Velero's own end-to-end tests pin for v1.16.2 (test/util/velero/velero_utils.go).
 */
export const VELERO_PLUGINS: Record<string, { repository: string; tag: string }> = {
  aws: { repository: "docker.io/velero/velero-plugin-for-aws", tag: "v1.12.1" },
  gcp: { repository: "docker.io/velero/velero-plugin-for-gcp", tag: "v1.12.1" },
  azure: { repository: "docker.io/velero/velero-plugin-for-microsoft-azure", tag: "v1.12.1" },
};

export function veleroScheduleName(config: PlatformConfig): string {
  return `octollm-${config.environment}-daily`;
}

/** The namespaces a stack's Velero backups hold. */
export function veleroNamespaces(config: PlatformConfig): string[] {
  return [config.namespaces.workloads, config.namespaces.reflex, config.namespaces.system];
}

/** The Schedule object (velero.io/v1). */
export function veleroScheduleObject(config: PlatformConfig) {
  const v = config.backups.velero;
  const instance = instanceName(config.environment);
  const labels = standardLabels({
    name: veleroScheduleName(config),
    component: "backup",
    instance,
  });
  return {
    apiVersion: "velero.io/v1",
    kind: "Schedule",
    metadata: {
      name: veleroScheduleName(config),
      namespace: config.operators.velero.namespace,
      labels,
    },
    spec: {
      schedule: v.schedule,
      // Backups outlive the Schedule: deleting it must not garbage-collect them.
      useOwnerReferencesInBackup: false,
      template: {
        includedNamespaces: veleroNamespaces(config),
        // includeClusterResources unset: Velero then takes the cluster-scoped objects the
        // namespaced ones use (the PVs of their PVCs), which volume restores need.
        snapshotVolumes: v.snapshotVolumes,
        storageLocation: VELERO_STORAGE_LOCATION,
        ttl: v.ttl,
        metadata: { labels: { "app.kubernetes.io/instance": instance } },
      },
    },
  };
}

/**
 * How Velero authenticates (backups.credentials): static keys from the Secret named in config
 * (the chart mounts its key `cloud` at /credentials; the program makes it with `secrets:
 * program`), or a workload identity: no Secret (`useSecret: false`, so no volume waiting for
 * one), the identity annotation on the chart's server ServiceAccount, Azure's pod label.
 * Checked against the chart's values.yaml at 10.1.0 (serviceAccount.server.annotations,
 * credentials.useSecret/existingSecret, podLabels).
 */
export function veleroCredentialValues(config: PlatformConfig): Record<string, unknown> {
  if (config.backups.credentials.mode === "static") {
    return {
      credentials: {
        useSecret: true,
        existingSecret: config.backups.velero.storageLocation.credentialsSecret,
      },
    };
  }
  const annotations = identityServiceAccountAnnotations(config);
  const podLabels = identityPodLabels(config);
  return {
    credentials: { useSecret: false },
    // A fixed name (not the release-derived default) that IAM trust policies, GCP IAM bindings,
    // Azure federated credentials and EKS Pod Identity associations can name.
    serviceAccount: {
      server: {
        create: true,
        name: VELERO_SERVER_SERVICE_ACCOUNT,
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
    },
    ...(Object.keys(podLabels).length > 0 ? { podLabels } : {}),
  };
}

/** Values of the Velero chart: no hooks, restricted pods, the storage location from config. */
export function veleroChartValues(config: PlatformConfig): Record<string, unknown> {
  const loc = config.backups.velero.storageLocation;
  const plugin = VELERO_PLUGINS[loc.provider];
  if (!plugin) {
    throw new Error(
      `backups.velero.storageLocation.provider "${loc.provider}" has no pinned Velero plugin; known: ${Object.keys(VELERO_PLUGINS).join(", ")}`,
    );
  }
  const restricted = {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
  };
  const regionConfig = loc.provider === "aws" ? { region: loc.region } : {};
  // With GKE Workload Identity the gcp plugin signs download URLs as this account.
  const bslConfig =
    config.backups.credentials.mode === "gkeWorkloadIdentity"
      ? { ...regionConfig, serviceAccount: config.backups.credentials.gcpServiceAccount }
      : loc.provider === "azure"
        ? azureLocationConfig(loc)
        : regionConfig;
  return {
    upgradeCRDs: false,
    cleanUpCRDs: false,
    namespace: { labels: {} },
    initContainers: [
      {
        name: `velero-plugin-for-${loc.provider}`,
        image: `${plugin.repository}:${plugin.tag}`,
        imagePullPolicy: "IfNotPresent",
        volumeMounts: [{ mountPath: "/target", name: "plugins" }],
        securityContext: restricted,
        resources: {
          requests: { cpu: "50m", memory: "64Mi" },
          limits: { cpu: "200m", memory: "128Mi" },
        },
      },
    ],
    podSecurityContext: {
      runAsNonRoot: true,
      runAsUser: VELERO_UID,
      runAsGroup: VELERO_UID,
      fsGroup: VELERO_UID,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containerSecurityContext: restricted,
    // limit/request ≤ 4, so the chart also fits a namespace with the platform's LimitRange.
    resources: {
      requests: { cpu: "250m", memory: "256Mi" },
      limits: { cpu: "1", memory: "1Gi" },
    },
    ...veleroCredentialValues(config),
    configuration: {
      backupStorageLocation: [
        {
          name: VELERO_STORAGE_LOCATION,
          provider: loc.provider,
          bucket: loc.bucket,
          default: true,
          config: bslConfig,
        },
      ],
      volumeSnapshotLocation: [
        { name: VELERO_STORAGE_LOCATION, provider: loc.provider, config: regionConfig },
      ],
      defaultBackupTTL: config.backups.velero.ttl,
    },
    backupsEnabled: true,
    snapshotsEnabled: config.backups.velero.snapshotVolumes,
    deployNodeAgent: false,
    // velero_backup_* metrics for the BackupFailed / BackupTooOld alerts of the Velero schedule.
    metrics: {
      enabled: true,
      serviceMonitor: { enabled: config.observability.enabled, autodetect: false },
    },
  };
}

/**
 * The Azure BackupStorageLocation config (velero-plugin-for-microsoft-azure v1.12.1,
 * backupstoragelocation.md; the schema requires both names). `useAAD`: the blob data is reached
 * with the Entra ID identity (service principal or workload identity), the plugin's recommended
 * route, instead of listing the account's keys; the identity needs the Storage Blob Data
 * Contributor role on the account. Values are strings: the BSL config is a string map.
 */
function azureLocationConfig(
  loc: PlatformConfig["backups"]["velero"]["storageLocation"],
): Record<string, string> {
  return {
    resourceGroup: String(loc.resourceGroup),
    storageAccount: String(loc.storageAccount),
    ...(loc.subscriptionId ? { subscriptionId: loc.subscriptionId } : {}),
    useAAD: "true",
  };
}

export interface VeleroArgs {
  config: PlatformConfig;
  /** the Prometheus Operator chart when the program installs it (ServiceMonitor CRD) */
  monitoringOperator?: pulumi.Resource;
}

export interface Velero {
  chart?: k8s.helm.v4.Chart;
  schedule?: k8s.apiextensions.CustomResource;
}

export function velero(name: string, args: VeleroArgs, parent: pulumi.Resource): Velero {
  const { config } = args;
  const op = config.operators.velero;
  let chart: k8s.helm.v4.Chart | undefined;
  if (op.install) {
    const ownNamespaces: string[] = Object.values(config.namespaces);
    const dependsOn: pulumi.Resource[] = args.monitoringOperator ? [args.monitoringOperator] : [];
    if (!ownNamespaces.includes(op.namespace)) {
      dependsOn.push(
        new k8s.core.v1.Namespace(
          `${name}-namespace`,
          {
            metadata: {
              name: op.namespace,
              labels: standardLabels(
                {
                  name: op.namespace,
                  component: "backup",
                  instance: instanceName(config.environment),
                },
                {
                  // Without the node agent, Velero's pods pass the restricted profile.
                  "pod-security.kubernetes.io/enforce": "restricted",
                  "pod-security.kubernetes.io/enforce-version": "latest",
                },
              ),
            },
          },
          // Deleting the namespace would delete every Backup object Velero tracks.
          { parent, protect: config.protectData, retainOnDelete: config.protectData },
        ),
      );
    }
    if (programMakesBackupSecrets(config)) {
      // The chart's pod mounts this Secret: it exists before the chart (and after its namespace).
      dependsOn.push(
        backupCredentialsSecret(
          `${name}-credentials`,
          {
            secretName: config.backups.velero.storageLocation.credentialsSecret,
            namespace: op.namespace,
            labels: standardLabels({
              name: "velero",
              component: "backup",
              instance: instanceName(config.environment),
            }),
            data: { [VELERO_CREDENTIALS_KEY]: config.secrets.backupCredentials.velero ?? "" },
          },
          { parent, dependsOn: [...dependsOn] },
        ),
      );
    }
    chart = new k8s.helm.v4.Chart(
      `${name}-chart`,
      {
        chart: "velero",
        version: op.version,
        namespace: op.namespace,
        repositoryOpts: { repo: VELERO_REPO },
        values: chartValuesInput(config, "velero", veleroChartValues(config)),
      },
      { parent, dependsOn },
    );
  }
  let schedule: k8s.apiextensions.CustomResource | undefined;
  if (config.backups.enabled && config.backups.velero.enabled) {
    const obj = veleroScheduleObject(config);
    schedule = new k8s.apiextensions.CustomResource(
      `${name}-schedule`,
      { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata, spec: obj.spec },
      { parent, dependsOn: chart ? [chart] : [] },
    );
  }
  return { chart, schedule };
}
