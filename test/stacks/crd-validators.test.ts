/**
 * The render checks Envoy Gateway's kinds with Ajv validators precompiled from the vendored CRD
 * schemas (scripts/crd-validators.ts) instead of generating them on first use. This holds the
 * checked-in modules to what Ajv generates today from the vendored schemas (so a schema update
 * without `npm run crd-validators` fails here), and their verdicts and error messages to those of
 * a validator compiled at run time, on every such object of every stack and on broken copies.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import { describe, expect, it } from "vitest";
import { AJV_OPTIONS, allValidatorSources, crdJsonSchema } from "../../scripts/crd-validators";
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

/** Verdict and errors of a validator, as plain data. */
function verdict(validate: Validate, data: unknown): { valid: boolean; errors: unknown } {
  const valid = validate(data);
  return { valid, errors: structuredClone(validate.errors ?? null) };
}

function runtimeValidator(o: KubernetesObject): Validate {
  const schema = crdJsonSchema(o.apiVersion, o.kind);
  if (!schema) throw new Error(`no vendored schema for ${o.apiVersion} ${o.kind}`);
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
