/**
 * Issue 14 item 14: the optional CloudNativePG Pooler (PgBouncer, type rw): its spec against the
 * CNPG schema, HA (instances ≥ 2, PDB), hardening and resources the policies count, metrics, and
 * the apps' DATABASE_URL through it. The flows are in test/services/network-flows.test.ts.
 */
import { describe, expect, it } from "vitest";
import { databaseUrl } from "../../components/secrets";
import { evaluatePolicies, loadPolicyConfig } from "../../policies/evaluate";
import { validateObjects } from "../../scripts/validate";
import {
  configOf,
  configProblems,
  containerOf,
  envOf,
  findObject,
  kubernetesObjects,
  ofKind,
  renderStack,
  renderedResources,
} from "../harness";

const POOLED = { "octollm:dataStores": { postgres: { pooler: { enabled: true } } } };
const NS = "octollm-production";

describe("pooler: configuration", () => {
  it("is off by default and refuses a single instance", () => {
    expect(configOf("production").dataStores.postgres.pooler.enabled).toBe(false);
    expect(
      configProblems({
        "octollm:dataStores": { postgres: { pooler: { enabled: true, instances: 1 } } },
      }).join("\n"),
    ).toMatch(
      /octollm:dataStores\.postgres\.pooler\.instances: got 1; must be ≥ 2: one PgBouncer is a single point of failure/,
    );
  });

  it("points the apps' DATABASE_URL at the pooler's Service when on", () => {
    expect(databaseUrl(configOf("production", POOLED), "pw")).toBe(
      `postgresql://octollm:pw@postgres-pooler-rw.${NS}.svc.cluster.local:5432/octollm?sslmode=require`,
    );
    expect(databaseUrl(configOf("production"), "pw")).toContain(`@postgres-rw.${NS}.`);
  });
});

describe("pooler: the rendered production stack", () => {
  const run = () => renderStack("production", POOLED);

  it("renders a Pooler of type rw for the Cluster, hardened, pinned and sized", async () => {
    const objects = kubernetesObjects(await run());
    const pooler = findObject(objects, "Pooler", "postgres-pooler-rw", NS) as Record<string, any>;
    expect(pooler.apiVersion).toBe("postgresql.cnpg.io/v1");
    expect(pooler.spec).toMatchObject({
      cluster: { name: "postgres" },
      type: "rw",
      instances: 2,
      pgbouncer: { poolMode: "session" },
      monitoring: { enablePodMonitor: false },
    });
    const c = pooler.spec.template.spec.containers[0];
    expect(c.name).toBe("pgbouncer");
    expect(c.image).toBe("ghcr.io/cloudnative-pg/pgbouncer:1.24.1");
    expect(c.resources).toEqual({
      requests: { cpu: "100m", memory: "64Mi" },
      limits: { cpu: "400m", memory: "256Mi" },
    });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    // Production: one PgBouncer per node, required.
    expect(
      pooler.spec.template.spec.affinity.podAntiAffinity
        .requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels,
    ).toEqual({ "cnpg.io/poolerName": "postgres-pooler-rw" });
  });

  it("validates against the CloudNativePG Pooler schema, and the schema check would catch a bad spec", async () => {
    const objects = kubernetesObjects(await run());
    const pooler = findObject(objects, "Pooler", "postgres-pooler-rw", NS);
    const good = await validateObjects([pooler]);
    expect(good.errors).toEqual([]);
    expect(good.validated).toBe(1);
    const bad = structuredClone(pooler) as Record<string, any>;
    bad.spec.instances = "two";
    expect((await validateObjects([bad as typeof pooler])).errors.length).toBeGreaterThan(0);
  });

  it("has a PDB that keeps one PgBouncer up, and a PodMonitor on its exporter", async () => {
    const objects = kubernetesObjects(await run());
    const pdb = findObject(objects, "PodDisruptionBudget", "postgres-pooler-rw", NS) as Record<
      string,
      any
    >;
    expect(pdb.spec).toEqual({
      selector: { matchLabels: { "cnpg.io/poolerName": "postgres-pooler-rw" } },
      maxUnavailable: 1,
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    });
    const monitor = ofKind(objects, "PodMonitor").find((m) => m.metadata.name === "pgbouncer") as
      Record<string, any> | undefined;
    expect(monitor?.spec.selector).toEqual({
      matchLabels: { "cnpg.io/poolerName": "postgres-pooler-rw" },
    });
    expect(monitor?.spec.podMetricsEndpoints[0].port).toBe("metrics");
  });

  it("composes the apps' URL (existing Secret) through the pooler", async () => {
    const objects = kubernetesObjects(
      await renderStack("production", {
        "octollm:dataStores": {
          postgres: {
            pooler: { enabled: true },
            existingSecret: { name: "pg-owner", key: "password" },
          },
        },
      }),
    );
    const env = envOf(containerOf(findObject(objects, "Deployment", "orchestrator", NS)));
    expect(env.get("DATABASE_URL")?.value).toContain(
      `@postgres-pooler-rw.${NS}.svc.cluster.local:5432/`,
    );
  });

  it("passes every mandatory policy (capacity counts it), and the LimitRange check covers it", async () => {
    const resources = renderedResources(await run());
    const report = await evaluatePolicies(resources, loadPolicyConfig("production"));
    expect(
      report.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.message),
    ).toEqual([]);
    const pooler = resources.find((r) => (r.props as { kind?: string }).kind === "Pooler");
    const c = (pooler?.props as Record<string, any>).spec.template.spec.containers[0];
    c.resources.limits.cpu = "4"; // 40 × the 100m request; the LimitRange allows 4 ×
    const broken = await evaluatePolicies(resources, loadPolicyConfig("production"));
    expect(broken.violations.map((v) => `${v.policy}: ${v.message}`).join("\n")).toMatch(
      /limit-request-ratio: Pooler octollm-production\/postgres-pooler-rw: container "pgbouncer"/,
    );
  });
});
