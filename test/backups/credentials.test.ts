/**
 * Object-store credentials of the backups (backups.credentials): static keys from Secrets the
 * program makes (secrets: program) or you make after the first up (external), or a workload
 * identity (IRSA, EKS Pod Identity, GKE / Azure Workload Identity) with no static key at all.
 */
import { describe, expect, it } from "vitest";
import { evaluatePolicies, loadPolicyConfig } from "../../policies/evaluate";
import { validateObjects } from "../../scripts/validate";
import type { KubernetesObject, StackRun } from "../harness";
import {
  configProblems,
  findObject,
  helmCharts,
  kubernetesObjects,
  ofKind,
  renderStack,
  renderedResources,
} from "../harness";

const ROLE = "arn:aws:iam::123456789012:role/octollm-backups";
const GSA = "octollm-backups@octollm-prod.iam.gserviceaccount.com";
const AZURE_ID = "4f2a1c9e-5b7d-4e3f-9a8b-1c2d3e4f5a6b";
const PG_KEYS = { ACCESS_KEY_ID: "AKIATESTONLY", ACCESS_SECRET_KEY: "test-only-secret-value" };
const VELERO_FILE = "[default]\naws_access_key_id=AKIATESTONLY\naws_secret_access_key=test-only\n";

const backups = (credentials: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  "octollm:backups": { credentials, ...extra },
});
const gcs = { postgres: { objectStore: { destinationPath: "gs://octollm-backups/postgres" } } };
const azureBlob = {
  postgres: {
    objectStore: { destinationPath: "https://octollm.blob.core.windows.net/backups/postgres" },
  },
};
/** A complete Azure storage location (velero-plugin-for-microsoft-azure's required keys). */
const AZURE_LOCATION = {
  provider: "azure",
  bucket: "velero",
  resourceGroup: "octollm-backups",
  storageAccount: "octollmbackups",
};
const veleroOn = () => ({
  "octollm:operators": { velero: { install: true } },
});

function cluster(run: StackRun): Record<string, any> {
  return findObject(kubernetesObjects(run), "Cluster", "postgres") as Record<string, any>;
}
function postgresEgress(run: StackRun): Record<string, any>[] {
  return (findObject(kubernetesObjects(run), "NetworkPolicy", "postgres") as Record<string, any>)
    .spec.egress;
}
function veleroValues(run: StackRun): Record<string, any> {
  return helmCharts(run).find((c) => c.chart === "velero")!.values as Record<string, any>;
}
async function schemaErrors(objects: KubernetesObject[]): Promise<string[]> {
  return (await validateObjects(objects as never)).errors.map((e) => e.message);
}
/** Link-local destinations the Postgres instances may reach (not the ranges carved out). */
function linkLocalCidrs(egress: Record<string, any>[]): string[] {
  return egress
    .flatMap((rule) => (rule.to ?? []).map((peer: any) => peer.ipBlock?.cidr as string))
    .filter((cidr) => cidr !== undefined && /^(169\.254\.|fd00:ec2)/.test(cidr));
}

describe("backup credentials: bad input is a parse-time error naming the key", () => {
  it("a workload-identity mode without its identity", () => {
    expect(configProblems(backups({ mode: "irsa" }))).toEqual([
      "octollm:backups.credentials.roleArn: got nothing; mode irsa needs roleArn",
    ]);
    expect(configProblems(backups({ mode: "gkeWorkloadIdentity" }, gcs))).toEqual([
      "octollm:backups.credentials.gcpServiceAccount: got nothing; mode gkeWorkloadIdentity needs gcpServiceAccount",
    ]);
    expect(configProblems(backups({ mode: "azureWorkloadIdentity" }, azureBlob))).toEqual([
      "octollm:backups.credentials.azureClientId: got nothing; mode azureWorkloadIdentity needs azureClientId",
    ]);
  });

  it("an identity of another cloud than the object store or Velero's provider", () => {
    expect(
      configProblems(backups({ mode: "gkeWorkloadIdentity", gcpServiceAccount: GSA })),
    ).toEqual([
      'octollm:backups.postgres.objectStore.destinationPath: got "s3://octollm-production-backups/postgres"; credentials mode gkeWorkloadIdentity authenticates to gs:// object stores only',
    ]);
    expect(
      configProblems({
        ...backups({ mode: "gkeWorkloadIdentity", gcpServiceAccount: GSA }, gcs),
        ...veleroOn(),
      }),
    ).toEqual([
      'octollm:backups.velero.storageLocation.provider: got "aws"; credentials mode gkeWorkloadIdentity works with Velero provider gcp only',
    ]);
  });

  it("identity keys that belong to another mode, and malformed identities", () => {
    expect(configProblems(backups({ mode: "eksPodIdentity", roleArn: ROLE }))[0]).toMatch(
      /^octollm:backups\.credentials\.roleArn: got ".*"; roleArn belongs to another credentials mode, not eksPodIdentity \(Pod Identity takes its role from the association/,
    );
    expect(configProblems(backups({ mode: "static", secrets: "external", roleArn: ROLE }))).toEqual(
      [
        `octollm:backups.credentials.roleArn: got "${ROLE}"; roleArn is for a workload-identity mode; mode static reads keys from Secrets`,
      ],
    );
    expect(configProblems(backups({ mode: "irsa", roleArn: "octollm-backups" }))[0]).toMatch(
      /^octollm:backups\.credentials\.roleArn: got "octollm-backups"; must be an IAM role ARN/,
    );
    expect(configProblems(backups({ mode: "bogus" }))[0]).toMatch(
      /^octollm:backups\.credentials\.mode: got "bogus"; .*static.*irsa.*eksPodIdentity.*gkeWorkloadIdentity.*azureWorkloadIdentity/,
    );
  });

  it("static keys the program should make but has no value for, without echoing secrets", () => {
    const problems = configProblems({
      ...backups({ mode: "static", secrets: "program" }),
      ...veleroOn(),
      "octollm:secrets": { backupCredentials: { postgres: { ACCESS_KEY_ID: "AKIATESTONLY" } } },
    });
    expect(problems).toEqual([
      "octollm:secrets.backupCredentials.postgres: got <redacted>; backups.credentials.secrets program needs the object store keys ACCESS_KEY_ID, ACCESS_SECRET_KEY (missing ACCESS_SECRET_KEY): pulumi config set --secret --path 'octollm:secrets.backupCredentials.postgres.<KEY>' …",
      "octollm:secrets.backupCredentials.velero: got <redacted>; backups.credentials.secrets program with operators.velero.install needs Velero's credentials file: pulumi config set --secret --path 'octollm:secrets.backupCredentials.velero' < credentials-velero",
    ]);
    expect(problems.join("\n")).not.toContain("AKIATESTONLY");
  });

  it("external Velero credentials in a namespace the program creates (no order makes them work)", () => {
    expect(configProblems(veleroOn())).toEqual([
      'octollm:backups.credentials.secrets: got "external"; external Velero credentials cannot exist before the first up: the program creates namespace velero and awaits Velero, whose pod mounts the Secret; use secrets program (octollm:secrets.backupCredentials.velero), a workload-identity mode, or operators.velero.install false',
    ]);
  });
});

describe("static keys made by the program (secrets: program)", () => {
  const config = {
    ...backups({ mode: "static", secrets: "program" }),
    ...veleroOn(),
    "octollm:secrets": { backupCredentials: { postgres: PG_KEYS, velero: VELERO_FILE } },
  };

  it("creates both Secrets before what reads them, in the readers' namespaces, values never in clear", async () => {
    const run = await renderStack("production", config);
    const objects = kubernetesObjects(run);
    const pg = findObject(objects, "Secret", "postgres-backup-s3", "octollm-production") as any;
    expect(pg.stringData).toEqual({ ACCESS_KEY_ID: "<redacted>", ACCESS_SECRET_KEY: "<redacted>" });
    const velero = findObject(objects, "Secret", "velero-credentials", "velero") as any;
    expect(Object.keys(velero.stringData)).toEqual(["cloud"]);

    const urn = (pred: (r: StackRun["resources"][number]) => boolean) =>
      run.resources.find(pred)!.urn;
    const clusterRes = run.resources.find((r) => (r.inputs as any).kind === "Cluster")!;
    expect(clusterRes.dependencies).toContain(
      urn(
        (r) =>
          (r.inputs as any).kind === "Secret" &&
          (r.inputs as any).metadata?.name === "postgres-backup-s3",
      ),
    );
    const chart = run.resources.find((r) => (r.inputs as any).chart === "velero")!;
    expect(chart.dependencies).toContain(
      urn(
        (r) =>
          (r.inputs as any).kind === "Secret" &&
          (r.inputs as any).metadata?.name === "velero-credentials",
      ),
    );
    // The Secret is now part of the stack: nothing is declared external.
    expect(cluster(run).metadata.annotations?.["octollm.io/external-secrets"]).toBeUndefined();
    for (const value of [...Object.values(PG_KEYS), "aws_secret_access_key=test-only"])
      expect(JSON.stringify(objects)).not.toContain(value);
  });

  it("external (the default) references the Secret by name only and declares it", async () => {
    const run = await renderStack("production");
    expect(ofKind(kubernetesObjects(run), "Secret").map((s) => s.metadata.name)).not.toContain(
      "postgres-backup-s3",
    );
    expect(cluster(run).metadata.annotations["octollm.io/external-secrets"]).toBe(
      "postgres-backup-s3",
    );
  });
});

describe("workload identity: no static keys, the identity on the ServiceAccounts, its egress", () => {
  it("IRSA: CNPG inherits the IAM role, the instances' and Velero's ServiceAccounts carry it", async () => {
    const run = await renderStack("production", {
      ...backups({ mode: "irsa", roleArn: ROLE }),
      ...veleroOn(),
    });
    const c = cluster(run);
    expect(c.spec.backup.barmanObjectStore.s3Credentials).toEqual({ inheritFromIAMRole: true });
    expect(c.spec.serviceAccountTemplate.metadata.annotations).toEqual({
      "eks.amazonaws.com/role-arn": ROLE,
    });
    expect(c.metadata.annotations?.["octollm.io/external-secrets"]).toBeUndefined();
    expect(await schemaErrors([c as KubernetesObject])).toEqual([]);
    expect(ofKind(kubernetesObjects(run), "Secret").map((s) => s.metadata.name)).not.toContain(
      "velero-credentials",
    );
    const v = veleroValues(run);
    expect(v.credentials).toEqual({ useSecret: false });
    expect(v.serviceAccount.server).toEqual({
      create: true,
      name: "velero-server",
      annotations: { "eks.amazonaws.com/role-arn": ROLE },
    });
    // STS is public HTTPS, already open with the archive; nothing link-local.
    expect(linkLocalCidrs(postgresEgress(run))).toEqual([]);
  });

  it("EKS Pod Identity: no annotation (the association names the ServiceAccount), the agent's address opened", async () => {
    const run = await renderStack("production", backups({ mode: "eksPodIdentity" }));
    expect(linkLocalCidrs(postgresEgress(await renderStack("production")))).toEqual([]);
    const c = cluster(run);
    expect(c.spec.backup.barmanObjectStore.s3Credentials).toEqual({ inheritFromIAMRole: true });
    expect(c.spec.serviceAccountTemplate).toBeUndefined();
    expect(postgresEgress(run)).toContainEqual({
      to: [{ ipBlock: { cidr: "169.254.170.23/32" } }, { ipBlock: { cidr: "fd00:ec2::23/128" } }],
      ports: [{ protocol: "TCP", port: 80 }],
    });
  });

  it("GKE Workload Identity: gkeEnvironment, the GSA annotation, the metadata server opened", async () => {
    const run = await renderStack("production", {
      ...backups(
        { mode: "gkeWorkloadIdentity", gcpServiceAccount: GSA },
        {
          ...gcs,
          velero: { storageLocation: { provider: "gcp" } },
        },
      ),
      ...veleroOn(),
    });
    const c = cluster(run);
    expect(c.spec.backup.barmanObjectStore.googleCredentials).toEqual({ gkeEnvironment: true });
    expect(c.spec.serviceAccountTemplate.metadata.annotations).toEqual({
      "iam.gke.io/gcp-service-account": GSA,
    });
    expect(await schemaErrors([c as KubernetesObject])).toEqual([]);
    const egress = postgresEgress(run);
    expect(egress).toContainEqual({
      to: [{ ipBlock: { cidr: "169.254.169.254/32" } }],
      ports: [{ protocol: "TCP", port: 80 }],
    });
    expect(egress).toContainEqual({
      to: [{ ipBlock: { cidr: "169.254.169.252/32" } }],
      ports: [{ protocol: "TCP", port: 988 }],
    });
    const v = veleroValues(run);
    expect(v.credentials).toEqual({ useSecret: false });
    expect(v.serviceAccount.server.annotations).toEqual({ "iam.gke.io/gcp-service-account": GSA });
    expect(v.configuration.backupStorageLocation[0].config).toEqual({ serviceAccount: GSA });
  });

  it("Azure Workload Identity: inheritFromAzureAD, client-id annotation and the pod label", async () => {
    const run = await renderStack("production", {
      ...backups(
        { mode: "azureWorkloadIdentity", azureClientId: AZURE_ID },
        {
          ...azureBlob,
          velero: { snapshotVolumes: false, storageLocation: AZURE_LOCATION },
        },
      ),
      ...veleroOn(),
    });
    const c = cluster(run);
    expect(c.spec.backup.barmanObjectStore.azureCredentials).toEqual({ inheritFromAzureAD: true });
    expect(c.spec.serviceAccountTemplate.metadata.annotations).toEqual({
      "azure.workload.identity/client-id": AZURE_ID,
    });
    expect(c.spec.inheritedMetadata.labels).toEqual({ "azure.workload.identity/use": "true" });
    expect(await schemaErrors([c as KubernetesObject])).toEqual([]);
    const v = veleroValues(run);
    // Entra ID to the blob data (no credentials file to list keys with), the plugin's names
    expect(v.configuration.backupStorageLocation[0].config).toEqual({
      resourceGroup: "octollm-backups",
      storageAccount: "octollmbackups",
      useAAD: "true",
    });
    expect(v.podLabels).toEqual({ "azure.workload.identity/use": "true" });
    expect(v.serviceAccount.server.annotations).toEqual({
      "azure.workload.identity/client-id": AZURE_ID,
    });
  });
});

describe("Velero on Azure: the plugin's storage location keys (issue 14 #9)", () => {
  // Static keys the program makes: the Azure connection string and Velero's credentials file.
  const AZURE_FILE = "AZURE_SUBSCRIPTION_ID=test-only\nAZURE_RESOURCE_GROUP=test-only\n";
  const staticProgram = { mode: "static", secrets: "program" };
  const azure = (
    location: Record<string, unknown>,
    credentials: Record<string, unknown> = staticProgram,
  ) => ({
    ...backups(credentials, { ...azureBlob, velero: { storageLocation: location } }),
    ...veleroOn(),
    ...(credentials.mode === "static"
      ? {
          "octollm:secrets": {
            backupCredentials: {
              postgres: { AZURE_CONNECTION_STRING: "test-only" },
              velero: AZURE_FILE,
            },
          },
        }
      : {}),
  });

  it("provider azure without resourceGroup and storageAccount is refused, naming both", () => {
    expect(configProblems(azure({ provider: "azure", bucket: "velero" }))).toEqual([
      "octollm:backups.velero.storageLocation.resourceGroup: got nothing; provider azure needs resourceGroup (velero-plugin-for-microsoft-azure: the BackupStorageLocation's resource group of the storage account)",
      "octollm:backups.velero.storageLocation.storageAccount: got nothing; provider azure needs storageAccount (velero-plugin-for-microsoft-azure: the BackupStorageLocation's storage account holding the bucket container)",
    ]);
    expect(configProblems(azure(AZURE_LOCATION))).toEqual([]);
  });

  it("malformed Azure names and a subscription that is no GUID are refused", () => {
    const problems = configProblems(
      azure({
        ...AZURE_LOCATION,
        storageAccount: "Octollm-Backups",
        resourceGroup: "ends-with-a-dot.",
        subscriptionId: "my-subscription",
      }),
    );
    expect(problems).toHaveLength(3);
    expect(problems.join("\n")).toMatch(
      /storageLocation\.resourceGroup: got "ends-with-a-dot\."; must be an Azure resource group name/,
    );
    expect(problems.join("\n")).toMatch(
      /storageLocation\.storageAccount: got "Octollm-Backups"; must be an Azure storage account name: 3-24 lowercase letters and digits/,
    );
    expect(problems.join("\n")).toMatch(/storageLocation\.subscriptionId: got "my-subscription"/);
  });

  it("Azure keys on another provider are refused (its plugin would ignore them)", () => {
    expect(
      configProblems({
        ...backups(staticProgram, {
          velero: { storageLocation: { storageAccount: "octollmbackups" } },
        }),
        ...veleroOn(),
        "octollm:secrets": { backupCredentials: { postgres: PG_KEYS, velero: VELERO_FILE } },
      }),
    ).toEqual([
      'octollm:backups.velero.storageLocation.storageAccount: got "octollmbackups"; storageAccount is for provider azure; the aws plugin would ignore it',
    ]);
  });

  it("a Velero the program does not install: its storage location is not ours to check", () => {
    expect(
      configProblems(
        backups(
          { mode: "static", secrets: "external" },
          { velero: { storageLocation: { provider: "azure" } } },
        ),
      ),
    ).toEqual([]);
  });

  it("volume snapshots with Azure workload identity are refused (the snapshotter needs a credentials file)", () => {
    expect(
      configProblems(
        azure(AZURE_LOCATION, { mode: "azureWorkloadIdentity", azureClientId: AZURE_ID }),
      ),
    ).toEqual([
      "octollm:backups.velero.snapshotVolumes: got true; the Azure plugin's volume snapshotter reads AZURE_SUBSCRIPTION_ID and AZURE_RESOURCE_GROUP from a credentials file, which azureWorkloadIdentity does not mount: set snapshotVolumes false, or use credentials mode static",
    ]);
  });

  it("renders the plugin's keys into the BackupStorageLocation, strings only; the snapshot location stays the cluster's", async () => {
    const subscriptionId = "0b1f6471-1bf0-4dda-aec3-cb9272f09590";
    const run = await renderStack("production", azure({ ...AZURE_LOCATION, subscriptionId }));
    const v = veleroValues(run);
    expect(v.configuration.backupStorageLocation).toEqual([
      {
        name: "default",
        provider: "azure",
        bucket: "velero",
        default: true,
        config: {
          resourceGroup: "octollm-backups",
          storageAccount: "octollmbackups",
          subscriptionId,
          useAAD: "true",
        },
      },
    ]);
    // resourceGroup/subscriptionId of the VSL mean where snapshots go; unset, the cluster's
    expect(v.configuration.volumeSnapshotLocation[0].config).toEqual({});
    expect(v.initContainers[0].image).toBe(
      "docker.io/velero/velero-plugin-for-microsoft-azure:v1.12.1",
    );
    expect(v.credentials).toEqual({ useSecret: true, existingSecret: "velero-credentials" });
    // the program's Secret holds the credentials file, never printed in the values
    expect(JSON.stringify(v)).not.toContain("AZURE_SUBSCRIPTION_ID=");
  });
});

describe("every credentials mode passes the policy pack", () => {
  it.each([
    [
      "static, program",
      {
        ...backups({ mode: "static", secrets: "program" }),
        ...veleroOn(),
        "octollm:secrets": { backupCredentials: { postgres: PG_KEYS, velero: VELERO_FILE } },
      },
    ],
    ["irsa", { ...backups({ mode: "irsa", roleArn: ROLE }), ...veleroOn() }],
    ["eksPodIdentity", backups({ mode: "eksPodIdentity" })],
    ["gkeWorkloadIdentity", backups({ mode: "gkeWorkloadIdentity", gcpServiceAccount: GSA }, gcs)],
    [
      "azureWorkloadIdentity, Velero on Azure",
      {
        ...backups(
          { mode: "azureWorkloadIdentity", azureClientId: AZURE_ID },
          { ...azureBlob, velero: { snapshotVolumes: false, storageLocation: AZURE_LOCATION } },
        ),
        ...veleroOn(),
      },
    ],
  ])("%s: no mandatory violation in production", async (_mode, overrides) => {
    const run = await renderStack("production", overrides);
    const report = await evaluatePolicies(renderedResources(run), loadPolicyConfig("production"));
    expect(
      report.violations
        .filter((v) => v.enforcementLevel === "mandatory")
        .map((v) => `${v.policy}: ${v.message}`),
    ).toEqual([]);
  });
});
