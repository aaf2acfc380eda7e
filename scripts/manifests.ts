/**
 * Turns a captured stack run into what the cluster would receive: Kubernetes objects (one per
 * document, secrets redacted) and the Helm charts the stack installs (not expandable offline).
 */
import type { RegisteredResource, StackRun } from "./offline";
import { REDACTED } from "./offline";

export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } & Record<string, unknown>;
  [key: string]: unknown;
}

export interface HelmChartRelease {
  name: string;
  chart: string;
  version: string;
  namespace?: string;
  repository?: string;
  values: unknown;
}

const NOT_OBJECTS = new Set([
  "pulumi:providers:kubernetes",
  "kubernetes:helm.sh/v4:Chart",
  "kubernetes:helm.sh/v3:Release",
  "kubernetes:helm.sh/v3:Chart",
]);

export function isKubernetesObject(r: Pick<RegisteredResource, "type" | "custom">): boolean {
  return r.custom && r.type.startsWith("kubernetes:") && !NOT_OBJECTS.has(r.type);
}

/** Secret payloads are always redacted, whether or not the program marked them secret. */
function redactSecretPayload(obj: KubernetesObject): KubernetesObject {
  if (obj.kind !== "Secret") return obj;
  const out = { ...obj };
  for (const field of ["data", "stringData"]) {
    const payload = out[field];
    if (payload && typeof payload === "object") {
      out[field] = Object.fromEntries(Object.keys(payload).map((k) => [k, REDACTED]));
    } else if (payload !== undefined) {
      out[field] = REDACTED;
    }
  }
  return out;
}

export function toKubernetesObject(r: Pick<RegisteredResource, "inputs">): KubernetesObject {
  const { apiVersion, kind, metadata, ...rest } = r.inputs as KubernetesObject;
  return redactSecretPayload({ apiVersion, kind, metadata: metadata ?? {}, ...rest });
}

export function kubernetesObjects(run: StackRun): KubernetesObject[] {
  return run.resources.filter(isKubernetesObject).map(toKubernetesObject);
}

export function helmCharts(run: StackRun): HelmChartRelease[] {
  return run.resources
    .filter((r) => r.type === "kubernetes:helm.sh/v4:Chart")
    .map((r) => {
      const i = r.inputs as {
        chart?: string;
        version?: string;
        namespace?: string;
        repositoryOpts?: { repo?: string };
        values?: unknown;
      };
      return {
        name: r.name,
        chart: i.chart ?? "",
        version: i.version ?? "",
        namespace: i.namespace,
        repository: i.repositoryOpts?.repo,
        values: i.values ?? {},
      };
    });
}

// Kept apart so the render's validation thread can write YAML without loading the Pulumi SDK.
export { toYaml } from "./manifest-yaml";

export function countByKind(objects: KubernetesObject[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of objects) counts[o.kind] = (counts[o.kind] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Charts that ship CRDs, cluster-wide webhooks or operators watching every namespace: one
 * install per cluster, whatever the release name or namespace.
 */
export const CLUSTER_WIDE_CHARTS: ReadonlySet<string> = new Set([
  "cloudnative-pg",
  "cert-manager",
  "kube-prometheus-stack",
  "velero",
  // Envoy Gateway: its CRDs, the Gateway API CRDs and a cluster-wide controller.
  "oci://docker.io/envoyproxy/gateway-helm",
]);

/**
 * What a stack would create that another stack in the same cluster could create too: every
 * object by group/kind/namespace/name, every Helm release by namespace/name, and each
 * cluster-wide operator chart by its name (its objects are not expanded offline). Under
 * pulumi-kubernetes ≥ 4.29 creates are client-side: a second stack creating any of these fails
 * with AlreadyExists (or, for an operator, runs a second one over the first one's CRDs).
 */
export function clusterIdentities(run: StackRun): string[] {
  const objects = kubernetesObjects(run).map((o) => {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "core";
    return `${group}/${o.kind} ${o.metadata.namespace ?? "(cluster)"}/${o.metadata.name ?? ""}`;
  });
  const charts = run.resources
    .filter((r) => r.type === "kubernetes:helm.sh/v4:Chart")
    .flatMap((r) => {
      const i = r.inputs as { name?: string; chart?: string; namespace?: string };
      const release = `helm release ${i.namespace ?? "default"}/${i.name ?? r.name}`;
      return CLUSTER_WIDE_CHARTS.has(i.chart ?? "")
        ? [release, `chart ${i.chart ?? ""} (CRDs, cluster-wide)`]
        : [release];
    });
  return [...new Set([...objects, ...charts])];
}

/** The identities two stacks in one cluster would both create, sorted. */
export function sharedClusterCollisions(a: StackRun, b: StackRun): string[] {
  const mine = new Set(clusterIdentities(a));
  return clusterIdentities(b)
    .filter((id) => mine.has(id))
    .sort();
}
