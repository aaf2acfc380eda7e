/**
 * Postgres: the CloudNativePG Cluster on every stack (instances, synchronous replication, TLS,
 * bootstrap, PDBs, anti-affinity, data protection), validated against the CNPG schema; the
 * operator chart and the Cluster's dependency on it; the NetworkPolicy of the instances.
 */
import { Cluster } from "@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1/Cluster";
import { describe, expect, it } from "vitest";
import { STACKS, helmCharts, objectsOf, ofType, parentOf, renderStack } from "../harness";
import type { Obj } from "./support";
import {
  configOf,
  objectOf,
  portsOf,
  resourceOf,
  ruleFor,
  workloadsNs,
  validateWith,
} from "./support";

const CLUSTER = "kubernetes:postgresql.cnpg.io/v1:Cluster";
const CHART = "kubernetes:helm.sh/v4:Chart";

const EXPECTED = {
  dev: { instances: 1, sync: 0, tls: false, required: false, storage: "5Gi" },
  staging: { instances: 2, sync: 0, tls: true, required: false, storage: "20Gi" },
  production: { instances: 3, sync: 1, tls: true, required: true, storage: "100Gi" },
} as const;

describe.each(STACKS)("Postgres on %s", (stack) => {
  const want = EXPECTED[stack];
  const cluster = () => objectOf(stack, "Cluster", "postgres");

  it("is a CloudNativePG Cluster that validates against the operator's schema", async () => {
    const c = await cluster();
    expect(c.apiVersion).toBe("postgresql.cnpg.io/v1");
    expect(() => validateWith(Cluster, c)).not.toThrow();
    // the validator is not blind: a wrong type or an unknown affinity type fails
    const broken = { ...c, spec: { ...c.spec, instances: "three" } };
    expect(() => validateWith(Cluster, broken)).toThrow();
  });

  it("runs the configured number of instances, with synchronous standbys where configured", async () => {
    const spec = (await cluster()).spec;
    expect(spec.instances).toBe(want.instances);
    if (want.sync > 0) {
      expect(spec.postgresql.synchronous).toEqual({
        method: "any",
        number: want.sync,
        dataDurability: "required",
      });
    } else {
      expect(spec.postgresql.synchronous).toBeUndefined();
    }
    // the legacy pair is never mixed with `synchronous`
    expect(spec.minSyncReplicas).toBeUndefined();
    expect(spec.maxSyncReplicas).toBeUndefined();
  });

  it("pins PostgreSQL 15 by tag, stores data on the stack's StorageClass, sets resources", async () => {
    const config = configOf(stack);
    const spec = (await cluster()).spec;
    expect(spec.imageName).toMatch(/^ghcr\.io\/cloudnative-pg\/postgresql:15\.\d+$/);
    expect(spec.storage).toMatchObject({
      size: want.storage,
      storageClass: config.dataStores.storageClass.name,
    });
    expect(spec.resources).toEqual({
      requests: { ...config.dataStores.postgres.resources.requests },
      limits: { ...config.dataStores.postgres.resources.limits },
    });
  });

  it("bootstraps database and owner octollm from the foundation's Secret; no superuser", async () => {
    const spec = (await cluster()).spec;
    expect(spec.bootstrap).toEqual({
      initdb: {
        database: "octollm",
        owner: "octollm",
        secret: { name: "postgres-owner-credentials" },
        dataChecksums: true,
        encoding: "UTF8",
      },
    });
    expect(spec.enableSuperuserAccess).toBe(false);
    expect(spec.primaryUpdateStrategy).toBe("unsupervised");
  });

  it("requires TLS from clients exactly where configured (pg_hba)", async () => {
    const hba = (await cluster()).spec.postgresql.pg_hba as string[] | undefined;
    if (want.tls) {
      expect(hba).toEqual(["hostnossl all all all reject", "hostssl all all all scram-sha-256"]);
    } else {
      expect(hba).toBeUndefined();
    }
  });

  it("lets the operator create PDBs only when they cannot block a drain (> 1 instance)", async () => {
    expect((await cluster()).spec.enablePDB).toBe(want.instances > 1);
    // and this tier adds no PDB of its own for the instances
    const objects = await objectsOf(stack);
    const pdbs = objects.filter(
      (o) =>
        o.kind === "PodDisruptionBudget" &&
        JSON.stringify((o as Obj).spec.selector).includes("cnpg.io/cluster"),
    );
    expect(pdbs).toEqual([]);
  });

  it("spreads instances across nodes: required in production, preferred elsewhere", async () => {
    expect((await cluster()).spec.affinity).toEqual({
      enablePodAntiAffinity: true,
      podAntiAffinityType: want.required ? "required" : "preferred",
      topologyKey: "kubernetes.io/hostname",
    });
  });

  it("leaves the PodMonitor to the observability tier (CNPG's own is deprecated)", async () => {
    expect((await cluster()).spec.monitoring).toEqual({ enablePodMonitor: false });
  });

  it("is protected and retained on delete exactly when protectData is on", async () => {
    const { resource } = await resourceOf(stack, CLUSTER, "postgres");
    const protectData = configOf(stack).protectData;
    expect(protectData).toBe(stack === "production");
    expect(resource.protect).toBe(protectData);
    expect(resource.retainOnDelete).toBe(protectData);
  });

  it("installs the pinned operator chart in its own restricted namespace, and the Cluster depends on it", async () => {
    const config = configOf(stack);
    const run = await renderStack(stack);
    const chart = helmCharts(run).find((c) => c.chart === "cloudnative-pg");
    expect(chart).toMatchObject({
      version: config.operators.cloudnativePg.version,
      namespace: config.operators.cloudnativePg.namespace,
      repository: "https://cloudnative-pg.github.io/charts",
    });
    const chartResource = ofType(run, CHART).find((r) => r.inputs.chart === "cloudnative-pg");
    const { resource } = await resourceOf(stack, CLUSTER, "postgres");
    expect(resource.dependencies).toContain(chartResource?.urn);
    expect(parentOf(run, resource)?.type).toBe("octollm:data:Postgres");
    expect(parentOf(run, parentOf(run, resource)!)?.type).toBe("octollm:data:DataStores");

    const objects = await objectsOf(stack);
    const ns = objects.find(
      (o) => o.kind === "Namespace" && o.metadata.name === config.operators.cloudnativePg.namespace,
    );
    expect(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });
});

describe("Postgres: the operator assumed present", () => {
  const overrides = {
    "octollm:operators": { cloudnativePg: { install: false } },
  };
  it("installs no chart and no operator namespace, and the Cluster depends on nothing of the kind", async () => {
    const run = await renderStack("dev", overrides);
    expect(helmCharts(run).filter((c) => c.chart === "cloudnative-pg")).toEqual([]);
    const objects = await objectsOf("dev", overrides);
    expect(objects.some((o) => o.kind === "Namespace" && o.metadata.name === "cnpg-system")).toBe(
      false,
    );
    const { resource } = await resourceOf("dev", CLUSTER, "postgres", overrides);
    expect(resource.dependencies.some((u) => u.includes("helm.sh"))).toBe(false);
  });
});

describe("Postgres: sizing and restore from config", () => {
  it("follows instances, sync standbys and a separate WAL volume", async () => {
    const overrides = {
      "octollm:dataStores": {
        postgres: { instances: 5, synchronousReplicas: 2, walStorage: "10Gi" },
      },
    };
    const c = await objectOf("production", "Cluster", "postgres", overrides);
    expect(c.spec.instances).toBe(5);
    expect(c.spec.postgresql.synchronous.number).toBe(2);
    expect(c.spec.walStorage).toEqual({ size: "10Gi", storageClass: "octollm-fast-ssd" });
    expect(() => validateWith(Cluster, c)).not.toThrow();
  });

  it("bootstraps from a Backup object instead of initdb when restoreFrom names one", async () => {
    const overrides = {
      "octollm:dataStores": {
        postgres: {
          restoreFrom: { backup: "postgres-20250101", targetTime: "2025-01-01T10:00:00Z" },
        },
      },
    };
    const c = await objectOf("dev", "Cluster", "postgres", overrides);
    expect(c.spec.bootstrap.initdb).toBeUndefined();
    expect(c.spec.bootstrap.recovery).toMatchObject({
      backup: { name: "postgres-20250101" },
      recoveryTarget: { targetTime: "2025-01-01T10:00:00Z" },
      database: "octollm",
      owner: "octollm",
      secret: { name: "postgres-owner-credentials" },
    });
    expect(() => validateWith(Cluster, c)).not.toThrow();
  });

  it("archives WAL to the object store in production (backup spec) and not in dev", async () => {
    const prod = await objectOf("production", "Cluster", "postgres");
    expect(prod.spec.backup.barmanObjectStore.destinationPath).toMatch(/^s3:\/\//);
    expect(prod.spec.backup.barmanObjectStore.s3Credentials.accessKeyId.name).toBe(
      "postgres-backup-s3",
    );
    const dev = await objectOf("dev", "Cluster", "postgres");
    expect(dev.spec.backup).toBeUndefined();
  });
});

describe.each(STACKS)("Postgres NetworkPolicy on %s", (stack) => {
  it("admits exactly its clients, its peers, the operator and Prometheus", async () => {
    const config = configOf(stack);
    const np = await objectOf(stack, "NetworkPolicy", "postgres");
    expect(np.spec.podSelector).toEqual({ matchLabels: { "cnpg.io/cluster": "postgres" } });
    expect(np.spec.policyTypes).toEqual(["Ingress", "Egress"]);
    const ingress = np.spec.ingress as Record<string, any>[];
    const clients = ruleFor(
      ingress,
      (p) => p.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "orchestrator",
      "from",
    );
    expect(portsOf(clients)).toEqual([5432]);
    const names = (clients!.from as Record<string, any>[]).map(
      (p) => p.podSelector.matchLabels["app.kubernetes.io/name"],
    );
    const armsUsing = config.arms.filter((a) => a.uses.postgres).map((a) => `${a.name}-arm`);
    // the pg_dump job exists (and is admitted) only where no object store takes the backups
    const dumps = config.backups.enabled && config.backups.postgres.objectStore === undefined;
    expect(dumps).toBe(stack === "dev");
    expect(names.sort()).toEqual(
      ["orchestrator", ...(dumps ? ["postgres-backup"] : []), ...armsUsing].sort(),
    );
    // an arm that does not use Postgres is not admitted
    expect(names).not.toContain("coder-arm");

    const operator = ruleFor(
      ingress,
      (p) =>
        p.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] ===
        config.operators.cloudnativePg.namespace,
      "from",
    );
    expect(portsOf(operator)).toEqual([5432, 8000]);
    const prometheus = ruleFor(
      ingress,
      (p) => p.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "prometheus",
      "from",
    );
    // Prometheus is admitted only where the stack runs monitoring (dev does not).
    const monitored = config.observability.enabled;
    expect(monitored).toBe(stack !== "dev");
    expect(portsOf(prometheus)).toEqual(monitored ? [9187] : []);
    expect(ingress).toHaveLength(monitored ? 4 : 3);

    const egress = np.spec.egress as Record<string, any>[];
    const apiServer = ruleFor(egress, (p) => p.ipBlock !== undefined && !p.ipBlock.except, "to");
    // the distribution's API port: kind 6443 (dev), EKS 443 (staging, production)
    expect(portsOf(apiServer)).toEqual(config.network.apiServerPorts);
    expect(config.network.apiServerPorts).toEqual(stack === "dev" ? [6443] : [443]);
    expect(apiServer!.to.map((p: any) => p.ipBlock.cidr)).toEqual(config.network.apiServerCidrs);
    // the object store is reachable only when WAL is archived there
    const archives = config.backups.enabled && config.backups.postgres.objectStore !== undefined;
    expect(egress).toHaveLength(archives ? 3 : 2);
    expect(np.metadata.namespace).toBe(workloadsNs(stack));
  });
});
