/**
 * The pack as `pulumi preview --policy-pack policies` loads it: policies/index.ts constructs one
 * PolicyPack with the very array the tests and the offline render evaluate.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { parse as parseYaml } from "yaml";
import type * as PolicyModule from "@pulumi/policy";

const constructed = vi.hoisted(
  () => [] as { name: string; args: { policies: unknown[]; enforcementLevel?: string } }[],
);
vi.mock("@pulumi/policy", async (importOriginal) => {
  const actual = await importOriginal<typeof PolicyModule>();
  return {
    ...actual,
    // The real constructor starts the analyzer's gRPC server; record the call instead.
    PolicyPack: vi.fn(function PolicyPack(name: string, args: { policies: unknown[] }) {
      constructed.push({ name, args });
    }),
  };
});

import { policies, PACK_NAME } from "../../policies/policies";
import { loadPolicyConfig, reconcileConfig } from "../../policies/evaluate";
import { EXEMPTIBLE_POLICIES } from "../../policies/lib/exemptions";
import { parsePlatformConfig } from "../../components/config";
import { loadStackConfig } from "../../scripts/offline";

const POLICIES_DIR = path.join(__dirname, "..", "..", "policies");

describe("policies/index.ts", () => {
  it("constructs exactly one PolicyPack named octollm-platform with the shared policies array", async () => {
    await import("../../policies/index");
    expect(constructed).toHaveLength(1);
    expect(constructed[0].name).toBe(PACK_NAME);
    expect(PACK_NAME).toBe("octollm-platform");
    expect(constructed[0].args.policies).toBe(policies);
  });

  it("is the only file that constructs the pack", () => {
    const files = fs.readdirSync(POLICIES_DIR, { recursive: true }) as string[];
    const constructing = files
      .filter((f) => f.endsWith(".ts"))
      .filter((f) =>
        fs.readFileSync(path.join(POLICIES_DIR, f), "utf8").includes("new PolicyPack("),
      );
    expect(constructing).toEqual(["index.ts"]);
  });

  it("has the PulumiPolicy.yaml and package version the CLI needs", () => {
    const manifest = parseYaml(
      fs.readFileSync(path.join(POLICIES_DIR, "PulumiPolicy.yaml"), "utf8"),
    ) as Record<string, string>;
    expect(manifest.runtime).toBe("nodejs");
    expect(manifest.description).toMatch(/\w/);
    // PolicyPack's constructor refuses to start without a version in ./package.json.
    const pkg = JSON.parse(fs.readFileSync(path.join(POLICIES_DIR, "package.json"), "utf8")) as {
      version?: string;
    };
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("policies", () => {
  it("have unique kebab-case names, a description, an enforcement level and one validation", () => {
    const names = policies.map((p) => p.name);
    expect(new Set(names).size).toBe(names.length);
    for (const p of policies) {
      expect(p.name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(p.description.length).toBeGreaterThan(20);
      expect(["advisory", "mandatory"]).toContain(p.enforcementLevel);
      const hasResource = "validateResource" in p && p.validateResource !== undefined;
      const hasStack = "validateStack" in p && typeof p.validateStack === "function";
      expect(hasResource !== hasStack).toBe(true);
      // The CLI rejects enforcementLevel inside a config schema.
      expect(Object.keys(p.configSchema?.properties ?? {})).not.toContain("enforcementLevel");
    }
  });

  it("cover every rule family of the issue", () => {
    expect(policies.map((p) => p.name).sort()).toEqual(
      [
        "backend-references",
        "cloudnative-pg-admission",
        "cluster-fit-at-peak",
        "config-references",
        "container-probes",
        "container-resources",
        "gateway-references",
        "hpa-sanity",
        "image-registry-allowed",
        "image-tag-pinned",
        "ingress-tls",
        "limit-request-ratio",
        "namespace-guardrails",
        "network-policy-peers",
        "no-secret-literals-in-env",
        "no-secrets-in-configmaps",
        "pdb-coverage",
        "pod-anti-affinity",
        "pod-security-standards",
        "prometheus-rules",
        "quota-capacity-at-peak",
        "quota-headroom-at-peak",
        "read-only-root-filesystem",
        "rolling-update-keeps-capacity",
        "selectors-match",
        "service-account-token",
        "service-type-allowed",
        "velero-schedule",
        "workload-replicas",
        "unique-object-identity",
        "one-hpa-per-target",
        "api-version-removed",
        "api-version-deprecated",
        "rbac-cluster-admin",
        "rbac-least-privilege",
      ].sort(),
    );
  });

  it("name only existing policies as exemptible", () => {
    const names = new Set(policies.map((p) => p.name));
    for (const e of EXEMPTIBLE_POLICIES) expect(names.has(e)).toBe(true);
    expect(EXEMPTIBLE_POLICIES.has("pod-security-standards")).toBe(true);
    expect(EXEMPTIBLE_POLICIES.has("quota-capacity-at-peak")).toBe(false);
    expect(EXEMPTIBLE_POLICIES.has("container-resources")).toBe(false);
  });
});

describe("policies/config/<stack>.json", () => {
  const stacks = ["dev", "staging", "production"] as const;

  it.each(stacks)("%s is valid against every policy's configSchema", (stack) => {
    expect(() => reconcileConfig(loadPolicyConfig(stack))).not.toThrow();
  });

  it.each(["staging", "production"] as const)(
    "%s enforces security, resources and capacity as mandatory",
    (stack) => {
      const levels = new Map(
        reconcileConfig(loadPolicyConfig(stack)).map((r) => [r.policy.name, r.enforcementLevel]),
      );
      for (const name of [
        "pod-security-standards",
        "read-only-root-filesystem",
        "service-account-token",
        "container-resources",
        "limit-request-ratio",
        "quota-capacity-at-peak",
        "workload-replicas",
        "pdb-coverage",
      ])
        expect(levels.get(name), name).toBe("mandatory");
    },
  );

  it("dev relaxes only what a one-node laptop cluster cannot meet", () => {
    const levels = new Map(
      reconcileConfig(loadPolicyConfig("dev")).map((r) => [r.policy.name, r.enforcementLevel]),
    );
    expect(levels.get("workload-replicas")).toBe("advisory");
    expect(levels.get("pod-anti-affinity")).toBe("advisory");
    expect(levels.get("pdb-coverage")).toBe("advisory");
    expect(levels.get("network-policy-peers")).toBe("advisory");
    for (const name of [
      "pod-security-standards",
      "container-resources",
      "quota-capacity-at-peak",
      "image-tag-pinned",
    ])
      expect(levels.get(name), name).toBe("mandatory");
  });

  it.each(stacks)("%s nodeCount agrees with the stack's kubernetes.nodeCount", (stack) => {
    const platform = parsePlatformConfig(loadStackConfig(stack));
    const capacity = reconcileConfig(loadPolicyConfig(stack)).find(
      (r) => r.policy.name === "quota-capacity-at-peak",
    );
    expect(capacity?.config.nodeCount).toBe(platform.kubernetes.nodeCount);
  });

  it("production and staging allow only the registries the program pulls from", () => {
    for (const stack of ["staging", "production"]) {
      const registries = reconcileConfig(loadPolicyConfig(stack)).find(
        (r) => r.policy.name === "image-registry-allowed",
      );
      expect(registries?.config.allowedRegistries).toEqual([
        "docker.io",
        "ghcr.io",
        "quay.io",
        "registry.k8s.io",
      ]);
    }
  });
});
