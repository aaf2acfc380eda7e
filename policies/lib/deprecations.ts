/**
 * The Kubernetes API deprecation table: Fairwinds Pluto's `versions.yaml`, vendored in
 * policies/data/pluto-versions.yaml (source, tag and commit in its header) and read from its JSON
 * twin pluto-versions.json (both written by scripts/refresh-api-deprecations.ts). Each entry says in which Kubernetes version an
 * `apiVersion` + `kind` was deprecated and removed, and what replaces it.
 *
 * Only `component: k8s` entries are judged against the stack's Kubernetes version
 * (`octollm:kubernetes.version`). Pluto's cert-manager and istio entries are versions of those
 * projects, not of Kubernetes; they are parsed and kept, but no policy judges them (the program
 * pins cert-manager far past their removals, and installs no istio).
 *
 * Loaded on first use, once per process: packs that never see an object pay nothing.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** Pluto's file, verbatim below a header: what a reviewer diffs on refresh. */
export const DEPRECATIONS_YAML = path.join(__dirname, "..", "data", "pluto-versions.yaml");
/**
 * The same table as JSON, written from the YAML by the refresh script (a test checks they agree):
 * what the policies read, because JSON.parse costs a fraction of a millisecond where a YAML
 * parser costs tens on every pack start.
 */
export const DEPRECATIONS_JSON = path.join(__dirname, "..", "data", "pluto-versions.json");

export interface DeprecationTableFile {
  /** where the entries come from: repository, tag, commit, file */
  source: string;
  entries: ApiDeprecation[];
}

/** `1.25` as [1, 25]; patch versions do not deprecate or remove APIs. */
export type MinorVersion = readonly [number, number];

export interface ApiDeprecation {
  apiVersion: string;
  /** empty: every kind of the apiVersion (Pluto's istio entries) */
  kind: string;
  deprecatedIn: MinorVersion | undefined;
  removedIn: MinorVersion | undefined;
  replacement: string | undefined;
  component: string;
}

/** `1.25`, `v1.25`, `v1.25.0` → [1, 25]; anything else undefined. */
export function parseMinor(v: string): MinorVersion | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function formatMinor(v: MinorVersion): string {
  return `${v[0]}.${v[1]}`;
}

/** a ≥ b */
export function atLeast(a: MinorVersion, b: MinorVersion): boolean {
  return a[0] !== b[0] ? a[0] > b[0] : a[1] >= b[1];
}

let table: Map<string, ApiDeprecation> | undefined;

/** The vendored table's Kubernetes entries, by `apiVersion kind`. */
export function kubernetesDeprecations(): ReadonlyMap<string, ApiDeprecation> {
  if (!table) {
    const { entries } = JSON.parse(
      fs.readFileSync(DEPRECATIONS_JSON, "utf8"),
    ) as DeprecationTableFile;
    table = new Map(
      entries.filter((e) => e.component === "k8s").map((e) => [`${e.apiVersion} ${e.kind}`, e]),
    );
  }
  return table;
}

/** `kubernetes:policy/v1beta1:PodDisruptionBudget` → `policy/v1beta1`; core → `v1`. */
export function apiVersionOfType(type: string): string {
  const gv = type.split(":")[1] ?? "";
  return gv.startsWith("core/") ? gv.slice("core/".length) : gv;
}

export type ApiStatus =
  | { status: "removed"; entry: ApiDeprecation; removedIn: MinorVersion }
  | { status: "deprecated"; entry: ApiDeprecation; deprecatedIn: MinorVersion }
  | { status: "served" };

/** What Kubernetes `target` does with objects of `apiVersion` + `kind`. */
export function apiStatus(apiVersion: string, kind: string, target: MinorVersion): ApiStatus {
  const known = kubernetesDeprecations();
  const entry = known.get(`${apiVersion} ${kind}`) ?? known.get(`${apiVersion} `);
  if (!entry) return { status: "served" };
  if (entry.removedIn && atLeast(target, entry.removedIn))
    return { status: "removed", entry, removedIn: entry.removedIn };
  if (entry.deprecatedIn && atLeast(target, entry.deprecatedIn))
    return { status: "deprecated", entry, deprecatedIn: entry.deprecatedIn };
  return { status: "served" };
}
