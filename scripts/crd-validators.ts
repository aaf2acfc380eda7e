/**
 * `npm run crd-validators`: compiles the vendored CRD schemas (schemas/<name>.json, written by
 * scripts/vendor-crd-schemas.ts) into standalone Ajv validators, one CommonJS module per kind
 * and version: schemas/<name>/<version>/<Kind>.cjs. scripts/validate.ts loads those modules.
 *
 * Why precompiled: Ajv generates a validator's code from its schema on first use, and Envoy
 * Gateway's EnvoyProxy schema (a whole pod and Service spec inline) generates ~2.7 MB of code;
 * generating it took more CPU than anything else in `npm run render -- production` (README,
 * "Fast previews").
 *
 * Why split (splitSchema): compiled as it is, the schema is ONE ~2.9 MB function, and on the first
 * call V8 parses and compiles all of it (~300 ms of CPU) although an object reaches a tiny part.
 * Every object subschema is hoisted into `$defs` and compiled as its own function (inlineRefs:
 * false); V8 compiles functions lazily, so a render pays only for those its objects reach, and
 * equal subschemas share one function (EnvoyProxy: 0.74 MB, ~45 ms to load and check the
 * production object). A `$ref` validates as the inline subschema did, so verdicts and errors are
 * the same but for schemaPath; test/stacks/crd-validators.test.ts checks the files are current
 * and agree with the UNSPLIT schema compiled at run time, on rendered and broken objects.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import type { Options } from "ajv";
import standaloneCode from "ajv/dist/standalone";
import { CRD_SCHEMA_FILES, SCHEMAS_DIR, validatorModulePath } from "./validate";

/**
 * Formats (int32, int64, ...) restate the types; the checks that matter are types and fields.
 * allErrors: the report lists every problem of an object, not the first.
 */
export const AJV_OPTIONS: Options = { allErrors: true, strict: false, validateFormats: false };

type Schema = Record<string, unknown>;

interface VendoredSchemas {
  group: string;
  kinds: Record<string, Record<string, unknown>>;
}

/**
 * A CRD's structural schema as JSON Schema: int-or-string spelled out, and unknown fields an
 * error (the API server would prune them silently; a typo must not pass). CEL rules
 * (x-kubernetes-validations) are not evaluated offline.
 */
export function crdToJsonSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(crdToJsonSchema);
  if (!node || typeof node !== "object") return node;
  const s = node as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k.startsWith("x-kubernetes-")) continue;
    if (k === "properties")
      out[k] = Object.fromEntries(
        Object.entries(v as Schema).map(([p, sub]) => [p, crdToJsonSchema(sub)]),
      );
    else out[k] = crdToJsonSchema(v);
  }
  if (s["x-kubernetes-int-or-string"]) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (
    s.properties &&
    s.additionalProperties === undefined &&
    !s["x-kubernetes-preserve-unknown-fields"]
  )
    out.additionalProperties = false;
  if (s.nullable === true && typeof out.type === "string") {
    out.type = [out.type, "null"];
    delete out.nullable;
  }
  return out;
}

function vendored(file: string): VendoredSchemas {
  return JSON.parse(fs.readFileSync(path.join(SCHEMAS_DIR, file), "utf8")) as VendoredSchemas;
}

/** The JSON Schema of one kind and version of a vendored group, or undefined. */
export function crdJsonSchema(apiVersion: string, kind: string): Schema | undefined {
  const [group, version] = apiVersion.split("/");
  const file = CRD_SCHEMA_FILES[group];
  const schema = file ? vendored(file).kinds[kind]?.[version] : undefined;
  return schema === undefined ? undefined : (crdToJsonSchema(schema) as Schema);
}

/**
 * A subschema with `properties` is hoisted into its own function when its JSON is at least this
 * long. Measured on EnvoyProxy (load + validate the production object, cold, median of 5):
 * 0 → 208 defs, 0.74 MB, ~42 ms; 500 → 66, 0.89 MB, ~54 ms; 2000 → 17, 1.19 MB, ~65 ms;
 * 8000 → 7, 1.38 MB, ~78 ms; 32000 → 3, 2.66 MB, ~176 ms; unsplit 2.89 MB, ~430 ms. Hoisting
 * every one wins: equal subschemas share a def, and an object reaches few of them.
 */
export const SPLIT_MIN_CHARS = 0;

/**
 * The same schema with every object subschema (one with `properties`) below the root whose JSON
 * is at least SPLIT_MIN_CHARS long (by default: every one) moved into `$defs` and referenced by
 * `$ref`; equal subschemas share one def. Compiled with `inlineRefs: false`, each def becomes
 * its own function, so V8 parses and compiles lazily only those an object reaches. Only where
 * the code lives changes: a `$ref` validates the data exactly as the subschema inline did (the
 * whole node is replaced, no sibling keywords), and errors keep their instancePath, keyword,
 * message and params; only schemaPath names the def.
 */
export function splitSchema(schema: Schema, minChars = SPLIT_MIN_CHARS): Schema {
  if ("$defs" in schema || JSON.stringify(schema).includes('"$ref"'))
    throw new Error("crd-validators: the vendored schema already uses $defs/$ref; split by hand");
  const defs: Record<string, unknown> = {};
  const names = new Map<string, string>();
  const hoist = (node: unknown, root: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => hoist(n, false));
    if (!node || typeof node !== "object") return node;
    const s = node as Schema;
    const out: Schema = {};
    for (const [k, v] of Object.entries(s)) {
      // Property names are data, not schemas: recurse into their values only.
      out[k] =
        k === "properties"
          ? Object.fromEntries(
              Object.entries(v as Schema).map(([p, sub]) => [p, hoist(sub, false)]),
            )
          : hoist(v, false);
    }
    if (root || !("properties" in s)) return out;
    const json = JSON.stringify(out);
    if (json.length < minChars) return out;
    let name = names.get(json);
    if (!name) {
      name = `d${names.size}`;
      names.set(json, name);
      defs[name] = out;
    }
    return { $ref: `#/$defs/${name}` };
  };
  const split = hoist(schema, true) as Schema;
  return Object.keys(defs).length ? { ...split, $defs: defs } : split;
}

/**
 * The source of one precompiled module: Ajv's standalone code for the split schema, each $ref
 * target its own function (inlineRefs: false; AJV_OPTIONS otherwise).
 */
export function validatorSource(schema: Schema): string {
  const ajv = new Ajv({
    ...AJV_OPTIONS,
    inlineRefs: false,
    code: { source: true, esm: false },
  });
  const header =
    "// Generated by scripts/crd-validators.ts (npm run crd-validators) from the vendored CRD\n" +
    "// schema; do not edit. Ajv's standalone code for the split schema (splitSchema).\n";
  return header + standaloneCode(ajv, ajv.compile(splitSchema(schema)));
}

/** Every module the vendored schemas call for, as path → source. */
export function allValidatorSources(): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of Object.values(CRD_SCHEMA_FILES)) {
    const { group, kinds } = vendored(file);
    for (const [kind, versions] of Object.entries(kinds)) {
      for (const version of Object.keys(versions)) {
        const apiVersion = `${group}/${version}`;
        const target = validatorModulePath(apiVersion, kind);
        const schema = crdJsonSchema(apiVersion, kind);
        if (!target || !schema)
          throw new Error(`crd-validators: cannot place ${apiVersion} ${kind}`);
        out.set(target, validatorSource(schema));
      }
    }
  }
  return out;
}

if (require.main === module) {
  for (const file of Object.values(CRD_SCHEMA_FILES))
    fs.rmSync(path.join(SCHEMAS_DIR, file.replace(/\.json$/, "")), {
      recursive: true,
      force: true,
    });
  for (const [target, source] of allValidatorSources()) {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, source);
    process.stdout.write(
      `wrote ${path.relative(process.cwd(), target)} (${(source.length / 1024).toFixed(0)} KiB)\n`,
    );
  }
}
