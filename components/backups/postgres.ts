/**
 * Postgres backups, two ways:
 *
 * - With `backups.postgres.objectStore` (staging, production): CloudNativePG's own backups.
 *   The Cluster archives every WAL segment to the object store and keeps base backups there
 *   (`spec.backup.barmanObjectStore` + `retentionPolicy`), and a ScheduledBackup takes a base
 *   backup daily. Together: point-in-time recovery to any second inside the retention window.
 * - Without (dev): a hardened `pg_dump` CronJob into a backup PVC with day-based retention.
 *
 * The Cluster belongs to the data-stores tier, and so do its `spec.backup` (WAL archive + base
 * backups, retentionPolicy) and `spec.bootstrap` (initdb, or the recovery bootstrap of
 * `dataStores.postgres.restoreFrom`): components/data-stores/postgres.ts#postgresBackupSpec and
 * #postgresBootstrap, from the `backups.postgres` and `restoreFrom` config validated in
 * config.ts. This module adds what the Cluster does not own: the ScheduledBackup, the dev dump
 * job, and the Cluster's declaration of the object-store Secret it reads but the stack does not
 * make (cnpgClusterAnnotations, for the policy pack's config-references rule).
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
import { usesPostgresObjectStore } from "../config";
import { externalBackupSecrets } from "./credentials";
import { standardLabels } from "../k8s/labels";
import { secretEnv } from "../k8s/pod";
import { resolvePodOptions } from "../k8s/pod-options";
import { credentialRef, postgresOwnerSecret, refEnv } from "../credentials";
import { DATA_STORE_PORTS, dataStorePodLabels, tcp } from "../network-flows";
import { SECRET_NAMES } from "../secrets";
import type { BackupJob } from "./cron-job";
import { backupIdentity, backupJob, BACKUP_MOUNT, scriptPrologue } from "./cron-job";
import { cnpgSchedule } from "./schedule";

/** The CloudNativePG Cluster's name (data-stores tier). */
export const POSTGRES_CLUSTER = "postgres";
export const SCHEDULED_BACKUP_NAME = "postgres-base-backup";
/** The annotation the policy pack reads for Secrets a resource uses that the stack does not make. */
const EXTERNAL_SECRETS_ANNOTATION = "octollm.io/external-secrets";

/** Secrets the Cluster reads that the stack does not create: object store credentials, image pull secrets. */
export function cnpgExternalSecrets(config: PlatformConfig): string[] {
  const store = config.backups.postgres.objectStore;
  const pullSecrets = resolvePodOptions(
    config.podDefaults,
    config.dataStores.postgres.pod,
  ).imagePullSecrets;
  // Object store keys only when you create them yourself: the program's own Secret is in the
  // stack, and a workload identity reads no Secret at all.
  const keys =
    store && usesPostgresObjectStore(config) && externalBackupSecrets(config)
      ? [store.credentialsSecret]
      : [];
  const owner = postgresOwnerSecret(config);
  return [...keys, ...pullSecrets, ...(owner.external ? [owner.name] : [])];
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
        refEnv("PGPASSWORD", credentialRef(config, "database")),
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
