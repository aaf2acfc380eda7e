/**
 * Runs the policy pack without the Pulumi CLI: on the resources a stack registers (the offline
 * render, tests, benchmarks). It plays the part of the analyzer: it reconciles the stack's
 * `policies/config/<stack>.json` the way the CLI does (schema defaults, then `all`, then each
 * policy's entry; validated against each policy's configSchema), builds the `args` objects
 * @pulumi/policy passes to validateResource / validateStack, and collects reportViolation calls.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type {
  EnforcementLevel,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type {
  PolicyConfigJSONSchema,
  PolicyConfigJSONSchemaDefinition,
} from "@pulumi/policy/schema";
import { PACK_ENFORCEMENT_LEVEL, policies as packPolicies } from "./policies";
import type { OctoPolicy } from "./lib/policy";
import { describeResource, isPlainObject } from "./lib/k8s";
import { recordingExemptions } from "./lib/exemptions";
import type { CapacityRow } from "./lib/capacity";
import {
  CLUSTER_FIT,
  capacityRows,
  clusterFitOf,
  QUOTA_CAPACITY,
  QUOTA_HEADROOM,
} from "./capacity";
import { QUOTA_WARN_PERCENT } from "./lib/capacity";
import type { ClusterFit } from "./lib/placement";

export type { CapacityRow, CapacityCell, QuotaKey } from "./lib/capacity";
export { formatCapacityTable, formatQuota, QUOTA_KEYS } from "./lib/capacity";
export type { ClusterFit } from "./lib/placement";
export { formatClusterFit } from "./lib/placement";

/** One registered resource of a stack, as the render and the test harness hand it over. */
export interface RenderedResource {
  /** Pulumi type token, e.g. kubernetes:apps/v1:Deployment */
  type: string;
  /** Pulumi logical name */
  name: string;
  urn: string;
  /** the Kubernetes object (secret values already `<redacted>`) */
  props: Record<string, unknown>;
  /** URN of the parent resource, when known */
  parent?: string;
}

/** `--policy-pack-config` file format: `{ "all": level, "<policy>": level | { enforcementLevel?, ...config } }`. */
export type PolicyPackConfig = Record<
  string,
  EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)
>;

export interface PolicyViolation {
  policy: string;
  enforcementLevel: "advisory" | "mandatory";
  /** `Kind namespace/name`, or `stack` for a stack-wide finding */
  resource: string;
  urn?: string;
  message: string;
}

export interface PolicyExemption {
  policy: string;
  resource: string;
  reason: string;
}

export interface PolicyReport {
  violations: PolicyViolation[];
  exemptions: PolicyExemption[];
  capacity: CapacityRow[];
  /** quota-headroom-at-peak's threshold: the capacity table flags keys above it (WARN) */
  quotaWarnAbovePercent: number;
  /** pods at baseline and peak placed on the configured nodes (cluster-fit-at-peak's config) */
  clusterFit: ClusterFit;
}

export class PolicyConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid policy pack configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "PolicyConfigError";
  }
}

const LEVELS: readonly string[] = ["advisory", "mandatory", "remediate", "disabled"];

export const POLICY_CONFIG_DIR = path.join(__dirname, "config");

/**
 * The policy configuration file a stack uses: `policies/config/<stack>.json` when the stack has
 * its own, otherwise its environment's (`dev.json`, `staging.json`, `production.json`), so a new
 * stack (`qa`, `dev-alice`, `pr-123`) is held to the rules of the environment it runs as. This is
 * also the file to hand `pulumi preview --policy-pack-config` (CI asks `npm run ci-stacks`).
 */
export function policyConfigFile(
  stack: string,
  environment?: string,
  dir = POLICY_CONFIG_DIR,
): string {
  const own = path.join(dir, `${stack}.json`);
  if (fs.existsSync(own) || environment === undefined) return own;
  return path.join(dir, `${environment}.json`);
}

/** Reads the stack's policy configuration (its own file, else its environment's). */
export function loadPolicyConfig(
  stack: string,
  environment?: string,
  dir = POLICY_CONFIG_DIR,
): PolicyPackConfig {
  const file = policyConfigFile(stack, environment, dir);
  if (!fs.existsSync(file)) {
    const known = fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((f) => f.endsWith(".json"))
          .map((f) => f.replace(/\.json$/, ""))
      : [];
    throw new PolicyConfigError([
      `no policy configuration for stack "${stack}"${environment === undefined ? "" : ` nor its environment "${environment}"`} (${file}); have: ${known.join(", ") || "none"}`,
    ]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  } catch (error) {
    throw new PolicyConfigError([`${file}: not valid JSON: ${(error as Error).message}`]);
  }
  if (!isPlainObject(parsed)) throw new PolicyConfigError([`${file}: must be a JSON object`]);
  return parsed as PolicyPackConfig;
}

export interface ReconciledPolicy {
  policy: OctoPolicy;
  enforcementLevel: EnforcementLevel;
  config: Record<string, unknown>;
}

/** What the CLI hands each policy: defaults from its schema, `all`, then its own entry; validated. */
export function reconcileConfig(
  config: PolicyPackConfig,
  policies: readonly OctoPolicy[] = packPolicies,
): ReconciledPolicy[] {
  const problems: string[] = [];
  const names = new Set(policies.map((p) => p.name));
  for (const [key, value] of Object.entries(config)) {
    const level = typeof value === "string" ? value : value?.enforcementLevel;
    if (level !== undefined && !LEVELS.includes(level))
      problems.push(
        `${key}: "${String(level)}" is not an enforcement level (${LEVELS.join(", ")})`,
      );
    if (typeof value !== "string" && !isPlainObject(value))
      problems.push(`${key}: must be a level or an object`);
    if (key !== "all" && !names.has(key))
      problems.push(`${key}: no policy of that name in the pack (have: ${[...names].join(", ")})`);
  }
  const all = config.all;
  const allLevel = typeof all === "string" ? all : all?.enforcementLevel;
  const out = policies.map((policy): ReconciledPolicy => {
    const props: Record<string, unknown> = {};
    for (const [k, schema] of Object.entries(policy.configSchema?.properties ?? {}))
      if (schema.default !== undefined) props[k] = structuredClone(schema.default);
    let level: EnforcementLevel = policy.enforcementLevel ?? PACK_ENFORCEMENT_LEVEL;
    if (allLevel) level = allLevel;
    const given = config[policy.name];
    if (typeof given === "string") level = given;
    else if (given) {
      const { enforcementLevel, ...rest } = given;
      if (enforcementLevel) level = enforcementLevel;
      Object.assign(props, rest);
    }
    if (policy.configSchema) {
      for (const key of policy.configSchema.required ?? [])
        if (props[key] === undefined) problems.push(`${policy.name}: ${key} is required`);
      for (const [k, v] of Object.entries(props)) {
        const schema = policy.configSchema.properties[k];
        if (schema) problems.push(...validateJson(v, schema, `${policy.name}.${k}`));
      }
    } else if (Object.keys(props).length > 0) {
      problems.push(
        `${policy.name}: takes no configuration (got ${Object.keys(props).join(", ")})`,
      );
    }
    return { policy, enforcementLevel: level, config: props };
  });
  if (problems.length > 0) throw new PolicyConfigError(problems);
  return out;
}

/** The subset of JSON Schema the pack's configSchemas use. */
function validateJson(
  value: unknown,
  schema: PolicyConfigJSONSchemaDefinition,
  where: string,
): string[] {
  if (typeof schema === "boolean") return schema ? [] : [`${where}: not allowed`];
  const s: PolicyConfigJSONSchema = schema;
  const out: string[] = [];
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
  const actual =
    value === null
      ? "null"
      : Array.isArray(value)
        ? "array"
        : Number.isInteger(value)
          ? "integer"
          : typeof value;
  if (
    types.length > 0 &&
    !types.some((t) => t === actual || (t === "number" && actual === "integer"))
  )
    return [`${where}: expected ${types.join(" or ")}, got ${actual}`];
  if (s.enum && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(value)))
    out.push(`${where}: must be one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  if (typeof value === "string" && s.pattern !== undefined && !new RegExp(s.pattern).test(value))
    out.push(`${where}: "${value}" does not match ${s.pattern}`);
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < s.minimum) out.push(`${where}: must be ≥ ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) out.push(`${where}: must be ≤ ${s.maximum}`);
  }
  if (Array.isArray(value) && s.items && !Array.isArray(s.items)) {
    const items = s.items;
    value.forEach((v, i) => out.push(...validateJson(v, items, `${where}[${i}]`)));
  }
  return out;
}

class NotApplicable extends Error {}

const DEFAULT_OPTS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

function typeOf(resourceClass: unknown): string | undefined {
  const t = (resourceClass as { __pulumiType?: unknown } | undefined)?.__pulumiType;
  return typeof t === "string" && t.length > 0 ? t : undefined;
}

/** isType as the analyzer implements it: by __pulumiType, else the class's isInstance. */
function isTypeOf(type: string, resourceClass: unknown): boolean {
  const t = typeOf(resourceClass);
  if (t) return t === type;
  const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean }).isInstance;
  return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

function isResourcePolicy(p: OctoPolicy): p is ResourceValidationPolicy {
  return "validateResource" in p && p.validateResource !== undefined;
}

function isStackPolicy(p: OctoPolicy): p is StackValidationPolicy {
  return typeof (p as StackValidationPolicy).validateStack === "function";
}

/** Only Kubernetes objects are evaluated; providers and (unexpanded) Helm charts go to stack policies. */
function isKubernetesObject(r: RenderedResource): boolean {
  return (
    r.type.startsWith("kubernetes:") &&
    !r.type.startsWith("kubernetes:helm.sh/") &&
    r.type !== "pulumi:providers:kubernetes"
  );
}

/**
 * Evaluates every policy of the pack on a stack's resources with the stack's policy config.
 * Disabled policies do not run; `remediate` reports as mandatory, like the analyzer.
 */
export async function evaluatePolicies(
  resources: RenderedResource[],
  config: PolicyPackConfig,
): Promise<PolicyReport> {
  const reconciled = reconcileConfig(config);
  const labels = new Map<string, string>();
  const label = (r: RenderedResource) => describeResource(r.type, r.props ?? {}, r.name);
  for (const r of resources) if (r.urn) labels.set(r.urn, label(r));

  const stackResources: PolicyResource[] = resources.map((r) => {
    const props = r.props ?? {};
    return {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: { ...DEFAULT_OPTS, ...(r.parent ? { parent: r.parent } : {}) },
      dependencies: [],
      propertyDependencies: {},
      isType: (cls: unknown) => isTypeOf(r.type, cls),
      asType: ((cls: unknown) =>
        isTypeOf(r.type, cls) ? props : undefined) as PolicyResource["asType"],
    };
  });
  const byUrn = new Map(stackResources.map((r) => [r.urn, r]));
  for (const r of resources) {
    const pr = byUrn.get(r.urn);
    const parent = r.parent ? byUrn.get(r.parent) : undefined;
    if (pr && parent) pr.parent = parent;
  }
  const k8sResources = resources.filter(isKubernetesObject);
  const stackTags: ReadonlyMap<string, string> = new Map();

  const { result: violations, exemptions } = await recordingExemptions(async () => {
    const found: PolicyViolation[] = [];
    for (const { policy, enforcementLevel, config: policyConfig } of reconciled) {
      if (enforcementLevel === "disabled") continue;
      const level: "advisory" | "mandatory" =
        enforcementLevel === "advisory" ? "advisory" : "mandatory";
      const getConfig = <T extends object>() => structuredClone(policyConfig) as T;
      const notApplicable = (reason?: string): never => {
        throw new NotApplicable(reason);
      };
      if (isResourcePolicy(policy)) {
        const validations = Array.isArray(policy.validateResource)
          ? policy.validateResource
          : [policy.validateResource];
        for (const r of k8sResources) {
          const resourceLabel = labels.get(r.urn) ?? label(r);
          const report: ReportViolation = (message) =>
            found.push({
              policy: policy.name,
              enforcementLevel: level,
              resource: resourceLabel,
              urn: r.urn,
              message,
            });
          const props = r.props ?? {};
          const args: ResourceValidationArgs = {
            type: r.type,
            props,
            urn: r.urn,
            name: r.name,
            opts: { ...DEFAULT_OPTS, ...(r.parent ? { parent: r.parent } : {}) },
            stackTags,
            isType: (cls) => isTypeOf(r.type, cls),
            asType: ((cls: unknown) =>
              isTypeOf(r.type, cls) ? props : undefined) as ResourceValidationArgs["asType"],
            getConfig,
            notApplicable,
          };
          for (const validation of validations) {
            if (!validation) continue;
            // The analyzer's fast path: a validation tagged with a type only sees that type.
            const only = typeOf(validation);
            if (only && only !== r.type) continue;
            try {
              await validation(args, report);
            } catch (e) {
              if (!(e instanceof NotApplicable)) throw wrap(e, policy.name, resourceLabel);
            }
          }
        }
      } else if (isStackPolicy(policy)) {
        const report: ReportViolation = (message, urn) =>
          found.push({
            policy: policy.name,
            enforcementLevel: level,
            resource: urn ? (labels.get(urn) ?? urn) : "stack",
            ...(urn ? { urn } : {}),
            message,
          });
        const args: StackValidationArgs = {
          resources: stackResources,
          stackTags,
          getConfig,
          notApplicable,
        };
        try {
          await policy.validateStack(args, report);
        } catch (e) {
          if (!(e instanceof NotApplicable)) throw wrap(e, policy.name, "stack");
        }
      }
    }
    return found;
  });

  const capacityPolicy = reconciled.find((r) => r.policy.name === QUOTA_CAPACITY);
  const nodeCount = Number(capacityPolicy?.config.nodeCount ?? 1);
  return {
    violations,
    exemptions: exemptions.filter((e) =>
      reconciled.some((r) => r.policy.name === e.policy && r.enforcementLevel !== "disabled"),
    ),
    capacity: capacityRows(stackResources, nodeCount),
    quotaWarnAbovePercent: Number(
      reconciled.find((r) => r.policy.name === QUOTA_HEADROOM)?.config.warnAbovePercent ??
        QUOTA_WARN_PERCENT,
    ),
    clusterFit: clusterFitOf(
      stackResources,
      reconciled.find((r) => r.policy.name === CLUSTER_FIT)?.config ?? {},
    ),
  };
}

function wrap(e: unknown, policy: string, resource: string): Error {
  const err = new Error(
    `policy ${policy} failed on ${resource}: ${e instanceof Error ? e.message : String(e)}`,
  );
  (err as Error & { cause?: unknown }).cause = e;
  return err;
}

/** Violations at a level, for exit codes and summaries. */
export function mandatoryViolations(report: PolicyReport): PolicyViolation[] {
  return report.violations.filter((v) => v.enforcementLevel === "mandatory");
}
