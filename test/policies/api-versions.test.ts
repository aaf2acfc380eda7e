/**
 * api-version-removed / api-version-deprecated: the vendored Pluto table, both sides of each
 * policy, and `octollm:kubernetes.version` from the stack file to the policy config.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { K8sObject } from "../fixtures/stack";
import { NS, compliantStack, rendered } from "../fixtures/stack";
import { clone, evaluate, messagesOf } from "./helpers";
import { loadPolicyConfig } from "../../policies/evaluate";
import type { PolicyPackConfig } from "../../policies/evaluate";
import {
  DEPRECATIONS_JSON,
  DEPRECATIONS_YAML,
  apiStatus,
  kubernetesDeprecations,
} from "../../policies/lib/deprecations";
import { parseDeprecationTable } from "../../policies/lib/deprecation-table";
import { nodeFactsDrift } from "../../scripts/node-facts";
import { vendoredFiles } from "../../scripts/refresh-api-deprecations";
import { REPO_ROOT } from "../../scripts/offline";
import { configOf, configProblems } from "../harness";

const REMOVED = "api-version-removed";
const DEPRECATED = "api-version-deprecated";

function withVersion(stack: string, version: string): PolicyPackConfig {
  const config = loadPolicyConfig(stack);
  for (const p of [REMOVED, DEPRECATED]) {
    const entry = config[p];
    config[p] = { ...(typeof entry === "object" ? entry : {}), kubernetesVersion: version };
  }
  return config;
}

const pdbV1beta1: K8sObject = {
  apiVersion: "policy/v1beta1",
  kind: "PodDisruptionBudget",
  metadata: { name: "legacy", namespace: NS.workloads },
  spec: { maxUnavailable: 1, selector: { matchLabels: { app: "none" } } },
};

describe("the vendored deprecation table (policies/data/pluto-versions.yaml)", () => {
  const text = fs.readFileSync(DEPRECATIONS_YAML, "utf8");

  it("names its source, tag and commit; the JSON the pack reads is that YAML, converted", () => {
    expect(text.split("\n")[0]).toMatch(
      /^# Vendored from github\.com\/FairwindsOps\/pluto at v\d+\.\d+\.\d+ \(commit [0-9a-f]{40}\), file versions\.yaml\.$/,
    );
    const body = text.split("\n").slice(3).join("\n");
    const tag = /at (v[\d.]+)/.exec(text)?.[1] ?? "";
    const commit = /commit ([0-9a-f]{40})/.exec(text)?.[1];
    const files = vendoredFiles(body, tag, commit, "vendored");
    expect(files.yaml).toBe(text);
    expect(fs.readFileSync(DEPRECATIONS_JSON, "utf8")).toBe(files.json);
  });

  it("parses and has the known entries", () => {
    const all = parseDeprecationTable(text, "vendored");
    expect(all.length).toBeGreaterThan(100);
    const k8s = kubernetesDeprecations();
    expect(k8s.get("policy/v1beta1 PodDisruptionBudget")).toEqual({
      apiVersion: "policy/v1beta1",
      kind: "PodDisruptionBudget",
      deprecatedIn: [1, 21],
      removedIn: [1, 25],
      replacement: "policy/v1",
      component: "k8s",
    });
    expect(k8s.get("extensions/v1beta1 Ingress")?.removedIn).toEqual([1, 22]);
    expect(k8s.get("autoscaling/v2beta2 HorizontalPodAutoscaler")?.removedIn).toEqual([1, 26]);
    expect(k8s.get("batch/v1beta1 CronJob")?.removedIn).toEqual([1, 25]);
    // cert-manager's entries are versions of cert-manager, not Kubernetes: not judged
    expect(all.some((e) => e.component === "cert-manager")).toBe(true);
    expect([...k8s.values()].every((e) => e.component === "k8s")).toBe(true);
  });

  it("judges by minor version: deprecated from deprecated-in, removed from removed-in", () => {
    expect(apiStatus("policy/v1beta1", "PodDisruptionBudget", [1, 20]).status).toBe("served");
    expect(apiStatus("policy/v1beta1", "PodDisruptionBudget", [1, 21]).status).toBe("deprecated");
    expect(apiStatus("policy/v1beta1", "PodDisruptionBudget", [1, 24]).status).toBe("deprecated");
    expect(apiStatus("policy/v1beta1", "PodDisruptionBudget", [1, 25]).status).toBe("removed");
    expect(apiStatus("policy/v1", "PodDisruptionBudget", [1, 36]).status).toBe("served");
  });

  it("rejects a table the policies could not read, naming the entry", () => {
    expect(() =>
      parseDeprecationTable(
        "deprecated-versions:\n  - version: a/v1\n    kind: X\n    removed-in: soon\n    component: k8s\n",
        "bad.yaml",
      ),
    ).toThrow('bad.yaml: deprecated-versions[0].removed-in: "soon" is not a version like v1.25.0');
    expect(() => parseDeprecationTable("other: 1\n", "bad.yaml")).toThrow(
      "bad.yaml: no deprecated-versions list",
    );
  });
});

describe("api-version-removed and api-version-deprecated", () => {
  it("pass the compliant stack", async () => {
    const report = await evaluate(compliantStack());
    expect(messagesOf(report, REMOVED)).toEqual([]);
    expect(messagesOf(report, DEPRECATED)).toEqual([]);
  });

  it("a removed apiVersion is a mandatory violation naming the version, the key and the replacement", async () => {
    const stack = clone(compliantStack());
    stack.push(rendered(pdbV1beta1));
    const report = await evaluate(stack, withVersion("production", "1.35"));
    expect(messagesOf(report, REMOVED)).toEqual([
      "PodDisruptionBudget octollm-production/legacy: policy/v1beta1 PodDisruptionBudget was removed in Kubernetes 1.25 and the stack targets 1.35 (octollm:kubernetes.version); use policy/v1",
    ]);
    expect(report.violations.find((v) => v.policy === REMOVED)?.enforcementLevel).toBe("mandatory");
    expect(messagesOf(report, DEPRECATED)).toEqual([]);
  });

  it("a deprecated, still served apiVersion is an advisory saying when it goes", async () => {
    const stack = clone(compliantStack());
    stack.push(rendered(pdbV1beta1));
    const report = await evaluate(stack, withVersion("production", "1.23"));
    expect(messagesOf(report, REMOVED)).toEqual([]);
    expect(messagesOf(report, DEPRECATED)).toEqual([
      "PodDisruptionBudget octollm-production/legacy: policy/v1beta1 PodDisruptionBudget is deprecated since Kubernetes 1.21, removed in 1.25 (the stack targets 1.23); use policy/v1",
    ]);
    expect(report.violations.find((v) => v.policy === DEPRECATED)?.enforcementLevel).toBe(
      "advisory",
    );
    // before its deprecation: nothing
    const old = await evaluate(stack, withVersion("production", "1.20"));
    expect([...messagesOf(old, REMOVED), ...messagesOf(old, DEPRECATED)]).toEqual([]);
  });

  it("judges objects a Helm chart renders, and core-group kinds", async () => {
    const stack = clone(compliantStack());
    const fromChart = rendered({
      apiVersion: "autoscaling/v2beta2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "chart-hpa", namespace: NS.system },
      spec: { scaleTargetRef: { kind: "Deployment", name: "x" }, maxReplicas: 2 },
    });
    fromChart.urn = `urn:pulumi:test::octollm::kubernetes:helm.sh/v4:Chart$${fromChart.type}::chart:octollm-system/chart-hpa`;
    stack.push(fromChart);
    expect(messagesOf(await evaluate(stack), REMOVED)).toEqual([
      "HorizontalPodAutoscaler octollm-system/chart-hpa: autoscaling/v2beta2 HorizontalPodAutoscaler was removed in Kubernetes 1.26 and the stack targets 1.35 (octollm:kubernetes.version); use autoscaling/v2",
    ]);
  });

  it("the policy config's version must be 1.NN", async () => {
    await expect(evaluate(compliantStack(), withVersion("production", "v1.35"))).rejects.toThrow(
      'api-version-removed.kubernetesVersion: "v1.35" does not match ^1\\.[0-9]{1,2}$',
    );
  });
});

describe("octollm:kubernetes.version", () => {
  it("is a quoted 1.NN; anything else fails at parse time naming the key and the value", () => {
    expect(configProblems({ "octollm:kubernetes": { version: "1.35" } })).toEqual([]);
    expect(configProblems({ "octollm:kubernetes": { version: "v1.35" } })).toEqual([
      expect.stringMatching(
        /^octollm:kubernetes\.version: got "v1\.35"; must be a Kubernetes minor version "1\.NN", like "1\.35"$/,
      ),
    ]);
    expect(configProblems({ "octollm:kubernetes": { version: 1.3 } })).toEqual([
      expect.stringMatching(
        /^octollm:kubernetes\.version: got 1\.3; must be a quoted string "1\.NN" \(in YAML, an unquoted 1\.30 is the number 1\.3\)$/,
      ),
    ]);
  });

  // That every stack file and its policy config agree on the version is the node-facts check's
  // test (test/policies/cluster-fit.test.ts), which compares every node fact, version included.
  it("a stack file with another version than its policy config fails, naming both files", () => {
    expect(
      nodeFactsDrift(
        "Pulumi.dev.yaml",
        configOf("dev", { "octollm:kubernetes": { version: "1.33" } }),
        "policies/config/dev.json",
        loadPolicyConfig("dev"),
      ),
    ).toEqual([
      'octollm:kubernetes.version is "1.33" in Pulumi.dev.yaml but api-version-removed.kubernetesVersion is "1.36" in policies/config/dev.json: keep them equal (under pulumi preview the pack reads only policies/config/dev.json)',
      'octollm:kubernetes.version is "1.33" in Pulumi.dev.yaml but api-version-deprecated.kubernetesVersion is "1.36" in policies/config/dev.json: keep them equal (under pulumi preview the pack reads only policies/config/dev.json)',
    ]);
  });

  it("e2e targets the Kubernetes of the kind node image it runs on", () => {
    const env = fs.readFileSync(path.join(REPO_ROOT, "e2e", "versions.env"), "utf8");
    const image = /^KIND_NODE_IMAGE=kindest\/node:v(\d+)\.(\d+)\.\d+@/m.exec(env);
    expect(image).not.toBeNull();
    expect(configOf("e2e").kubernetes.version).toBe(`${image?.[1]}.${image?.[2]}`);
  });
});
