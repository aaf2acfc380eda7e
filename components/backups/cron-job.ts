/**
 * The one shape of every backup CronJob (`postgres-backup`, `redis-backup`, `qdrant-backup`):
 *
 * - pod from the hardened pod builder (non-root 10001, read-only root, no capabilities, no
 *   ServiceAccount token), restartPolicy Never so a failed attempt's pod and logs stay for
 *   `kubectl logs` while the Job retries in a new pod (backoffLimit);
 * - concurrencyPolicy Forbid (a slow run is never overlapped by the next one), a deadline to
 *   start (startingDeadlineSeconds) and to finish (activeDeadlineSeconds), history limits that
 *   keep the newest failed Job for the BackupFailed alert, schedules in UTC;
 * - identity `<store>-backup` / component `backup`: kube-state-metrics reports
 *   kube_cronjob_status_last_successful_time and kube_job_status_failed under these names,
 *   which the observability tier's BackupFailed / BackupTooOld alerts watch;
 * - a PersistentVolumeClaim of its own (ReadWriteOnce): one claim per store, so the three jobs
 *   never compete for one volume attachable to one node at a time; protected and retained on
 *   delete per `protectData`, like the data it holds;
 * - a NetworkPolicy: no ingress at all, egress only to the store it backs up, on the ports the
 *   job uses (DNS is allowed to every pod by the foundation). The data stores' own ingress
 *   policies admit `app.kubernetes.io/component: backup` pods.
 *
 * The script runs with `sh -eu`; secrets reach it only as env vars from secretKeyRef.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import type { Labels } from "../k8s/labels";
import { instanceName, selectorLabels, standardLabels } from "../k8s/labels";
import type { EgressRule } from "../network-flows";
import { policySpec } from "../network-flows";
import { hardenedPodTemplate } from "../k8s/pod";
import { externalCredentialSecrets } from "../credentials";
import { resolvePodOptions } from "../k8s/pod-options";
import { retentionDays } from "./schedule";

type EnvVar = k8s.types.input.core.v1.EnvVar;

export type BackedUpStore = "postgres" | "redis" | "qdrant";

/** Where each job keeps its copies inside its container. */
export const BACKUP_MOUNT = "/backup";
export const BACKUP_COMPONENT = "backup";
/** Schedules are read in UTC, whatever the controller manager's zone. */
export const BACKUP_TIME_ZONE = "Etc/UTC";

export const BACKUP_JOB_DEFAULTS = {
  concurrencyPolicy: "Forbid",
  /** a run that could not start within an hour of its slot is skipped (BackupTooOld notices) */
  startingDeadlineSeconds: 3600,
  successfulJobsHistoryLimit: 3,
  /** ≥ 1: the newest failed Job must stay for kube_job_status_failed / BackupFailed */
  failedJobsHistoryLimit: 3,
  backoffLimit: 2,
} as const;

/**
 * Whether the stack runs a backup CronJob for the store (what the store's NetworkPolicy should
 * admit): Redis and Qdrant whenever backups are on; Postgres only without an object store
 * (with one, CloudNativePG's own instance pods do the backups).
 */
export function hasBackupJob(config: PlatformConfig, store: BackedUpStore): boolean {
  if (!config.backups.enabled) return false;
  return store !== "postgres" || config.backups.postgres.objectStore === undefined;
}

/** Name of a store's backup CronJob, PVC and NetworkPolicy. */
export function backupJobName(store: BackedUpStore): string {
  return `${store}-backup`;
}

export function backupIdentity(config: PlatformConfig, store: BackedUpStore) {
  return {
    name: backupJobName(store),
    component: BACKUP_COMPONENT,
    instance: instanceName(config.environment),
  };
}

/** Pod labels of a store's backup job (also the NetworkPolicy's selector). */
export function backupPodLabels(config: PlatformConfig, store: BackedUpStore): Labels {
  return selectorLabels(backupIdentity(config, store));
}

/**
 * Shell prologue shared by the scripts: strict mode, required tools, a UTC stamp, removal of
 * leftovers of an interrupted run. `prune` deletes copies older than RETENTION_DAYS; scripts call
 * it only after the new copy is complete and checked.
 */
export function scriptPrologue(tools: string[]): string {
  return `set -eu
for tool in ${tools.join(" ")}; do
  command -v "$tool" >/dev/null 2>&1 || { echo "backup image lacks $tool" >&2; exit 2; }
done
cd "${BACKUP_MOUNT}"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
# An interrupted run (deadline, eviction) leaves *.partial behind; it is never a backup.
find "${BACKUP_MOUNT}" -mindepth 1 -maxdepth 1 -name '*.partial' -exec rm -rf {} +
prune() {
  # $1: find -name pattern of complete copies. Age in minutes, so "7d" means 7 x 24 h.
  find "${BACKUP_MOUNT}" -mindepth 1 -maxdepth 1 -name "$1" -mmin +$((RETENTION_DAYS * 1440)) -print -exec rm -rf {} +
}
`;
}

export interface BackupJobArgs {
  config: PlatformConfig;
  store: BackedUpStore;
  namespace: pulumi.Input<string>;
  storageClassName: pulumi.Input<string>;
  serviceAccountName: pulumi.Input<string>;
  /** five-field cron (config) */
  schedule: string;
  /** retention (config): `7d`, `4w`, `1m` */
  retention: string;
  /** the POSIX sh script; reads RETENTION_DAYS and its own env */
  script: string;
  /** non-secret values and secretKeyRef entries only */
  env: EnvVar[];
  /** egress to the store, exactly the ports the script uses */
  egress: EgressRule[];
  /** hard limit of one run, retries included */
  activeDeadlineSeconds: number;
  /** annotations on the pod template (e.g. the Secrets the pod reads that the stack does not make) */
  podAnnotations?: Record<string, string>;
  /** what must exist before the first run (the data store) */
  dependsOn?: pulumi.Resource[];
}

export interface BackupJob {
  cronJob: k8s.batch.v1.CronJob;
  claim: k8s.core.v1.PersistentVolumeClaim;
  networkPolicy: k8s.networking.v1.NetworkPolicy;
}

/** The CronJob, its PVC and its NetworkPolicy, children of `parent`. */
export function backupJob(name: string, args: BackupJobArgs, parent: pulumi.Resource): BackupJob {
  const { config } = args;
  const id = backupIdentity(config, args.store);
  const labels = standardLabels(id);
  const objectName = backupJobName(args.store);
  const dataOpts = {
    parent,
    protect: config.protectData,
    retainOnDelete: config.protectData,
  };

  const claim = new k8s.core.v1.PersistentVolumeClaim(
    `${name}-claim`,
    {
      metadata: { name: objectName, namespace: args.namespace, labels },
      spec: {
        accessModes: ["ReadWriteOnce"],
        storageClassName: args.storageClassName,
        resources: { requests: { storage: config.backups.storage } },
      },
    },
    dataOpts,
  );

  const template = hardenedPodTemplate({
    labels,
    annotations: args.podAnnotations,
    serviceAccountName: args.serviceAccountName,
    restartPolicy: "Never",
    options: resolvePodOptions(
      config.podDefaults,
      config.backups.pod,
      externalCredentialSecrets(config),
    ),
    containers: [
      {
        name: "backup",
        image: config.backups.jobImage,
        resources: config.backups.jobResources,
        command: ["/bin/sh", "-c"],
        args: [args.script],
        env: [
          { name: "HOME", value: "/tmp" },
          { name: "RETENTION_DAYS", value: String(retentionDays(args.retention)) },
          ...args.env,
        ],
        volumeMounts: [{ name: "backup", mountPath: BACKUP_MOUNT }],
      },
    ],
    volumes: [{ name: "backup", persistentVolumeClaim: { claimName: claim.metadata.name } }],
  });

  const cronJob = new k8s.batch.v1.CronJob(
    `${name}-cronjob`,
    {
      metadata: { name: objectName, namespace: args.namespace, labels },
      spec: {
        schedule: args.schedule,
        timeZone: BACKUP_TIME_ZONE,
        concurrencyPolicy: BACKUP_JOB_DEFAULTS.concurrencyPolicy,
        startingDeadlineSeconds: BACKUP_JOB_DEFAULTS.startingDeadlineSeconds,
        successfulJobsHistoryLimit: BACKUP_JOB_DEFAULTS.successfulJobsHistoryLimit,
        failedJobsHistoryLimit: BACKUP_JOB_DEFAULTS.failedJobsHistoryLimit,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: BACKUP_JOB_DEFAULTS.backoffLimit,
            activeDeadlineSeconds: args.activeDeadlineSeconds,
            template,
          },
        },
      },
    },
    { parent, dependsOn: [claim, ...(args.dependsOn ?? [])] },
  );

  const networkPolicy = new k8s.networking.v1.NetworkPolicy(
    `${name}-netpol`,
    {
      metadata: { name: objectName, namespace: args.namespace, labels },
      spec: policySpec(backupPodLabels(config, args.store), [], args.egress),
    },
    { parent },
  );

  return { cronJob, claim, networkPolicy };
}
