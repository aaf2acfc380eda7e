/**
 * Reading what a first preview knows. On the first `pulumi preview` of a stack, values computed
 * by other resources (random passwords, tls certificates, anything derived from them) are
 * unknown; @pulumi/policy hands props through `unknownCheckingProxy`, which throws
 * `UnknownValueError` on reading an unknown value, and the analyzer then skips the *whole* check
 * for that resource (stack policies: for the whole stack) with an advisory "can't run policy
 * during preview". Policies therefore read only what they judge, one value at a time, through
 * these helpers: an unknown value skips only what depends on it.
 *
 * Object.keys() does not trip the proxy (only `get` is trapped), so keys are always known.
 */
import { UnknownValueError } from "@pulumi/policy";

/** `read()`, or `fallback` when it touches a value the preview cannot know. */
export function knownOr<T, F>(read: () => T, fallback: F): T | F {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnknownValueError) return fallback;
    throw e;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export const UNKNOWN: unique symbol = Symbol("unknown during preview");
export type Unknown = typeof UNKNOWN;

/** `obj[key]`, or UNKNOWN when the preview cannot know it. */
export function knownValue(obj: unknown, key: string): unknown {
  return knownOr(() => (obj as Record<string, unknown>)[key], UNKNOWN);
}

/** Each key of a record with its value (UNKNOWN where the preview cannot know it). */
export function entriesOf(obj: unknown): [string, unknown][] {
  const record = knownOr(() => (isPlainObject(obj) ? obj : undefined), undefined);
  if (!record) return [];
  return Object.keys(record).map((k) => [k, knownValue(record, k)]);
}

/** The known string values of a string record (annotations, labels); unknown ones left out. */
export function knownStrings(obj: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entriesOf(obj)) if (typeof v === "string") out[k] = v;
  return out;
}
