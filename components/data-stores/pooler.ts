/**
 * Connection pooling (issue 14, item 14): an optional CloudNativePG `Pooler` — PgBouncer in front
 * of the primary (`type: rw`) — with `dataStores.postgres.pooler.enabled`.
 *
 * - The operator runs it as a Deployment `postgres-pooler-rw` and a Service of the same name on
 *   5432; the orchestrator's and the arms' DATABASE_URL point at that Service (secrets.ts). The
 *   pg_dump backup job keeps connecting to `postgres-rw` directly (a dump holds one long
 *   transaction, which a transaction-mode pool would not keep on one server connection).
 * - PgBouncer authenticates clients with the Cluster's auth_query through a TLS client
 *   certificate the operator manages, and serves TLS with the Cluster's server certificate, so
 *   `sslmode=require` holds end to end.
 * - HA: `instances` ≥ 2 (the schema refuses fewer), spread across nodes (required in production),
 *   and a PodDisruptionBudget (maxUnavailable 1): a drain never takes every PgBouncer at once.
 * - Pods: the operator builds them from our template and overwrites the identity with the
 *   pgbouncer image's user (UID 998, GID 996) and a restricted container security context; the
 *   template states the same hardening (read-only root, no capabilities, no escalation, seccomp
 *   RuntimeDefault), pins the image and sets resources, which the capacity policy counts against
 *   the quota and the LimitRange (for the pgbouncer container and the operator's bootstrap init
 *   container, which gets the same resources). Pod options (octollm:podDefaults and
 *   dataStores.postgres.pod) apply as they do to the Cluster.
 * - Metrics: PgBouncer's exporter on 9127 (`metrics`); the PodMonitor is the observability
 *   tier's (monitors.ts), the operator's own stays off.
 * - Flows: apps (orchestrator, arms with `uses.postgres`) → pooler 5432; Prometheus → 9127;
 *   pooler → Postgres instances 5432 and the API server (its instance manager watches the Pooler
 *   and its Secrets). Postgres then admits the pooler and the pg_dump job, no longer the apps.
 */
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import { imageRef } from "../config";
import { externalCredentialSecrets } from "../credentials";
import type { Labels } from "../k8s/labels";
import { standardLabels } from "../k8s/labels";
import { restrictedContainerSecurityContext, mergeAffinity, spreadAcrossNodes } from "../k8s/pod";
import { resolvePodOptions } from "../k8s/pod-options";
import {
  POOLER_POD_LABELS,
  armPodLabels,
  orchestratorPodLabels,
  policySpec,
  prometheusIngress,
  tcp,
} from "../network-flows";
import { requireSpread, storeIdentity } from "./common";

export const POOLER_NAME = "postgres-pooler-rw";
/** PgBouncer's port (also the Service's) and its exporter's. */
export const POOLER_PORTS = { pgbouncer: 5432, metrics: 9127 } as const;
/** The label the operator puts on the pooler's pods (its Deployment selects on it). */
export { POOLER_POD_LABELS };
/** The job label of its metrics. */
export const POOLER_JOB = "pgbouncer";
/** Labels of the Cluster's instance pods only (the pooler's pods carry `cnpg.io/cluster` too). */
export const POSTGRES_INSTANCE_LABELS: Labels = {
  "cnpg.io/cluster": "postgres",
  "cnpg.io/podRole": "instance",
};

export function poolerEnabled(config: PlatformConfig): boolean {
  return config.dataStores.postgres.pooler.enabled;
}

/** The Pooler's spec, from config alone (tests validate it against the CNPG schema). */
export function poolerSpec(config: PlatformConfig, clusterName: string): Record<string, unknown> {
  const p = config.dataStores.postgres.pooler;
  const pod = resolvePodOptions(
    config.podDefaults,
    config.dataStores.postgres.pod,
    externalCredentialSecrets(config),
  );
  const resources = {
    requests: { cpu: p.resources.requests.cpu, memory: p.resources.requests.memory },
    limits: { cpu: p.resources.limits.cpu, memory: p.resources.limits.memory },
  };
  const labels = {
    ...pod.labels,
    ...standardLabels(storeIdentity(config, POOLER_NAME)),
  };
  return {
    cluster: { name: clusterName },
    type: "rw",
    instances: p.instances,
    pgbouncer: { poolMode: p.poolMode, parameters: { ...p.parameters } },
    // The observability tier owns the PodMonitor (as for the Cluster).
    monitoring: { enablePodMonitor: false },
    // Roll one pod at a time, never below the configured count.
    deploymentStrategy: {
      type: "RollingUpdate",
      rollingUpdate: { maxSurge: 1, maxUnavailable: 0 },
    },
    template: {
      metadata: {
        labels,
        ...(Object.keys(pod.annotations).length > 0 ? { annotations: { ...pod.annotations } } : {}),
      },
      spec: {
        // The operator sets UID 998 / GID 996 (the image's pgbouncer user) over this.
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers: [
          {
            name: "pgbouncer",
            image: imageRef(p.image),
            resources,
            securityContext: restrictedContainerSecurityContext(),
          },
        ],
        affinity: mergeAffinity(
          spreadAcrossNodes(POOLER_POD_LABELS, requireSpread(config)),
          pod.affinity,
        ),
        ...(Object.keys(pod.nodeSelector).length > 0
          ? { nodeSelector: { ...pod.nodeSelector } }
          : {}),
        ...(pod.tolerations.length > 0
          ? { tolerations: pod.tolerations.map((t) => ({ ...t })) }
          : {}),
        ...(pod.priorityClassName ? { priorityClassName: pod.priorityClassName } : {}),
        ...(pod.imagePullSecrets.length > 0
          ? { imagePullSecrets: pod.imagePullSecrets.map((name) => ({ name })) }
          : {}),
      },
    },
  };
}

/** Clients that reach Postgres through the pooler: the orchestrator and the arms using it. */
export function poolerClientPeers(config: PlatformConfig) {
  return [
    { podSelector: { matchLabels: orchestratorPodLabels(config) } },
    ...config.arms
      .filter((arm) => arm.uses.postgres)
      .map((arm) => ({ podSelector: { matchLabels: armPodLabels(config, arm.name) } })),
  ];
}

/** The Pooler, its PDB and its NetworkPolicy, children of the Postgres component. */
export function postgresPooler(
  name: string,
  args: {
    config: PlatformConfig;
    namespace: pulumi.Input<string>;
    cluster: k8s.apiextensions.CustomResource;
    clusterName: string;
  },
  parent: pulumi.Resource,
): k8s.apiextensions.CustomResource {
  const { config, namespace } = args;
  const labels = standardLabels(storeIdentity(config, POOLER_NAME));
  const pooler = new k8s.apiextensions.CustomResource(
    `${name}-pooler`,
    {
      apiVersion: "postgresql.cnpg.io/v1",
      kind: "Pooler",
      metadata: { name: POOLER_NAME, namespace, labels },
      spec: poolerSpec(config, args.clusterName),
    },
    { parent, dependsOn: [args.cluster] },
  );
  new k8s.policy.v1.PodDisruptionBudget(
    `${name}-pooler-pdb`,
    {
      metadata: { name: POOLER_NAME, namespace, labels },
      spec: {
        selector: { matchLabels: POOLER_POD_LABELS },
        maxUnavailable: 1,
        unhealthyPodEvictionPolicy: "AlwaysAllow",
      },
    },
    { parent },
  );
  new k8s.networking.v1.NetworkPolicy(
    `${name}-pooler-netpol`,
    {
      metadata: { name: POOLER_NAME, namespace, labels },
      spec: policySpec(
        POOLER_POD_LABELS,
        [
          { from: poolerClientPeers(config), ports: tcp(POOLER_PORTS.pgbouncer) },
          ...prometheusIngress(config, POOLER_PORTS.metrics),
        ],
        [
          {
            to: [{ podSelector: { matchLabels: POSTGRES_INSTANCE_LABELS } }],
            ports: tcp(5432),
          },
          {
            to: config.network.apiServerCidrs.map((cidr) => ({ ipBlock: { cidr } })),
            ports: tcp(...config.network.apiServerPorts),
          },
        ],
      ),
    },
    { parent },
  );
  return pooler;
}
