/**
 * Two stacks in one cluster (README "Sharing a cluster"): dev and staging side by side, dev
 * with `operators.cloudnativePg.install: false` so staging's operator serves both. Under
 * pulumi-kubernetes ≥ 4.29 creates are client-side: any object the two stacks both declare
 * (same group, kind, namespace and name) fails the second stack's `up` with AlreadyExists.
 * Helm charts are not expanded offline, so a chart counts by what it would collide on: its
 * release (namespace + release name) and, for the operator charts, their cluster-wide CRDs
 * and webhooks (one install per cluster, whatever the release name).
 */
import { describe, expect, it } from "vitest";
import type { StackRun } from "../harness";
import { helmCharts, kubernetesObjects, renderStack } from "../harness";

/** Charts that ship CRDs / cluster-wide webhooks: one install per cluster. */
const CLUSTER_WIDE_CHARTS = new Set([
  "cloudnative-pg",
  "cert-manager",
  "kube-prometheus-stack",
  "velero",
]);

/** Everything a stack would create that another stack in the same cluster could also create. */
function clusterIdentities(run: StackRun): string[] {
  const objects = kubernetesObjects(run).map((o) => {
    const group = o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "core";
    return `${group}/${o.kind} ${o.metadata.namespace ?? "(cluster)"}/${o.metadata.name ?? ""}`;
  });
  const charts = helmCharts(run).flatMap((c) => {
    const inputs = run.resources.find((r) => r.name === c.name)?.inputs as { name?: string };
    const release = `helm release ${c.namespace ?? "default"}/${inputs.name ?? c.name}`;
    return CLUSTER_WIDE_CHARTS.has(c.chart) ? [release, `chart ${c.chart} (CRDs)`] : [release];
  });
  return [...objects, ...charts];
}

function collisions(a: StackRun, b: StackRun): string[] {
  const mine = new Set(clusterIdentities(a));
  return [...new Set(clusterIdentities(b))].filter((id) => mine.has(id)).sort();
}

/** The documented overlay of the second stack (docs/operations.md "Two stacks, one cluster"). */
const SECOND_STACK = { "octollm:operators": { cloudnativePg: { install: false } } };

describe("two stacks in one cluster", () => {
  it("dev beside staging collide on nothing once dev leaves CloudNativePG to staging", async () => {
    const [staging, dev] = await Promise.all([
      renderStack("staging"),
      renderStack("dev", SECOND_STACK),
    ]);
    expect(collisions(staging, dev)).toEqual([]);
    // dev still runs its database against staging's operator: the Cluster is there and its
    // NetworkPolicy admits the operator's namespace.
    const devObjects = kubernetesObjects(dev);
    expect(
      devObjects.some((o) => o.kind === "Cluster" && o.metadata.namespace === "octollm-dev"),
    ).toBe(true);
    expect(
      JSON.stringify(
        devObjects.find((o) => o.kind === "NetworkPolicy" && o.metadata.name === "postgres"),
      ),
    ).toContain('"kubernetes.io/metadata.name":"cnpg-system"');
  });

  it("finds the collisions of two stacks with default operators (the guard can fail)", async () => {
    const [staging, dev] = await Promise.all([renderStack("staging"), renderStack("dev")]);
    expect(collisions(staging, dev)).toEqual([
      "chart cloudnative-pg (CRDs)",
      "core/Namespace (cluster)/cnpg-system",
      "helm release cnpg-system/octollm-data-postgres-operator",
    ]);
  });

  it("staging beside production collide on the monitoring stack: not a supported pairing", async () => {
    const [staging, production] = await Promise.all([
      renderStack("staging", SECOND_STACK),
      renderStack("production"),
    ]);
    expect(collisions(production, staging)).toEqual(["chart kube-prometheus-stack (CRDs)"]);
  });
});
