/**
 * What a first preview knows (issue 15). On the first `pulumi preview` of a stack nothing exists
 * yet: random passwords, tls keys and certificates, and everything the program derives from them
 * (Secrets' stringData, the CA bundle ConfigMap's certificate) are unknown. @pulumi/policy wraps
 * props in `unknownCheckingProxy`; a policy that reads an unknown value is skipped *whole* with
 * an advisory "can't run policy … during preview". No mandatory check may be skipped that way.
 *
 * Which values are unknown is not hand-listed: the real program runs as a Pulumi dry run whose
 * mocks answer with no outputs and no ids (scripts/offline.ts, `firstPreview`), so the SDK itself
 * marks every computed value unknown and propagates it. The captured inputs, exactly as the SDK
 * sent them (unknown sentinels and secret signatures included), go over gRPC to the pack
 * started as the CLI starts it (./analyzer-client.ts). The policies are the ones the pack
 * registers (GetAnalyzerInfo), so a rule added later is covered without touching this file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPolicyConfig, reconcileConfig } from "../../policies/evaluate";
import { listStacks, runStack } from "../../scripts/offline";
import type { StackRun } from "../../scripts/offline";
import * as policyServer from "@pulumi/policy/server";
import type { AnalyzeResponse } from "@pulumi/pulumi/proto/analyzer_pb";
import type { OctoPolicy } from "../../policies/lib/policy";
import type { Diagnostic, RegisteredPolicy, WireResource } from "./analyzer-client";
import { PackUnderAnalyzer, SKIPPED, analyzeRequest, diagnosticsOf } from "./analyzer-client";

/** Pulumi's unknown sentinel on the wire (@pulumi/pulumi runtime/rpc `unknownValue`). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function unknownPaths(value: unknown, at = ""): string[] {
  if (value === UNKNOWN) return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownPaths(v, `${at}[${i}]`));
  if (typeof value === "object" && value !== null)
    return Object.entries(value).flatMap(([k, v]) => unknownPaths(v, `${at}.${k}`));
  return [];
}

function wireOf(run: StackRun): WireResource[] {
  return run.resources.map((r) => {
    if (!r.wire) throw new Error(`${r.urn}: the run did not keep the wire inputs`);
    return {
      type: r.type,
      name: r.name,
      urn: r.urn,
      ...(r.parent ? { parent: r.parent } : {}),
      dependencies: r.dependencies,
      protect: r.protect,
      ignoreChanges: r.ignoreChanges,
      properties: r.wire,
    };
  });
}

/** A ConfigMap shaped like the CA bundle of a first preview, with a password planted next to it. */
const caBundle: WireResource = {
  type: "kubernetes:core/v1:ConfigMap",
  name: "probe",
  urn: "urn:pulumi:dev::octollm::kubernetes:core/v1:ConfigMap::probe",
  dependencies: [],
  protect: false,
  ignoreChanges: [],
  properties: {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "probe", namespace: "octollm-system" },
    data: { "ca.crt": UNKNOWN, DB_PASSWORD: "hunter2" },
  },
};

const skipped = (ds: Diagnostic[]) => ds.filter((d) => SKIPPED.test(d.message));
/** A diagnostic's identity for comparing two previews (URN, policy, level, message). */
const key = (d: Diagnostic) => `${d.policy} ${d.enforcementLevel} ${d.urn}\n${d.message}`;

const STACKS = listStacks();

const previews = new Map<string, Promise<StackRun>>();
/** A stack's first-preview run, once per file (runs are deterministic). */
function firstPreviewOf(stack: string): Promise<StackRun> {
  let run = previews.get(stack);
  if (!run) previews.set(stack, (run = runStack(stack, { firstPreview: true })));
  return run;
}

let pack: PackUnderAnalyzer;
let registered: RegisteredPolicy[];

beforeAll(async () => {
  pack = await PackUnderAnalyzer.start();
  registered = await pack.policies();
}, 120_000);

afterAll(() => pack?.stop());

describe("the pack under the analyzer, as registered", () => {
  it("registers every policy of policies/policies.ts, so this file covers new rules by itself", async () => {
    const { policies } = await import("../../policies/policies");
    expect(registered.map((p) => p.name).sort()).toEqual(policies.map((p) => p.name).sort());
  });

  it("the SDK skips a policy that reads an unknown value, in the words SKIPPED matches", async () => {
    // @pulumi/policy's own Analyze handler (server.js, what the pack serves), in this process,
    // with a naive policy that spreads a ConfigMap's data the way `no-secrets-in-configmaps` did
    // before it read key by key: this is the advisory the tests below must never see.
    const { makeAnalyzeRpcFun } = policyServer as unknown as {
      makeAnalyzeRpcFun: (
        pack: string,
        version: string,
        level: string,
        policies: OctoPolicy[],
      ) => (
        call: { request: unknown },
        cb: (err: Error | null | undefined, res: AnalyzeResponse) => void,
      ) => Promise<void>;
    };
    const spreads: OctoPolicy = {
      name: "spreads-data",
      description: "reads every value of a ConfigMap at once",
      enforcementLevel: "mandatory",
      validateResource: (args) => {
        void Object.values({ ...(args.props as { data?: object }).data });
      },
    };
    const analyze = makeAnalyzeRpcFun("probe", "1.0.0", "mandatory", [spreads]);
    const res = await new Promise<AnalyzeResponse>(
      (resolve, reject) =>
        void analyze({ request: analyzeRequest(caBundle) }, (err, r) =>
          err ? reject(err) : resolve(r),
        ),
    );
    const ds = diagnosticsOf(res);
    expect(ds).toHaveLength(1);
    expect(ds[0].enforcementLevel).toBe("advisory");
    expect(SKIPPED.exec(ds[0].message)?.[1]).toBe("spreads-data");
    expect(ds[0].message).toContain(".data.ca.crt can't be known during preview");
  });

  it("the pack's ConfigMap rule reads the same ConfigMap key by key: judged, not skipped", async () => {
    await pack.configure(reconcileConfig(loadPolicyConfig("dev")));
    const ds = await pack.analyze(caBundle);
    expect(skipped(ds)).toEqual([]);
    // The unknown value's key name is still judged, and the known key next to it fully.
    expect(ds.filter((d) => d.policy === "no-secrets-in-configmaps").map((d) => d.message)).toEqual(
      [expect.stringContaining('key "DB_PASSWORD" looks sensitive')],
    );
  });
});

describe.each(STACKS)("a first preview of %s", (stack) => {
  let preview: StackRun;
  let known: StackRun;
  let wire: WireResource[];
  let firstDiagnostics: Diagnostic[];
  let knownDiagnostics: Diagnostic[];

  beforeAll(async () => {
    preview = await firstPreviewOf(stack);
    known = await runStack(stack, { captureWire: true });
    wire = wireOf(preview);
    await pack.configure(reconcileConfig(loadPolicyConfig(stack)));
    firstDiagnostics = await pack.preview(wire);
    knownDiagnostics = await pack.preview(wireOf(known));
  }, 180_000);

  it("cannot know random and tls outputs nor what the program derives from them", () => {
    const unknownAt = wire
      .map((r) => ({ r, paths: unknownPaths(r.properties) }))
      .filter((x) => x.paths.length > 0);
    // Generated credentials are unknown everywhere (a Secret's stringData built from passwords).
    const secrets = unknownAt.filter((x) => x.r.type === "kubernetes:core/v1:Secret");
    expect(secrets.length).toBeGreaterThan(0);
    for (const s of secrets) expect(s.paths.join(" ")).toMatch(/^\.stringData/);
    // Every unknown traces back to a random or tls resource of the stack.
    expect(
      preview.resources.some((r) => /^(random|tls):/.test(r.type)),
      "the stack generates something",
    ).toBe(true);
    // The program does not lose resources in a preview (nothing is created inside an apply).
    expect(preview.resources.map((r) => r.urn).sort()).toEqual(
      known.resources.map((r) => r.urn).sort(),
    );
  });

  it("skips no policy the pack registers (mandatory or not): each reads only what it judges", () => {
    const diagnostics = firstDiagnostics;
    const levels = new Map(
      reconcileConfig(loadPolicyConfig(stack)).map((r) => [r.policy.name, r.enforcementLevel]),
    );
    const skips = skipped(diagnostics).map((d) => ({
      policy: SKIPPED.exec(d.message)?.[1],
      level: levels.get(SKIPPED.exec(d.message)?.[1] ?? ""),
      urn: d.urn,
      message: d.message,
    }));
    expect(skips.filter((s) => s.level === "mandatory")).toEqual([]);
    expect(skips).toEqual([]);
  });

  it("finds the same violations as a preview where every value is known", () => {
    expect(skipped(knownDiagnostics)).toEqual([]);
    expect(firstDiagnostics.map(key).sort()).toEqual(knownDiagnostics.map(key).sort());
  });
});

describe("violations in known fields of resources that also carry unknown values", () => {
  beforeAll(async () => {
    await pack.configure(reconcileConfig(loadPolicyConfig("dev")));
  });

  it("no-secrets-in-configmaps reports a password planted next to the unknown CA certificate", async () => {
    const wire = wireOf(await firstPreviewOf("dev"));
    const bundle = wire.find(
      (r) => r.type === "kubernetes:core/v1:ConfigMap" && unknownPaths(r.properties).length > 0,
    );
    expect(bundle, "dev has a ConfigMap with an unknown value (the CA bundle)").toBeDefined();
    const data = bundle!.properties.data as Record<string, unknown>;
    const planted = { ...bundle!, properties: { ...bundle!.properties } };
    planted.properties.data = { ...data, DB_PASSWORD: "hunter2" };
    const ds = await pack.analyze(planted);
    expect(skipped(ds)).toEqual([]);
    const found = ds.filter((d) => d.policy === "no-secrets-in-configmaps");
    expect(found).toHaveLength(1);
    expect(found[0].enforcementLevel).toBe("mandatory");
    expect(found[0].message).toContain("DB_PASSWORD");
  });

  it("stack policies still judge the known fields: a Secret renamed next to its unknown stringData is missing for its readers", async () => {
    const wire = wireOf(await firstPreviewOf("dev"));
    const secret = wire.find(
      (r) =>
        r.type === "kubernetes:core/v1:Secret" &&
        unknownPaths(r.properties).length > 0 &&
        r.name.endsWith("-database"),
    );
    expect(secret, "dev has the database Secret with unknown stringData").toBeDefined();
    const meta = secret!.properties.metadata as Record<string, unknown>;
    const oldName = String(meta.name);
    const renamed = wire.map((r) =>
      r === secret
        ? { ...r, properties: { ...r.properties, metadata: { ...meta, name: `${oldName}-x` } } }
        : r,
    );
    const ds = await pack.analyzeStack(renamed);
    expect(skipped(ds)).toEqual([]);
    const missing = ds.filter(
      (d) => d.policy === "config-references" && d.message.includes(oldName),
    );
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((d) => d.enforcementLevel === "mandatory")).toBe(true);
  });
});

/**
 * Today's unknowns are Secrets' stringData and one ConfigMap value. The places a program
 * commonly puts a value derived from a credential next are annotations (a checksum that rolls
 * pods when a password changes), env values (a connection URL) and ConfigMap values; a policy
 * must not be skipped when that happens either. Plant unknowns there on every object of the
 * stacks and require the very same verdicts.
 */
describe("values derived from credentials where programs commonly put them next", () => {
  const WORKLOADS: Record<string, (spec: Record<string, any>) => Record<string, any> | undefined> =
    {
      "kubernetes:core/v1:Pod": () => undefined,
      "kubernetes:apps/v1:Deployment": (s) => s.template,
      "kubernetes:apps/v1:StatefulSet": (s) => s.template,
      "kubernetes:apps/v1:DaemonSet": (s) => s.template,
      "kubernetes:apps/v1:ReplicaSet": (s) => s.template,
      "kubernetes:batch/v1:Job": (s) => s.template,
      "kubernetes:batch/v1:CronJob": (s) => s.jobTemplate?.spec?.template,
    };

  function annotate(meta: Record<string, any> | undefined): void {
    if (!meta) return;
    meta.annotations = { ...meta.annotations, "checksum/credentials": UNKNOWN };
  }

  function plant(r: WireResource): WireResource {
    const props = structuredClone(r.properties) as Record<string, any>;
    annotate(props.metadata);
    if (r.type in WORKLOADS) {
      const template =
        r.type === "kubernetes:core/v1:Pod" ? props : WORKLOADS[r.type](props.spec ?? {});
      if (template && template !== props) annotate(template.metadata);
      const spec = template?.spec as Record<string, any> | undefined;
      for (const c of [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])])
        c.env = [...(c.env ?? []), { name: "CACHE_URL", value: UNKNOWN }];
    }
    if (r.type === "kubernetes:core/v1:ConfigMap")
      props.data = { ...props.data, "connection.url": UNKNOWN };
    return { ...r, properties: props };
  }

  it.each(["dev", "production"])(
    "%s: no policy is skipped and every verdict stays the same",
    async (stack) => {
      const wire = wireOf(await firstPreviewOf(stack));
      await pack.configure(reconcileConfig(loadPolicyConfig(stack)));
      const planted = wire.map(plant);
      const plantedPaths = planted.flatMap((r) => unknownPaths(r.properties));
      // The plants landed where meant: env values and pod template annotations of workloads.
      expect(plantedPaths.filter((p) => /\.env\[\d+\]\.value$/.test(p)).length).toBeGreaterThan(5);
      expect(
        plantedPaths.filter((p) => /template\.metadata\.annotations\.checksum/.test(p)).length,
      ).toBeGreaterThan(5);
      const before = await pack.preview(wire);
      const after = await pack.preview(planted);
      expect(skipped(after)).toEqual([]);
      expect(after.map(key).sort()).toEqual(before.map(key).sort());
    },
    180_000,
  );

  it("a sensitive env var whose value is computed at deploy time is still reported", async () => {
    await pack.configure(reconcileConfig(loadPolicyConfig("dev")));
    const wire = wireOf(await firstPreviewOf("dev"));
    const deployment = wire.find((r) => r.type === "kubernetes:apps/v1:Deployment")!;
    const props = structuredClone(deployment.properties) as Record<string, any>;
    const container = props.spec.template.spec.containers[0];
    container.env = [...(container.env ?? []), { name: "DB_PASSWORD", value: UNKNOWN }];
    const ds = await pack.analyze({ ...deployment, properties: props });
    expect(skipped(ds)).toEqual([]);
    const found = ds.filter((d) => d.policy === "no-secret-literals-in-env");
    expect(found.map((d) => d.message)).toEqual([
      expect.stringMatching(/env DB_PASSWORD looks sensitive but has a literal value \(computed/),
    ]);
    expect(found[0].enforcementLevel).toBe("mandatory");
  });
});
