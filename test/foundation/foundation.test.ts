import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../scripts/offline";
import { STACKS, findObject, objectsOf, ofKind, ofType, parentOf, renderStack } from "../harness";

const NAMESPACES = {
  dev: ["octollm-dev-system", "octollm-dev", "octollm-dev-reflex"],
  staging: ["octollm-staging-system", "octollm-staging", "octollm-staging-reflex"],
  production: ["octollm-system", "octollm-production", "octollm-production-reflex"],
} as const;

describe("Pulumi project", () => {
  it("disables the default Kubernetes provider so nothing lands on whatever KUBECONFIG points at", () => {
    const project = parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as Record<
      string,
      any
    >;
    expect(project.name).toBe("octollm");
    // No per-run type-checking (README, "Fast previews"); test/stacks/pulumi-runtime.test.ts runs it.
    expect(project.runtime).toMatchObject({
      name: "nodejs",
      options: { typescript: false, nodeargs: "--require ./scripts/register.cjs" },
    });
    expect(project.config["pulumi:disable-default-providers"].value).toContain("kubernetes");
  });
});

describe.each(STACKS)("foundation tier on %s", (stack) => {
  it("registers one explicit Kubernetes provider, and every Kubernetes resource uses it", async () => {
    const run = await renderStack(stack);
    const providers = ofType(run, "pulumi:providers:kubernetes");
    expect(providers).toHaveLength(1);
    const contexts = {
      dev: "kind-octollm",
      staging: "octollm-staging",
      production: "octollm-production",
    };
    // Provider inputs travel as strings through the engine, hence the "true".
    expect(providers[0].inputs).toMatchObject({
      context: contexts[stack],
      enableServerSideApply: "true",
    });
    const providerRef = `${providers[0].urn}::${providers[0].name}-id`;
    const k8sResources = run.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
    expect(k8sResources.length).toBeGreaterThan(10);
    for (const r of k8sResources) expect(r.provider, `${r.type} ${r.name}`).toBe(providerRef);
  });

  it("creates the stack's namespaces with Pod Security Admission labels", async () => {
    const objects = await objectsOf(stack);
    const [system, workloads, reflex] = NAMESPACES[stack];
    for (const name of [system, workloads]) {
      expect(findObject(objects, "Namespace", name).metadata.labels).toMatchObject({
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
      });
    }
    expect(findObject(objects, "Namespace", reflex).metadata.labels).toMatchObject({
      "pod-security.kubernetes.io/enforce": "privileged",
      "pod-security.kubernetes.io/audit": "restricted",
      "pod-security.kubernetes.io/warn": "restricted",
    });
  });

  it("gives each namespace a quota, a LimitRange, default-deny and DNS egress", async () => {
    const objects = await objectsOf(stack);
    for (const ns of NAMESPACES[stack]) {
      const quota = findObject(objects, "ResourceQuota", "octollm-quota", ns) as Record<
        string,
        any
      >;
      expect(Object.keys(quota.spec.hard).sort()).toEqual(
        [
          "limits.cpu",
          "limits.memory",
          "persistentvolumeclaims",
          "pods",
          "requests.cpu",
          "requests.memory",
          "requests.storage",
        ].sort(),
      );
      const limits = findObject(objects, "LimitRange", "octollm-limits", ns) as Record<string, any>;
      expect(limits.spec.limits[0]).toMatchObject({
        type: "Container",
        maxLimitRequestRatio: { cpu: "4", memory: "4" },
      });
      const deny = findObject(objects, "NetworkPolicy", "default-deny", ns) as Record<string, any>;
      expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
      const dns = findObject(objects, "NetworkPolicy", "allow-dns-egress", ns) as Record<
        string,
        any
      >;
      expect(dns.spec.egress[0].ports).toEqual([
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
      ]);
    }
  });

  it("creates an encrypted, retained, expandable StorageClass bound on first consumer", async () => {
    const objects = await objectsOf(stack);
    const [sc] = ofKind(objects, "StorageClass") as Record<string, any>[];
    expect(sc).toMatchObject({
      reclaimPolicy: "Retain",
      allowVolumeExpansion: true,
      volumeBindingMode: "WaitForFirstConsumer",
    });
    // EBS (staging, production) encrypts by parameter; kind's local-path takes none (a host
    // directory, encrypted only with the host's disk).
    if (stack === "dev") expect(sc.parameters ?? {}).toEqual({});
    else expect(sc.parameters.encrypted).toBe("true");
    expect(sc.metadata.name).toBe(
      stack === "production"
        ? "octollm-fast-ssd"
        : stack === "staging"
          ? "octollm-staging-fast-ssd"
          : "octollm-dev-local",
    );
  });

  it("generates credentials into Secrets via stringData, never in clear", async () => {
    const run = await renderStack(stack);
    const secrets = ofKind(await objectsOf(stack), "Secret") as Record<string, any>[];
    const names = secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`);
    const [system, workloads, reflex] = NAMESPACES[stack];
    expect(names).toEqual(
      expect.arrayContaining([
        `${workloads}/postgres-owner-credentials`,
        `${workloads}/octollm-database`,
        `${workloads}/redis-credentials`,
        `${reflex}/redis-credentials`,
        `${workloads}/qdrant-credentials`,
        `${workloads}/octollm-jwt`,
        `${workloads}/llm-credentials`,
        `${system}/grafana-admin`,
      ]),
    );
    for (const s of secrets) {
      expect(s.data).toBeUndefined();
      for (const value of Object.values(s.stringData ?? {}))
        if (value !== "<redacted>") expect(s.type).toBe("kubernetes.io/tls");
    }
    const passwords = ofType(run, "random:index/randomPassword:RandomPassword");
    expect(passwords.map((p) => p.inputs.length)).toEqual(expect.arrayContaining([32, 48, 64]));
    expect(JSON.stringify(run.resources)).not.toMatch(/mock-octollm-secrets-[a-z-]+-x{8}/);
  });

  it("warns (and does not invent a value) when LLM provider keys are missing", async () => {
    const run = await renderStack(stack);
    expect(run.warnings).toContainEqual(
      expect.stringMatching(
        /LLM provider "openai" has no API key.*pulumi config set --secret --path 'octollm:secrets.llmApiKeys.openai'/,
      ),
    );
    const llm = findObject(await objectsOf(stack), "Secret", "llm-credentials") as Record<
      string,
      any
    >;
    expect(llm.stringData).toEqual({});
  });

  it("follows Pulumi's component conventions", async () => {
    const run = await renderStack(stack);
    const foundation = ofType(run, "octollm:foundation:Foundation");
    expect(foundation).toHaveLength(1);
    expect(parentOf(run, foundation[0])?.type).toBe("octollm:platform:OctoLLMPlatform");
    // Operator namespaces belong to the tier that installs the operator; the stack's three are the foundation's.
    const namespaces = ofType(run, "kubernetes:core/v1:Namespace").filter((n) =>
      (NAMESPACES[stack] as readonly string[]).includes(
        (n.inputs.metadata as { name: string }).name,
      ),
    );
    expect(namespaces).toHaveLength(3);
    for (const n of namespaces)
      expect(parentOf(run, n)?.type).toBe("octollm:foundation:Foundation");
    for (const r of run.resources) {
      if (r.type === "octollm:platform:OctoLLMPlatform") continue;
      expect(r.parent, `${r.type} ${r.name} has a parent`).toBeTruthy();
    }
  });
});

describe("data safety of the foundation", () => {
  it.each(STACKS)(
    "protects namespaces and the StorageClass only where data is protected (%s)",
    async (stack) => {
      const run = await renderStack(stack);
      const guarded = [
        ...ofType(run, "kubernetes:core/v1:Namespace"),
        ...ofType(run, "kubernetes:storage.k8s.io/v1:StorageClass"),
      ].filter((r) => parentOf(run, r)?.type === "octollm:foundation:Foundation");
      expect(guarded).toHaveLength(4);
      for (const r of guarded) {
        expect(r.protect, r.name).toBe(stack === "production");
        expect(r.retainOnDelete, r.name).toBe(stack === "production");
      }
    },
  );
});

describe("LLM keys from secret config", () => {
  it("puts configured keys into the Secret, redacted in every output", async () => {
    const run = await renderStack("production", {
      "octollm:secrets": { llmApiKeys: { openai: "sk-test-abcdef0123456789" } },
    });
    expect(run.warnings.some((w) => w.includes('"openai"'))).toBe(false);
    expect(run.warnings.some((w) => w.includes('"anthropic"'))).toBe(true);
    expect(JSON.stringify(run)).not.toContain("sk-test-abcdef0123456789");
  });
});

describe("private CA for dev and staging", () => {
  it.each(["dev", "staging"])(
    "%s gets a TLS Secret where the edge reads it (beside the Gateway; both backend namespaces for Ingress objects) and a CA bundle",
    async (stack) => {
      const secretsIn = async (overrides?: Record<string, unknown>) => {
        const objects = await objectsOf(stack, overrides);
        const tls = ofKind(objects, "Secret").filter((s) => s.metadata.name === "octollm-tls");
        expect((tls[0] as Record<string, any>).stringData["tls.key"]).toBe("<redacted>");
        expect(findObject(objects, "ConfigMap", "octollm-ca").data).toHaveProperty("ca.crt");
        return tls.map((s) => s.metadata.namespace).sort();
      };
      expect(await secretsIn()).toEqual([`octollm-${stack}-system`]);
      expect(await secretsIn({ "octollm:ingress": { kind: "ingress" } })).toEqual([
        `octollm-${stack}`,
        `octollm-${stack}-reflex`,
      ]);
    },
  );

  it("takes the CA and server certificate lifetimes from config (a 1-year server cert, renewed in its last 30 days)", async () => {
    const run = await renderStack("staging");
    const [ca] = ofType(run, "tls:index/selfSignedCert:SelfSignedCert");
    const [server] = ofType(run, "tls:index/locallySignedCert:LocallySignedCert");
    // defaults: CA 3650 days; server 365 days, early renewal 30 days; the CA renews early
    // enough to outlive the last server certificate it signs (365 + 30 days).
    expect([ca.inputs.validityPeriodHours, ca.inputs.earlyRenewalHours]).toEqual([
      3650 * 24,
      395 * 24,
    ]);
    expect([server.inputs.validityPeriodHours, server.inputs.earlyRenewalHours]).toEqual([
      365 * 24,
      30 * 24,
    ]);
    const custom = await renderStack("dev", {
      "octollm:ingress": {
        tls: { privateCa: { caValidityDays: 1000, serverValidityDays: 90, renewBeforeDays: 20 } },
      },
    });
    const [customServer] = ofType(custom, "tls:index/locallySignedCert:LocallySignedCert");
    expect([
      customServer.inputs.validityPeriodHours,
      customServer.inputs.earlyRenewalHours,
    ]).toEqual([90 * 24, 20 * 24]);
  });

  it("production uses ACME instead (no private CA)", async () => {
    const run = await renderStack("production");
    expect(ofType(run, "tls:index/selfSignedCert:SelfSignedCert")).toHaveLength(0);
  });
});
