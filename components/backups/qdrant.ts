/**
 * Qdrant backup: a snapshot CronJob (`qdrant-backup`) using Qdrant's snapshot API.
 *
 * - Single node (`clusterMode: false`): one full-storage snapshot (`POST /snapshots`: every
 *   collection plus the aliases) per run.
 * - Cluster mode: full-storage snapshots do not exist in distributed mode, and a collection
 *   snapshot holds only the shards of the peer that takes it. So the job walks every peer
 *   (`qdrant-<i>.qdrant-headless`) and snapshots every collection there
 *   (`POST /collections/<c>/snapshots`), one file per peer and collection.
 *
 * Each snapshot is created with `wait=true`, downloaded into `qdrant-<stamp>.partial/` on the
 * backup PVC and then deleted on the server, since it sits on the peer's data volume otherwise.
 * Server-side snapshots older than the retention (left by a run that died before its DELETE)
 * are swept; manual snapshots younger than that are left alone. The directory is renamed to
 * `qdrant-<stamp>` only when every file is in, and local copies older than the retention are
 * pruned after that.
 *
 * The API key comes from the `qdrant-credentials` Secret (secretKeyRef) and reaches curl through
 * its config on stdin (`curl --config -`): it never appears in a process's arguments.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import { dataStorePodLabels, tcp } from "../network-flows";
import { credentialRef, refEnv } from "../credentials";
import type { BackupJob } from "./cron-job";
import { backupJob, BACKUP_MOUNT, scriptPrologue } from "./cron-job";

export const QDRANT_HTTP_PORT = 6333;

/** Peer addresses the job snapshots: every StatefulSet pod through the headless Service. */
export function qdrantPeers(config: PlatformConfig): string[] {
  const q = config.dataStores.qdrant;
  return q.clusterMode
    ? Array.from({ length: q.replicas }, (_, i) => `qdrant-${i}.qdrant-headless`)
    : ["qdrant"];
}

export function qdrantBackupScript(): string {
  return `${scriptPrologue(["curl", "jq", "find", "date"])}
q() {
  printf 'header = "api-key: %s"\\n' "$QDRANT_API_KEY" |
    curl --config - --silent --show-error --fail --retry 3 --retry-connrefused --connect-timeout 10 "$@"
}
cutoff=$(date -u -d "@$(( $(date +%s) - RETENTION_DAYS * 86400 ))" +%Y-%m-%dT%H:%M:%S)
# Server-side snapshots older than the retention: leftovers of runs that died before DELETE.
sweep() {
  list=$(q "$1") || { echo "warning: cannot list $1" >&2; return 0; }
  for old in $(printf '%s' "$list" | jq -r --arg cutoff "$cutoff" '.result[] | select(.creation_time != null and .creation_time < $cutoff) | .name'); do
    echo "deleting leftover server snapshot $1/$old"
    q -X DELETE "$1/$old?wait=true" >/dev/null || echo "warning: could not delete $1/$old" >&2
  done
}
# take <snapshot collection URL> <local file>: create, download, delete on the server.
take() {
  created=$(q -X POST "$1?wait=true")
  name=$(printf '%s' "$created" | jq -er '.result.name')
  q -o "$2" "$1/$name"
  [ -s "$2" ] || { echo "empty snapshot $2" >&2; exit 1; }
  q -X DELETE "$1/$name?wait=true" >/dev/null
  echo "  $2 ($(du -h "$2" | cut -f1))"
}
work="${BACKUP_MOUNT}/qdrant-$STAMP.partial"
mkdir -p "$work"
if [ "$QDRANT_MODE" = single ]; then
  base="http://$QDRANT_PEERS:$QDRANT_PORT"
  echo "full-storage snapshot of $base"
  sweep "$base/snapshots"
  take "$base/snapshots" "$work/full.snapshot"
else
  for peer in $QDRANT_PEERS; do
    base="http://$peer:$QDRANT_PORT"
    dir="$work/\${peer%%.*}"
    mkdir -p "$dir"
    collections=$(q "$base/collections")
    names=$(printf '%s' "$collections" | jq -er '.result.collections[].name' || true)
    echo "peer $peer: collections: \${names:-none}"
    for c in $names; do
      sweep "$base/collections/$c/snapshots"
      take "$base/collections/$c/snapshots" "$dir/$c.snapshot"
    done
  done
fi
mv "$work" "${BACKUP_MOUNT}/qdrant-$STAMP"
echo "done: $(du -sh "${BACKUP_MOUNT}/qdrant-$STAMP" | cut -f1)"
prune 'qdrant-*'
`;
}

export interface QdrantBackupArgs {
  config: PlatformConfig;
  namespace: pulumi.Input<string>;
  storageClassName: pulumi.Input<string>;
  serviceAccountName: pulumi.Input<string>;
  dependsOn: pulumi.Resource[];
}

export function qdrantBackup(
  name: string,
  args: QdrantBackupArgs,
  parent: pulumi.Resource,
): BackupJob {
  const { config } = args;
  return backupJob(
    name,
    {
      config,
      store: "qdrant",
      namespace: args.namespace,
      storageClassName: args.storageClassName,
      serviceAccountName: args.serviceAccountName,
      schedule: config.backups.qdrant.schedule,
      retention: config.backups.qdrant.retention,
      script: qdrantBackupScript(),
      env: [
        { name: "QDRANT_MODE", value: config.dataStores.qdrant.clusterMode ? "cluster" : "single" },
        { name: "QDRANT_PEERS", value: qdrantPeers(config).join(" ") },
        { name: "QDRANT_PORT", value: String(QDRANT_HTTP_PORT) },
        refEnv("QDRANT_API_KEY", credentialRef(config, "qdrant")),
      ],
      egress: [
        {
          to: [{ podSelector: { matchLabels: dataStorePodLabels(config, "qdrant") } }],
          // The HTTP API only: no gRPC, and never the peers' p2p port.
          ports: tcp(QDRANT_HTTP_PORT),
        },
      ],
      activeDeadlineSeconds: 3 * 3600,
      dependsOn: args.dependsOn,
    },
    parent,
  );
}
