/**
 * Schema validation of rendered objects with the published models: kubernetes-models for the
 * built-in API, and the operators' own models for CloudNativePG, cert-manager and the Prometheus
 * Operator. Kinds without a published model (e.g. Velero) are reported, not silently passed.
 */
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
};

function modulePath(apiVersion: string): string | undefined {
  const slash = apiVersion.indexOf("/");
  if (slash < 0) return `kubernetes-models/${apiVersion}`;
  const group = apiVersion.slice(0, slash);
  if (group in MODEL_PACKAGES) return `${MODEL_PACKAGES[group]}/${apiVersion}`;
  if (!group.includes(".") || group.endsWith(".k8s.io")) return `kubernetes-models/${apiVersion}`;
  return undefined;
}

const modules = new Map<string, Promise<Record<string, unknown> | undefined>>();

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

async function modelOf(object: KubernetesObject): Promise<ModelClass | undefined> {
  const path = modulePath(object.apiVersion);
  const mod = path ? await loadModule(path) : undefined;
  return mod?.[object.kind] as ModelClass | undefined;
}

/** Validates one object against its published schema; throws the schema error or "no model". */
export async function validateObject(object: KubernetesObject): Promise<void> {
  const Model = await modelOf(object);
  if (!Model) throw new Error(`no published model for ${object.apiVersion} ${object.kind}`);
  new Model(object).validate();
}

/** Validates every object against its published schema. */
export async function validateObjects(objects: KubernetesObject[]): Promise<ValidationResult> {
  const result: ValidationResult = { validated: 0, unmodelled: [], errors: [] };
  const unmodelled = new Set<string>();
  for (const object of objects) {
    const Model = await modelOf(object);
    if (!Model) {
      unmodelled.add(`${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
      result.validated++;
    } catch (error) {
      result.errors.push({
        object: describeObject(object),
        message: String((error as Error).message ?? error),
      });
    }
  }
  result.unmodelled = [...unmodelled].sort();
  return result;
}
