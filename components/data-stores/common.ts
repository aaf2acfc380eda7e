/**
 * What the three data stores share: their arguments, identities, the Pulumi options that keep
 * their data (protect + retainOnDelete), PodDisruptionBudgets that never block a drain,
 * volume claim templates, exec probes and the client side of their NetworkPolicies.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import type { NamespaceRole } from "../foundation";
import type { Identity, Labels } from "../k8s/labels";
import { instanceName, selectorLabels, standardLabels } from "../k8s/labels";
import type { DataStore } from "../network-flows";
import { POOLER_POD_LABELS, armPodLabels, orchestratorPodLabels } from "../network-flows";

type Peer = k8s.types.input.networking.v1.NetworkPolicyPeer;
type Probe = k8s.types.input.core.v1.Probe;

export interface DataStoreArgs {
  config: PlatformConfig;
  /** the Foundation's namespace outputs (so the namespace exists before anything in it) */
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
  /** the Foundation's StorageClass (its output, so PVCs come after it) */
  storageClassName: pulumi.Input<string>;
}

/** Component label of every data-store pod (the conventions' `redis/data-store`, `qdrant/data-store`). */
export const DATA_STORE_COMPONENT = "data-store";

export function storeIdentity(config: PlatformConfig, name: string): Identity {
  return { name, component: DATA_STORE_COMPONENT, instance: instanceName(config.environment) };
}

/**
 * Pulumi options of every resource that holds data (StatefulSets, the CNPG Cluster): with
 * `protectData` a `pulumi destroy` or an accidental replace cannot delete them, and a removal
 * from the program leaves them (and their PVCs) in the cluster.
 */
export function dataOptions(config: PlatformConfig): {
  protect: boolean;
  retainOnDelete: boolean;
} {
  return { protect: config.protectData, retainOnDelete: config.protectData };
}

/** Production requires one pod per node; elsewhere it is a preference (laptop clusters have one node). */
export function requireSpread(config: PlatformConfig): boolean {
  return config.environment === "production";
}

/**
 * A PodDisruptionBudget for a StatefulSet of `replicas` pods: at most one pod down at a time.
 * A single pod gets none: with one replica there is nothing a budget could keep serving, and
 * any budget that protects it either blocks every drain or allows everything.
 */
export function statefulSetPdb(
  name: string,
  args: { identity: Identity; namespace: pulumi.Input<string>; replicas: number },
  parent: pulumi.Resource,
): k8s.policy.v1.PodDisruptionBudget | undefined {
  if (args.replicas < 2) return undefined;
  return new k8s.policy.v1.PodDisruptionBudget(
    `${name}-pdb`,
    {
      metadata: {
        name: args.identity.name,
        namespace: args.namespace,
        labels: standardLabels(args.identity),
      },
      spec: {
        selector: { matchLabels: selectorLabels(args.identity) },
        maxUnavailable: 1,
        // A crash-looping pod must not hold a node drain hostage.
        unhealthyPodEvictionPolicy: "AlwaysAllow",
      },
    },
    { parent },
  );
}

/**
 * The data volume of a StatefulSet pod (PVC `data-<statefulset>-<ordinal>`). Its labels carry no
 * version: volume claim templates are immutable.
 */
export function dataVolumeClaim(
  identity: Identity,
  storageClassName: pulumi.Input<string>,
  size: string,
): k8s.types.input.core.v1.PersistentVolumeClaim {
  return {
    metadata: { name: "data", labels: standardLabels(identity) },
    spec: {
      accessModes: ["ReadWriteOnce"],
      storageClassName,
      resources: { requests: { storage: size } },
    },
  };
}

/** An exec probe running a shell snippet (the image's /bin/sh). */
export function execProbe(
  script: string,
  timing: {
    periodSeconds: number;
    timeoutSeconds: number;
    failureThreshold: number;
    initialDelaySeconds?: number;
  },
): Probe {
  return {
    exec: { command: ["sh", "-c", script] },
    initialDelaySeconds: timing.initialDelaySeconds ?? 0,
    periodSeconds: timing.periodSeconds,
    timeoutSeconds: timing.timeoutSeconds,
    failureThreshold: timing.failureThreshold,
    successThreshold: 1,
  };
}

/** Pods of the store's backup job (`<store>-backup`/backup, same namespace). */
export function backupPodLabels(config: PlatformConfig, store: DataStore): Labels {
  return selectorLabels({
    name: `${store}-backup`,
    component: "backup",
    instance: instanceName(config.environment),
  });
}

/**
 * The in-namespace clients of a store, by pod identity: the orchestrator, every arm whose
 * config says `uses.<store>`, and the store's backup job when there is one. (The reflex layer is added by the Redis
 * policy: it runs on the host network, see network-flows.ts.)
 */
export function clientPeers(config: PlatformConfig, store: DataStore): Peer[] {
  if (store === "postgres" && config.dataStores.postgres.pooler.enabled) {
    // The apps go through PgBouncer; the pg_dump job still connects directly.
    return [
      { podSelector: { matchLabels: POOLER_POD_LABELS } },
      ...(hasBackupJob(config, store)
        ? [{ podSelector: { matchLabels: backupPodLabels(config, store) } }]
        : []),
    ];
  }
  return [
    { podSelector: { matchLabels: orchestratorPodLabels(config) } },
    ...config.arms
      .filter((arm) => arm.uses[store])
      .map((arm) => ({ podSelector: { matchLabels: armPodLabels(config, arm.name) } })),
    ...(hasBackupJob(config, store)
      ? [{ podSelector: { matchLabels: backupPodLabels(config, store) } }]
      : []),
  ];
}

/**
 * Whether the backups tier runs a job that connects to the store: Redis and Qdrant whenever
 * backups are on; Postgres only without an object store (a pg_dump CronJob; with an object
 * store CloudNativePG archives from inside its own pods).
 */
export function hasBackupJob(config: PlatformConfig, store: DataStore): boolean {
  if (!config.backups.enabled) return false;
  return store !== "postgres" || config.backups.postgres.objectStore === undefined;
}

/** Fully qualified DNS name of a Service in the workloads namespace. */
export function fqdn(config: PlatformConfig, service: string): string {
  return `${service}.${config.namespaces.workloads}.svc.cluster.local`;
}

/** A headless Service that publishes not-ready pods: peers must find each other before they are ready. */
export function headlessService(
  name: string,
  args: {
    identity: Identity;
    serviceName: string;
    namespace: pulumi.Input<string>;
    ports: { name: string; port: number; appProtocol?: string }[];
  },
  parent: pulumi.Resource,
): k8s.core.v1.Service {
  return service(name, { ...args, headless: true }, parent);
}

export function service(
  name: string,
  args: {
    identity: Identity;
    serviceName: string;
    namespace: pulumi.Input<string>;
    ports: { name: string; port: number; appProtocol?: string }[];
    headless?: boolean;
  },
  parent: pulumi.Resource,
): k8s.core.v1.Service {
  return new k8s.core.v1.Service(
    name,
    {
      metadata: {
        name: args.serviceName,
        namespace: args.namespace,
        labels: standardLabels(args.identity),
      },
      spec: {
        type: "ClusterIP",
        ...(args.headless ? { clusterIP: "None", publishNotReadyAddresses: true } : {}),
        selector: selectorLabels(args.identity),
        ports: args.ports.map((p) => ({
          name: p.name,
          port: p.port,
          targetPort: p.name,
          protocol: "TCP",
          ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}),
        })),
      },
    },
    { parent },
  );
}
