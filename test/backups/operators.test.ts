/**
 * The operator-driven backups: Velero (Schedule checked against the vendored CRD subset, the
 * chart without hooks) and CloudNativePG (ScheduledBackup and the Cluster's archive settings,
 * validated with @kubernetes-models/cloudnative-pg), the order of things on an empty cluster,
 * and restore mode.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { validateObjects } from "../../scripts/validate";
import {
  STACKS,
  configOf,
  findObject,
  helmCharts,
  objectsOf,
  ofKind,
  renderStack,
} from "../harness";
import type { Schema } from "./schema-check";
import { checkSchema } from "./schema-check";

const SCHEDULE_SCHEMA = JSON.parse(
  readFileSync(path.join(__dirname, "velero-schedule.schema.json"), "utf8"),
) as Schema;
const CHART = "kubernetes:helm.sh/v4:Chart";
/** Velero installed by the program, its static credentials from secret config (test values). */
const PROGRAM_SECRETS = {
  credentials: { secrets: "program" },
};
const VELERO_INSTALL = {
  "octollm:operators": { velero: { install: true } },
  "octollm:backups": PROGRAM_SECRETS,
  "octollm:secrets": {
    backupCredentials: {
      postgres: { ACCESS_KEY_ID: "AKIATESTONLY", ACCESS_SECRET_KEY: "test-only-secret" },
      velero: "[default]\naws_access_key_id=AKIATESTONLY\naws_secret_access_key=test-only\n",
    },
  },
};

async function schemaErrors(obj: unknown): Promise<string[]> {
  const r = await validateObjects([obj as never]);
  expect(r.unmodelled, "a model exists for the kind").toEqual([]);
  return r.errors.map((e) => e.message);
}

describe.each(STACKS)("Velero on %s", (stack) => {
  const config = configOf(stack);

  it("schedules a daily backup of the stack's namespaces where enabled", async () => {
    const schedules = ofKind(await objectsOf(stack), "Schedule");
    if (!config.backups.velero.enabled) {
      expect(schedules).toEqual([]);
      return;
    }
    expect(schedules).toHaveLength(1);
    const s = schedules[0] as any;
    expect(s.apiVersion).toBe("velero.io/v1");
    expect(s.metadata.name).toBe(`octollm-${stack}-daily`);
    expect(s.metadata.namespace).toBe(config.operators.velero.namespace);
    expect(s.spec.schedule).toBe("0 2 * * *");
    expect(s.spec.template.ttl).toBe(config.backups.velero.ttl);
    expect(s.spec.template.includedNamespaces.sort()).toEqual(
      Object.values(config.namespaces).sort(),
    );
    expect(s.spec.template.snapshotVolumes).toBe(true);
    expect(s.spec.template.storageLocation).toBe("default");
  });

  it("renders a Schedule that fits the Velero CRD's schema (unknown fields included)", async () => {
    const schedules = ofKind(await objectsOf(stack), "Schedule");
    for (const s of schedules) expect(checkSchema(s, SCHEDULE_SCHEMA)).toEqual([]);
  });
});

describe("the Velero schema check is not blind", () => {
  it("catches a wrong type, a misspelt field and a missing required field", async () => {
    const s = structuredClone(ofKind(await objectsOf("production"), "Schedule")[0]) as any;
    s.spec.template.ttl = 720;
    s.spec.template.snapshotVolume = true;
    delete s.spec.schedule;
    expect(checkSchema(s, SCHEDULE_SCHEMA)).toEqual([
      "spec: missing required field schedule",
      "spec.template.ttl: expected string, got integer",
      "spec.template.snapshotVolume: unknown field (the CRD has no such property)",
    ]);
  });
});

describe("Velero installed by the program", () => {
  it("installs the pinned chart without relying on any Helm hook, CRDs from crds/", async () => {
    const run = await renderStack("production", VELERO_INSTALL);
    const chart = helmCharts(run).find((c) => c.chart === "velero")!;
    expect(chart.version).toBe("10.1.0");
    expect(chart.repository).toBe("https://vmware-tanzu.github.io/helm-charts");
    expect(chart.namespace).toBe("velero");
    const values = chart.values as any;
    expect(values.upgradeCRDs).toBe(false);
    expect(values.cleanUpCRDs).toBe(false);
    expect(values.namespace.labels).toEqual({});
    const r = run.resources.find((x) => x.type === CHART && (x.inputs as any).chart === "velero")!;
    expect((r.inputs as any).skipCrds ?? false).toBe(false);
  });

  it("configures the storage location, credentials and plugin from config, pods restricted", async () => {
    const config = configOf("production");
    const loc = config.backups.velero.storageLocation;
    const values = helmCharts(await renderStack("production", VELERO_INSTALL)).find(
      (c) => c.chart === "velero",
    )!.values as any;
    expect(values.configuration.backupStorageLocation).toEqual([
      {
        name: "default",
        provider: "aws",
        bucket: loc.bucket,
        default: true,
        config: { region: loc.region },
      },
    ]);
    expect(values.credentials).toEqual({ useSecret: true, existingSecret: loc.credentialsSecret });
    expect(values.snapshotsEnabled).toBe(true);
    expect(values.deployNodeAgent).toBe(false);
    expect(values.initContainers[0].image).toBe("docker.io/velero/velero-plugin-for-aws:v1.12.1");
    expect(values.podSecurityContext.runAsNonRoot).toBe(true);
    expect(values.containerSecurityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    const ns = findObject(await objectsOf("production", VELERO_INSTALL), "Namespace", "velero");
    expect(ns.metadata.labels!["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });

  it("creates the Schedule after the chart that brings its CRD, and only then", async () => {
    const installed = await renderStack("production", VELERO_INSTALL);
    const chart = installed.resources.find(
      (x) => x.type === CHART && (x.inputs as any).chart === "velero",
    )!;
    const schedule = installed.resources.find((x) => (x.inputs as any).kind === "Schedule")!;
    expect(schedule.dependencies).toContain(chart.urn);

    const assumed = await renderStack("production");
    expect(helmCharts(assumed).map((c) => c.chart)).not.toContain("velero");
    const s2 = assumed.resources.find((x) => (x.inputs as any).kind === "Schedule")!;
    expect(s2).toBeDefined();
  });

  it("refuses a provider it has no pinned plugin for", async () => {
    await expect(
      renderStack("production", {
        ...VELERO_INSTALL,
        "octollm:backups": {
          ...PROGRAM_SECRETS,
          velero: { storageLocation: { provider: "openstack" } },
        },
      }),
    ).rejects.toThrow(/no pinned Velero plugin/);
  });
});

describe.each(["staging", "production"] as const)("CloudNativePG backups on %s", (stack) => {
  const config = configOf(stack);

  it("takes a daily base backup with a ScheduledBackup that validates against the CNPG schema", async () => {
    const sb = findObject(await objectsOf(stack), "ScheduledBackup", "postgres-base-backup") as any;
    expect(await schemaErrors(sb)).toEqual([]);
    expect(sb.metadata.namespace).toBe(config.namespaces.workloads);
    // CloudNativePG's cron has a seconds field: "0 1 * * *" runs at 01:00:00
    expect(sb.spec.schedule).toBe("0 0 1 * * *");
    expect(sb.spec).toMatchObject({
      cluster: { name: "postgres" },
      method: "barmanObjectStore",
      immediate: true,
      backupOwnerReference: "self",
    });
    expect(
      await schemaErrors({ ...sb, spec: { ...sb.spec, backupOwnerReference: "mine" } }),
    ).not.toEqual([]);
  });

  it("archives WAL and base backups to the object store with the configured retention", async () => {
    const cluster = findObject(await objectsOf(stack), "Cluster", "postgres") as any;
    expect(await schemaErrors(cluster)).toEqual([]);
    const store = config.backups.postgres.objectStore!;
    expect(cluster.spec.backup.retentionPolicy).toBe(config.backups.postgres.retention);
    const b = cluster.spec.backup.barmanObjectStore;
    expect(b.destinationPath).toBe(store.destinationPath);
    expect(b.s3Credentials).toEqual({
      accessKeyId: { name: store.credentialsSecret, key: "ACCESS_KEY_ID" },
      secretAccessKey: { name: store.credentialsSecret, key: "ACCESS_SECRET_KEY" },
    });
    expect(b.wal.compression).toBe("gzip");
    // S3 server-side encryption is forced for WAL and base backups, whatever the bucket default
    expect(b.wal.encryption).toBe("AES256");
    expect(b.data.encryption).toBe("AES256");
    // the credentials Secret is declared external for the policy pack
    expect(cluster.metadata.annotations["octollm.io/external-secrets"]).toBe(
      store.credentialsSecret,
    );
  });

  it("leaves encryption at rest to GCS and Azure object stores (S3-only setting)", async () => {
    const objects = await objectsOf(stack, {
      "octollm:backups": {
        postgres: { objectStore: { destinationPath: "gs://octollm-backups/pg" } },
      },
    });
    const b = (findObject(objects, "Cluster", "postgres") as any).spec.backup.barmanObjectStore;
    expect(b.googleCredentials).toBeDefined();
    expect(b.wal.encryption).toBeUndefined();
    expect(b.data.encryption).toBeUndefined();
  });

  it("creates the ScheduledBackup after the operator chart and the Cluster", async () => {
    const run = await renderStack(stack);
    const sb = run.resources.find((x) => (x.inputs as any).kind === "ScheduledBackup")!;
    const cnpg = run.resources.find(
      (x) => x.type === CHART && (x.inputs as any).chart === "cloudnative-pg",
    );
    if (config.operators.cloudnativePg.install) expect(sb.dependencies).toContain(cnpg!.urn);
    // dependsOn the data-stores tier waits for all of its children, the Cluster among them
    const cluster = run.resources.find((x) => (x.inputs as any).kind === "Cluster")!;
    expect(sb.dependencies).toContain(cluster.urn);
  });
});

describe("dev Postgres (no object store)", () => {
  it("has no archive settings, no ScheduledBackup and no external-secret annotation", async () => {
    const objects = await objectsOf("dev");
    expect(ofKind(objects, "ScheduledBackup")).toEqual([]);
    const cluster = findObject(objects, "Cluster", "postgres") as any;
    expect(cluster.spec.backup).toBeUndefined();
    expect(cluster.metadata.annotations?.["octollm.io/external-secrets"]).toBeUndefined();
  });
});

describe("restore mode", () => {
  const RESTORE = {
    "octollm:dataStores": {
      postgres: { restoreFrom: { objectStore: true, targetTime: "2026-11-20T10:00:00Z" } },
    },
    // the restored cluster archives under a new name (CloudNativePG refuses a used archive)
    "octollm:backups": { postgres: { objectStore: { serverName: "postgres-2" } } },
  };

  it("bootstraps production from the object store to a point in time instead of initdb", async () => {
    const objects = await objectsOf("production", RESTORE);
    const cluster = findObject(objects, "Cluster", "postgres") as any;
    expect(await schemaErrors(cluster)).toEqual([]);
    const boot = cluster.spec.bootstrap;
    expect(boot.initdb).toBeUndefined();
    expect(boot.recovery.recoveryTarget).toEqual({ targetTime: "2026-11-20T10:00:00Z" });
    expect(boot.recovery.secret).toEqual({ name: "postgres-owner-credentials" });
    const source = cluster.spec.externalClusters.find((c: any) => c.name === boot.recovery.source);
    expect(source.barmanObjectStore.destinationPath).toBe(
      "s3://octollm-production-backups/postgres",
    );
    expect(source.barmanObjectStore.serverName).toBe("postgres");
    expect(cluster.spec.backup.barmanObjectStore.serverName).toBe("postgres-2");
    // the backups of the restored cluster keep running
    expect(ofKind(objects, "ScheduledBackup")).toHaveLength(1);
  });

  it("bootstraps from a named Backup object", async () => {
    const objects = await objectsOf("production", {
      ...RESTORE,
      "octollm:dataStores": {
        postgres: { restoreFrom: { backup: "postgres-base-backup-20261120010000" } },
      },
    });
    const cluster = findObject(objects, "Cluster", "postgres") as any;
    expect(await schemaErrors(cluster)).toEqual([]);
    expect(cluster.spec.bootstrap.recovery.backup).toEqual({
      name: "postgres-base-backup-20261120010000",
    });
    expect(cluster.spec.bootstrap.initdb).toBeUndefined();
  });

  it("refuses the restore when the new cluster would archive over its own source", async () => {
    await expect(
      renderStack("production", {
        "octollm:dataStores": {
          postgres: { restoreFrom: { objectStore: true, targetTime: "2026-11-20T10:00:00Z" } },
        },
      }),
    ).rejects.toThrow(/octollm:backups\.postgres\.objectStore\.serverName: .*set a new name/);
  });
});
