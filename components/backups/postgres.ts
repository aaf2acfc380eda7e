/**
 * Postgres backups, two ways:
 *
 * - With `backups.postgres.objectStore` (staging, production): CloudNativePG's own backups.
 *   The Cluster archives every WAL segment to the object store and keeps base backups there
 *   (`spec.backup.barmanObjectStore` + `retentionPolicy`), and a ScheduledBackup takes a base
 *   backup daily. Together: point-in-time recovery to any second inside the retention window.
 * - Without (dev): a hardened `pg_dump` CronJob into a backup PVC with day-based retention.
 *
 * The Cluster belongs to the data-stores tier. This module gives it pure functions to spread
 * into the Cluster spec, so backup and restore settings live here and the Cluster stays theirs:
 *
 *     spec: { ...cnpgBootstrap(config, { initdb }), ...cnpgBackupSpec(config), ... }
 *     metadata.annotations: { ...cnpgClusterAnnotations(config) }
 *
 * In-tree barmanObjectStore vs the Barman Cloud plugin: the pinned chart
 * (operators.cloudnativePg.version 0.26.0) runs CloudNativePG 1.27. Since 1.26 the in-tree
 * `barmanObjectStore` is deprecated in favour of the Barman Cloud CNPG-I plugin, but it is fully
 * supported in 1.27 (removal announced for a later minor, now 1.31). We stay in-tree on 1.27
 * because (a) the plugin needs cert-manager for the operator↔plugin TLS, which staging and dev
 * do not install, and a second operator deployment; (b) with the plugin, the Cluster's
 * lastSuccessfulBackup status and the `cnpg_collector_last_available_backup_timestamp` /
 * `..._last_failed_backup_timestamp` metrics stop updating (1.26.1 release notes), and those
 * metrics are what the Postgres BackupTooOld / BackupFailed alerts watch. The plugin reads
 * in-tree archives unchanged, so migrating (an ObjectStore resource + `spec.plugins`) is a
 * config change on the same bucket; do it together with the chart bump that removes the field.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import { standardLabels } from "../k8s/labels";
import { secretEnv } from "../k8s/pod";
import { DATA_STORE_PORTS, dataStorePodLabels, tcp } from "../network-flows";
import { SECRET_NAMES } from "../secrets";
import type { BackupJob } from "./cron-job";
import { backupIdentity, backupJob, BACKUP_MOUNT, scriptPrologue } from "./cron-job";
import { cnpgSchedule } from "./schedule";

/** The CloudNativePG Cluster's name (data-stores tier); also its default archive server name. */
export const POSTGRES_CLUSTER = "postgres";
export const SCHEDULED_BACKUP_NAME = "postgres-base-backup";
/** externalClusters entry a recovery reads the archive through. */
export const RESTORE_SOURCE = "postgres-archive";
/** The annotation the policy pack reads for Secrets a resource uses that the stack does not make. */
const EXTERNAL_SECRETS_ANNOTATION = "octollm.io/external-secrets";

/** Keys expected in `backups.postgres.objectStore.credentialsSecret`, per object store. */
export const OBJECT_STORE_KEYS = {
  s3: { accessKeyId: "ACCESS_KEY_ID", secretAccessKey: "ACCESS_SECRET_KEY" },
  gs: { applicationCredentials: "gcsCredentials" },
  azure: { storageAccount: "AZURE_STORAGE_ACCOUNT", storageKey: "AZURE_STORAGE_KEY" },
} as const;

interface SecretKeyRef {
  name: string;
  key: string;
}

/** The subset of CloudNativePG's BarmanObjectStoreConfiguration the platform sets. */
export interface BarmanObjectStore {
  destinationPath: string;
  endpointURL?: string;
  serverName?: string;
  s3Credentials?: { accessKeyId: SecretKeyRef; secretAccessKey: SecretKeyRef };
  googleCredentials?: { applicationCredentials: SecretKeyRef };
  azureCredentials?: { storageAccount: SecretKeyRef; storageKey: SecretKeyRef };
  wal?: { compression: string; encryption?: string; maxParallel: number };
  data?: { compression: string; encryption?: string; jobs: number };
}

export interface CnpgBackupConfiguration {
  barmanObjectStore: BarmanObjectStore;
  retentionPolicy: string;
  target: "prefer-standby" | "primary";
}

export interface CnpgRecovery {
  database: string;
  owner: string;
  secret: { name: string };
  source?: string;
  backup?: { name: string };
  recoveryTarget?: { targetTime: string };
}

export interface CnpgExternalCluster {
  name: string;
  barmanObjectStore: BarmanObjectStore;
}

type ObjectStoreConfig = NonNullable<PlatformConfig["backups"]["postgres"]["objectStore"]>;

/** Connection and credentials of the archive (what backup and recovery share). */
function archive(store: ObjectStoreConfig): BarmanObjectStore {
  const ref = (key: string): SecretKeyRef => ({ name: store.credentialsSecret, key });
  const scheme = store.destinationPath.startsWith("gs://")
    ? "gs"
    : store.destinationPath.startsWith("s3://")
      ? "s3"
      : "azure";
  const credentials =
    scheme === "s3"
      ? {
          s3Credentials: {
            accessKeyId: ref(OBJECT_STORE_KEYS.s3.accessKeyId),
            secretAccessKey: ref(OBJECT_STORE_KEYS.s3.secretAccessKey),
          },
        }
      : scheme === "gs"
        ? {
            googleCredentials: {
              applicationCredentials: ref(OBJECT_STORE_KEYS.gs.applicationCredentials),
            },
          }
        : {
            azureCredentials: {
              storageAccount: ref(OBJECT_STORE_KEYS.azure.storageAccount),
              storageKey: ref(OBJECT_STORE_KEYS.azure.storageKey),
            },
          };
  return {
    destinationPath: store.destinationPath,
    ...(store.endpointURL ? { endpointURL: store.endpointURL } : {}),
    ...credentials,
  };
}

/** S3 server-side encryption of what barman-cloud uploads (other stores encrypt by default). */
function encryption(store: ObjectStoreConfig): { encryption?: string } {
  return store.destinationPath.startsWith("s3://") && !store.endpointURL
    ? { encryption: "AES256" }
    : {};
}

/**
 * `spec.backup` of the Cluster: WAL archiving (gzip, 2 parallel uploads) and base backups to the
 * object store, retention from config, base backups taken from a standby when there is one.
 * Empty when backups are off or there is no object store (dev: the pg_dump CronJob instead).
 */
export function cnpgBackupSpec(config: PlatformConfig): { backup?: CnpgBackupConfiguration } {
  const store = config.backups.postgres.objectStore;
  if (!config.backups.enabled || !store) return {};
  return {
    backup: {
      barmanObjectStore: {
        ...archive(store),
        ...(store.serverName ? { serverName: store.serverName } : {}),
        wal: { compression: "gzip", ...encryption(store), maxParallel: 2 },
        data: { compression: "gzip", ...encryption(store), jobs: 2 },
      },
      retentionPolicy: config.backups.postgres.retention,
      target: "prefer-standby",
    },
  };
}

/**
 * `spec.bootstrap` (and `spec.externalClusters`) of the Cluster: the caller's initdb, or — with
 * `dataStores.postgres.restoreFrom` — CloudNativePG's recovery bootstrap, from a Backup object
 * or from the object store's base backups + WAL, optionally to a point in time. The application
 * database, owner and the owner's Secret are set again after recovery, so the generated
 * credentials in `postgres-owner-credentials` work on the restored cluster.
 */
export function cnpgBootstrap<InitDb>(
  config: PlatformConfig,
  initdb: InitDb,
): {
  bootstrap: { initdb: InitDb } | { recovery: CnpgRecovery };
  externalClusters?: CnpgExternalCluster[];
} {
  const pg = config.dataStores.postgres;
  const restore = pg.restoreFrom;
  if (!restore) return { bootstrap: { initdb } };
  const recovery: CnpgRecovery = {
    database: pg.database,
    owner: pg.owner,
    secret: { name: SECRET_NAMES.postgresOwner },
    ...(restore.backup ? { backup: { name: restore.backup } } : { source: RESTORE_SOURCE }),
    ...(restore.targetTime ? { recoveryTarget: { targetTime: restore.targetTime } } : {}),
  };
  const store = config.backups.postgres.objectStore;
  if (restore.backup || !store) return { bootstrap: { recovery } };
  return {
    bootstrap: { recovery },
    externalClusters: [
      {
        name: RESTORE_SOURCE,
        barmanObjectStore: {
          ...archive(store),
          serverName: restore.serverName ?? POSTGRES_CLUSTER,
        },
      },
    ],
  };
}

/** Secrets the Cluster reads that the stack does not create (the object store credentials). */
export function cnpgExternalSecrets(config: PlatformConfig): string[] {
  const store = config.backups.postgres.objectStore;
  const archiving = config.backups.enabled && store !== undefined;
  const recovering = config.dataStores.postgres.restoreFrom?.objectStore === true;
  return store && (archiving || recovering) ? [store.credentialsSecret] : [];
}

/** Annotations the Cluster carries for the policy pack (declared external Secrets). */
export function cnpgClusterAnnotations(config: PlatformConfig): Record<string, string> {
  const external = cnpgExternalSecrets(config);
  return external.length > 0 ? { [EXTERNAL_SECRETS_ANNOTATION]: external.join(",") } : {};
}

/** The ScheduledBackup object (postgresql.cnpg.io/v1) of a stack with an object store. */
export function scheduledBackupObject(config: PlatformConfig, namespace: pulumi.Input<string>) {
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "ScheduledBackup",
    metadata: {
      name: SCHEDULED_BACKUP_NAME,
      namespace,
      labels: standardLabels(backupIdentity(config, "postgres")),
    },
    spec: {
      // CloudNativePG's cron has a leading seconds field.
      schedule: cnpgSchedule(config.backups.postgres.schedule),
      cluster: { name: POSTGRES_CLUSTER },
      method: "barmanObjectStore",
      // A base backup as soon as the schedule exists: PITR works from the first day.
      immediate: true,
      // Backups belong to the ScheduledBackup, not the Cluster: deleting the Cluster for a
      // restore keeps the Backup objects it would restore from.
      backupOwnerReference: "self",
      target: "prefer-standby",
    },
  };
}

/** The dev path: `pg_dump` (custom format, compressed) of the application database. */
export function pgDumpScript(): string {
  return `${scriptPrologue(["pg_dump", "pg_restore", "find"])}
out="${BACKUP_MOUNT}/$PGDATABASE-$STAMP.dump"
echo "pg_dump of database $PGDATABASE on $PGHOST into $out"
pg_dump --format=custom --compress=6 --no-password --file="$out.partial"
# The archive must be readable before it counts as a backup.
pg_restore --list "$out.partial" >/dev/null
mv "$out.partial" "$out"
echo "done: $(du -h "$out" | cut -f1)"
prune '*.dump'
`;
}

export interface PostgresBackupArgs {
  config: PlatformConfig;
  namespace: pulumi.Input<string>;
  storageClassName: pulumi.Input<string>;
  serviceAccountName: pulumi.Input<string>;
  dependsOn: pulumi.Resource[];
}

export interface PostgresBackup {
  scheduledBackup?: k8s.apiextensions.CustomResource;
  dumpJob?: BackupJob;
}

export function postgresBackup(
  name: string,
  args: PostgresBackupArgs,
  parent: pulumi.Resource,
): PostgresBackup {
  const { config } = args;
  if (config.backups.postgres.objectStore) {
    const obj = scheduledBackupObject(config, args.namespace);
    const scheduledBackup = new k8s.apiextensions.CustomResource(
      `${name}-scheduled`,
      { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata, spec: obj.spec },
      { parent, dependsOn: args.dependsOn },
    );
    return { scheduledBackup };
  }
  const db = (env: string, key: string) => secretEnv(env, SECRET_NAMES.database, key);
  const dumpJob = backupJob(
    name,
    {
      config,
      store: "postgres",
      namespace: args.namespace,
      storageClassName: args.storageClassName,
      serviceAccountName: args.serviceAccountName,
      schedule: config.backups.postgres.schedule,
      retention: config.backups.postgres.retention,
      script: pgDumpScript(),
      env: [
        db("PGHOST", "host"),
        db("PGPORT", "port"),
        db("PGDATABASE", "database"),
        db("PGUSER", "username"),
        db("PGPASSWORD", "password"),
        { name: "PGSSLMODE", value: config.dataStores.postgres.requireTls ? "require" : "prefer" },
        { name: "PGCONNECT_TIMEOUT", value: "30" },
      ],
      egress: [
        {
          to: [{ podSelector: { matchLabels: dataStorePodLabels(config, "postgres") } }],
          ports: tcp(...DATA_STORE_PORTS.postgres),
        },
      ],
      activeDeadlineSeconds: 3 * 3600,
      dependsOn: args.dependsOn,
    },
    parent,
  );
  return { dumpJob };
}
