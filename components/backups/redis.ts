/**
 * Redis backup: an RDB snapshot CronJob (`redis-backup`).
 *
 * It asks Sentinel for the current master (`SENTINEL get-master-addr-by-name mymaster` on the
 * `redis-sentinel` Service; in standalone mode the master is the `redis` Service), then runs
 * `redis-cli --rdb` against it: the master forks and streams a FRESH snapshot over the
 * replication protocol, so the copy is neither a stale file from a replica's disk nor dependent
 * on the pod's volume. The file is checked (RDB magic), gzipped into the backup PVC, and copies
 * older than the retention are pruned afterwards.
 *
 * The password reaches redis-cli through REDISCLI_AUTH from the `redis-credentials` Secret, or
 * the active slot's key of dataStores.redis.existingSecret (secretKeyRef): never on a command
 * line, never in the script. Sentinel shares the password.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import { REDIS_MASTER_NAME } from "../k8s/http-service";
import { dataStorePodLabels, tcp } from "../network-flows";
import { credentialRef, refEnv } from "../credentials";
import type { BackupJob } from "./cron-job";
import { backupJob, BACKUP_MOUNT, scriptPrologue } from "./cron-job";

export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26379;

/** The RDB copy script; REDIS_MODE, REDIS_HOST / REDIS_SENTINEL_HOST and REDISCLI_AUTH from env. */
export function redisBackupScript(): string {
  return `${scriptPrologue(["redis-cli", "gzip", "find"])}
if [ "$REDIS_MODE" = sentinel ]; then
  addr=$(redis-cli -h "$REDIS_SENTINEL_HOST" -p ${SENTINEL_PORT} SENTINEL get-master-addr-by-name "$REDIS_MASTER_NAME")
  set -- $addr
  if [ $# -ne 2 ]; then
    echo "sentinel knows no master named $REDIS_MASTER_NAME (answer: $addr)" >&2
    exit 1
  fi
  host=$1
  port=$2
else
  host=$REDIS_HOST
  port=${REDIS_PORT}
fi
out="${BACKUP_MOUNT}/redis-$STAMP.rdb"
echo "fresh RDB snapshot from master $host:$port into $out.gz"
redis-cli -h "$host" -p "$port" --rdb "$out.partial"
# Every RDB file starts with the magic "REDIS" and a version.
[ "$(head -c 5 "$out.partial")" = REDIS ] || { echo "not an RDB file: $out.partial" >&2; exit 1; }
gzip -6 "$out.partial"
mv "$out.partial.gz" "$out.gz"
echo "done: $(du -h "$out.gz" | cut -f1)"
prune 'redis-*.rdb.gz'
`;
}

export interface RedisBackupArgs {
  config: PlatformConfig;
  namespace: pulumi.Input<string>;
  storageClassName: pulumi.Input<string>;
  serviceAccountName: pulumi.Input<string>;
  dependsOn: pulumi.Resource[];
}

export function redisBackup(
  name: string,
  args: RedisBackupArgs,
  parent: pulumi.Resource,
): BackupJob {
  const { config } = args;
  const sentinel = config.dataStores.redis.mode === "sentinel";
  return backupJob(
    name,
    {
      config,
      store: "redis",
      namespace: args.namespace,
      storageClassName: args.storageClassName,
      serviceAccountName: args.serviceAccountName,
      schedule: config.backups.redis.schedule,
      retention: config.backups.redis.retention,
      script: redisBackupScript(),
      env: [
        { name: "REDIS_MODE", value: config.dataStores.redis.mode },
        sentinel
          ? { name: "REDIS_SENTINEL_HOST", value: "redis-sentinel" }
          : { name: "REDIS_HOST", value: "redis" },
        { name: "REDIS_MASTER_NAME", value: REDIS_MASTER_NAME },
        refEnv("REDISCLI_AUTH", credentialRef(config, "redis")),
      ],
      egress: [
        {
          to: [{ podSelector: { matchLabels: dataStorePodLabels(config, "redis") } }],
          // The sentinel port only where there are sentinels to ask.
          ports: tcp(...(sentinel ? [REDIS_PORT, SENTINEL_PORT] : [REDIS_PORT])),
        },
      ],
      activeDeadlineSeconds: 3600,
      dependsOn: args.dependsOn,
    },
    parent,
  );
}
