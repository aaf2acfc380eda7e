/**
 * Operator resources family: the custom resources the stack writes for an operator are judged
 * the way that operator (or its admission webhook) judges them, at the operator version the
 * program pins, so a bad value fails the preview instead of an `up` half-way (a webhook
 * refusal) or, worse, a running cluster that silently does something else (a cron read with a
 * seconds field, a rule group Prometheus refuses to load).
 *
 * - `prometheus-rules`: PrometheusRule (prometheus-operator; Prometheus' rulefmt validation).
 * - `velero-schedule`: Velero Schedule (Velero 1.16: schedule controller + backup validation).
 * - `cloudnative-pg-admission`: CloudNativePG Cluster and ScheduledBackup (CNPG 1.27 webhooks).
 */
import { parser as promqlParser } from "@prometheus-io/lezer-promql";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { compare, isQuantity, parseQuantity } from "../components/k8s/quantity";
import {
  LABEL_NAME,
  METRIC_NAME,
  parseGoDuration,
  prometheusDurationProblem,
  secondsCronProblem,
  standardCronProblem,
} from "./lib/formats";
import type { Props } from "./lib/k8s";
import { TYPES, asArray, isPlainObject, metaOf } from "./lib/k8s";
import { knownOr, knownStrings, knownValue } from "./lib/known";
import type { OctoPolicy } from "./lib/policy";
import { validateType } from "./lib/policy";
import type { Indexed } from "./lib/stack";
import { indexStack } from "./lib/stack";

export const OPERATOR_TYPES = {
  prometheusRule: "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
  veleroSchedule: "kubernetes:velero.io/v1:Schedule",
  cnpgScheduledBackup: "kubernetes:postgresql.cnpg.io/v1:ScheduledBackup",
} as const;

/** A string field, a number as Go's YAML would read it into a string, else undefined. */
function str(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number") return String(v);
  return undefined;
}

/** A value as it reads in a message (strings as is, anything else as JSON). */
function text(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

function obj(v: unknown): Record<string, unknown> {
  return isPlainObject(v) ? v : {};
}

// ---------------------------------------------------------------------------------------------
// PrometheusRule
// ---------------------------------------------------------------------------------------------

/** Parse errors of a PromQL expression, by Prometheus' own grammar (@prometheus-io/lezer-promql). */
export function promqlErrors(expr: string): string[] {
  const errors: string[] = [];
  promqlParser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError)
        errors.push(
          `at ${node.from}: …${expr.slice(Math.max(0, node.from - 20), node.to + 20).replace(/\s+/g, " ")}…`,
        );
    },
  });
  return errors;
}

export interface PrometheusRulesConfig {
  severities?: string[];
}

export const DEFAULT_SEVERITIES = ["critical", "warning", "info", "none"];

/** What Prometheus (rulefmt) would refuse in one PrometheusRule, and our alert conventions. */
export function prometheusRuleProblems(
  props: Props,
  opts: { conventions: boolean; severities: readonly string[] },
): string[] {
  const out: string[] = [];
  const spec = obj(knownValue(props, "spec"));
  const groups = knownValue(spec, "groups");
  const seen = new Set<string>();
  for (const [gi, groupRaw] of asArray(Array.isArray(groups) ? groups : []).entries()) {
    const group = obj(groupRaw);
    const name = str(knownValue(group, "name"));
    const g = `group "${name ?? `#${gi + 1}`}"`;
    if (!name) out.push(`group #${gi + 1}: name must not be empty`);
    else if (seen.has(name)) out.push(`${g}: name is repeated in the same PrometheusRule`);
    if (name) seen.add(name);
    for (const key of ["interval", "query_offset"]) {
      const v = knownValue(group, key);
      if (v === undefined || typeof v === "symbol") continue;
      const problem = prometheusDurationProblem(text(v));
      if (problem) out.push(`${g}: ${key} ${problem}`);
    }
    const rules = knownValue(group, "rules");
    for (const [ri, ruleRaw] of asArray(Array.isArray(rules) ? rules : []).entries()) {
      const rule = obj(ruleRaw);
      const alert = str(knownValue(rule, "alert"));
      const record = str(knownValue(rule, "record"));
      const r = `${g}, ${alert ? `alert "${alert}"` : record ? `record "${record}"` : `rule #${ri + 1}`}`;
      if (alert && record) out.push(`${r}: only one of 'record' and 'alert' may be set`);
      if (!alert && !record) out.push(`${r}: one of 'record' or 'alert' must be set`);
      const exprRaw = knownValue(rule, "expr");
      // a value a first preview cannot know is skipped, not judged
      if (typeof exprRaw !== "symbol") {
        const expr = str(exprRaw);
        if (!expr || expr.trim() === "") out.push(`${r}: expr must be set`);
        else {
          const errors = promqlErrors(expr);
          if (errors.length > 0)
            out.push(`${r}: expr does not parse as PromQL (${errors[0]}): ${expr.trim()}`);
        }
      }
      for (const key of ["for", "keep_firing_for"]) {
        const v = knownValue(rule, key);
        if (v === undefined || typeof v === "symbol") continue;
        const problem = prometheusDurationProblem(text(v));
        if (problem) out.push(`${r}: ${key} ${problem}`);
        else if (record && !/^0+(ms|s|m|h|d|w|y)?$/.test(text(v)))
          out.push(`${r}: '${key}' is not allowed in a recording rule`);
      }
      const labels = knownStrings(knownValue(rule, "labels"));
      const annotations = knownStrings(knownValue(rule, "annotations"));
      if (record) {
        if (!METRIC_NAME.test(record))
          out.push(
            `${r}: invalid recording rule name (a metric name: letters, digits, '_' and ':', not starting with a digit)`,
          );
        if (Object.keys(annotations).length > 0)
          out.push(`${r}: 'annotations' are not allowed in a recording rule`);
      }
      for (const k of Object.keys(labels))
        if (!LABEL_NAME.test(k) || k === "__name__") out.push(`${r}: invalid label name "${k}"`);
      for (const k of Object.keys(annotations))
        if (!LABEL_NAME.test(k)) out.push(`${r}: invalid annotation name "${k}"`);
      if (alert && opts.conventions) {
        const severity = labels.severity;
        if (severity === undefined)
          out.push(
            `${r}: no 'severity' label (Alertmanager routes on it; one of ${opts.severities.join(", ")})`,
          );
        else if (!opts.severities.includes(severity))
          out.push(
            `${r}: severity "${severity}" is not one of ${opts.severities.join(", ")} (Alertmanager routes on it)`,
          );
        if (!annotations.summary?.trim())
          out.push(`${r}: no 'summary' annotation (what the page or chat message says)`);
      }
    }
  }
  return out;
}

export const PROMETHEUS_RULES = "prometheus-rules";

export const prometheusRules: ResourceValidationPolicy = {
  name: PROMETHEUS_RULES,
  description:
    "PrometheusRule: every expr parses as PromQL, names, labels and durations are what Prometheus' rule loader accepts (one group it refuses stops the whole file loading), and every alerting rule carries a severity label and a summary annotation.",
  enforcementLevel: "mandatory",
  configSchema: {
    properties: {
      severities: {
        type: "array",
        items: { type: "string" },
        default: DEFAULT_SEVERITIES,
        description: "values an alert's severity label may take (the Alertmanager routes)",
      },
    },
  },
  validateResource: validateType(OPERATOR_TYPES.prometheusRule, (props, label, args, report) => {
    const severities = args.getConfig<PrometheusRulesConfig>().severities ?? DEFAULT_SEVERITIES;
    // A chart's own rules (kube-prometheus-stack's) are the chart's: they are held to what
    // Prometheus accepts, not to our alert conventions.
    const chart = knownOr(() => args.urn, "").includes("kubernetes:helm.sh/");
    for (const problem of prometheusRuleProblems(props, { conventions: !chart, severities }))
      report(`${label}: ${problem}`);
  }),
};

// ---------------------------------------------------------------------------------------------
// Velero Schedule
// ---------------------------------------------------------------------------------------------

/** Namespaces every cluster has: a Schedule may name them without the stack declaring them. */
export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];
/** Namespaces something outside the stack creates, declared on the Schedule, comma-separated. */
export const EXTERNAL_NAMESPACES_ANNOTATION = "octollm.io/external-namespaces";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\?]/g, "\\$&").replace(/\*/g, ".*")}$`);
  return re.test(name);
}

/** What Velero 1.16 would refuse (or silently skip) in one Schedule. */
export function veleroScheduleProblems(props: Props, known: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const spec = obj(knownValue(props, "spec"));
  const schedule = knownValue(spec, "schedule");
  if (typeof schedule !== "symbol") {
    const s = str(schedule) ?? "";
    const problem =
      s === "" ? "Schedule must be a non-empty valid Cron expression" : standardCronProblem(s);
    if (problem)
      out.push(
        `spec.schedule "${s}" is not a schedule Velero accepts (five fields minute hour day-of-month month day-of-week, or @daily/@every <duration>): ${problem}`,
      );
  }
  const template = obj(knownValue(spec, "template"));
  const ttl = knownValue(template, "ttl");
  if (ttl !== undefined && typeof ttl !== "symbol") {
    const seconds = parseGoDuration(text(ttl));
    if (typeof seconds === "string")
      out.push(
        `spec.template.ttl "${text(ttl)}" is not a Go duration (e.g. 720h, 72h30m): ${seconds}`,
      );
    else if (seconds < 0)
      out.push(`spec.template.ttl "${text(ttl)}" is negative: every backup would expire at once`);
  }
  const list = (key: string): string[] | undefined => {
    const v = knownValue(template, key);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
  };
  const included = list("includedNamespaces") ?? [];
  const excluded = list("excludedNamespaces") ?? [];
  // pkg/util/collections/includes_excludes.go ValidateNamespaceIncludesExcludes
  if (included.length > 1 && included.includes("*"))
    out.push(
      `spec.template.includedNamespaces must either contain '*' only, or a list of namespaces`,
    );
  if (excluded.includes("*")) out.push(`spec.template.excludedNamespaces cannot contain '*'`);
  for (const ns of excluded)
    if (included.includes(ns))
      out.push(
        `spec.template.excludedNamespaces cannot contain an item in includedNamespaces: ${ns}`,
      );
  for (const ns of [...included, ...excluded]) {
    if (ns === "" || ns === "*") continue;
    const name = ns.replace(/\*/g, "x");
    if (name.length > 63 || !DNS1123_LABEL.test(name))
      out.push(
        `invalid namespace "${ns}": must be a DNS-1123 label (lowercase letters, digits, '-')`,
      );
  }
  // Velero backs up a namespace that does not exist as an empty one, and says nothing: a typo
  // here is a backup that silently holds nothing.
  const declared = knownStrings(metaOf(props).annotations)[EXTERNAL_NAMESPACES_ANNOTATION];
  const external = (declared ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const allowed = new Set([...known, ...SYSTEM_NAMESPACES, ...external]);
  for (const ns of included) {
    if (ns === "*" || ns === "") continue;
    const found = ns.includes("*") ? [...allowed].some((n) => globMatches(ns, n)) : allowed.has(ns);
    if (!found)
      out.push(
        `spec.template.includedNamespaces: "${ns}" is not a namespace of the stack (${[...known].sort().join(", ") || "none"}) nor a system namespace; Velero would back up nothing for it. Fix the name, or declare a namespace made outside the stack in the Schedule's ${EXTERNAL_NAMESPACES_ANNOTATION} annotation`,
      );
  }
  return out;
}

export const VELERO_SCHEDULE = "velero-schedule";

export const veleroSchedule: StackValidationPolicy = {
  name: VELERO_SCHEDULE,
  description:
    "Velero Schedule: the cron is one Velero 1.16 parses (robfig/cron v3 standard: five fields or descriptors), template.ttl is a Go duration, included/excluded namespaces are valid, and every included namespace exists in the stack (or is a system namespace, or declared external).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    const schedules = index.of(OPERATOR_TYPES.veleroSchedule);
    if (schedules.length === 0) return;
    const known = new Set(index.namespaces.keys());
    for (const s of schedules)
      for (const problem of veleroScheduleProblems(s.props, known))
        reportViolation(`${s.label}: ${problem}`, s.urn);
  },
};

// ---------------------------------------------------------------------------------------------
// CloudNativePG
// ---------------------------------------------------------------------------------------------

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const PG_VERSION_TAG = /^(\d\.?)+/;
const CNPG_WEBHOOK = "CloudNativePG 1.27 webhook";

/** machinery reference.New(...).Tag: the tag of an image name ("latest" when none, "" for digest only). */
export function cnpgImageTag(image: string): string {
  let name = image;
  if (!name.includes("/")) name = `docker.io/library/${name}`;
  const digest = /@sha256:([a-fA-F0-9]+)$/.exec(name);
  if (digest) name = name.slice(0, digest.index);
  const tag = /:([^/]+)$/.exec(name);
  if (tag) return tag[1];
  return digest ? "" : "latest";
}

function int(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isInteger(v) ? v : fallback;
}

function has(o: Record<string, unknown>, key: string): boolean {
  const v = knownValue(o, key);
  return v !== undefined && v !== null;
}

/** barman-cloud v0.3.3 ValidateBackupConfiguration: one credential kind, complete. */
function barmanCredentialProblems(store: Record<string, unknown>, path: string): string[] {
  const out: string[] = [];
  const kinds = ["s3Credentials", "azureCredentials", "googleCredentials"].filter((k) =>
    has(store, k),
  );
  if (kinds.length === 0)
    out.push(
      `${path}: missing credentials; one and only one of azureCredentials, s3Credentials and googleCredentials is required`,
    );
  if (kinds.length > 1)
    out.push(
      `${path}: too many credentials (${kinds.join(", ")}); one and only one of azureCredentials, s3Credentials and googleCredentials is required`,
    );
  const s3 = obj(knownValue(store, "s3Credentials"));
  if (kinds.includes("s3Credentials")) {
    const iam = knownValue(s3, "inheritFromIAMRole") === true;
    const id = has(s3, "accessKeyId");
    const secret = has(s3, "secretAccessKey");
    if (id !== secret)
      out.push(
        `${path}.s3Credentials: when using AWS credentials both accessKeyId and secretAccessKey must be provided`,
      );
    const methods = (iam ? 1 : 0) + (id || secret ? 1 : 0);
    if (methods === 0)
      out.push(`${path}.s3Credentials: at least one AWS authentication method should be supplied`);
    if (methods > 1)
      out.push(`${path}.s3Credentials: only one AWS authentication method should be supplied`);
  }
  const gcs = obj(knownValue(store, "googleCredentials"));
  if (kinds.includes("googleCredentials")) {
    const gke = knownValue(gcs, "gkeEnvironment") === true;
    const creds = has(gcs, "applicationCredentials");
    if (!gke && !creds)
      out.push(
        `${path}.googleCredentials: if gkeEnvironment is false, a secret with credentials must be provided`,
      );
    if (gke && creds)
      out.push(
        `${path}.googleCredentials: if gkeEnvironment is true, a secret with credentials must not be provided`,
      );
  }
  const az = obj(knownValue(store, "azureCredentials"));
  if (kinds.includes("azureCredentials")) {
    const secrets =
      (knownValue(az, "inheritFromAzureAD") === true ? 1 : 0) +
      (has(az, "storageKey") ? 1 : 0) +
      (has(az, "storageSasToken") ? 1 : 0);
    const conn = has(az, "connectionString");
    if (secrets !== 1 && !conn)
      out.push(
        `${path}.azureCredentials: when connectionString is not specified, one and only one of storageKey, storageSasToken and inheritFromAzureAD is allowed`,
      );
    if (secrets !== 0 && conn)
      out.push(
        `${path}.azureCredentials: when connectionString is specified, the other parameters must be empty`,
      );
  }
  return out;
}

function storageProblems(storage: Record<string, unknown>, path: string): string[] {
  const size = knownValue(storage, "size");
  if (typeof size === "symbol") return [];
  const s = str(size) ?? "";
  if (s !== "" && !isQuantity(s)) return [`${path}.size "${s}" isn't a valid quantity (e.g. 10Gi)`];
  if (s === "") {
    const template = obj(knownValue(storage, "pvcTemplate"));
    const request = str(obj(obj(obj(template).resources).requests).storage);
    if (!request || !isQuantity(request) || parseQuantity(request).num === 0n)
      return [`${path}.size: not configured; add it, or a storage request in the pvcTemplate`];
  }
  return [];
}

/** What the CloudNativePG 1.27 Cluster webhook (and its CRD rules) would refuse. */
export function cnpgClusterProblems(c: Indexed): string[] {
  const out: string[] = [];
  const props = c.props;
  const spec = obj(knownValue(props, "spec"));
  const name = c.objectName;
  if (!DNS1035_LABEL.test(name) || name.length > 63)
    out.push(`metadata.name "${name}": cluster name must be a valid DNS label (validateName)`);
  if (name.length > 50)
    out.push(
      `metadata.name "${name}": the maximum length of a cluster name is 50 characters (validateName)`,
    );
  const instances = int(knownValue(spec, "instances"), 1);
  const minSync = int(knownValue(spec, "minSyncReplicas"), 0);
  const maxSync = int(knownValue(spec, "maxSyncReplicas"), 0);
  if (maxSync < 0)
    out.push(
      `spec.maxSyncReplicas ${maxSync} must be a non negative integer (validateMaxSyncReplicas)`,
    );
  if (maxSync >= instances)
    out.push(
      `spec.maxSyncReplicas ${maxSync} must be lower than the number of instances (${instances}) (validateMaxSyncReplicas)`,
    );
  if (minSync < 0)
    out.push(
      `spec.minSyncReplicas ${minSync} must be a non negative integer (validateMinSyncReplicas)`,
    );
  if (minSync > maxSync)
    out.push(
      `spec.minSyncReplicas ${minSync} cannot be greater than maxSyncReplicas ${maxSync} (validateMinSyncReplicas)`,
    );
  const postgresql = obj(knownValue(spec, "postgresql"));
  const synchronous = knownValue(postgresql, "synchronous");
  if (isPlainObject(synchronous)) {
    if (minSync > 0 || maxSync > 0)
      out.push(
        `spec.postgresql.synchronous: can't have both legacy synchronous replica configuration (minSyncReplicas/maxSyncReplicas) and the new one (validateConfiguration)`,
      );
    const number = int(knownValue(synchronous, "number"), 0);
    const pre = asArray(knownValue(synchronous, "standbyNamesPre") as unknown[] | undefined).length;
    const post = asArray(
      knownValue(synchronous, "standbyNamesPost") as unknown[] | undefined,
    ).length;
    if (number <= 0)
      out.push(
        `spec.postgresql.synchronous.number ${number}: the number of synchronous replicas should be greater than zero (CRD rule)`,
      );
    if (number >= instances + pre + post)
      out.push(
        `spec.postgresql.synchronous.number ${number} must be less than the instances (${instances}) plus the standby names given (${pre + post}) (validateSynchronousReplicaConfiguration)`,
      );
  }
  const imageName = str(knownValue(spec, "imageName"));
  if (imageName && has(spec, "imageCatalogRef"))
    out.push(`spec.imageName and spec.imageCatalogRef are mutually exclusive (CRD rule)`);
  if (imageName) {
    const tag = cnpgImageTag(imageName);
    if (tag === "latest")
      out.push(
        `spec.imageName "${imageName}": can't use 'latest' as image tag as the operator can't detect upgrades (validateImageName)`,
      );
    else if (tag === "")
      out.push(
        `spec.imageName "${imageName}": can't use just the image sha as the operator can't detect upgrades (validateImageName)`,
      );
    else if (!PG_VERSION_TAG.test(tag))
      out.push(
        `spec.imageName "${imageName}": tag "${tag}" is not a PostgreSQL version (validateImageName)`,
      );
  }
  const pullPolicy = str(knownValue(spec, "imagePullPolicy"));
  if (pullPolicy && !["Always", "Never", "IfNotPresent"].includes(pullPolicy))
    out.push(
      `spec.imagePullPolicy "${pullPolicy}" must be one of Always, Never, IfNotPresent (validateImagePullPolicy)`,
    );
  const strategy = str(knownValue(spec, "primaryUpdateStrategy"));
  if (strategy && strategy !== "supervised" && strategy !== "unsupervised")
    out.push(
      `spec.primaryUpdateStrategy "${strategy}" should be empty, 'supervised' or 'unsupervised' (validatePrimaryUpdateStrategy)`,
    );
  else if (strategy === "supervised" && instances === 1)
    out.push(
      `spec.primaryUpdateStrategy: supervised update strategy is not allowed for clusters with a single instance (validatePrimaryUpdateStrategy)`,
    );
  out.push(
    ...storageProblems(obj(knownValue(spec, "storage")), "spec.storage").map(
      (p) => `${p} (validateStorageSize)`,
    ),
  );
  if (has(spec, "walStorage"))
    out.push(
      ...storageProblems(obj(knownValue(spec, "walStorage")), "spec.walStorage").map(
        (p) => `${p} (validateWalStorageSize)`,
      ),
    );
  const resources = obj(knownValue(spec, "resources"));
  const requests = knownStrings(knownValue(resources, "requests"));
  const limits = knownStrings(knownValue(resources, "limits"));
  for (const kind of ["cpu", "memory"]) {
    const req = requests[kind];
    const lim = limits[kind];
    if (
      req &&
      lim &&
      isQuantity(req) &&
      isQuantity(lim) &&
      compare(parseQuantity(req), parseQuantity(lim)) > 0
    )
      out.push(
        `spec.resources.requests.${kind} ${req} is greater than the limit ${lim} (validateResources)`,
      );
  }
  const antiAffinity = str(knownValue(obj(knownValue(spec, "affinity")), "podAntiAffinityType"));
  if (antiAffinity && antiAffinity !== "preferred" && antiAffinity !== "required")
    out.push(
      `spec.affinity.podAntiAffinityType "${antiAffinity}" must be 'preferred' (default if empty) or 'required' (validateAntiAffinity)`,
    );
  const superuser = knownValue(spec, "superuserSecret");
  if (isPlainObject(superuser) && !str(knownValue(superuser, "name")))
    out.push(
      `spec.superuserSecret.name: super user secret name can't be empty (validateSuperuserSecret)`,
    );
  // bootstrap
  const bootstrap = obj(knownValue(spec, "bootstrap"));
  const methods = ["initdb", "recovery", "pg_basebackup"].filter((m) => has(bootstrap, m));
  if (methods.length > 1)
    out.push(
      `spec.bootstrap: only one bootstrap method can be specified at a time (got ${methods.join(", ")}) (validateBootstrapMethod)`,
    );
  const externalClusters = asArray(
    knownValue(spec, "externalClusters") as unknown[] | undefined,
  ).map(obj);
  const external = (source: string) =>
    externalClusters.find((e) => str(knownValue(e, "name")) === source);
  for (const method of methods) {
    const m = obj(knownValue(bootstrap, method));
    const database = str(knownValue(m, "database")) ?? "";
    const owner = str(knownValue(m, "owner")) ?? "";
    if (database !== "" && owner === "")
      out.push(
        `spec.bootstrap.${method}.owner: you need to specify the database owner user (validateApplicationDatabase)`,
      );
    if (database === "" && owner !== "")
      out.push(
        `spec.bootstrap.${method}.database: you need to specify the database name (validateApplicationDatabase)`,
      );
  }
  const initdb = obj(knownValue(bootstrap, "initdb"));
  const walSegmentSize = int(knownValue(initdb, "walSegmentSize"), 0);
  if (walSegmentSize !== 0 && (walSegmentSize & (walSegmentSize - 1)) !== 0)
    out.push(
      `spec.bootstrap.initdb.walSegmentSize ${walSegmentSize}: WAL segment size must be a power of 2 (validateInitDB)`,
    );
  const basebackup = obj(knownValue(bootstrap, "pg_basebackup"));
  if (has(bootstrap, "pg_basebackup")) {
    const source = str(knownValue(basebackup, "source")) ?? "";
    if (!external(source))
      out.push(
        `spec.bootstrap.pg_basebackup.source: external cluster "${source}" not found (validateBootstrapPgBaseBackupSource)`,
      );
  }
  const recovery = obj(knownValue(bootstrap, "recovery"));
  const recoverySource = str(knownValue(recovery, "source")) ?? "";
  if (has(bootstrap, "recovery") && recoverySource !== "") {
    const e = external(recoverySource);
    if (!e)
      out.push(
        `spec.bootstrap.recovery.source: external cluster "${recoverySource}" not found (validateBootstrapRecoverySource)`,
      );
    else if (!has(e, "barmanObjectStore") && !has(e, "plugin"))
      out.push(
        `spec.bootstrap.recovery.source: external cluster "${recoverySource}" cannot be used for recovery: both Barman and CNPG-i plugin configurations are missing (validateBootstrapRecoverySource)`,
      );
  }
  const target = obj(knownValue(recovery, "recoveryTarget"));
  const targets = ["targetImmediate", "targetLSN", "targetName", "targetXID", "targetTime"].filter(
    (k) => has(target, k) && knownValue(target, k) !== "",
  );
  if (targets.length > 1)
    out.push(
      `spec.bootstrap.recovery.recoveryTarget: recovery target options are mutually exclusive (got ${targets.join(", ")}) (validateRecoveryTarget)`,
    );
  const tli = str(knownValue(target, "targetTLI"));
  if (tli && tli !== "latest" && !(/^[+-]?\d+$/.test(tli) && Number(tli) >= 1))
    out.push(
      `spec.bootstrap.recovery.recoveryTarget.targetTLI "${tli}": can be set to 'latest' or a positive integer (validateRecoveryTarget)`,
    );
  for (const [i, e] of externalClusters.entries()) {
    const store = knownValue(e, "barmanObjectStore");
    if (isPlainObject(store))
      out.push(...barmanCredentialProblems(store, `spec.externalClusters[${i}].barmanObjectStore`));
  }
  // backup
  const backup = obj(knownValue(spec, "backup"));
  const store = knownValue(backup, "barmanObjectStore");
  if (isPlainObject(store))
    out.push(
      ...barmanCredentialProblems(store, "spec.backup.barmanObjectStore").map(
        (p) => `${p} (validateBackupConfiguration)`,
      ),
    );
  const retention = knownValue(backup, "retentionPolicy");
  if (typeof retention === "string" && !/^[1-9][0-9]*[dwm]$/.test(retention))
    out.push(
      `spec.backup.retentionPolicy "${retention}" is not a retention policy like 30d, 4w or 1m (CRD pattern; validateRetentionPolicy)`,
    );
  return out;
}

/** What the CloudNativePG 1.27 ScheduledBackup webhook (and CRD enums) would refuse, and a cron it would misread. */
export function cnpgScheduledBackupProblems(props: Props): string[] {
  const out: string[] = [];
  const spec = obj(knownValue(props, "spec"));
  const schedule = knownValue(spec, "schedule");
  if (typeof schedule !== "symbol") {
    const s = str(schedule) ?? "";
    const problem = secondsCronProblem(s);
    if (problem)
      out.push(
        `spec.schedule "${s}" is not a cron CloudNativePG accepts (robfig/cron v1, seconds first): ${problem}`,
      );
    else if (!s.startsWith("@") && s.split(/\s+/).filter((f) => f !== "").length !== 6)
      // The webhook only warns: a five-field cron is read seconds-first, so "0 2 * * *" runs
      // at minute 2 of EVERY hour, not at 02:00.
      out.push(
        `spec.schedule "${s}" has five fields: CloudNativePG reads the first as seconds, so it does not run when a five-field cron would (write six fields, seconds first, e.g. "0 ${s}")`,
      );
  }
  const method = str(knownValue(spec, "method")) ?? "barmanObjectStore";
  if (!["barmanObjectStore", "volumeSnapshot", "plugin"].includes(method))
    out.push(`spec.method "${method}" must be one of barmanObjectStore, volumeSnapshot, plugin`);
  const target = str(knownValue(spec, "target"));
  if (target !== undefined && !["primary", "prefer-standby"].includes(target))
    out.push(`spec.target "${target}" must be one of primary, prefer-standby`);
  const owner = str(knownValue(spec, "backupOwnerReference"));
  if (owner !== undefined && !["none", "self", "cluster"].includes(owner))
    out.push(`spec.backupOwnerReference "${owner}" must be one of none, self, cluster`);
  if (method === "barmanObjectStore" && has(spec, "online"))
    out.push(`spec.online can be specified only if the method is volumeSnapshot`);
  if (method === "barmanObjectStore" && has(spec, "onlineConfiguration"))
    out.push(`spec.onlineConfiguration can be specified only if the method is volumeSnapshot`);
  return out;
}

export const CNPG_ADMISSION = "cloudnative-pg-admission";

export const cloudnativePgAdmission: StackValidationPolicy = {
  name: CNPG_ADMISSION,
  description:
    "CloudNativePG Cluster and ScheduledBackup: what the operator's 1.27 validating webhooks refuse (sync replicas vs instances, image tag, storage size, one bootstrap method, recovery source, object-store credentials, retention, update strategy), a six-field seconds-first backup cron, and a ScheduledBackup's cluster exists in its namespace with the backup its method needs.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    for (const c of index.of(TYPES.cnpgCluster))
      for (const problem of cnpgClusterProblems(c))
        reportViolation(`${c.label}: ${problem} [${CNPG_WEBHOOK}]`, c.urn);
    for (const b of index.of(OPERATOR_TYPES.cnpgScheduledBackup)) {
      const problems = cnpgScheduledBackupProblems(b.props);
      const spec = obj(knownValue(b.props, "spec"));
      const clusterName = knownValue(obj(knownValue(spec, "cluster")), "name");
      if (typeof clusterName !== "symbol") {
        const cluster = index
          .inNamespace(TYPES.cnpgCluster, b.namespace)
          .find((c) => c.objectName === clusterName);
        const method = str(knownValue(spec, "method")) ?? "barmanObjectStore";
        if (!cluster)
          problems.push(
            `spec.cluster.name "${String(clusterName)}" is not a CloudNativePG Cluster of the stack in namespace ${b.namespace ?? "default"}: every scheduled backup would fail`,
          );
        else if (
          method === "barmanObjectStore" &&
          !isPlainObject(
            knownValue(
              obj(knownValue(obj(knownValue(cluster.props, "spec")), "backup")),
              "barmanObjectStore",
            ),
          )
        )
          problems.push(
            `method barmanObjectStore, but Cluster ${cluster.objectName} has no spec.backup.barmanObjectStore: the operator refuses every backup of it`,
          );
      }
      for (const problem of problems) reportViolation(`${b.label}: ${problem}`, b.urn);
    }
  },
};

export const operatorPolicies: OctoPolicy[] = [
  prometheusRules,
  veleroSchedule,
  cloudnativePgAdmission,
];
