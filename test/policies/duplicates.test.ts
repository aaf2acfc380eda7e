/** unique-object-identity and one-hpa-per-target: both sides of each. */
import { describe, expect, it } from "vitest";
import type { K8sObject } from "../fixtures/stack";
import { NS, compliantStack, find, rendered } from "../fixtures/stack";
import { clone, evaluate, messagesOf } from "./helpers";
import { describeIdentity, identityOf } from "../../policies/lib/identity";

const configMap = (name: string, namespace?: string): K8sObject => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: namespace ? { name, namespace } : { name },
  data: { A: "1" },
});

describe("unique-object-identity", () => {
  it("passes the compliant stack, where kinds share names (Service, Deployment, HPA orchestrator)", async () => {
    expect(messagesOf(await evaluate(compliantStack()), "unique-object-identity")).toEqual([]);
  });

  it("reports two resources that are one object, naming both Pulumi resources", async () => {
    const stack = clone(compliantStack());
    stack.push(rendered(configMap("orchestrator-config", NS.workloads), "orchestrator-config-2"));
    expect(messagesOf(await evaluate(stack), "unique-object-identity")).toEqual([
      'ConfigMap octollm-production/orchestrator-config is declared 2 times (Pulumi resources "octollm-production-orchestrator-config", "octollm-production-orchestrator-config-2"); the cluster holds one object per group/kind/namespace/name: remove or rename all but one',
    ]);
  });

  it("the same name in another namespace or of another kind is another object", async () => {
    const stack = clone(compliantStack());
    stack.push(rendered(configMap("orchestrator-config", NS.reflex), "other-ns"));
    stack.push({
      ...rendered({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "orchestrator-config", namespace: NS.workloads },
      }),
      name: "same-name-other-kind",
    });
    expect(messagesOf(await evaluate(stack), "unique-object-identity")).toEqual([]);
  });

  it("ignores the version (apps/v1beta2 and apps/v1 Deployments are one object)", async () => {
    const stack = clone(compliantStack());
    const again = structuredClone(find(stack, "Deployment", "orchestrator")) as K8sObject;
    again.apiVersion = "apps/v1beta2";
    stack.push(rendered(again, "orchestrator-old"));
    expect(messagesOf(await evaluate(stack), "unique-object-identity")).toEqual([
      expect.stringMatching(
        /^Deployment\.apps octollm-production\/orchestrator is declared 2 times/,
      ),
    ]);
  });

  it("cluster-scoped kinds have no namespace, whatever metadata.namespace says", async () => {
    const role = (namespace?: string): K8sObject => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: namespace ? { name: "reader", namespace } : { name: "reader" },
      rules: [],
    });
    const stack = clone(compliantStack());
    stack.push(rendered(role(), "reader-a"), rendered(role("octollm-system"), "reader-b"));
    expect(messagesOf(await evaluate(stack), "unique-object-identity")).toEqual([
      expect.stringMatching(
        /^ClusterRole\.rbac\.authorization\.k8s\.io reader is declared 2 times \(Pulumi resources "reader-a", "octollm-system-reader-b"\)/,
      ),
    ]);
  });

  it("counts objects a Helm chart renders like the program's own", async () => {
    const stack = clone(compliantStack());
    const fromChart = rendered(configMap("orchestrator-config", NS.workloads), "chart-cm");
    fromChart.urn =
      "urn:pulumi:test::octollm::kubernetes:helm.sh/v4:Chart$kubernetes:core/v1:ConfigMap::chart:octollm-production/orchestrator-config";
    stack.push(fromChart);
    expect(messagesOf(await evaluate(stack), "unique-object-identity")).toHaveLength(1);
  });

  it("an object without metadata.name is auto-named by Pulumi and cannot collide", async () => {
    const stack = clone(compliantStack());
    const unnamed = (suffix: string) => ({
      ...rendered(configMap("x", NS.workloads), `auto-${suffix}`),
      props: { apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: NS.workloads } },
    });
    stack.push(unnamed("a"), unnamed("b"));
    expect(messagesOf(await evaluate(stack), "unique-object-identity")).toEqual([]);
  });

  it("a namespaced object without a namespace is in `default`", () => {
    const id = identityOf("kubernetes:core/v1:ConfigMap", configMap("x"));
    expect(id && describeIdentity(id)).toBe("ConfigMap default/x");
    expect(identityOf("kubernetes:helm.sh/v4:Chart", { metadata: { name: "x" } })).toBeUndefined();
  });
});

describe("one-hpa-per-target", () => {
  const hpa = (name: string, target: string, namespace = NS.workloads): K8sObject => ({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name, namespace },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target },
      minReplicas: 2,
      maxReplicas: 4,
    },
  });

  it("passes the compliant stack (one HPA per Deployment)", async () => {
    expect(messagesOf(await evaluate(compliantStack()), "one-hpa-per-target")).toEqual([]);
  });

  it("reports a second HPA on a workload of the stack", async () => {
    const stack = clone(compliantStack());
    stack.push(rendered(hpa("coder-arm-extra", "coder-arm")));
    expect(messagesOf(await evaluate(stack), "one-hpa-per-target")).toEqual([
      "Deployment octollm-production/coder-arm is scaled by 2 HorizontalPodAutoscalers (HorizontalPodAutoscaler octollm-production/coder-arm, HorizontalPodAutoscaler octollm-production/coder-arm-extra); each computes its own replica count and the controller stops scaling an ambiguous target: keep one",
    ]);
  });

  it("reports two HPAs on a target outside the stack, v1 and v2 alike", async () => {
    const stack = clone(compliantStack());
    const v1 = hpa("gw-b", "envoy-gateway");
    v1.apiVersion = "autoscaling/v1";
    stack.push(rendered(hpa("gw-a", "envoy-gateway")), rendered(v1));
    expect(messagesOf(await evaluate(stack), "one-hpa-per-target")).toEqual([
      expect.stringMatching(
        /^Deployment octollm-production\/envoy-gateway is scaled by 2 HorizontalPodAutoscalers/,
      ),
    ]);
  });

  it("HPAs on same-named targets in different namespaces are fine", async () => {
    const stack = clone(compliantStack());
    stack.push(rendered(hpa("coder-arm", "coder-arm", NS.reflex)));
    expect(messagesOf(await evaluate(stack), "one-hpa-per-target")).toEqual([]);
  });
});
