/**
 * Backups tier (`octollm:backups:Backups`): Velero for whole namespaces, and each data store's
 * own backup, so a store can be restored without restoring a namespace:
 *
 * - Velero Schedule `octollm-<env>-daily` (and optionally Velero itself): velero.ts;
 * - Postgres: CloudNativePG WAL archive + daily ScheduledBackup (point-in-time recovery), or a
 *   pg_dump CronJob where there is no object store (dev): postgres.ts (the Cluster's backup
 *   and recovery-bootstrap spec are the data-stores tier's, from the same config);
 * - Redis: a fresh RDB from the current master (found through Sentinel): redis.ts;
 * - Qdrant: snapshot API, every peer and collection in cluster mode: qdrant.ts;
 * - the hardened shape all three CronJobs share: cron-job.ts.
 *
 * Restore runbook: docs/backups.md.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import type { NamespaceRole } from "../foundation";
import { instanceName, standardLabels } from "../k8s/labels";
import { backupJobName } from "./cron-job";
import { postgresBackup, SCHEDULED_BACKUP_NAME } from "./postgres";
import { qdrantBackup } from "./qdrant";
import { redisBackup } from "./redis";
import { velero, veleroScheduleName } from "./velero";

export { cnpgClusterAnnotations, cnpgExternalSecrets } from "./postgres";
export { backupPodLabels, hasBackupJob } from "./cron-job";

/** ServiceAccount of the backup pods (no token: they never call the Kubernetes API). */
export const BACKUP_SERVICE_ACCOUNT = "backup";

export interface BackupsArgs {
  config: PlatformConfig;
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
  storageClassName: pulumi.Input<string>;
  /** the CloudNativePG chart when the program installs it (the ScheduledBackup CRD) */
  cnpgOperator?: pulumi.Resource;
  /** the data stores (or their tier): backups are scheduled once they exist */
  dataStores?: pulumi.Resource[];
  /** the Prometheus Operator chart when the program installs it (Velero's ServiceMonitor) */
  monitoringOperator?: pulumi.Resource;
}

export class Backups extends pulumi.ComponentResource {
  /** names of the backup CronJobs (`<store>-backup`) */
  public readonly cronJobs: string[];
  /** the CloudNativePG ScheduledBackup, when Postgres archives to an object store */
  public readonly scheduledBackup: string | undefined;
  /** the Velero Schedule, when enabled */
  public readonly veleroSchedule: string | undefined;

  constructor(name: string, args: BackupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:backups:Backups", name, {}, opts);
    const { config, namespaces } = args;
    const b = config.backups;

    const v = velero(
      `${name}-velero`,
      { config, monitoringOperator: args.monitoringOperator },
      this,
    );
    this.veleroSchedule = v.schedule ? veleroScheduleName(config) : undefined;

    const cronJobs: string[] = [];
    let scheduledBackup: string | undefined;
    if (b.enabled) {
      const namespace = namespaces.workloads;
      const sa = new k8s.core.v1.ServiceAccount(
        `${name}-sa`,
        {
          metadata: {
            name: BACKUP_SERVICE_ACCOUNT,
            namespace,
            labels: standardLabels({
              name: BACKUP_SERVICE_ACCOUNT,
              component: "backup",
              instance: instanceName(config.environment),
            }),
          },
          automountServiceAccountToken: false,
        },
        { parent: this },
      );
      const dataStores = args.dataStores ?? [];
      const common = {
        config,
        namespace,
        storageClassName: args.storageClassName,
        serviceAccountName: sa.metadata.name,
        dependsOn: dataStores,
      };
      const pg = postgresBackup(
        `${name}-postgres`,
        {
          ...common,
          dependsOn: [...dataStores, ...(args.cnpgOperator ? [args.cnpgOperator] : [])],
        },
        this,
      );
      if (pg.dumpJob) cronJobs.push(backupJobName("postgres"));
      if (pg.scheduledBackup) scheduledBackup = SCHEDULED_BACKUP_NAME;
      redisBackup(`${name}-redis`, common, this);
      qdrantBackup(`${name}-qdrant`, common, this);
      cronJobs.push(backupJobName("redis"), backupJobName("qdrant"));
    }
    this.cronJobs = cronJobs;
    this.scheduledBackup = scheduledBackup;

    this.registerOutputs({
      cronJobs: this.cronJobs,
      scheduledBackup: this.scheduledBackup,
      veleroSchedule: this.veleroSchedule,
    });
  }
}
