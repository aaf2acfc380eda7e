/**
 * Schema validation of rendered objects with the published models: kubernetes-models for the
 * built-in API, and the operators' own models for CloudNativePG, cert-manager, the Prometheus
 * Operator and the Gateway API. Envoy Gateway's kinds are checked against the openAPIV3Schema of
 * its CRDs at the pinned tag (schemas/envoy-gateway.json, see scripts/vendor-crd-schemas.ts),
 * through Ajv validators precompiled from them (scripts/crd-validators.ts): the published model
 * package lags that release. Kinds without a published model (e.g. Velero)
 * are reported, not silently passed.
 */
import * as path from "node:path";
import type { ValidateFunction } from "ajv";
import type { KubernetesObject } from "./manifests";

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** Where the model of an API group lives; the core group's apiVersion is just `v1`. */
const MODEL_PACKAGES: Record<string, string> = {
  "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg",
  "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
  "cert-manager.io": "@kubernetes-models/cert-manager",
  "acme.cert-manager.io": "@kubernetes-models/cert-manager",
  "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
};

export const SCHEMAS_DIR = path.join(__dirname, "..", "schemas");

/** API groups validated against vendored CRD schemas, and the file (in schemas/) holding them. */
export const CRD_SCHEMA_FILES: Record<string, string> = {
  "gateway.envoyproxy.io": "envoy-gateway.json",
};

/** The models of the kinds the stacks render, in one file: `npm run model-bundle`. */
export const MODEL_BUNDLE = path.join(SCHEMAS_DIR, "kubernetes-models.cjs");

/** The precompiled validator of one kind: schemas/<file without .json>/<version>/<Kind>.cjs. */
export function validatorModulePath(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.split("/");
  const file = CRD_SCHEMA_FILES[group];
  if (!file || !version || !/^[A-Z][A-Za-z0-9]*$/.test(kind) || !/^v[a-z0-9]+$/.test(version))
    return undefined;
  return path.join(SCHEMAS_DIR, file.replace(/\.json$/, ""), version, `${kind}.cjs`);
}

const crdValidators = new Map<string, ValidateFunction | undefined>();

/**
 * The validator of a kind of a vendored CRD group: Ajv's code for its schema, precompiled by
 * scripts/crd-validators.ts (generating it at run time cost more than the rest of the render).
 */
function crdValidator(apiVersion: string, kind: string): ValidateFunction | undefined {
  const file = validatorModulePath(apiVersion, kind);
  if (!file) return undefined;
  if (!crdValidators.has(file)) {
    let validate: ValidateFunction | undefined;
    try {
      // A path computed per kind, loaded synchronously like the rest of the lookup.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      validate = (require(file) as { default: ValidateFunction }).default;
    } catch (error) {
      // No such kind or version in the vendored schemas; anything else is a real failure.
      if ((error as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw error;
    }
    crdValidators.set(file, validate);
  }
  return crdValidators.get(file);
}

/** A model-like class over a vendored CRD schema, so both kinds of check look the same. */
/** One model class per CRD validator, so every lookup of a kind yields the same class. */
const crdModels = new WeakMap<ValidateFunction, ModelClass>();

function crdModel(validate: ValidateFunction): ModelClass {
  const known = crdModels.get(validate);
  if (known) return known;
  const Model = class {
    constructor(private readonly data: unknown) {}
    validate(): void {
      if (validate(this.data)) return;
      const errors = (validate.errors ?? []).map(
        (e) =>
          `${e.instancePath || "/"} ${e.message ?? ""}${e.keyword === "additionalProperties" ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ""}`,
      );
      throw new Error(errors.join("; "));
    }
  };
  crdModels.set(validate, Model);
  return Model;
}

/** The module of an API group version (its index re-exports every kind of that version). */
export function groupModulePath(apiVersion: string): string | undefined {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return `kubernetes-models/${apiVersion}`;
  const group = apiVersion.slice(0, slash);
  if (group in MODEL_PACKAGES) return `${MODEL_PACKAGES[group]}/${apiVersion}`;
  if (!group.includes(".") || group.endsWith(".k8s.io")) return `kubernetes-models/${apiVersion}`;
  return undefined;
}

/**
 * The module of one kind: `<group version>/<Kind>`, which every model package exports. Loading
 * only the kinds a stack uses (and the schemas they reference) instead of whole group indexes
 * keeps validation from dominating the render: the core `v1` index alone pulls in ~480 modules.
 * test/stacks/validate-lookup.test.ts holds this lookup to the group index's, class for class.
 */
export function kindModulePath(apiVersion: string, kind: string): string | undefined {
  const group = groupModulePath(apiVersion);
  return group && /^[A-Z][A-Za-z0-9]*$/.test(kind) ? `${group}/${kind}` : undefined;
}

const modules = new Map<string, Promise<Record<string, unknown> | undefined>>();

/** Loads a model module once per process; a missing one (no such kind) resolves to undefined. */
function loadModule(path: string): Promise<Record<string, unknown> | undefined> {
  let loaded = modules.get(path);
  if (!loaded) {
    // The model packages are ESM-only; a dynamic import works from CommonJS and ESM alike.
    loaded = (import(path) as Promise<Record<string, unknown>>).catch(() => undefined);
    modules.set(path, loaded);
  }
  return loaded;
}

export interface ValidationResult {
  validated: number;
  /** `apiVersion kind` with no published model */
  unmodelled: string[];
  errors: { object: string; message: string }[];
}

export function describeObject(o: KubernetesObject): string {
  const ns = o.metadata.namespace ? `${o.metadata.namespace}/` : "";
  return `${o.kind} ${ns}${o.metadata.name ?? "<unnamed>"}`;
}

/**
 * The published model class of an object's kind: from the bundle of the kinds the stacks render
 * (scripts/model-bundle.ts), else loading only that kind's module.
 */
export async function modelOf(object: KubernetesObject): Promise<ModelClass | undefined> {
  return bundledModels()?.[`${object.apiVersion} ${object.kind}`] ?? kindModelOf(object);
}

let bundle: Record<string, ModelClass> | null | undefined;

/** The bundled models; null without the file (a checkout without it validates kind by kind). */
export function bundledModels(): Record<string, ModelClass> | null {
  if (bundle === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      bundle = require(MODEL_BUNDLE) as Record<string, ModelClass>;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw error;
      bundle = null;
    }
  }
  return bundle;
}

/** The same lookup without the bundle: each kind's own module (test/stacks/model-bundle.test.ts). */
export async function kindModelOf(object: KubernetesObject): Promise<ModelClass | undefined> {
  const crd = crdValidator(object.apiVersion, object.kind);
  if (crd) return crdModel(crd);
  const path = kindModulePath(object.apiVersion, object.kind);
  const mod = path ? await loadModule(path) : undefined;
  return mod?.[object.kind] as ModelClass | undefined;
}

/**
 * The same lookup through the group index, as validation did before loading per kind. Kept as the
 * reference the per-kind lookup is tested against; not used by the render.
 */
export async function groupModelOf(object: KubernetesObject): Promise<ModelClass | undefined> {
  const crd = crdValidator(object.apiVersion, object.kind);
  if (crd) return crdModel(crd);
  const path = groupModulePath(object.apiVersion);
  const mod = path ? await loadModule(path) : undefined;
  return mod?.[object.kind] as ModelClass | undefined;
}

/** Validates one object against its published schema; throws the schema error or "no model". */
export async function validateObject(object: KubernetesObject): Promise<void> {
  const Model = await modelOf(object);
  if (!Model) throw new Error(`no published model for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

/**
 * Validates every object against its published schema. `lookup` is the per-kind model lookup;
 * the lookup test passes the group-index reference (groupModelOf) to compare the two reports.
 */
export async function validateObjects(
  objects: KubernetesObject[],
  lookup: (object: KubernetesObject) => Promise<ModelClass | undefined> = modelOf,
): Promise<ValidationResult> {
  // Every object at once: the model imports overlap; the verdicts are collected in order.
  return collectVerdicts(await Promise.all(objects.map((o) => verdictOf(o, lookup))));
}

/** One object's outcome; `collectVerdicts` turns a render's, in order, into its result. */
export type Verdict = { valid: true } | { unmodelled: string } | { error: ValidationError };
type ValidationError = ValidationResult["errors"][number];

export async function verdictOf(
  object: KubernetesObject,
  lookup: (object: KubernetesObject) => Promise<ModelClass | undefined> = modelOf,
): Promise<Verdict> {
  const Model = await lookup(object);
  if (!Model) return { unmodelled: `${object.apiVersion} ${object.kind}` };
  try {
    new Model(object).validate();
    return { valid: true };
  } catch (error) {
    return {
      error: { object: describeObject(object), message: String((error as Error).message ?? error) },
    };
  }
}

export function collectVerdicts(verdicts: Verdict[]): ValidationResult {
  const result: ValidationResult = { validated: 0, unmodelled: [], errors: [] };
  const unmodelled = new Set<string>();
  for (const verdict of verdicts) {
    if ("valid" in verdict) result.validated++;
    else if ("unmodelled" in verdict) unmodelled.add(verdict.unmodelled);
    else result.errors.push(verdict.error);
  }
  result.unmodelled = [...unmodelled].sort();
  return result;
}
