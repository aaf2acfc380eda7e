/**
 * The identity the API server gives an object: API group, kind, namespace (none for
 * cluster-scoped kinds) and name. Two objects of a stack with the same identity are one object
 * in the cluster, whatever their Pulumi names: the second apply overwrites (or fails on) the
 * first. The version is not part of it (apps/v1 and apps/v1beta2 Deployments are the same
 * object).
 *
 * Read value by value through `knownValue`, so a name the first preview cannot know leaves only
 * that object out (see ./known.ts).
 */
import { isPlainObject, kindOfType } from "./k8s";
import { UNKNOWN, knownValue } from "./known";

/**
 * Cluster-scoped kinds the stack or the charts it installs can create. A kind not listed is taken
 * as namespaced, with `default` as the namespace when the object names none (what the API
 * server and Pulumi's provider do when it sets no default namespace).
 */
export const CLUSTER_SCOPED_KINDS: ReadonlySet<string> = new Set([
  "Namespace",
  "Node",
  "PersistentVolume",
  "StorageClass",
  "CSIDriver",
  "CSINode",
  "VolumeAttachment",
  "VolumeSnapshotClass",
  "ClusterRole",
  "ClusterRoleBinding",
  "CustomResourceDefinition",
  "APIService",
  "PriorityClass",
  "RuntimeClass",
  "IngressClass",
  "GatewayClass",
  "ClusterIssuer",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
  "FlowSchema",
  "PriorityLevelConfiguration",
  "CertificateSigningRequest",
  "ClusterImageCatalog",
]);

/** `kubernetes:apps/v1:Deployment` → `apps`; the core group (`core/v1`) → `` (as the API names it). */
export function groupOfType(type: string): string {
  const gv = type.split(":")[1] ?? "";
  const group = gv.includes("/") ? gv.slice(0, gv.lastIndexOf("/")) : "";
  return group === "core" ? "" : group;
}

export interface ObjectIdentity {
  group: string;
  kind: string;
  /** undefined for cluster-scoped kinds */
  namespace: string | undefined;
  name: string;
}

/**
 * The identity of a Kubernetes resource of the stack, or undefined when it has none to compare:
 * not a Kubernetes object (providers, Helm chart components), no `metadata.name` (Pulumi
 * auto-names it with a random suffix, so it cannot collide), or a name the preview cannot know.
 */
export function identityOf(type: string, props: unknown): ObjectIdentity | undefined {
  if (!type.startsWith("kubernetes:") || type.startsWith("kubernetes:helm.sh/")) return undefined;
  if (type.startsWith("pulumi:")) return undefined;
  const kind = kindOfType(type);
  const metadata = knownValue(props, "metadata");
  if (!isPlainObject(metadata)) return undefined;
  const name = knownValue(metadata, "name");
  if (typeof name !== "string" || name === "") return undefined;
  if (CLUSTER_SCOPED_KINDS.has(kind))
    return { group: groupOfType(type), kind, namespace: undefined, name };
  const ns = knownValue(metadata, "namespace");
  if (ns === UNKNOWN) return undefined;
  return {
    group: groupOfType(type),
    kind,
    namespace: typeof ns === "string" && ns !== "" ? ns : "default",
    name,
  };
}

/** `Kind.group namespace/name` (`Kind name` for the core group / cluster scope), for messages. */
export function describeIdentity(id: ObjectIdentity): string {
  const kind = id.group ? `${id.kind}.${id.group}` : id.kind;
  return id.namespace === undefined ? `${kind} ${id.name}` : `${kind} ${id.namespace}/${id.name}`;
}
