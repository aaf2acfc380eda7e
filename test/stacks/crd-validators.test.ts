/**
 * The render checks Envoy Gateway's kinds with Ajv validators precompiled from the vendored CRD
 * schemas (scripts/crd-validators.ts) instead of generating them on first use. This holds the
 * checked-in modules to what Ajv generates today from the vendored schemas (so a schema update
 * without `npm run crd-validators` fails here), and their verdicts and errors to those of the
 * UNSPLIT schema compiled at run time, on every such object of every stack, on broken copies and
 * on objects broken deep inside EnvoyProxy's pod and container specs. The modules are compiled
 * from a split schema (every object subschema its own function, so V8 compiles only what an object
 * reaches); only the errors' schemaPath may differ, and nothing the render prints reads it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import {
  AJV_OPTIONS,
  allValidatorSources,
  crdJsonSchema,
  splitSchema,
} from "../../scripts/crd-validators";
import type { KubernetesObject } from "../../scripts/manifests";
import { kubernetesObjects } from "../../scripts/manifests";
import {
  CRD_SCHEMA_FILES,
  SCHEMAS_DIR,
  validateObjects,
  validatorModulePath,
} from "../../scripts/validate";
import { STACKS, renderStack } from "../harness";

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };

type AjvError = { schemaPath?: string; params?: { additionalProperty?: unknown } };

/**
 * Verdict and errors of a validator, as plain data: each error as scripts/validate.ts reads it
 * (instancePath, message, keyword, params.additionalProperty) and everything else Ajv reports
 * except schemaPath, which names the $defs entry in a split validator.
 */
function verdict(validate: Validate, data: unknown): { valid: boolean; errors: unknown } {
  const valid = validate(data);
  const errors = (validate.errors as AjvError[] | null | undefined)?.map((e) => {
    const rest: AjvError = structuredClone(e);
    delete rest.schemaPath;
    return { ...rest, additionalProperty: e.params?.additionalProperty };
  });
  return { valid, errors: errors ?? null };
}

/** The reference: the vendored schema as it is, unsplit, compiled by Ajv at run time. */
function runtimeValidator(o: KubernetesObject): Validate {
  const schema = crdJsonSchema(o.apiVersion, o.kind);
  if (!schema) throw new Error(`no vendored schema for ${o.apiVersion} ${o.kind}`);
  // Guard: the reference must stay the unsplit schema, or the comparison proves nothing.
  expect(JSON.stringify(schema)).not.toMatch(/"\$ref"|"\$defs"/);
  return new Ajv(AJV_OPTIONS).compile(schema) as Validate;
}

function precompiledValidator(o: KubernetesObject): Validate {
  const file = validatorModulePath(o.apiVersion, o.kind);
  if (!file) throw new Error(`no precompiled validator for ${o.apiVersion} ${o.kind}`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- as scripts/validate.ts loads it
  return (require(file) as { default: Validate }).default;
}

const isVendored = (o: KubernetesObject) => o.apiVersion.split("/")[0] in CRD_SCHEMA_FILES;

/** Copies of an object that its schema refuses: an unknown field, a wrong type, a bad enum. */
function brokenCopies(o: KubernetesObject): unknown[] {
  const spec = (o as { spec?: Record<string, unknown> }).spec ?? {};
  return [
    { ...o, spec: { ...spec, notAField: true } },
    { ...o, spec: 42 },
    { ...o, spec: { ...spec, notAField: { nested: [1] } }, extra: "x" },
  ];
}

const ENVOY_PROXY = { apiVersion: "gateway.envoyproxy.io/v1alpha1", kind: "EnvoyProxy" };

/** A copy of `o` with `value` set at `path` (objects created on the way). */
function withValue(o: unknown, path: string[], value: unknown): unknown {
  const copy = structuredClone(o) as Record<string, unknown>;
  let node = copy;
  for (const key of path.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== "object") node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
  return copy;
}

const DEPLOYMENT = ["spec", "provider", "kubernetes", "envoyDeployment"];
const POD = [...DEPLOYMENT, "pod"];
const CONTAINER = [...DEPLOYMENT, "container"];
const NODE_TERMS = [
  ...POD,
  "affinity",
  "nodeAffinity",
  "requiredDuringSchedulingIgnoredDuringExecution",
  "nodeSelectorTerms",
];

/**
 * EnvoyProxy objects broken (and some not) deep inside, where the split validator runs hoisted
 * functions several $refs down: each entry is [what, path, value, valid?].
 */
const DEEP_CASES: [string, string[], unknown, boolean][] = [
  [
    "unknown field in a pod volume",
    [...POD, "volumes"],
    [{ name: "v", emptyDir: { sizeLimt: "1Gi" } }],
    false,
  ],
  [
    "unknown field in the container's capabilities",
    [...CONTAINER, "securityContext", "capabilities", "dropp"],
    ["ALL"],
    false,
  ],
  ["unknown field in the pod security context", [...POD, "securityContext", "runAsUsr"], 1, false],
  [
    "wrong type in the container's securityContext",
    [...CONTAINER, "securityContext", "runAsUser"],
    "root",
    false,
  ],
  [
    "wrong type in a node selector term",
    NODE_TERMS,
    [{ matchExpressions: [{ key: "k", operator: "In", values: "a" }] }],
    false,
  ],
  [
    "missing required operator in a node selector term",
    NODE_TERMS,
    [{ matchExpressions: [{ key: "k" }] }],
    false,
  ],
  ["missing required nodeSelectorTerms", [...NODE_TERMS.slice(0, -1)], {}, false],
  [
    "int-or-string maxSurge as a string",
    [...DEPLOYMENT, "strategy", "rollingUpdate", "maxSurge"],
    "25%",
    true,
  ],
  [
    "int-or-string maxSurge as an integer",
    [...DEPLOYMENT, "strategy", "rollingUpdate", "maxSurge"],
    1,
    true,
  ],
  [
    "int-or-string maxSurge as a fraction",
    [...DEPLOYMENT, "strategy", "rollingUpdate", "maxSurge"],
    1.5,
    false,
  ],
  [
    "int-or-string maxSurge as a boolean",
    [...DEPLOYMENT, "strategy", "rollingUpdate", "maxSurge"],
    true,
    false,
  ],
  ["int-or-string quantity as an integer", [...CONTAINER, "resources", "limits", "cpu"], 2, true],
  [
    "int-or-string quantity not a quantity",
    [...CONTAINER, "resources", "limits", "cpu"],
    "two",
    false,
  ],
  [
    "int-or-string quantity an object",
    [...CONTAINER, "resources", "limits", "cpu"],
    { n: 2 },
    false,
  ],
  [
    "array of objects with bad items (tolerations)",
    [...POD, "tolerations"],
    [{ key: "a", operator: "Exists" }, { effect: 1, bogus: true }, "NoSchedule"],
    false,
  ],
  [
    "array of objects with bad items (volumeMounts)",
    [...CONTAINER, "volumeMounts"],
    [{ name: 1 }, { mountPath: "/x" }],
    false,
  ],
  [
    "unknown field in an init container",
    [...DEPLOYMENT, "initContainers"],
    [{ name: "init", image: "x", imagePullPolcy: "Always" }],
    false,
  ],
  [
    "unknown field in the Service spec",
    ["spec", "provider", "kubernetes", "envoyService", "loadBalancerClas"],
    "x",
    false,
  ],
];

/** An EnvoyProxy broken each DEEP_CASES way, and then every bad way at once. */
function deepCases(base: unknown): [string, unknown, boolean][] {
  const each = DEEP_CASES.map(([what, path, value, valid]): [string, unknown, boolean] => [
    what,
    withValue(base, path, value),
    valid,
  ]);
  const all = DEEP_CASES.filter(([, , , valid]) => !valid).reduce(
    (o, [, path, value]) => withValue(o, path, value),
    base,
  );
  return [...each, ["every deep break at once", all, false]];
}

describe("precompiled CRD validators", () => {
  it("are what Ajv generates today from the vendored schemas (npm run crd-validators)", () => {
    const expected = allValidatorSources();
    expect(expected.size).toBeGreaterThanOrEqual(3);
    for (const [file, source] of expected) {
      expect(fs.existsSync(file), `${file} missing: run npm run crd-validators`).toBe(true);
      expect(fs.readFileSync(file, "utf8") === source, `${file} is stale`).toBe(true);
    }
    // No module left over from a kind the vendored schemas no longer have.
    for (const file of Object.values(CRD_SCHEMA_FILES)) {
      const dir = path.join(SCHEMAS_DIR, file.replace(/\.json$/, ""));
      const onDisk = fs
        .readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.join(e.parentPath, e.name));
      expect(onDisk.sort()).toEqual([...expected.keys()].filter((f) => f.startsWith(dir)).sort());
    }
  });

  it.each(STACKS)(
    "give the verdict and errors of a run-time compiled validator on %s's objects and broken copies",
    async (stack) => {
      const objects = kubernetesObjects(await renderStack(stack)).filter(isVendored);
      expect(objects.length).toBeGreaterThan(0);
      for (const o of objects) {
        const reference = runtimeValidator(o);
        const precompiled = precompiledValidator(o);
        const label = `${o.kind} ${o.metadata.name ?? ""}`;
        expect(verdict(precompiled, o), label).toEqual(verdict(reference, o));
        for (const broken of brokenCopies(o)) {
          const fast = verdict(precompiled, broken);
          expect(fast.valid, label).toBe(false);
          expect(fast, label).toEqual(verdict(reference, broken));
        }
      }
    },
  );

  it("agree with the unsplit validator on EnvoyProxy objects broken deep inside", async () => {
    const [production] = kubernetesObjects(await renderStack("production")).filter(
      (o) => o.kind === ENVOY_PROXY.kind,
    );
    const minimal: KubernetesObject = {
      ...ENVOY_PROXY,
      metadata: { name: "p" },
      spec: { provider: { type: "Kubernetes" } },
    };
    const reference = runtimeValidator(production);
    const precompiled = precompiledValidator(production);
    for (const base of [production, minimal])
      for (const [what, broken, valid] of deepCases(base)) {
        const fast = verdict(precompiled, broken);
        expect(fast.valid, what).toBe(valid);
        expect(fast, what).toEqual(verdict(reference, broken));
      }
  });

  it("split EnvoyProxy: a function per object subschema; a changed def is caught", async () => {
    const schema = crdJsonSchema(ENVOY_PROXY.apiVersion, ENVOY_PROXY.kind)!;
    const split = splitSchema(schema);
    const defs = split.$defs as Record<string, Record<string, unknown>>;
    expect(Object.keys(defs).length).toBeGreaterThan(100);
    const file = validatorModulePath(ENVOY_PROXY.apiVersion, ENVOY_PROXY.kind)!;
    // One function per def plus the root: none inlined (inlineRefs: false).
    const functions = fs.readFileSync(file, "utf8").match(/function validate\d+\(/g) ?? [];
    expect(functions.length).toBe(Object.keys(defs).length + 1);

    // The comparison above can fail: a split that loses one def's additionalProperties: false
    // (the emptyDir one) gives a different verdict on the planted bad volume.
    const sabotaged = structuredClone(split);
    const emptyDir = Object.values(sabotaged.$defs as Record<string, Record<string, unknown>>).find(
      (d) => Object.keys(d.properties as object).join() === "medium,sizeLimit",
    );
    expect(emptyDir?.additionalProperties).toBe(false);
    delete emptyDir!.additionalProperties;
    const broken = new Ajv({ ...AJV_OPTIONS, inlineRefs: false }).compile(sabotaged) as Validate;
    const [production] = kubernetesObjects(await renderStack("production")).filter(
      (o) => o.kind === ENVOY_PROXY.kind,
    );
    const reference = runtimeValidator(production);
    const [, volume] = deepCases(production)[0];
    expect(verdict(broken, volume)).not.toEqual(verdict(reference, volume));
    expect(verdict(broken, volume).valid).toBe(true);
  });

  it("reject an unknown field through validateObjects, naming the field", async () => {
    const envoyProxy: KubernetesObject = {
      apiVersion: "gateway.envoyproxy.io/v1alpha1",
      kind: "EnvoyProxy",
      metadata: { name: "proxy", namespace: "ns" },
      spec: { provider: { type: "Kubernetes" }, notAField: 1 },
    };
    const result = await validateObjects([envoyProxy]);
    expect(result.validated).toBe(0);
    expect(result.errors).toEqual([
      {
        object: "EnvoyProxy ns/proxy",
        message: "/spec must NOT have additional properties (notAField)",
      },
    ]);
  });

  it("has no validator for a kind or version the vendored schemas lack", async () => {
    const unknown = [
      { apiVersion: "gateway.envoyproxy.io/v1alpha1", kind: "NotAKind" },
      { apiVersion: "gateway.envoyproxy.io/v9", kind: "EnvoyProxy" },
    ].map((t): KubernetesObject => ({ ...t, metadata: { name: "x" } }));
    const result = await validateObjects(unknown);
    expect(result.unmodelled).toEqual([
      "gateway.envoyproxy.io/v1alpha1 NotAKind",
      "gateway.envoyproxy.io/v9 EnvoyProxy",
    ]);
  });
});
