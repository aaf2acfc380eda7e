/**
 * RBAC family (stack policies, because a ClusterRole's reach depends on what binds it). Under
 * `pulumi preview` the pack sees every Role, ClusterRole and binding the installed charts render,
 * not only the program's own; offline the charts are not expanded (docs/policies.md).
 *
 * - `rbac-cluster-admin`: no RoleBinding or ClusterRoleBinding grants the `cluster-admin`
 *   ClusterRole, unless each subject, or the chart that renders the binding, is on the stack's
 *   named allow-list (`allowed`: `{subject | chart, reason}` in policies/config/<stack>.json).
 *   CIS Kubernetes Benchmark 5.1.1.
 * - `rbac-least-privilege`, on every Role and ClusterRole:
 *   no `*` in apiGroups, resources or verbs (CIS 5.1.3);
 *   no `escalate`, `bind` or `impersonate` (CIS 5.1.8);
 *   no `create` on `pods/exec` or `pods/attach` (a shell in any pod the role reaches);
 *   no get/list/watch of Secrets cluster-wide: a ClusterRole that grants it and that a
 *   ClusterRoleBinding binds (CIS 5.1.2); a ClusterRole bound only by RoleBindings is namespaced.
 *   ClusterRoleBindings to the built-in `admin` and `edit` roles read Secrets everywhere too.
 *   Charts' needs are exempted by name with a reason (lib/rbac-exemptions.ts), never by
 *   loosening the rule.
 *
 * Values are read one at a time through lib/known.ts, so a value the first preview cannot know
 * skips only the rule it sits in.
 */
import type { PolicyResource, ReportViolation, StackValidationPolicy } from "@pulumi/policy";
import { describeResource, isChartManaged, isPlainObject } from "./lib/k8s";
import { knownStrings, knownValue } from "./lib/known";
import { useExemption } from "./lib/exemptions";
import type { RbacFinding } from "./lib/rbac-exemptions";
import { chartExemptionFor, chartNameOf } from "./lib/rbac-exemptions";
import type { OctoPolicy } from "./lib/policy";

export const RBAC_CLUSTER_ADMIN = "rbac-cluster-admin";
export const RBAC_LEAST_PRIVILEGE = "rbac-least-privilege";

const RBAC_GROUP = "kubernetes:rbac.authorization.k8s.io/";

function kindOf(r: PolicyResource): string | undefined {
  if (!r.type.startsWith(RBAC_GROUP)) return undefined;
  return r.type.slice(r.type.lastIndexOf(":") + 1);
}

/** Known strings of a list (unknown or non-string entries left out). */
function strings(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const v = knownValue(list, String(i));
    if (typeof v === "string") out.push(v);
  }
  return out;
}

function listOf(obj: unknown, key: string): unknown[] {
  const v = knownValue(obj, key);
  return Array.isArray(v) ? v : [];
}

function metaOf(r: PolicyResource): {
  name?: string;
  namespace?: string;
  labels: Record<string, string>;
} {
  const meta = knownValue(r.props, "metadata");
  if (!isPlainObject(meta)) return { labels: {} };
  const name = knownValue(meta, "name");
  const namespace = knownValue(meta, "namespace");
  return {
    name: typeof name === "string" ? name : undefined,
    namespace: typeof namespace === "string" ? namespace : undefined,
    labels: knownStrings(knownValue(meta, "labels")),
  };
}

interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}

function subjectsOf(binding: PolicyResource): Subject[] {
  const out: Subject[] = [];
  for (const s of listOf(binding.props, "subjects")) {
    const kind = knownValue(s, "kind");
    const name = knownValue(s, "name");
    const namespace = knownValue(s, "namespace");
    if (typeof kind !== "string" || typeof name !== "string") continue;
    out.push({ kind, name, ...(typeof namespace === "string" ? { namespace } : {}) });
  }
  return out;
}

/** `ServiceAccount velero/velero`, `Group system:masters`: how the allow-list names a subject. */
export function describeSubject(s: Subject): string {
  return s.namespace && s.kind === "ServiceAccount"
    ? `${s.kind} ${s.namespace}/${s.name}`
    : `${s.kind} ${s.name}`;
}

function roleRefOf(binding: PolicyResource): { kind?: string; name?: string } {
  const ref = knownValue(binding.props, "roleRef");
  if (!isPlainObject(ref)) return {};
  const kind = knownValue(ref, "kind");
  const name = knownValue(ref, "name");
  return {
    kind: typeof kind === "string" ? kind : undefined,
    name: typeof name === "string" ? name : undefined,
  };
}

function label(r: PolicyResource): string {
  const m = metaOf(r);
  return describeResource(
    r.type,
    { kind: kindOf(r), metadata: { name: m.name, namespace: m.namespace } },
    r.name,
  );
}

function chartOf(r: PolicyResource): string | undefined {
  return isChartManaged(r.urn) ? chartNameOf(metaOf(r).labels) : undefined;
}

// ---------------------------------------------------------------------------------------------
// rbac-cluster-admin
// ---------------------------------------------------------------------------------------------

export interface ClusterAdminAllowance {
  /** a subject as describeSubject writes it: `ServiceAccount <ns>/<name>`, `Group <name>`, `User <name>` */
  subject?: string;
  /** a chart (its `helm.sh/chart` name) whose own bindings may grant cluster-admin */
  chart?: string;
  reason?: string;
}

interface ClusterAdminConfig {
  allowed?: ClusterAdminAllowance[];
}

export const rbacClusterAdmin: StackValidationPolicy = {
  name: RBAC_CLUSTER_ADMIN,
  description:
    "No RoleBinding or ClusterRoleBinding grants the cluster-admin ClusterRole, except to subjects or charts on the stack's named allow-list (each with a reason). CIS Kubernetes Benchmark 5.1.1.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      allowed: {
        type: "array",
        items: {
          type: "object",
          properties: {
            subject: { type: "string" },
            chart: { type: "string" },
            reason: { type: "string" },
          },
        },
        default: [],
        description:
          "who may hold cluster-admin: {subject: 'ServiceAccount <ns>/<name>' | 'Group <name>' | 'User <name>', reason} or {chart: '<helm chart name>', reason}",
      },
    },
  },
  validateStack: (args, reportViolation) => {
    const allowed = args.getConfig<ClusterAdminConfig>().allowed ?? [];
    for (const a of allowed)
      if (!a.reason?.trim() || (a.subject === undefined) === (a.chart === undefined))
        reportViolation(
          `${RBAC_CLUSTER_ADMIN}.allowed entry ${JSON.stringify(a)} must name exactly one of subject or chart, and a reason`,
        );
    const valid = allowed.filter((a) => a.reason?.trim());
    for (const r of args.resources) {
      const kind = kindOf(r);
      if (kind !== "RoleBinding" && kind !== "ClusterRoleBinding") continue;
      const ref = roleRefOf(r);
      if (ref.kind !== "ClusterRole" || ref.name !== "cluster-admin") continue;
      const chart = chartOf(r);
      const byChart = chart ? valid.find((a) => a.chart === chart) : undefined;
      if (byChart) {
        useExemption(RBAC_CLUSTER_ADMIN, label(r), `${byChart.reason} [allowed chart ${chart}]`);
        continue;
      }
      const subjects = subjectsOf(r);
      const refused = subjects.filter((s) => !valid.some((a) => a.subject === describeSubject(s)));
      for (const s of subjects.filter((x) => !refused.includes(x))) {
        const a = valid.find((x) => x.subject === describeSubject(s));
        useExemption(
          RBAC_CLUSTER_ADMIN,
          label(r),
          `${a?.reason ?? ""} [allowed ${describeSubject(s)}]`,
        );
      }
      if (refused.length === 0 && subjects.length > 0) continue;
      const who = refused.length > 0 ? refused.map(describeSubject).join(", ") : "no subject";
      reportViolation(
        `${label(r)}: grants cluster-admin to ${who}${chart ? ` (chart ${chart})` : ""}; cluster-admin is full control of the cluster: bind a narrower role, or allow it by name with a reason in policies/config/<stack>.json ${RBAC_CLUSTER_ADMIN}.allowed`,
        r.urn,
      );
    }
  },
};

// ---------------------------------------------------------------------------------------------
// rbac-least-privilege
// ---------------------------------------------------------------------------------------------

const READ_VERBS = ["get", "list", "watch"];
const ESCALATION_VERBS = ["escalate", "bind", "impersonate"];
/** Built-in ClusterRoles that read Secrets (kubectl describe clusterrole admin / edit). */
const BUILTIN_SECRET_READERS = new Set(["admin", "edit"]);

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function rulesOf(role: PolicyResource): Rule[] {
  return listOf(role.props, "rules").map((rule) => ({
    apiGroups: strings(knownValue(rule, "apiGroups")),
    resources: strings(knownValue(rule, "resources")),
    verbs: strings(knownValue(rule, "verbs")),
  }));
}

const coreGroup = (r: Rule) => r.apiGroups.some((g) => g === "" || g === "*");
const hasVerb = (r: Rule, verbs: string[]) => r.verbs.some((v) => v === "*" || verbs.includes(v));

/** Findings on one Role / ClusterRole's rules, each with the message that reports it. */
function ruleFindings(rules: Rule[]): [RbacFinding, string][] {
  const out: [RbacFinding, string][] = [];
  rules.forEach((rule, i) => {
    const at = `rules[${i}]`;
    for (const field of ["apiGroups", "resources", "verbs"] as const) {
      const wild = rule[field].filter((v) => v.includes("*"));
      if (wild.length > 0)
        out.push([
          "wildcard",
          `${at}.${field} has ${wild.map((w) => `"${w}"`).join(", ")}: name what the role needs`,
        ]);
    }
    const escalation = rule.verbs.filter((v) => ESCALATION_VERBS.includes(v));
    if (escalation.length > 0)
      out.push([
        "escalation-verbs",
        `${at} grants ${escalation.join(", ")}: ${escalation.length > 1 ? "these let" : "this lets"} a subject gain permissions it does not hold`,
      ]);
    const shells = rule.resources.filter((r) => r === "pods/exec" || r === "pods/attach");
    if (shells.length > 0 && coreGroup(rule) && hasVerb(rule, ["create"]))
      out.push([
        "pod-exec",
        `${at} grants create on ${shells.join(", ")}: a shell in every pod the role reaches, with its Secrets and service account`,
      ]);
  });
  return out;
}

function readsSecrets(rules: Rule[]): boolean {
  return rules.some(
    (r) =>
      coreGroup(r) &&
      r.resources.some((x) => x === "secrets" || x === "*") &&
      hasVerb(r, READ_VERBS),
  );
}

export const rbacLeastPrivilege: StackValidationPolicy = {
  name: RBAC_LEAST_PRIVILEGE,
  description:
    "Roles and ClusterRoles (the charts' included) grant no '*' in apiGroups/resources/verbs, no escalate/bind/impersonate, no create on pods/exec or pods/attach, and no cluster-wide read of Secrets (a ClusterRole that reads them bound by a ClusterRoleBinding). Chart needs are exempted by name with a reason. CIS Kubernetes Benchmark 5.1.2, 5.1.3, 5.1.8.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const roles: PolicyResource[] = [];
    const clusterBindings: PolicyResource[] = [];
    for (const r of args.resources) {
      const kind = kindOf(r);
      if (kind === "Role" || kind === "ClusterRole") roles.push(r);
      else if (kind === "ClusterRoleBinding") clusterBindings.push(r);
    }
    /** ClusterRole name → the ClusterRoleBindings that bind it (cluster-wide) */
    const boundClusterWide = new Map<string, PolicyResource[]>();
    for (const b of clusterBindings) {
      const ref = roleRefOf(b);
      if (ref.kind !== "ClusterRole" || !ref.name) continue;
      boundClusterWide.set(ref.name, [...(boundClusterWide.get(ref.name) ?? []), b]);
    }

    const judge = (
      r: PolicyResource,
      kind: string,
      name: string,
      findings: [RbacFinding, string][],
      report: ReportViolation,
    ) => {
      const chart = chartOf(r);
      const where = label(r);
      for (const [finding, message] of findings) {
        const exemption = chartExemptionFor(chart, kind, name, finding);
        if (exemption) {
          useExemption(RBAC_LEAST_PRIVILEGE, where, `${exemption.reason} [covers: ${message}]`);
          continue;
        }
        report(`${where}: ${message}${chart ? ` (chart ${chart})` : ""}`, r.urn);
      }
    };

    const known = new Set<string>();
    for (const r of roles) {
      const kind = kindOf(r) ?? "";
      const name = metaOf(r).name ?? r.name;
      const rules = rulesOf(r);
      const findings = ruleFindings(rules);
      if (kind === "ClusterRole") {
        known.add(name);
        const bindings = boundClusterWide.get(name) ?? [];
        if (bindings.length > 0 && readsSecrets(rules))
          findings.push([
            "cluster-secrets-read",
            `reads Secrets (get/list/watch) and ${bindings.map(label).join(", ")} binds it cluster-wide: every Secret of every namespace; bind it with RoleBindings in the namespaces that need it`,
          ]);
      }
      judge(r, kind, name, findings, reportViolation);
    }
    // ClusterRoleBindings to built-in roles that read Secrets, which the stack does not declare.
    for (const [name, bindings] of boundClusterWide) {
      if (known.has(name) || !BUILTIN_SECRET_READERS.has(name)) continue;
      for (const b of bindings)
        judge(
          b,
          "ClusterRoleBinding",
          metaOf(b).name ?? b.name,
          [
            [
              "cluster-secrets-read",
              `binds the built-in ClusterRole ${name} cluster-wide, which reads every Secret of every namespace; use a RoleBinding per namespace`,
            ],
          ],
          reportViolation,
        );
    }
  },
};

export const rbacPolicies: OctoPolicy[] = [rbacClusterAdmin, rbacLeastPrivilege];
