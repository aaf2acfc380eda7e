/**
 * Two stacks in one cluster (README "Sharing a cluster"): dev and staging side by side, dev
 * with `operators.cloudnativePg.install: false` so staging's operator serves both. Under
 * pulumi-kubernetes ≥ 4.29 creates are client-side: any object the two stacks both declare
 * (same group, kind, namespace and name) fails the second stack's `up` with AlreadyExists.
 * Helm charts are not expanded offline, so a chart counts by what it would collide on: its
 * release (namespace + release name) and, for the operator charts, their cluster-wide CRDs
 * and webhooks (one install per cluster, whatever the release name).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { sharedClusterCollisions as collisions } from "../../scripts/manifests";
import { sharedClusterProblems } from "../../scripts/render";
import { kubernetesObjects, renderStack } from "../harness";

/** The documented overlay of the second stack (docs/operations.md "Two stacks, one cluster"). */
const SECOND_STACK = {
  "octollm:operators": { cloudnativePg: { install: false }, envoyGateway: { install: false } },
  // The first stack's GatewayClass: its Envoy Gateway runs this stack's proxies too.
  "octollm:ingress": { gateway: { className: "envoy-gateway" } },
};

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
      "chart cloudnative-pg (CRDs, cluster-wide)",
      "chart oci://docker.io/envoyproxy/gateway-helm (CRDs, cluster-wide)",
      "core/Namespace (cluster)/cnpg-system",
      "core/Namespace (cluster)/envoy-gateway-system",
      "gateway.networking.k8s.io/GatewayClass (cluster)/envoy-gateway",
      "helm release cnpg-system/octollm-data-postgres-operator",
      "helm release envoy-gateway-system/octollm-ingress-envoy-gateway",
    ]);
  });

  it("staging beside production collide on the monitoring stack: not a supported pairing", async () => {
    const [staging, production] = await Promise.all([
      renderStack("staging", SECOND_STACK),
      renderStack("production"),
    ]);
    expect(collisions(production, staging)).toEqual([
      "chart kube-prometheus-stack (CRDs, cluster-wide)",
    ]);
  });

  it("render reports stacks that name the same kubeconfig context and collide", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-shared-"));
    for (const [stack, env] of [
      ["dev", "dev"],
      ["staging", "staging"],
    ])
      fs.writeFileSync(
        path.join(root, `Pulumi.${stack}.yaml`),
        `config:\n  octollm:environment: ${env}\n  octollm:kubernetes:\n    context: shared\n`,
      );
    const staging = await renderStack("staging");
    expect(
      sharedClusterProblems(
        new Map([
          ["staging", staging],
          ["dev", await renderStack("dev")],
        ]),
        root,
      ),
    ).toEqual([
      "stacks staging and dev share kubernetes context shared and would both create: chart cloudnative-pg (CRDs, cluster-wide); chart oci://docker.io/envoyproxy/gateway-helm (CRDs, cluster-wide); core/Namespace (cluster)/cnpg-system; core/Namespace (cluster)/envoy-gateway-system; gateway.networking.k8s.io/GatewayClass (cluster)/envoy-gateway; helm release cnpg-system/octollm-data-postgres-operator; helm release envoy-gateway-system/octollm-ingress-envoy-gateway (set operators.<name>.install: false on one; docs/operations.md#two-stacks-one-cluster)",
    ]);
    const devOnShared = await renderStack("dev", SECOND_STACK);
    expect(
      sharedClusterProblems(
        new Map([
          ["staging", staging],
          ["dev", devOnShared],
        ]),
        root,
      ),
    ).toEqual([]);
    // the repository's stacks name different contexts: nothing to compare
    expect(
      sharedClusterProblems(
        new Map([
          ["staging", staging],
          ["dev", devOnShared],
        ]),
      ),
    ).toEqual([]);
  });
});
