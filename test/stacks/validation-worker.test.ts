/**
 * The render's validation thread (scripts/validation-worker.ts) validates each Kubernetes object
 * and writes its YAML as the program registers it. What it returns must be what the serial path
 * computes from the finished objects (validateObjects, toYaml), errors included, in order; and a
 * render whose count disagrees with the thread's must fail rather than report a partial stack.
 */
import { describe, expect, it } from "vitest";
import { kubernetesObjects, toYaml } from "../../scripts/manifests";
import type { KubernetesObject } from "../../scripts/manifests";
import { validateObjects } from "../../scripts/validate";
import { ValidationWorker } from "../../scripts/validation-worker";
import { renderStack } from "../harness";

const thread = new ValidationWorker({});

describe("the render's validation thread", () => {
  it("returns, object by object, what the serial path computes from the whole stack", async () => {
    const objects: KubernetesObject[] = [
      ...kubernetesObjects(await renderStack("production")),
      // An invalid object and one with no published model, among the valid ones.
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "bad" },
        spec: { replicas: "three" },
      },
      { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } },
    ];
    const stream = thread.stream();
    for (const object of objects) stream.add(object);
    const manifests = await stream.finish(objects.length);
    const serial = await validateObjects(objects);
    expect(serial.errors).toHaveLength(1);
    expect(serial.unmodelled).toContain("example.com/v1 Widget");
    expect(manifests.schema).toEqual(serial);
    expect(manifests.yaml).toBe(toYaml(objects));
  }, 60_000);

  it("keeps stacks apart and fails a stack whose count disagrees with the render's", async () => {
    const first = thread.stream();
    const second = thread.stream();
    const namespace = (name: string): KubernetesObject => ({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
    });
    first.add(namespace("a"));
    second.add(namespace("b"));
    second.add(namespace("c"));
    await expect(first.finish(2)).rejects.toThrow(
      "the validation thread got 1 objects; the render has 2",
    );
    const { yaml, schema } = await second.finish(2);
    expect(yaml).toBe(toYaml([namespace("b"), namespace("c")]));
    expect(schema).toEqual({ validated: 2, unmodelled: [], errors: [] });
  }, 60_000);
});
