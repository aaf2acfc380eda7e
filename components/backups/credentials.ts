/**
 * Object-store credentials of the backup workloads, by `backups.credentials.mode`:
 *
 * - `static`: keys in Secrets named by `backups.postgres.objectStore.credentialsSecret` and
 *   `backups.velero.storageLocation.credentialsSecret`. With `secrets: program` the program makes
 *   them from `octollm:secrets.backupCredentials` (so they exist before the Cluster and Velero
 *   that read them: pulumi-kubernetes ≥ 4.29 creates client-side, and a Secret made by hand in a
 *   namespace the program then creates would fail with AlreadyExists, or the other way round,
 *   the program's create would). With `secrets: external` they are referenced by name only and
 *   created by you after the first `up` (docs/operations.md#secrets).
 * - `irsa`, `eksPodIdentity`, `gkeWorkloadIdentity`, `azureWorkloadIdentity`: no static keys.
 *   CloudNativePG inherits the pod's identity (`inheritFromIAMRole`, `gkeEnvironment`,
 *   `inheritFromAzureAD` in the barman object store), Velero runs without its credentials Secret
 *   (`credentials.useSecret: false`); their ServiceAccounts carry the identity annotation and the
 *   Postgres instances' NetworkPolicy opens what the identity needs (below).
 *
 * The Redis and Qdrant backup CronJobs write to their own PVCs and hold no cloud credentials;
 * Velero's Schedule carries those volumes off-cluster.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import { objectStoreSecretKeys } from "../config";
import type { EgressRule } from "../network-flows";
import { tcp } from "../network-flows";

export type CredentialsMode = PlatformConfig["backups"]["credentials"]["mode"];

/** The annotation each identity mode puts on a ServiceAccount (none for EKS Pod Identity). */
export function identityServiceAccountAnnotations(config: PlatformConfig): Record<string, string> {
  const c = config.backups.credentials;
  switch (c.mode) {
    case "irsa":
      return { "eks.amazonaws.com/role-arn": c.roleArn ?? "" };
    case "gkeWorkloadIdentity":
      return { "iam.gke.io/gcp-service-account": c.gcpServiceAccount ?? "" };
    case "azureWorkloadIdentity":
      return { "azure.workload.identity/client-id": c.azureClientId ?? "" };
    default:
      // static keys; EKS Pod Identity binds the role to namespace + ServiceAccount name in the
      // EKS API (aws eks create-pod-identity-association), not by annotation.
      return {};
  }
}

/** Azure Workload Identity's webhook injects the token only into pods with this label. */
export function identityPodLabels(config: PlatformConfig): Record<string, string> {
  return config.backups.credentials.mode === "azureWorkloadIdentity"
    ? { "azure.workload.identity/use": "true" }
    : {};
}

/**
 * Egress the identity needs besides HTTPS to the object store (which the archive rule already
 * opens; IRSA's STS and Azure's Entra ID token endpoint are public HTTPS too):
 * - GKE: the metadata server, 169.254.169.254:80 on Dataplane V2, and the gke-metadata-server
 *   at 169.254.169.252:988 on the other dataplanes (GKE's Workload Identity documentation);
 * - EKS Pod Identity: the Pod Identity agent on each node, 169.254.170.23:80 (fd00:ec2::23 on
 *   IPv6 clusters).
 * The private ranges are carved out of the HTTPS rule (network.llmEgressExceptCidrs), so these
 * link-local addresses need rules of their own.
 */
export function identityEgress(config: PlatformConfig): EgressRule[] {
  switch (config.backups.credentials.mode) {
    case "gkeWorkloadIdentity":
      return [
        { to: [{ ipBlock: { cidr: "169.254.169.254/32" } }], ports: tcp(80) },
        { to: [{ ipBlock: { cidr: "169.254.169.252/32" } }], ports: tcp(988) },
      ];
    case "eksPodIdentity":
      return [
        {
          to: [
            { ipBlock: { cidr: "169.254.170.23/32" } },
            { ipBlock: { cidr: "fd00:ec2::23/128" } },
          ],
          ports: tcp(80),
        },
      ];
    default:
      return [];
  }
}

/**
 * The barman object store's credentials block (CloudNativePG, the pinned 1.27 API): secret
 * references under the keys CNPG documents, or inheritance of the pod's identity.
 */
export function cnpgObjectStoreCredentials(
  config: PlatformConfig,
  destinationPath: string,
  secret: string,
): Record<string, unknown> {
  switch (config.backups.credentials.mode) {
    case "irsa":
    case "eksPodIdentity":
      return { s3Credentials: { inheritFromIAMRole: true } };
    case "gkeWorkloadIdentity":
      return { googleCredentials: { gkeEnvironment: true } };
    case "azureWorkloadIdentity":
      return { azureCredentials: { inheritFromAzureAD: true } };
    case "static":
      break;
  }
  const [first, second] = objectStoreSecretKeys(destinationPath);
  if (destinationPath.startsWith("gs://")) {
    return { googleCredentials: { applicationCredentials: { name: secret, key: first } } };
  }
  if (/^https?:\/\//.test(destinationPath)) {
    return { azureCredentials: { connectionString: { name: secret, key: first } } };
  }
  return {
    s3Credentials: {
      accessKeyId: { name: secret, key: first },
      secretAccessKey: { name: secret, key: second },
    },
  };
}

/** Whether the program makes the static credential Secrets itself. */
export function programMakesBackupSecrets(config: PlatformConfig): boolean {
  return (
    config.backups.credentials.mode === "static" && config.backups.credentials.secrets === "program"
  );
}

/** Whether the stack reads static keys from a Secret someone else creates. */
export function externalBackupSecrets(config: PlatformConfig): boolean {
  return (
    config.backups.credentials.mode === "static" &&
    config.backups.credentials.secrets === "external"
  );
}

/**
 * A Secret the program makes from secret config (`secrets: program`), marked secret throughout.
 * The values come from `octollm:secrets.backupCredentials` (checked complete at parse time).
 */
export function backupCredentialsSecret(
  name: string,
  args: {
    secretName: string;
    namespace: pulumi.Input<string>;
    labels: Record<string, string>;
    data: Record<string, string>;
  },
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Secret {
  return new k8s.core.v1.Secret(
    name,
    {
      metadata: { name: args.secretName, namespace: args.namespace, labels: args.labels },
      type: "Opaque",
      stringData: Object.fromEntries(
        Object.entries(args.data).map(([k, v]) => [k, pulumi.secret(v)]),
      ),
    },
    { ...opts, additionalSecretOutputs: ["data", "stringData"] },
  );
}
