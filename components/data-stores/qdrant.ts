/**
 * Qdrant: StatefulSet `qdrant`, ports http 6333, grpc 6334, p2p 6335.
 *
 * - Cluster mode (production): `QDRANT__CLUSTER__ENABLED=true`; pod 0 starts the Raft
 *   consensus with `--uri` (its own stable DNS name), every other pod joins with
 *   `--bootstrap` pointing at pod 0 — the approach of Qdrant's official Helm chart. Peers find
 *   each other through `qdrant-headless` (publishNotReadyAddresses: a peer must resolve before it
 *   is ready); `podManagementPolicy: Parallel` starts them together. A peer that has joined keeps
 *   its Raft state on its volume, so restarts (of pod 0 too) rejoin the existing cluster.
 *   New collections default to replication factor 2, so one peer down loses no shard.
 * - Single node (dev/staging): no cluster settings.
 * - Secrets: the API key from `qdrant-credentials` via secretKeyRef
 *   (`QDRANT__SERVICE__API_KEY`). Qdrant exempts `/`, `/healthz`, `/readyz` and `/livez` from the
 *   key (its HTTP server whitelists them), so the kubelet's probes need no credentials;
 *   `/metrics` does require it (Prometheus scrapes with the key, see docs/data-stores.md).
 * - Storage: the PVC, mounted at /qdrant/data, holds `storage/` (collections, Raft state) and
 *   `snapshots/` (a snapshot of a 50Gi store does not fit a scratch emptyDir: size the volume
 *   for both); `/qdrant/init` and `/tmp` are emptyDirs; the root filesystem stays read-only. Telemetry to qdrant.io is off (egress is
 *   denied anyway).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import type { Labels } from "../k8s/labels";
import { selectorLabels, standardLabels } from "../k8s/labels";
import { hardenedPodTemplate, spreadAcrossNodes } from "../k8s/pod";
import { resolvePodOptions } from "../k8s/pod-options";
import { credentialRef, refEnv, externalCredentialSecrets } from "../credentials";
import { dataStorePodLabels, policySpec, prometheusIngress, tcp } from "../network-flows";
import type { DataStoreArgs } from "./common";
import {
  clientPeers,
  dataOptions,
  dataVolumeClaim,
  fqdn,
  headlessService,
  requireSpread,
  service,
  statefulSetPdb,
  storeIdentity,
} from "./common";

export const QDRANT_NAME = "qdrant";
export const QDRANT_PORTS = { http: 6333, grpc: 6334, p2p: 6335 } as const;
export const QDRANT_SERVICES = { client: "qdrant", headless: "qdrant-headless" } as const;

/** Mount point of the data volume: collections in `storage/`, snapshots in `snapshots/`. */
export const QDRANT_DATA_DIR = "/qdrant/data";

export type QdrantArgs = DataStoreArgs;

/** In-cluster URL of the REST API. */
export function qdrantServiceUrl(config: PlatformConfig): string {
  return `http://${fqdn(config, QDRANT_SERVICES.client)}:${QDRANT_PORTS.http}`;
}

/** The container's start command in cluster mode (pod 0 founds the cluster, the others join it). */
export function qdrantClusterStartScript(config: PlatformConfig): string {
  const domain = fqdn(config, QDRANT_SERVICES.headless);
  const peer = (host: string) => `http://${host}.${domain}:${QDRANT_PORTS.p2p}`;
  return [
    "set -eu",
    'ORDINAL="${POD_NAME##*-}"',
    `SELF="${peer("${POD_NAME}")}"`,
    'if [ "$ORDINAL" = "0" ]; then',
    '  exec /qdrant/entrypoint.sh --uri "$SELF"',
    "fi",
    `exec /qdrant/entrypoint.sh --bootstrap "${peer(`${QDRANT_NAME}-0`)}" --uri "$SELF"`,
  ].join("\n");
}

/** Non-secret Qdrant settings (QDRANT__SECTION__KEY env). */
export function qdrantEnv(config: PlatformConfig): Record<string, string> {
  const q = config.dataStores.qdrant;
  return {
    QDRANT__SERVICE__HTTP_PORT: String(QDRANT_PORTS.http),
    QDRANT__SERVICE__GRPC_PORT: String(QDRANT_PORTS.grpc),
    QDRANT__STORAGE__STORAGE_PATH: `${QDRANT_DATA_DIR}/storage`,
    QDRANT__STORAGE__SNAPSHOTS_PATH: `${QDRANT_DATA_DIR}/snapshots`,
    QDRANT_INIT_FILE_PATH: "/qdrant/init/.qdrant-initialized",
    QDRANT__TELEMETRY_DISABLED: "true",
    QDRANT__LOG_LEVEL: "INFO",
    ...(q.clusterMode
      ? {
          QDRANT__CLUSTER__ENABLED: "true",
          QDRANT__CLUSTER__P2P__PORT: String(QDRANT_PORTS.p2p),
          // Default for new collections: every shard on two peers, so one peer may be down.
          QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR: String(Math.min(2, q.replicas)),
          QDRANT__STORAGE__COLLECTION__WRITE_CONSISTENCY_FACTOR: "1",
        }
      : {}),
  };
}

export class Qdrant extends pulumi.ComponentResource {
  public readonly statefulSet: k8s.apps.v1.StatefulSet;
  public readonly serviceNames: typeof QDRANT_SERVICES;
  public readonly url: string;
  public readonly clusterMode: boolean;
  public readonly selectorLabels: Labels;

  constructor(name: string, args: QdrantArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:data:Qdrant", name, {}, opts);
    const { config, namespaces, storageClassName } = args;
    const q = config.dataStores.qdrant;
    const identity = storeIdentity(config, QDRANT_NAME);
    const labels = standardLabels(identity);
    const selector = selectorLabels(identity);
    const namespace = namespaces.workloads;

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: { name: QDRANT_NAME, namespace, labels },
        automountServiceAccountToken: false,
      },
      { parent: this },
    );

    const env = qdrantEnv(config);
    const template = hardenedPodTemplate({
      labels,
      serviceAccountName: serviceAccount.metadata.name,
      affinity: spreadAcrossNodes(selector, requireSpread(config)),
      options: resolvePodOptions(config.podDefaults, q.pod, externalCredentialSecrets(config)),
      // Qdrant flushes its WAL and segments on SIGTERM.
      terminationGracePeriodSeconds: 60,
      containers: [
        {
          name: "qdrant",
          image: q.image,
          resources: q.resources,
          ...(q.clusterMode
            ? { command: ["/bin/sh", "-c", qdrantClusterStartScript(config)] }
            : {}),
          ports: [
            { name: "http", containerPort: QDRANT_PORTS.http },
            { name: "grpc", containerPort: QDRANT_PORTS.grpc },
            ...(q.clusterMode ? [{ name: "p2p", containerPort: QDRANT_PORTS.p2p }] : []),
          ],
          env: [
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            ...Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
            refEnv("QDRANT__SERVICE__API_KEY", credentialRef(config, "qdrant")),
          ],
          writablePaths: ["/qdrant/init"],
          // One volume, two directories Qdrant creates itself (a kubelet-made subPath would be
          // root-owned and unwritable for the non-root user).
          volumeMounts: [{ name: "data", mountPath: QDRANT_DATA_DIR }],
          // Loading large collections takes a while: up to 10 minutes before liveness applies.
          startupProbe: {
            httpGet: { path: "/livez", port: "http" },
            periodSeconds: 5,
            timeoutSeconds: 3,
            failureThreshold: 120,
          },
          livenessProbe: {
            httpGet: { path: "/livez", port: "http" },
            periodSeconds: 10,
            timeoutSeconds: 5,
            failureThreshold: 3,
          },
          // /readyz: consensus reached (cluster mode) and every local shard ready.
          readinessProbe: {
            httpGet: { path: "/readyz", port: "http" },
            periodSeconds: 5,
            timeoutSeconds: 3,
            failureThreshold: 3,
          },
        },
      ],
    });

    const headless = headlessService(
      `${name}-headless`,
      {
        identity,
        serviceName: QDRANT_SERVICES.headless,
        namespace,
        ports: [
          { name: "http", port: QDRANT_PORTS.http, appProtocol: "http" },
          { name: "grpc", port: QDRANT_PORTS.grpc, appProtocol: "grpc" },
          ...(q.clusterMode ? [{ name: "p2p", port: QDRANT_PORTS.p2p, appProtocol: "grpc" }] : []),
        ],
      },
      this,
    );
    service(
      `${name}-service`,
      {
        identity,
        serviceName: QDRANT_SERVICES.client,
        namespace,
        ports: [
          { name: "http", port: QDRANT_PORTS.http, appProtocol: "http" },
          { name: "grpc", port: QDRANT_PORTS.grpc, appProtocol: "grpc" },
        ],
      },
      this,
    );

    this.statefulSet = new k8s.apps.v1.StatefulSet(
      `${name}-statefulset`,
      {
        metadata: {
          name: QDRANT_NAME,
          namespace,
          labels: { ...labels, "app.kubernetes.io/version": q.image.tag },
        },
        spec: {
          serviceName: QDRANT_SERVICES.headless,
          replicas: q.replicas,
          podManagementPolicy: "Parallel",
          updateStrategy: { type: "RollingUpdate" },
          minReadySeconds: 10,
          revisionHistoryLimit: 5,
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          selector: { matchLabels: selector },
          template,
          volumeClaimTemplates: [dataVolumeClaim(identity, storageClassName, q.storage)],
        },
      },
      { parent: this, dependsOn: [headless], ...dataOptions(config) },
    );

    statefulSetPdb(name, { identity, namespace, replicas: q.replicas }, this);

    // In: clients on http/grpc; Prometheus on http (/metrics); peers on p2p. Out: peers on p2p.
    const self = { podSelector: { matchLabels: dataStorePodLabels(config, "qdrant") } };
    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      {
        metadata: { name: QDRANT_NAME, namespace, labels },
        spec: policySpec(
          dataStorePodLabels(config, "qdrant"),
          [
            {
              from: clientPeers(config, "qdrant"),
              ports: tcp(QDRANT_PORTS.http, QDRANT_PORTS.grpc),
            },
            ...prometheusIngress(config, QDRANT_PORTS.http),
            ...(q.clusterMode ? [{ from: [self], ports: tcp(QDRANT_PORTS.p2p) }] : []),
          ],
          q.clusterMode ? [{ to: [self], ports: tcp(QDRANT_PORTS.p2p) }] : [],
        ),
      },
      { parent: this },
    );

    this.serviceNames = QDRANT_SERVICES;
    this.url = qdrantServiceUrl(config);
    this.clusterMode = q.clusterMode;
    this.selectorLabels = selector;
    this.registerOutputs({ serviceNames: this.serviceNames, url: this.url });
  }
}
