/**
 * Postgres: a CloudNativePG `Cluster` named `postgres` — a primary and streaming-replication
 * standbys managed by the operator (failover, switchover, rolling updates, PVCs, PDBs, TLS), not
 * a StatefulSet of unreplicated pods.
 *
 * - Replication: `postgresql.synchronous` (the API since CNPG 1.24; the older
 *   minSyncReplicas/maxSyncReplicas pair is left unset) with method `any` and
 *   `number = synchronousReplicas`, `dataDurability: required`: a commit returns only once that
 *   many standbys have it, so a failover loses no acknowledged transaction. The price: with fewer
 *   healthy standbys than `number`, writes wait (docs/data-stores.md).
 * - Clients: the operator's Services `postgres-rw` (primary), `postgres-ro` (standbys),
 *   `postgres-r` (any). With `requireTls`, pg_hba rejects every non-TLS connection. Owner
 *   credentials come from the foundation's `postgres-owner-credentials`; the superuser is off.
 * - Pods: the operator builds them (restricted-compliant: non-root, read-only root filesystem,
 *   seccomp RuntimeDefault, no capabilities); anti-affinity on hostname, required in production.
 * - PDBs: the operator's (`enablePDB`), only with more than one instance: a single instance's
 *   primary budget would block every drain. On a cordoned node the operator switches the primary
 *   over to a standby, which is what lets the primary's budget release.
 * - Metrics: every instance exports on 9187 (`metrics`); the PodMonitor is the observability
 *   tier's (CNPG's `enablePodMonitor` is deprecated), so it stays off here.
 * - Backups: with `backups.enabled` and an object store, WAL archiving + base backups
 *   (`spec.backup.barmanObjectStore`); `restoreFrom` bootstraps from a backup instead of initdb.
 * - The operator itself: the `cloudnative-pg` chart (pinned) in its own namespace when
 *   `operators.cloudnativePg.install`; otherwise it must already run in that namespace.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import { imageRef } from "../k8s/image";
import { standardLabels } from "../k8s/labels";
import type { ResolvedPodOptions } from "../k8s/pod-options";
import { resolvePodOptions } from "../k8s/pod-options";
import { postgresOwnerSecret } from "../credentials";
import type { Labels } from "../k8s/labels";
import { llmEgress, policySpec, prometheusIngress, tcp } from "../network-flows";
import { cnpgClusterAnnotations } from "../backups/postgres";
import {
  backupCredentialsSecret,
  cnpgObjectStoreCredentials,
  identityEgress,
  identityPodLabels,
  identityServiceAccountAnnotations,
  programMakesBackupSecrets,
} from "../backups/credentials";
import { usesPostgresObjectStore } from "../config";
import type { DataStoreArgs } from "./common";
import { clientPeers, dataOptions, requireSpread, storeIdentity } from "./common";
import { chartValuesInput } from "../chart-values";
import { poolerEnabled, postgresPooler } from "./pooler";

export const POSTGRES_CLUSTER_NAME = "postgres";
export const CNPG_CHART = "cloudnative-pg";
export const CNPG_REPO = "https://cloudnative-pg.github.io/charts";
/** Ports of a CNPG instance: PostgreSQL, the instance manager's status API, metrics. */
export const CNPG_PORTS = { postgres: 5432, status: 8000, metrics: 9187 } as const;

/** Services the operator creates for the cluster. */
export const POSTGRES_SERVICES = {
  rw: `${POSTGRES_CLUSTER_NAME}-rw`,
  ro: `${POSTGRES_CLUSTER_NAME}-ro`,
  r: `${POSTGRES_CLUSTER_NAME}-r`,
} as const;

/** Labels the operator puts on every instance pod of the cluster. */
export const POSTGRES_POD_LABELS: Labels = { "cnpg.io/cluster": POSTGRES_CLUSTER_NAME };

export type PostgresArgs = DataStoreArgs;

/** pg_hba rules: with requireTls, TLS or nothing (the operator's own rules come first). */
export function pgHba(config: PlatformConfig): string[] | undefined {
  if (!config.dataStores.postgres.requireTls) return undefined;
  return ["hostnossl all all all reject", "hostssl all all all scram-sha-256"];
}

/** The Cluster's `spec.backup`: WAL archive + base backups to the configured object store. */
export function postgresBackupSpec(config: PlatformConfig): Record<string, unknown> | undefined {
  const store = config.backups.postgres.objectStore;
  if (!config.backups.enabled || !store) return undefined;
  return {
    retentionPolicy: config.backups.postgres.retention,
    barmanObjectStore: {
      destinationPath: store.destinationPath,
      ...(store.endpointURL ? { endpointURL: store.endpointURL } : {}),
      ...cnpgObjectStoreCredentials(config, store.destinationPath, store.credentialsSecret),
      // A cluster restored from this archive writes under a new server name (config check).
      ...(store.serverName ? { serverName: store.serverName } : {}),
      // S3 server-side encryption whatever the bucket's default; WAL shipped two files at a
      // time so a write burst does not queue behind one upload.
      wal: { compression: "gzip", maxParallel: 2, ...s3Encryption(store.destinationPath) },
      data: { compression: "gzip", ...s3Encryption(store.destinationPath) },
    },
  };
}

/** Server-side encryption is an S3 setting; GCS and Azure encrypt at rest on their own. */
function s3Encryption(path: string): { encryption?: "AES256" } {
  return path.startsWith("s3://") ? { encryption: "AES256" } : {};
}

/** initdb (a new, empty database) or recovery from a backup (`dataStores.postgres.restoreFrom`). */
export function postgresBootstrap(config: PlatformConfig): Record<string, unknown> {
  const pg = config.dataStores.postgres;
  const owner = {
    database: pg.database,
    owner: pg.owner,
    secret: { name: postgresOwnerSecret(config).name },
  };
  const restore = pg.restoreFrom;
  if (!restore) {
    return { initdb: { ...owner, dataChecksums: true, encoding: "UTF8" } };
  }
  const target = restore.targetTime ? { recoveryTarget: { targetTime: restore.targetTime } } : {};
  if (restore.backup) {
    return { recovery: { ...owner, backup: { name: restore.backup }, ...target } };
  }
  return { recovery: { ...owner, source: RESTORE_SOURCE, ...target } };
}

/** Name of the external cluster a recovery from the object store reads. */
export const RESTORE_SOURCE = "origin";

function externalClusters(config: PlatformConfig): Record<string, unknown>[] | undefined {
  const restore = config.dataStores.postgres.restoreFrom;
  const store = config.backups.postgres.objectStore;
  if (!restore?.objectStore || !store) return undefined;
  return [
    {
      name: RESTORE_SOURCE,
      barmanObjectStore: {
        destinationPath: store.destinationPath,
        ...(store.endpointURL ? { endpointURL: store.endpointURL } : {}),
        ...cnpgObjectStoreCredentials(config, store.destinationPath, store.credentialsSecret),
        // The folder the source cluster archived under (by default its name, `postgres`).
        serverName: restore.serverName ?? POSTGRES_CLUSTER_NAME,
        wal: { maxParallel: 4 },
      },
    },
  ];
}

/**
 * Pod options (octollm:podDefaults + dataStores.postgres.pod) as CloudNativePG's Cluster spells
 * them: the operator builds the instance pods, so our pod builder cannot. Its AffinityConfiguration
 * takes nodeSelector, tolerations and nodeAffinity as they are, and pod (anti-)affinity as
 * `additional*` terms beside its own hostname anti-affinity.
 */
export function cnpgAffinityOptions(pod: ResolvedPodOptions): Record<string, unknown> {
  return {
    ...(Object.keys(pod.nodeSelector).length > 0 ? { nodeSelector: { ...pod.nodeSelector } } : {}),
    ...(pod.tolerations.length > 0 ? { tolerations: pod.tolerations.map((t) => ({ ...t })) } : {}),
    ...(pod.affinity.nodeAffinity ? { nodeAffinity: pod.affinity.nodeAffinity } : {}),
    ...(pod.affinity.podAffinity ? { additionalPodAffinity: pod.affinity.podAffinity } : {}),
    ...(pod.affinity.podAntiAffinity
      ? { additionalPodAntiAffinity: pod.affinity.podAntiAffinity }
      : {}),
  };
}

/** The rest of the pod options at the top of a CloudNativePG Cluster (or Pooler) spec. */
export function cnpgPodOptions(pod: ResolvedPodOptions): Record<string, unknown> {
  const metadata = {
    ...(Object.keys(pod.labels).length > 0 ? { labels: { ...pod.labels } } : {}),
    ...(Object.keys(pod.annotations).length > 0 ? { annotations: { ...pod.annotations } } : {}),
  };
  return {
    ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
    ...(pod.imagePullSecrets.length > 0
      ? { imagePullSecrets: pod.imagePullSecrets.map((name) => ({ name })) }
      : {}),
    // inheritedMetadata reaches every object the operator makes for the Cluster (pods, PVCs,
    // Services); the schema keeps cnpg.io/*, app.kubernetes.io/* and octollm.io/* out of it.
    ...(Object.keys(metadata).length > 0 ? { inheritedMetadata: metadata } : {}),
  };
}

/** The Cluster's spec, from config alone (tests validate it against the CNPG schema). */
export function postgresClusterSpec(
  config: PlatformConfig,
  storageClassName: pulumi.Input<string>,
): Record<string, unknown> {
  const pg = config.dataStores.postgres;
  const hba = pgHba(config);
  const backup = postgresBackupSpec(config);
  const external = externalClusters(config);
  const pod = resolvePodOptions(config.podDefaults, pg.pod);
  return {
    description: `OctoLLM ${config.environment} database`,
    instances: pg.instances,
    imageName: imageRef(pg.image),
    primaryUpdateStrategy: "unsupervised",
    // With standbys, move the primary away before restarting it; alone, restart in place.
    primaryUpdateMethod: pg.instances > 1 ? "switchover" : "restart",
    enableSuperuserAccess: false,
    // A single instance's primary budget (minAvailable 1) would block every node drain.
    enablePDB: pg.instances > 1,
    postgresql: {
      parameters: { ...pg.parameters },
      ...(pg.synchronousReplicas > 0
        ? {
            synchronous: {
              method: "any",
              number: pg.synchronousReplicas,
              dataDurability: "required",
            },
          }
        : {}),
      ...(hba ? { pg_hba: hba } : {}),
    },
    bootstrap: postgresBootstrap(config),
    ...(external ? { externalClusters: external } : {}),
    storage: { size: pg.storage, storageClass: storageClassName, resizeInUseVolumes: true },
    ...(pg.walStorage
      ? { walStorage: { size: pg.walStorage, storageClass: storageClassName } }
      : {}),
    resources: {
      requests: { cpu: pg.resources.requests.cpu, memory: pg.resources.requests.memory },
      limits: { cpu: pg.resources.limits.cpu, memory: pg.resources.limits.memory },
    },
    affinity: {
      enablePodAntiAffinity: true,
      podAntiAffinityType: requireSpread(config) ? "required" : "preferred",
      topologyKey: "kubernetes.io/hostname",
      ...cnpgAffinityOptions(pod),
    },
    ...cnpgPodOptions(pod),
    // The operator's own PodMonitor is deprecated since CNPG 1.26 (and would be named
    // `postgres` too): the observability tier owns a PodMonitor on port `metrics` (9187).
    monitoring: { enablePodMonitor: false },
    ...(backup ? { backup } : {}),
    ...clusterIdentityMetadata(config),
  };
}

/**
 * Workload identity for the object store (backups.credentials.mode): the annotation on the
 * ServiceAccount the operator makes for the instances (`postgres`), and Azure's pod label,
 * which CNPG passes to every object it makes through inheritedMetadata.
 */
function clusterIdentityMetadata(config: PlatformConfig): Record<string, unknown> {
  if (!usesPostgresObjectStore(config)) return {};
  const annotations = identityServiceAccountAnnotations(config);
  const podLabels = identityPodLabels(config);
  return {
    ...(Object.keys(annotations).length > 0
      ? { serviceAccountTemplate: { metadata: { annotations } } }
      : {}),
    ...(Object.keys(podLabels).length > 0 ? { inheritedMetadata: { labels: podLabels } } : {}),
  };
}

/** CloudNativePG operator chart values (its resources are checked by components/resource-placements.ts). */
export function cnpgOperatorValues(): Record<string, unknown> {
  return {
    crds: { create: true },
    config: { clusterWide: true },
    monitoring: { podMonitorEnabled: false },
    // limit/request ≤ 4, so the operator also fits a namespace with the platform's LimitRange.
    resources: {
      requests: { cpu: "125m", memory: "200Mi" },
      limits: { cpu: "500m", memory: "512Mi" },
    },
  };
}

export class Postgres extends pulumi.ComponentResource {
  /** the CNPG Cluster (protected and retained with protectData) */
  public readonly cluster: k8s.apiextensions.CustomResource;
  /** the operator's chart when this program installs it (CRD users dependOn it) */
  public readonly operatorChart: k8s.helm.v4.Chart | undefined;
  public readonly clusterName: string;
  public readonly serviceNames: typeof POSTGRES_SERVICES;
  /** labels of the instance pods (set by the operator) */
  public readonly podLabels: Labels;
  /** the PgBouncer Pooler when dataStores.postgres.pooler.enabled */
  public readonly pooler: k8s.apiextensions.CustomResource | undefined;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:data:Postgres", name, {}, opts);
    const { config, namespaces, storageClassName } = args;
    const identity = storeIdentity(config, POSTGRES_CLUSTER_NAME);
    const labels = standardLabels(identity);
    const operator = config.operators.cloudnativePg;
    const namespace = namespaces.workloads;

    if (operator.install) {
      const operatorNamespace = new k8s.core.v1.Namespace(
        `${name}-operator-ns`,
        {
          metadata: {
            name: operator.namespace,
            labels: standardLabels(
              { ...identity, name: CNPG_CHART, component: "operator" },
              {
                // The operator's pods are restricted-compliant (non-root, read-only, no caps).
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "restricted",
                "pod-security.kubernetes.io/warn": "restricted",
              },
            ),
          },
        },
        { parent: this },
      );
      this.operatorChart = new k8s.helm.v4.Chart(
        `${name}-operator`,
        {
          chart: CNPG_CHART,
          version: operator.version,
          namespace: operator.namespace,
          repositoryOpts: { repo: CNPG_REPO },
          // No value relies on a Helm hook (helm.v4.Chart skips them): the chart ships its CRDs
          // as templates and the operator makes its own webhook certificates.
          values: chartValuesInput(config, "cloudnativePg", cnpgOperatorValues()),
        },
        { parent: this, dependsOn: [operatorNamespace] },
      );
    }

    // Static keys from secret config (backups.credentials.secrets program): the Secret exists
    // before the Cluster that reads it.
    const store = config.backups.postgres.objectStore;
    const credentials =
      store && usesPostgresObjectStore(config) && programMakesBackupSecrets(config)
        ? backupCredentialsSecret(
            `${name}-object-store-credentials`,
            {
              secretName: store.credentialsSecret,
              namespace,
              labels,
              data: config.secrets.backupCredentials.postgres ?? {},
            },
            { parent: this },
          )
        : undefined;

    this.cluster = new k8s.apiextensions.CustomResource(
      `${name}-cluster`,
      {
        apiVersion: "postgresql.cnpg.io/v1",
        kind: "Cluster",
        metadata: {
          name: POSTGRES_CLUSTER_NAME,
          namespace,
          labels,
          // The object-store Secret the Cluster reads is created outside the stack (docs/backups.md).
          annotations: cnpgClusterAnnotations(config),
        },
        spec: postgresClusterSpec(config, storageClassName),
      },
      {
        parent: this,
        ...dataOptions(config),
        dependsOn: [
          ...(this.operatorChart ? [this.operatorChart] : []),
          ...(credentials ? [credentials] : []),
        ],
      },
    );

    // Optional PgBouncer in front of the primary (pooler.ts).
    this.pooler = poolerEnabled(config)
      ? postgresPooler(
          name,
          { config, namespace, cluster: this.cluster, clusterName: POSTGRES_CLUSTER_NAME },
          this,
        )
      : undefined;

    // Instances: clients on 5432; each other on 5432 (streaming) and 8000 (instance manager);
    // the operator on 8000 (status) and 5432; Prometheus on 9187. Out: each other, the API server
    // (the instance manager watches its Cluster), and the object store when archiving.
    const instances = { podSelector: { matchLabels: POSTGRES_POD_LABELS } };
    const operatorPeer = {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": operator.namespace } },
    };
    const archive =
      postgresBackupSpec(config) !== undefined || externalClusters(config) !== undefined;
    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      {
        metadata: { name: POSTGRES_CLUSTER_NAME, namespace, labels },
        spec: {
          ...policySpec(
            POSTGRES_POD_LABELS,
            [
              { from: clientPeers(config, "postgres"), ports: tcp(CNPG_PORTS.postgres) },
              { from: [instances], ports: tcp(CNPG_PORTS.postgres, CNPG_PORTS.status) },
              { from: [operatorPeer], ports: tcp(CNPG_PORTS.status, CNPG_PORTS.postgres) },
              ...prometheusIngress(config, CNPG_PORTS.metrics),
            ],
            [
              { to: [instances], ports: tcp(CNPG_PORTS.postgres, CNPG_PORTS.status) },
              {
                to: config.network.apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })),
                ports: tcp(...config.network.apiServerPorts),
              },
              ...(archive ? [llmEgress(config), ...identityEgress(config)] : []),
            ],
          ),
          // The pooler's pods carry cnpg.io/cluster too; they have their own policy.
          ...(this.pooler
            ? {
                podSelector: {
                  matchLabels: POSTGRES_POD_LABELS,
                  matchExpressions: [
                    { key: "cnpg.io/podRole", operator: "NotIn", values: ["pooler"] },
                  ],
                },
              }
            : {}),
        },
      },
      { parent: this },
    );

    this.clusterName = POSTGRES_CLUSTER_NAME;
    this.serviceNames = POSTGRES_SERVICES;
    this.podLabels = POSTGRES_POD_LABELS;
    this.registerOutputs({
      clusterName: this.clusterName,
      serviceNames: this.serviceNames,
    });
  }
}
