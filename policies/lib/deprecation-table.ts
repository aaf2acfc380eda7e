/**
 * Reads Fairwinds Pluto's versions.yaml into the entries policies/lib/deprecations.ts uses. Only
 * the refresh script and the tests load this (and the YAML parser): the pack reads the JSON twin.
 */
import { parse } from "yaml";
import type { ApiDeprecation, MinorVersion } from "./deprecations";
import { parseMinor } from "./deprecations";

/** Parses Pluto's versions.yaml; throws naming `source` and the entry on anything unexpected. */
export function parseDeprecationTable(text: string, source: string): ApiDeprecation[] {
  const doc = parse(text) as { "deprecated-versions"?: unknown } | null;
  const list = doc?.["deprecated-versions"];
  if (!Array.isArray(list) || list.length === 0)
    throw new Error(`${source}: no deprecated-versions list`);
  return list.map((raw: unknown, i): ApiDeprecation => {
    const e = (raw ?? {}) as Record<string, unknown>;
    const where = `${source}: deprecated-versions[${i}]`;
    const str = (key: string): string | undefined => {
      const v = e[key];
      if (v === undefined || v === null || v === "") return undefined;
      if (typeof v !== "string") throw new Error(`${where}.${key}: expected a string`);
      return v;
    };
    const version = (key: string): MinorVersion | undefined => {
      const v = str(key);
      if (v === undefined) return undefined;
      const parsed = parseMinor(v);
      if (!parsed) throw new Error(`${where}.${key}: "${v}" is not a version like v1.25.0`);
      return parsed;
    };
    const apiVersion = str("version");
    const kind = str("kind");
    const component = str("component");
    if (!apiVersion || !component) throw new Error(`${where}: needs version and component`);
    return {
      apiVersion,
      kind: kind ?? "",
      deprecatedIn: version("deprecated-in"),
      removedIn: version("removed-in"),
      replacement: str("replacement-api"),
      component,
    };
  });
}
