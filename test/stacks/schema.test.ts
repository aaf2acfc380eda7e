import { describe, expect, it } from "vitest";
import { kubernetesObjects, toYaml } from "../../scripts/manifests";
import { redactSecrets } from "../../scripts/offline";
import { validateObjects } from "../../scripts/validate";
import { KINDS_THE_STACKS_RENDER } from "../../scripts/validation-worker";
import { STACKS, listStacks, renderStack } from "../harness";

/** Kinds whose operators publish no schema package; their fields are checked by their tier's tests. */
const UNMODELLED_ALLOWED = new Set(["velero.io/v1 Schedule", "velero.io/v1 BackupStorageLocation"]);

describe.each(STACKS)("rendered %s stack", (stack) => {
  it("validates every object against the published Kubernetes and operator schemas", async () => {
    const objects = kubernetesObjects(await renderStack(stack));
    const result = await validateObjects(objects);
    expect(result.errors).toEqual([]);
    expect(result.unmodelled.filter((k) => !UNMODELLED_ALLOWED.has(k))).toEqual([]);
    expect(result.validated).toBeGreaterThan(20);
  });

  it("puts one object per document, each with apiVersion, kind and a name", async () => {
    const objects = kubernetesObjects(await renderStack(stack));
    for (const o of objects) {
      expect(o.apiVersion, JSON.stringify(o.metadata)).toBeTruthy();
      expect(o.kind).toBeTruthy();
      expect(o.metadata.name, `${o.kind} has an explicit name`).toBeTruthy();
    }
    expect(toYaml(objects).split(/^---$/m)).toHaveLength(objects.length);
  });

  it("never writes a generated secret, a private key or a configured key in clear", async () => {
    const run = await renderStack(stack, {
      "octollm:secrets": {
        llmApiKeys: { openai: "sk-live-0123456789abcdef" },
        alerting: { pagerUrl: "https://pager.example.com/hook/s3cr3t" },
      },
    });
    const everything = JSON.stringify(run) + toYaml(kubernetesObjects(run));
    expect(everything).not.toMatch(/mock-octollm[a-z0-9-]*-x{8}/); // RandomPassword results
    expect(everything).not.toContain("BEGIN PRIVATE KEY");
    expect(everything).not.toContain("sk-live-0123456789abcdef");
    expect(everything).not.toContain("s3cr3t");
  });
});

describe("the validation thread's list of kinds to load before the program names them", () => {
  it("is exactly the kinds the stack files render", async () => {
    const rendered = new Set<string>();
    for (const stack of listStacks())
      for (const o of kubernetesObjects(await renderStack(stack)))
        rendered.add(`${o.apiVersion} ${o.kind}`);
    const listed = KINDS_THE_STACKS_RENDER.map(([apiVersion, kind]) => `${apiVersion} ${kind}`);
    expect(listed).toHaveLength(new Set(listed).size);
    expect(new Set(listed)).toEqual(rendered);
  });
});

describe("redaction", () => {
  it("unwraps Pulumi secrets at any depth and keeps their shape", () => {
    const sig = "4dabf18193072939515e22adb298388d";
    const secret = (value: unknown) => ({ [sig]: "1b47061264138c4ac30d75fd1eb44270", value });
    expect(
      redactSecrets({
        a: 1,
        b: { c: secret("pw"), d: [secret({ e: "x", f: [secret("y")] })] },
        g: secret({ key: "v" }),
      }),
    ).toEqual({
      a: 1,
      b: { c: "<redacted>", d: [{ e: "<redacted>", f: ["<redacted>"] }] },
      g: { key: "<redacted>" },
    });
  });
});
