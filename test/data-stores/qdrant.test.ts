/**
 * Qdrant: native cluster mode in production (peer bootstrap through the headless Service),
 * a single node elsewhere; API key from the Secret; probes on /readyz and /livez; storage;
 * Services, PDB, NetworkPolicy; schema validation.
 */
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { describe, expect, it } from "vitest";
import { qdrantClusterStartScript } from "../../components/data-stores/qdrant";
import { STACKS } from "../harness";
import {
  configOf,
  containerOf,
  envOf,
  maybeObject,
  objectOf,
  portsOf,
  resourceOf,
  ruleFor,
  validateWith,
} from "./support";

const EXPECTED = {
  dev: { replicas: 1, cluster: false, storage: "2Gi" },
  // staging keeps production's topology (3 peers in cluster mode) on smaller volumes
  staging: { replicas: 3, cluster: true, storage: "10Gi" },
  production: { replicas: 3, cluster: true, storage: "50Gi" },
} as const;

describe.each(STACKS)("Qdrant on %s", (stack) => {
  const want = EXPECTED[stack];
  const sts = () => objectOf(stack, "StatefulSet", "qdrant");

  it("is a StatefulSet that validates against the Kubernetes schema", async () => {
    const s = await sts();
    expect(() => validateWith(StatefulSet, s)).not.toThrow();
  });

  it("runs the configured peers, cluster mode only where configured", async () => {
    const config = configOf(stack);
    const s = await sts();
    expect(s.spec.replicas).toBe(want.replicas);
    const cluster = want.cluster;
    expect(config.dataStores.qdrant.clusterMode).toBe(cluster);
    const qdrant = containerOf(s, "qdrant");
    const env = envOf(qdrant);
    expect(env.get("QDRANT__CLUSTER__ENABLED")?.value).toBe(cluster ? "true" : undefined);
    expect(qdrant.ports.map((p: any) => p.containerPort)).toEqual(
      cluster ? [6333, 6334, 6335] : [6333, 6334],
    );
    if (cluster) {
      expect(qdrant.command[2]).toBe(qdrantClusterStartScript(config));
      expect(env.get("QDRANT__STORAGE__COLLECTION__REPLICATION_FACTOR")?.value).toBe("2");
    } else {
      expect(qdrant.command).toBeUndefined();
    }
    expect(s.spec.podManagementPolicy).toBe("Parallel");
    expect(s.spec.serviceName).toBe("qdrant-headless");
  });

  it("takes the API key from the Secret and no secret from anywhere else", async () => {
    const qdrant = containerOf(await sts(), "qdrant");
    const env = envOf(qdrant);
    expect(env.get("QDRANT__SERVICE__API_KEY")).toEqual({
      name: "QDRANT__SERVICE__API_KEY",
      valueFrom: { secretKeyRef: { name: "qdrant-credentials", key: "api-key" } },
    });
    expect(env.get("QDRANT__TELEMETRY_DISABLED")?.value).toBe("true");
    expect(JSON.stringify(qdrant)).not.toContain("mock-");
  });

  it("probes /livez (startup, liveness) and /readyz (readiness), which Qdrant serves without the key", async () => {
    const qdrant = containerOf(await sts(), "qdrant");
    expect(qdrant.startupProbe.httpGet).toEqual({ path: "/livez", port: "http" });
    expect(qdrant.livenessProbe.httpGet).toEqual({ path: "/livez", port: "http" });
    expect(qdrant.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
  });

  it("keeps collections and snapshots on the PVC, scratch in emptyDirs, the root read-only", async () => {
    const s = await sts();
    const qdrant = containerOf(s, "qdrant");
    const env = envOf(qdrant);
    expect(env.get("QDRANT__STORAGE__STORAGE_PATH")?.value).toBe("/qdrant/data/storage");
    expect(env.get("QDRANT__STORAGE__SNAPSHOTS_PATH")?.value).toBe("/qdrant/data/snapshots");
    const mounts = new Map(qdrant.volumeMounts.map((m: any) => [m.mountPath, m.name]));
    expect(mounts.get("/qdrant/data")).toBe("data");
    expect(mounts.has("/tmp")).toBe(true);
    expect(mounts.has("/qdrant/init")).toBe(true);
    expect(qdrant.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(s.spec.volumeClaimTemplates[0].spec).toEqual({
      accessModes: ["ReadWriteOnce"],
      storageClassName: configOf(stack).dataStores.storageClass.name,
      resources: { requests: { storage: want.storage } },
    });
    expect(s.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
  });

  it("has headless (publishing not-ready peers) and client Services", async () => {
    const cluster = configOf(stack).dataStores.qdrant.clusterMode;
    const headless = await objectOf(stack, "Service", "qdrant-headless");
    expect(headless.spec).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
    expect(headless.spec.ports.map((p: any) => p.port)).toEqual(
      cluster ? [6333, 6334, 6335] : [6333, 6334],
    );
    const client = await objectOf(stack, "Service", "qdrant");
    expect(client.spec.ports.map((p: any) => [p.name, p.port])).toEqual([
      ["http", 6333],
      ["grpc", 6334],
    ]);
  });

  it("has a PDB only with several peers, and is protected exactly with protectData", async () => {
    const replicas = configOf(stack).dataStores.qdrant.replicas;
    const pdb = await maybeObject(stack, "PodDisruptionBudget", "qdrant");
    if (replicas > 1) expect(pdb?.spec.maxUnavailable).toBe(1);
    else expect(pdb).toBeUndefined();
    const { resource } = await resourceOf(stack, "kubernetes:apps/v1:StatefulSet", "qdrant");
    expect(resource.protect).toBe(stack === "production");
    expect(resource.retainOnDelete).toBe(stack === "production");
  });

  it("admits its clients on http/grpc, Prometheus on http, and peers on p2p only", async () => {
    const config = configOf(stack);
    const cluster = config.dataStores.qdrant.clusterMode;
    const np = await objectOf(stack, "NetworkPolicy", "qdrant");
    const ingress = np.spec.ingress as Record<string, any>[];
    const clients = ruleFor(
      ingress,
      (p) => p.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "orchestrator",
      "from",
    )!;
    expect(portsOf(clients)).toEqual([6333, 6334]);
    const names = clients.from.map((p: any) => p.podSelector.matchLabels["app.kubernetes.io/name"]);
    const armsUsing = config.arms.filter((a) => a.uses.qdrant).map((a) => `${a.name}-arm`);
    expect(armsUsing).toEqual(["retriever-arm"]);
    expect(names.sort()).toEqual(["orchestrator", "qdrant-backup", ...armsUsing].sort());
    const prometheus = ruleFor(
      ingress,
      (p) => p.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "prometheus",
      "from",
    );
    // Prometheus is admitted only where the stack runs monitoring (dev does not).
    expect(portsOf(prometheus)).toEqual(config.observability.enabled ? [6333] : []);
    const peers = ingress.filter((r) => portsOf(r).includes(6335));
    expect(peers).toHaveLength(cluster ? 1 : 0);
    expect(np.spec.egress).toHaveLength(cluster ? 1 : 0);
    if (cluster) expect(portsOf(np.spec.egress[0])).toEqual([6335]);
  });
});

describe("Qdrant cluster mode outside production", () => {
  it("a stack may turn it on with ≥ 2 replicas", async () => {
    const overrides = { "octollm:dataStores": { qdrant: { replicas: 3, clusterMode: true } } };
    const s = await objectOf("staging", "StatefulSet", "qdrant", overrides);
    expect(envOf(containerOf(s, "qdrant")).get("QDRANT__CLUSTER__ENABLED")?.value).toBe("true");
    expect(
      (await objectOf("staging", "PodDisruptionBudget", "qdrant", overrides)).spec,
    ).toMatchObject({
      maxUnavailable: 1,
    });
  });
});

describe("Qdrant start script", () => {
  it("founds the cluster on pod 0 and joins it from every other pod, by stable DNS names", () => {
    const script = qdrantClusterStartScript(configOf("production"));
    const peer0 = "http://qdrant-0.qdrant-headless.octollm-production.svc.cluster.local:6335";
    expect(script).toContain('if [ "$ORDINAL" = "0" ]; then');
    expect(script).toContain('exec /qdrant/entrypoint.sh --uri "$SELF"');
    expect(script).toContain(`exec /qdrant/entrypoint.sh --bootstrap "${peer0}" --uri "$SELF"`);
    expect(script).toContain(
      'SELF="http://${POD_NAME}.qdrant-headless.octollm-production.svc.cluster.local:6335"',
    );
  });
});
