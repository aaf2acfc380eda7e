/**
 * The render validates each object with the model of its kind, loading only that kind's module
 * (scripts/validate.ts#kindModelOf), where it used to load the whole API group's index. This holds
 * that lookup to the reference one (the group index, groupModelOf) over every object of every
 * stack: the same model class, hence the same schema and the same verdict, and the same report;
 * and the render's lookup (modelOf: the bundle of those modules, test/stacks/model-bundle.test.ts)
 * to the same reports. It compares lookups of today's objects, so new kinds and features need no
 * golden file.
 */
import { describe, expect, it } from "vitest";
import type { KubernetesObject } from "../../scripts/manifests";
import { kubernetesObjects } from "../../scripts/manifests";
import { groupModelOf, kindModelOf, modelOf, validateObjects } from "../../scripts/validate";
import { STACKS, renderStack } from "../harness";

function object(apiVersion: string, kind: string, spec: unknown = {}): KubernetesObject {
  return { apiVersion, kind, metadata: { name: "x", namespace: "ns" }, spec };
}

describe.each(STACKS)("schema validation of the %s stack, per kind", (stack) => {
  it("uses the same model class as the group index for every object", async () => {
    const objects = kubernetesObjects(await renderStack(stack));
    expect(objects.length).toBeGreaterThan(20);
    for (const o of objects) {
      const reference = await groupModelOf(o);
      expect(await kindModelOf(o), `${o.apiVersion} ${o.kind}`).toBe(reference);
    }
  });

  it("reports exactly what validation through the group index reports", async () => {
    const objects = kubernetesObjects(await renderStack(stack));
    const fast = await validateObjects(objects);
    const reference = await validateObjects(objects, groupModelOf);
    expect(fast).toEqual(reference);
  });
});

describe("per-kind model lookup", () => {
  it("agrees with the group index on invalid objects: same class, same error", async () => {
    // A Deployment without a selector and a Service with a string port fail their schemas.
    const broken = [
      object("apps/v1", "Deployment", { template: {} }),
      object("v1", "Service", { ports: [{ port: "http" }] }),
    ];
    const fast = await validateObjects(broken);
    const reference = await validateObjects(broken, groupModelOf);
    expect(fast.errors).toHaveLength(2);
    expect(fast).toEqual(reference);
    for (const o of broken) expect(await kindModelOf(o)).toBe(await groupModelOf(o));
  });

  it("finds no model where the group index has none (unknown kind, unmodelled group)", async () => {
    for (const o of [
      object("v1", "NotAKind"),
      object("apps/v1", "Service"),
      object("velero.io/v1", "Schedule"),
      object("v1", "../apps/v1/Deployment"),
    ]) {
      expect(await groupModelOf(o), `${o.apiVersion} ${o.kind}`).toBeUndefined();
      expect(await modelOf(o), `${o.apiVersion} ${o.kind}`).toBeUndefined();
      expect(await kindModelOf(o), `${o.apiVersion} ${o.kind}`).toBeUndefined();
    }
  });
});
