/**
 * Configuration reference: `npm run docs` writes docs/configuration.md from the zod schema in
 * components/config.ts (keys, types, allowed values, descriptions) and the per-environment
 * defaults (`environmentDefaults`), so the reference cannot drift from what the program accepts.
 *
 *   npm run docs              write docs/configuration.md
 *   npm run docs -- --check   exit 1 when docs/configuration.md is not what would be written
 *   npm run docs -- --stdout  print instead of writing
 *
 * The output is deterministic: schema order for keys, stable JSON for values, no timestamps.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Environment } from "../components/config";
import { ENVIRONMENTS, environmentDefaults, platformSchema } from "../components/config";
import { newArmDefaults } from "../components/defaults";

export const REPO_ROOT = path.resolve(__dirname, "..");
export const DOCS_FILE = path.join(REPO_ROOT, "docs", "configuration.md");

/** The subset of JSON Schema that `z.toJSONSchema` emits for this schema. */
interface JsonSchema {
  title?: string;
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
}

/** One documented key. */
export interface KeyDoc {
  /** `octollm:dataStores.postgres.instances`; list items as `[]`, map entries as `<key>` */
  key: string;
  type: string;
  required: boolean;
  description: string;
  /** path into the environment defaults; undefined below a list (per-item defaults) */
  valuePath?: string[];
  /** an object whose keys have their own rows */
  group: boolean;
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function range(s: JsonSchema): string {
  const lo =
    s.exclusiveMinimum !== undefined
      ? `> ${s.exclusiveMinimum}`
      : s.minimum !== undefined && s.minimum > -MAX_SAFE
        ? `≥ ${s.minimum}`
        : "";
  const hi =
    s.exclusiveMaximum !== undefined
      ? `< ${s.exclusiveMaximum}`
      : s.maximum !== undefined && s.maximum < MAX_SAFE
        ? `≤ ${s.maximum}`
        : "";
  if (s.minimum !== undefined && s.maximum !== undefined && lo && hi) {
    return `${s.minimum}–${s.maximum}`;
  }
  return [lo, hi].filter(Boolean).join(", ");
}

const FORMATS: Record<string, string> = {
  uri: "URL",
  email: "email address",
  "date-time": "RFC 3339 date-time",
};

/** A short human type: `integer 1–65535`, `one of a, b`, `CPU quantity`, `list of DNS label`. */
export function describeType(s: JsonSchema): string {
  if (s.title) return s.title;
  if (s.enum) return `one of ${s.enum.map((v) => `\`${String(v)}\``).join(", ")}`;
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.anyOf) return s.anyOf.map(describeType).join(" or ");
  const type = Array.isArray(s.type) ? s.type.join(" or ") : s.type;
  switch (type) {
    case "integer":
    case "number": {
      const r = range(s);
      return r ? `${type} ${r}` : type;
    }
    case "string": {
      if (s.format && FORMATS[s.format]) return FORMATS[s.format];
      if (s.pattern) return `string matching \`${s.pattern}\``;
      if (s.minLength !== undefined && s.minLength > 0) {
        return s.minLength === 1 ? "non-empty string" : `string, ≥ ${s.minLength} characters`;
      }
      return "string";
    }
    case "array": {
      const item = s.items ? describeType(s.items) : "anything";
      const min = s.minItems ? ` (at least ${s.minItems})` : "";
      return `list of ${isObject(s.items) ? "objects" : item}${min}`;
    }
    case "object": {
      if (isRecord(s)) {
        const key = s.propertyNames ? describeType(s.propertyNames) : "string";
        const value =
          typeof s.additionalProperties === "object"
            ? describeType(s.additionalProperties)
            : "anything";
        return `map of ${key} → ${value}`;
      }
      return "object";
    }
    default:
      return type ?? "any";
  }
}

function isObject(s: JsonSchema | undefined): boolean {
  return s?.type === "object" && s.properties !== undefined;
}
function isRecord(s: JsonSchema): boolean {
  return s.type === "object" && !s.properties && typeof s.additionalProperties === "object";
}

/** A path segment as `pulumi config set --path` spells it: `.name`, or `["requests.cpu"]`. */
function segment(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_-]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
}

/** Every key of the schema, depth first, in schema order. */
export function collectKeys(schema: JsonSchema): KeyDoc[] {
  const out: KeyDoc[] = [];
  const walk = (
    node: JsonSchema,
    key: string,
    required: boolean,
    valuePath: string[] | undefined,
  ): void => {
    const group = isObject(node);
    out.push({
      key,
      type: describeType(node),
      required,
      description: node.description ?? "",
      valuePath,
      group,
    });
    if (group) {
      for (const [name, child] of Object.entries(node.properties ?? {})) {
        walk(
          child,
          `${key}${segment(name)}`,
          (node.required ?? []).includes(name),
          valuePath && [...valuePath, name],
        );
      }
    } else if (node.type === "array" && isObject(node.items) && node.items) {
      for (const [name, child] of Object.entries(node.items.properties ?? {})) {
        walk(
          child,
          `${key}[]${segment(name)}`,
          (node.items.required ?? []).includes(name),
          undefined,
        );
      }
    }
  };
  for (const [name, child] of Object.entries(schema.properties ?? {})) {
    walk(child, `octollm:${name}`, (schema.required ?? []).includes(name), [name]);
  }
  return out;
}

export function platformJsonSchema(): JsonSchema {
  // `io: "input"` documents what a stack file may hold (quantities may be numbers or strings);
  // refinements (quantity syntax, cross-field rules) are not JSON-representable and are named
  // by the type titles and described in prose.
  return z.toJSONSchema(platformSchema, {
    io: "input",
    unrepresentable: "any",
    reused: "inline",
  }) as JsonSchema;
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** JSON with object keys sorted, so output never depends on insertion order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function valueAt(root: unknown, p: string[]): unknown {
  let node = root;
  for (const segment of p) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

/** Markdown table cells: no raw pipes or newlines. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

function code(value: unknown): string {
  if (value === undefined) return "unset";
  const text = typeof value === "string" ? value : stableJson(value);
  // A backtick inside a value needs a longer fence.
  return text.includes("`") ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function defaultsCell(doc: KeyDoc, defaults: Record<Environment, unknown>): string {
  if (doc.key === "octollm:arms") return "the arms in [Arms](#arms)";
  if (!doc.valuePath) {
    return doc.key.startsWith("octollm:arms[]")
      ? "per arm, see [Arms](#arms)"
      : "in the list above";
  }
  const values = ENVIRONMENTS.map((env) => valueAt(defaults[env], doc.valuePath ?? []));
  if (doc.group && values.every((v) => v !== undefined)) return "";
  const rendered = values.map((v) => (doc.group && v !== undefined ? "set" : code(v)));
  if (rendered.every((r) => r === rendered[0])) return rendered[0];
  return ENVIRONMENTS.map((env, i) => `${env}: ${rendered[i]}`).join("<br>");
}

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

function stackFileKeys(root: string): string[] {
  const stacks = fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
  const lines = ["| Stack file | Sets |", "|---|---|"];
  for (const stack of stacks) {
    const doc = (parseYaml(fs.readFileSync(path.join(root, `Pulumi.${stack}.yaml`), "utf8")) ??
      {}) as { config?: Record<string, unknown> };
    const keys = Object.entries(doc.config ?? {})
      .filter(([k]) => k.startsWith("octollm:"))
      .map(([k, v]) => {
        const secure =
          v !== null && typeof v === "object" && "secure" in (v as Record<string, unknown>);
        return secure ? `\`${k}\` (secret)` : `\`${k}\` = ${code(v)}`;
      });
    lines.push(`| \`Pulumi.${stack}.yaml\` | ${cell(keys.join("<br>") || "nothing")} |`);
  }
  return lines;
}

interface ArmDefaults {
  name: string;
  port?: number;
  replicas: number;
  image: { repository: string; tag: string };
  resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
  hpa: { enabled: boolean; minReplicas: number; maxReplicas: number };
  uses: Record<string, boolean>;
}

function armRow(a: ArmDefaults): string {
  const hpa = a.hpa.enabled ? `${a.hpa.minReplicas}–${a.hpa.maxReplicas}` : "off";
  const uses = Object.entries(a.uses)
    .filter(([, v]) => v)
    .map(([k]) => k)
    .join(", ");
  const r = a.resources;
  return `| ${[
    a.name,
    a.port === undefined ? "(required)" : String(a.port),
    `\`${a.image.repository}:${a.image.tag}\``,
    String(a.replicas),
    hpa,
    `${r.requests.cpu} / ${r.requests.memory}`,
    `${r.limits.cpu} / ${r.limits.memory}`,
    uses || "—",
  ]
    .map((c) => cell(c))
    .join(" | ")} |`;
}

function armsSection(defaults: Record<Environment, unknown>): string[] {
  const lines = [
    "## Arms",
    "",
    "`octollm:arms` merges by `name`: an entry whose name exists changes that arm, an entry with a",
    "new name adds an arm, starting from the new-arm defaults (last row; its `port` is required).",
    "",
  ];
  for (const env of ENVIRONMENTS) {
    const arms = (valueAt(defaults[env], ["arms"]) ?? []) as ArmDefaults[];
    lines.push(
      `### Arms in ${env}`,
      "",
      "| Arm | Port | Image | Replicas | HPA | Requests (cpu / memory) | Limits (cpu / memory) | Uses |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const arm of arms) lines.push(armRow(arm));
    lines.push(armRow({ ...(newArmDefaults(env, "<name>") as ArmDefaults), name: "_a new arm_" }));
    lines.push("");
  }
  return lines;
}

/** The whole of docs/configuration.md. */
export function generateConfigurationDocs(root: string = REPO_ROOT): string {
  const schema = platformJsonSchema();
  const keys = collectKeys(schema);
  const defaults = Object.fromEntries(
    ENVIRONMENTS.map((env) => [env, environmentDefaults(env)]),
  ) as Record<Environment, unknown>;

  const lines: string[] = [
    "<!-- Generated by `npm run docs` from components/config.ts and components/defaults.ts. Do not edit: `npm run docs -- --check` (and test/delivery/docs.test.ts) fail when this file is stale. -->",
    "",
    "# Configuration reference",
    "",
    "Every setting of the platform is an `octollm:<key>` value in a stack's `Pulumi.<stack>.yaml`.",
    "A stack file holds only what differs from its environment's defaults (shown below per",
    "environment, chosen by `octollm:environment`). Values are deep-merged over the defaults:",
    "objects key by key, lists replace, `octollm:arms` merges by arm name, and `null` removes a",
    "default. The merged configuration is validated once, before any resource is registered; an",
    "error names the key (`octollm:dataStores.redis.replicas: got 2; ...`) and what is allowed.",
    "Cross-field rules (quorum majority, synchronous replicas < instances, PDB below the replica",
    "floor, Redis `maxmemory` + 25% within its memory limit, unique arm names and ports, production",
    "backups with an object store, ...) are checked too; their messages say what to change.",
    "",
    "Set nested values with `--path`, secrets with `--secret`:",
    "",
    "```sh",
    "pulumi config set --stack staging --path 'octollm:orchestrator.hpa.maxReplicas' 8",
    "pulumi config set --stack production --secret --path 'octollm:secrets.llmApiKeys.openai' \"$OPENAI_API_KEY\"",
    "```",
    "",
    "Types: a CPU quantity is cores or millicores (`500m`, `0.5`, `2`); a memory or storage",
    "quantity carries a unit (`512Mi`, `1.5Gi`, `100G`; a bare number would be bytes, so only `0`",
    "may go without one); a DNS label is lowercase letters, digits and `-`, at most 63 characters;",
    "images are pinned (`latest` is rejected). A key whose default was removed with `null` and",
    "that has no other value is reported as required.",
    "",
    "## What the stack files set",
    "",
    ...stackFileKeys(root),
    "",
  ];

  const topLevel = keys.filter((k) => !k.key.slice("octollm:".length).includes("."));
  lines.push("## Keys", "");
  for (const top of topLevel) {
    const anchor = top.key.replace(/[^a-zA-Z0-9]/g, "").toLowerCase();
    lines.push(`- [\`${top.key}\`](#${anchor})${top.description ? ` — ${top.description}` : ""}`);
  }
  lines.push("");

  for (const top of topLevel) {
    const rows = keys.filter(
      (k) =>
        (k.key === top.key && !k.group) ||
        k.key.startsWith(`${top.key}.`) ||
        k.key.startsWith(`${top.key}[]`),
    );
    lines.push(`### ${top.key}`, "");
    if (top.description && top.group) lines.push(top.description, "");
    lines.push("| Key | Type | Default | Description |", "|---|---|---|---|");
    // An object row only says something when it is documented or may be left unset.
    for (const k of rows.filter((r) => !r.group || r.description || !r.required)) {
      const name = `\`${k.key}\`${k.required ? "" : " (optional)"}`;
      lines.push(
        `| ${[name, cell(k.type), cell(defaultsCell(k, defaults)), cell(k.description)].join(" | ")} |`,
      );
    }
    lines.push("");
  }

  lines.push(...armsSection(defaults));
  return `${lines.join("\n").trimEnd()}\n`;
}

/** Whether `file` holds exactly what the generator writes now. */
export function isCurrent(file: string = DOCS_FILE, root: string = REPO_ROOT): boolean {
  return fs.existsSync(file) && fs.readFileSync(file, "utf8") === generateConfigurationDocs(root);
}

function main(argv: string[]): number {
  const unknown = argv.filter((a) => !["--check", "--stdout"].includes(a));
  if (unknown.length > 0) {
    console.error(`unknown argument(s) ${unknown.join(" ")}; usage: npm run docs [-- --check]`);
    return 2;
  }
  const text = generateConfigurationDocs();
  const relative = path.relative(process.cwd(), DOCS_FILE) || DOCS_FILE;
  if (argv.includes("--stdout")) {
    process.stdout.write(text);
    return 0;
  }
  if (argv.includes("--check")) {
    if (!isCurrent(DOCS_FILE)) {
      console.error(`${relative} is stale: run \`npm run docs\` and commit the result`);
      return 1;
    }
    console.log(`${relative} is up to date`);
    return 0;
  }
  fs.mkdirSync(path.dirname(DOCS_FILE), { recursive: true });
  const changed = !fs.existsSync(DOCS_FILE) || fs.readFileSync(DOCS_FILE, "utf8") !== text;
  if (changed) fs.writeFileSync(DOCS_FILE, text);
  const count = collectKeys(platformJsonSchema()).length;
  console.log(`${relative}: ${count} keys, ${changed ? "written" : "unchanged"}`);
  return 0;
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2));
}
