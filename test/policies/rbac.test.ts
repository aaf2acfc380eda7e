/** rbac-cluster-admin and rbac-least-privilege: both sides of every rule, chart exemptions. */
import { describe, expect, it } from "vitest";
import type { K8sObject } from "../fixtures/stack";
import { compliantStack, rendered } from "../fixtures/stack";
import { clone, evaluate, messagesOf } from "./helpers";
import type { PolicyPackConfig, RenderedResource } from "../../policies/evaluate";
import { loadPolicyConfig } from "../../policies/evaluate";
import { CHART_RBAC_EXEMPTIONS, chartNameOf } from "../../policies/lib/rbac-exemptions";

const LP = "rbac-least-privilege";
const CA = "rbac-cluster-admin";
const RBAC = "rbac.authorization.k8s.io/v1";

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };

const role = (name: string, rules: Rule[], namespace = "octollm-production"): K8sObject => ({
  apiVersion: RBAC,
  kind: "Role",
  metadata: { name, namespace },
  rules,
});
const clusterRole = (name: string, rules: Rule[], labels?: Record<string, string>): K8sObject => ({
  apiVersion: RBAC,
  kind: "ClusterRole",
  metadata: labels ? { name, labels } : { name },
  rules,
});
type Subject = { kind: string; name: string; namespace?: string };
const sa: Subject = { kind: "ServiceAccount", name: "app", namespace: "octollm-production" };
const clusterBinding = (name: string, roleName: string, subjects: Subject[] = [sa]): K8sObject => ({
  apiVersion: RBAC,
  kind: "ClusterRoleBinding",
  metadata: { name },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
  subjects,
});
const roleBinding = (name: string, roleKind: string, roleName: string): K8sObject => ({
  apiVersion: RBAC,
  kind: "RoleBinding",
  metadata: { name, namespace: "octollm-production" },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: roleKind, name: roleName },
  subjects: [sa],
});

/** As helm.v4.Chart registers a chart's object: a child of the Chart, with the chart's label. */
function fromChart(obj: K8sObject, chart: string): RenderedResource {
  const r = rendered({
    ...obj,
    metadata: {
      ...obj.metadata,
      labels: { ...(obj.metadata.labels ?? {}), "helm.sh/chart": chart },
    },
  });
  r.urn = `urn:pulumi:test::octollm::kubernetes:helm.sh/v4:Chart$${r.type}::chart:${obj.metadata.name}`;
  return r;
}

const secretsRead: Rule = {
  apiGroups: [""],
  resources: ["secrets"],
  verbs: ["get", "list", "watch"],
};

function stackWith(...extra: (K8sObject | RenderedResource)[]): RenderedResource[] {
  const stack = clone(compliantStack());
  for (const e of extra) stack.push("urn" in e ? (e as RenderedResource) : rendered(e));
  return stack;
}

describe("rbac-least-privilege", () => {
  it("passes a narrow Role and its RoleBinding (what the program writes)", async () => {
    const stack = stackWith(
      role("startupapicheck", [
        { apiGroups: ["cert-manager.io"], resources: ["certificaterequests"], verbs: ["create"] },
      ]),
      roleBinding("startupapicheck", "Role", "startupapicheck"),
    );
    const report = await evaluate(stack);
    expect(messagesOf(report, LP)).toEqual([]);
    expect(messagesOf(report, CA)).toEqual([]);
  });

  it("reports '*' in apiGroups, resources and verbs", async () => {
    const stack = stackWith(
      role("wild", [{ apiGroups: ["*"], resources: ["*", "deployments"], verbs: ["*"] }]),
      role("scale", [{ apiGroups: ["apps"], resources: ["*/scale"], verbs: ["get"] }]),
    );
    expect(messagesOf(await evaluate(stack), LP)).toEqual([
      'Role octollm-production/wild: rules[0].apiGroups has "*": name what the role needs',
      'Role octollm-production/wild: rules[0].resources has "*": name what the role needs',
      'Role octollm-production/wild: rules[0].verbs has "*": name what the role needs',
      'Role octollm-production/scale: rules[0].resources has "*/scale": name what the role needs',
    ]);
  });

  it("reports escalate, bind and impersonate", async () => {
    const stack = stackWith(
      clusterRole("escalator", [
        {
          apiGroups: ["rbac.authorization.k8s.io"],
          resources: ["clusterroles"],
          verbs: ["bind", "escalate"],
        },
        { apiGroups: [""], resources: ["users", "groups"], verbs: ["impersonate"] },
      ]),
    );
    expect(messagesOf(await evaluate(stack), LP)).toEqual([
      "ClusterRole escalator: rules[0] grants bind, escalate: these let a subject gain permissions it does not hold",
      "ClusterRole escalator: rules[1] grants impersonate: this lets a subject gain permissions it does not hold",
    ]);
  });

  it("reports create on pods/exec and pods/attach; reading pods/log is fine", async () => {
    const stack = stackWith(
      role("debugger", [
        { apiGroups: [""], resources: ["pods/exec", "pods/attach"], verbs: ["create"] },
        { apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list"] },
      ]),
      role("exec-get", [{ apiGroups: [""], resources: ["pods/exec"], verbs: ["get"] }]),
    );
    expect(messagesOf(await evaluate(stack), LP)).toEqual([
      "Role octollm-production/debugger: rules[0] grants create on pods/exec, pods/attach: a shell in every pod the role reaches, with its Secrets and service account",
    ]);
  });

  it("reports a Secret-reading ClusterRole bound cluster-wide, not one bound per namespace", async () => {
    const namespaced = stackWith(
      clusterRole("secret-reader", [secretsRead]),
      roleBinding("secret-reader", "ClusterRole", "secret-reader"),
    );
    expect(messagesOf(await evaluate(namespaced), LP)).toEqual([]);
    const clusterWide = stackWith(
      clusterRole("secret-reader", [secretsRead]),
      clusterBinding("secret-reader", "secret-reader"),
    );
    expect(messagesOf(await evaluate(clusterWide), LP)).toEqual([
      "ClusterRole secret-reader: reads Secrets (get/list/watch) and ClusterRoleBinding secret-reader binds it cluster-wide: every Secret of every namespace; bind it with RoleBindings in the namespaces that need it",
    ]);
    // writing Secrets without reading them is not a read
    const writer = stackWith(
      clusterRole("secret-writer", [
        { apiGroups: [""], resources: ["secrets"], verbs: ["create"] },
      ]),
      clusterBinding("secret-writer", "secret-writer"),
    );
    expect(messagesOf(await evaluate(writer), LP)).toEqual([]);
  });

  it("reports a ClusterRoleBinding to the built-in edit/admin roles; view is fine", async () => {
    const stack = stackWith(clusterBinding("editors", "edit"), clusterBinding("viewers", "view"));
    expect(messagesOf(await evaluate(stack), LP)).toEqual([
      "ClusterRoleBinding editors: binds the built-in ClusterRole edit cluster-wide, which reads every Secret of every namespace; use a RoleBinding per namespace",
    ]);
  });

  it("exempts a chart's documented need by name and records why", async () => {
    const stack = stackWith(
      fromChart(
        clusterRole("cm-cert-manager-controller-issuers", [secretsRead]),
        "cert-manager-v1.18.2",
      ),
      fromChart(
        clusterBinding("cm-cert-manager-controller-issuers", "cm-cert-manager-controller-issuers"),
        "cert-manager-v1.18.2",
      ),
    );
    const report = await evaluate(stack);
    expect(messagesOf(report, LP)).toEqual([]);
    expect(report.exemptions.filter((e) => e.policy === LP)).toEqual([
      {
        policy: LP,
        resource: "ClusterRole cm-cert-manager-controller-issuers",
        reason: expect.stringMatching(/^cert-manager v1\.18\.2 .*\[covers: reads Secrets/),
      },
    ]);
  });

  it("a chart's exemption covers only its findings, only that chart, only chart-rendered objects", async () => {
    const issuers = clusterRole("cm-cert-manager-controller-issuers", [
      secretsRead,
      { apiGroups: [""], resources: ["users"], verbs: ["impersonate"] },
    ]);
    const bind = clusterBinding("issuers", "cm-cert-manager-controller-issuers");
    // the same chart adds impersonate: still reported, naming the chart
    expect(
      messagesOf(await evaluate(stackWith(fromChart(issuers, "cert-manager-v1.18.2"), bind)), LP),
    ).toEqual([
      "ClusterRole cm-cert-manager-controller-issuers: rules[1] grants impersonate: this lets a subject gain permissions it does not hold (chart cert-manager)",
    ]);
    // another chart with the same object name: not exempt
    const other = clusterRole("x-controller-issuers", [secretsRead]);
    expect(
      messagesOf(
        await evaluate(
          stackWith(fromChart(other, "evil-1.0.0"), clusterBinding("b", "x-controller-issuers")),
        ),
        LP,
      ),
    ).toHaveLength(1);
    // the program's own object wearing the chart's label: not exempt
    const own = clusterRole("own-controller-issuers", [secretsRead], {
      "helm.sh/chart": "cert-manager-v1.18.2",
    });
    expect(
      messagesOf(await evaluate(stackWith(own, clusterBinding("b", "own-controller-issuers"))), LP),
    ).toHaveLength(1);
  });

  it("every chart exemption names a reason with the chart's pinned version", () => {
    for (const e of CHART_RBAC_EXEMPTIONS) {
      expect(e.reason, e.chart).toMatch(/\d+\.\d+\.\d+/);
      expect(e.findings.length, e.chart).toBeGreaterThan(0);
    }
    expect(chartNameOf({ "helm.sh/chart": "cert-manager-v1.18.2" })).toBe("cert-manager");
    expect(chartNameOf({ chart: "kube-prometheus-stack-77.6.2" })).toBe("kube-prometheus-stack");
    expect(chartNameOf({ "helm.sh/chart": "gateway-helm-v1.9.0" })).toBe("gateway-helm");
  });
});

describe("rbac-cluster-admin", () => {
  const adminBinding = (subjects: Subject[] = [sa]) =>
    clusterBinding("app-admin", "cluster-admin", subjects);

  function allowing(allowed: unknown[]): PolicyPackConfig {
    const config = loadPolicyConfig("production");
    config[CA] = { allowed };
    return config;
  }

  it("reports a binding to cluster-admin, ClusterRoleBinding or RoleBinding", async () => {
    const stack = stackWith(
      adminBinding(),
      roleBinding("ns-admin", "ClusterRole", "cluster-admin"),
    );
    expect(messagesOf(await evaluate(stack), CA)).toEqual([
      "ClusterRoleBinding app-admin: grants cluster-admin to ServiceAccount octollm-production/app; cluster-admin is full control of the cluster: bind a narrower role, or allow it by name with a reason in policies/config/<stack>.json rbac-cluster-admin.allowed",
      "RoleBinding octollm-production/ns-admin: grants cluster-admin to ServiceAccount octollm-production/app; cluster-admin is full control of the cluster: bind a narrower role, or allow it by name with a reason in policies/config/<stack>.json rbac-cluster-admin.allowed",
    ]);
  });

  it("allows a named subject with a reason, and records it; other subjects are still reported", async () => {
    const other = { kind: "Group", name: "ops" };
    const config = allowing([
      { subject: "ServiceAccount octollm-production/app", reason: "break-glass operator" },
    ]);
    const report = await evaluate(stackWith(adminBinding([sa, other])), config);
    expect(messagesOf(report, CA)).toEqual([
      expect.stringMatching(/^ClusterRoleBinding app-admin: grants cluster-admin to Group ops;/),
    ]);
    const ok = await evaluate(stackWith(adminBinding()), config);
    expect(messagesOf(ok, CA)).toEqual([]);
    expect(ok.exemptions.filter((e) => e.policy === CA).map((e) => e.reason)).toEqual([
      "break-glass operator [allowed ServiceAccount octollm-production/app]",
    ]);
  });

  it("allows a named chart's own binding (Velero's chart binds cluster-admin by default)", async () => {
    const velero = fromChart(
      clusterBinding("velero-server", "cluster-admin", [
        { kind: "ServiceAccount", name: "velero-server", namespace: "velero" },
      ]),
      "velero-10.1.0",
    );
    expect(messagesOf(await evaluate(stackWith(velero), allowing([])), CA)).toEqual([
      expect.stringMatching(
        /^ClusterRoleBinding velero-server: grants cluster-admin to ServiceAccount velero\/velero-server \(chart velero\);/,
      ),
    ]);
    const config = allowing([{ chart: "velero", reason: "restores any kind into any namespace" }]);
    expect(messagesOf(await evaluate(stackWith(velero), config), CA)).toEqual([]);
  });

  it.each(["dev", "staging", "production", "e2e"])(
    "%s's policy config allows Velero's chart (the program can install it) and nothing else",
    async (stack) => {
      const config = loadPolicyConfig(stack);
      const allowed = (config[CA] as { allowed?: { chart?: string; subject?: string }[] }).allowed;
      expect(allowed?.map((a) => a.chart ?? a.subject)).toEqual(["velero"]);
      const velero = fromChart(
        clusterBinding("velero-server", "cluster-admin", [
          { kind: "ServiceAccount", name: "velero-server", namespace: "velero" },
        ]),
        "velero-10.1.0",
      );
      expect(messagesOf(await evaluate(stackWith(velero), config), CA)).toEqual([]);
      // The same binding written by the program (not the chart) is still refused.
      const own = clusterBinding("velero-server", "cluster-admin", [
        { kind: "ServiceAccount", name: "velero-server", namespace: "velero" },
      ]);
      expect(messagesOf(await evaluate(stackWith(own), config), CA)).toHaveLength(1);
    },
  );

  it("an allow-list entry without a reason, or naming both or neither, is itself a violation", async () => {
    const report = await evaluate(
      compliantStack(),
      allowing([{ subject: "Group ops" }, { subject: "Group a", chart: "b", reason: "x" }]),
    );
    expect(messagesOf(report, CA)).toEqual([
      'rbac-cluster-admin.allowed entry {"subject":"Group ops"} must name exactly one of subject or chart, and a reason',
      'rbac-cluster-admin.allowed entry {"subject":"Group a","chart":"b","reason":"x"} must name exactly one of subject or chart, and a reason',
    ]);
  });
});
