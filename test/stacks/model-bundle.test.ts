/**
 * schemas/kubernetes-models.cjs (scripts/model-bundle.ts): the published models of the kinds the
 * stacks render, bundled into one file so validation does not pay Node's ESM loader for ~575
 * modules. It must be the installed packages' code, current, and validate exactly as each
 * kind's own modules do, verdicts and messages.
 */
import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import type { KubernetesObject } from "../../scripts/manifests";
import { bundleModels, bundledKinds } from "../../scripts/model-bundle";
import {
  MODEL_BUNDLE,
  bundledModels,
  kindModelOf,
  modelOf,
  validateObjects,
} from "../../scripts/validate";
import { KINDS_THE_STACKS_RENDER } from "../../scripts/validation-worker";
import { listStacks, objectsOf } from "../harness";

/** Each object broken three ways: a wrong type, an unknown field, a map that is a string. */
function broken(object: KubernetesObject): KubernetesObject[] {
  const { metadata } = object;
  return [
    { ...object, metadata: { ...metadata, name: 42 as unknown as string } },
    { ...object, spec: { ...(object.spec as object), notAField: true } },
    { ...object, metadata: { ...metadata, labels: "app=x" as unknown as Record<string, string> } },
  ];
}

describe("the bundled schema models", () => {
  it("are a fresh bundle of the installed packages (else: npm run model-bundle)", () => {
    expect(fs.existsSync(MODEL_BUNDLE), `${MODEL_BUNDLE} missing: run npm run model-bundle`).toBe(
      true,
    );
    const fresh = bundleModels();
    expect(fs.readFileSync(MODEL_BUNDLE, "utf8") === fresh, "stale: run npm run model-bundle").toBe(
      true,
    );
  }, 60_000);

  it("hold every kind the stacks render that has a published model, and nothing else", () => {
    const bundled = bundledModels();
    expect(bundled).not.toBeNull();
    const keys = Object.keys(bundled ?? {}).sort();
    expect(keys).toEqual(Object.keys(bundledKinds()).sort());
    expect(keys).toContain("apps/v1 Deployment");
    expect(keys).toContain("postgresql.cnpg.io/v1 Cluster");
    // Envoy Gateway has precompiled validators of its own; Velero publishes no model.
    const listed = KINDS_THE_STACKS_RENDER.map(([apiVersion, kind]) => `${apiVersion} ${kind}`);
    expect(listed.filter((k) => !keys.includes(k)).sort()).toEqual([
      "gateway.envoyproxy.io/v1alpha1 BackendTrafficPolicy",
      "gateway.envoyproxy.io/v1alpha1 ClientTrafficPolicy",
      "gateway.envoyproxy.io/v1alpha1 EnvoyProxy",
      "velero.io/v1 Schedule",
    ]);
  });

  it("validate every rendered object, and broken ones, exactly as each kind's own modules", async () => {
    const objects: KubernetesObject[] = [];
    for (const stack of listStacks()) objects.push(...(await objectsOf(stack)));
    const all = [...objects, ...objects.flatMap(broken)];
    const fromBundle = await validateObjects(all, modelOf);
    const fromModules = await validateObjects(all, kindModelOf);
    expect(fromBundle.errors.length).toBeGreaterThan(objects.length);
    expect(fromBundle).toEqual(fromModules);
    const deployment = objects.find((o) => o.kind === "Deployment") as KubernetesObject;
    expect(await modelOf(deployment)).toBe(bundledModels()?.["apps/v1 Deployment"]);
    expect(await kindModelOf(deployment)).not.toBe(await modelOf(deployment));
  }, 120_000);
});
