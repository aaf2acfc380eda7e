/**
 * Data stores tier (`octollm:data:DataStores`): Postgres (CloudNativePG), Redis (Sentinel) and
 * Qdrant (native cluster), one child component each, all in the workloads namespace on the
 * stack's StorageClass. See docs/data-stores.md for the HA design and its limits.
 */
import type * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Labels } from "../k8s/labels";
import type { DataStoreArgs } from "./common";
import type { POSTGRES_SERVICES } from "./postgres";
import { Postgres } from "./postgres";
import type { QDRANT_SERVICES } from "./qdrant";
import { Qdrant } from "./qdrant";
import { Redis } from "./redis";

export type { DataStoreArgs } from "./common";
export { Postgres } from "./postgres";
export { Redis } from "./redis";
export { Qdrant } from "./qdrant";

export type DataStoresArgs = DataStoreArgs;

export class DataStores extends pulumi.ComponentResource {
  public readonly postgres: Postgres;
  public readonly redis: Redis;
  public readonly qdrant: Qdrant;
  /** the CloudNativePG chart when the program installs it (Backup/ScheduledBackup dependsOn it) */
  public readonly cnpgChart: k8s.helm.v4.Chart | undefined;
  /** Services of the Postgres cluster: rw (primary), ro (standbys), r (any) */
  public readonly postgresServices: typeof POSTGRES_SERVICES;
  public readonly redisMode: "standalone" | "sentinel";
  public readonly redisServices: { client: string; headless: string; sentinel?: string };
  public readonly redisMasterName: string;
  public readonly qdrantServices: typeof QDRANT_SERVICES;
  public readonly qdrantUrl: string;
  /** pod labels of each store (what monitors, policies and backup jobs select) */
  public readonly selectorLabels: { postgres: Labels; redis: Labels; qdrant: Labels };

  constructor(name: string, args: DataStoresArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:data:DataStores", name, {}, opts);
    const child = { parent: this };
    this.postgres = new Postgres(`${name}-postgres`, args, child);
    this.redis = new Redis(`${name}-redis`, args, child);
    this.qdrant = new Qdrant(`${name}-qdrant`, args, child);

    this.cnpgChart = this.postgres.operatorChart;
    this.postgresServices = this.postgres.serviceNames;
    this.redisMode = this.redis.mode;
    this.redisServices = this.redis.serviceNames;
    this.redisMasterName = this.redis.masterName;
    this.qdrantServices = this.qdrant.serviceNames;
    this.qdrantUrl = this.qdrant.url;
    this.selectorLabels = {
      postgres: this.postgres.podLabels,
      redis: this.redis.selectorLabels,
      qdrant: this.qdrant.selectorLabels,
    };
    this.registerOutputs({
      postgresServices: this.postgresServices,
      redisMode: this.redisMode,
      redisServices: this.redisServices,
      qdrantUrl: this.qdrantUrl,
    });
  }
}
