import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { describe, expect, it } from "vitest";
import { loadStackConfig, mockState } from "../../scripts/offline";
import { renderStack } from "../harness";

const { waitForRPCs } = settings as unknown as { waitForRPCs: () => Promise<void> };

describe("index.ts", () => {
  it("registers exactly what the harness and the offline render register (one code path)", async () => {
    const viaHarness = await renderStack("production");

    const registered = new Set<string>();
    delete process.env.KUBECONFIG;
    pulumi.runtime.setAllConfig(loadStackConfig("production"), []);
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered.add(`${args.type}::${args.name}`);
          // The render's own answers: generated passwords and keys have values to derive from.
          return { id: `${args.name}-id`, state: mockState(args) };
        },
        call: (args) => args.inputs as Record<string, unknown>,
      },
      "octollm",
      "production",
      false,
    );
    const program = (await import("../../index")) as Record<string, unknown>;
    await waitForRPCs();

    expect(registered).toEqual(new Set(viaHarness.resources.map((r) => `${r.type}::${r.name}`)));
    expect(program.environment).toBe("production");
    // Every output buildPlatform() returns is a stack output.
    expect(Object.keys(program).sort()).toEqual(Object.keys(viaHarness.outputs).sort());
  });
});

describe("invalid configuration", () => {
  it("fails before any resource is registered", async () => {
    const { buildPlatform } = await import("../../components/program");
    const { ConfigError } = await import("../../components/config");
    let registered = 0;
    pulumi.runtime.setAllConfig(
      { ...loadStackConfig("production"), "octollm:orchestrator": JSON.stringify({ replicas: 0 }) },
      [],
    );
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => {
          registered++;
          return { id: `${args.name}-id`, state: args.inputs as Record<string, unknown> };
        },
        call: (args) => args.inputs as Record<string, unknown>,
      },
      "octollm",
      "production",
      false,
    );
    expect(() => buildPlatform()).toThrow(ConfigError);
    await waitForRPCs();
    expect(registered).toBe(0);
  });
});
