/**
 * The policy pack as `pulumi preview` runs it, driven the way the engine drives it: the pack is
 * started with @pulumi/pulumi's run-policy-pack in policies/ (what the CLI starts), and this
 * client speaks the analyzer's gRPC protocol to it — GetAnalyzerInfo (the policies the pack
 * registers), Configure (each policy's level and config, as the CLI reconciles
 * policies/config/<stack>.json), Analyze per resource and AnalyzeStack. Every property goes
 * through @pulumi/policy's own deserializer and `unknownCheckingProxy`, in the pack's process;
 * a policy that touches an unknown value comes back as the SDK's own advisory
 * "can't run policy … during preview".
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as analyzerpb from "@pulumi/pulumi/proto/analyzer_pb";
import * as analyzerrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type { ReconciledPolicy } from "../../policies/evaluate";

const ROOT = path.join(__dirname, "..", "..");
const POLICIES = path.join(ROOT, "policies");

/** One resource as the engine hands it to an analyzer: inputs as the SDK sent them. */
export interface WireResource {
  type: string;
  name: string;
  urn: string;
  parent?: string;
  dependencies: string[];
  protect: boolean;
  ignoreChanges: string[];
  /** the resource's inputs as a protobuf Struct in JavaScript (unknown sentinels, secret sigs) */
  properties: Record<string, unknown>;
}

export interface Diagnostic {
  policy: string;
  enforcementLevel: "advisory" | "mandatory" | "disabled" | "remediate";
  message: string;
  urn: string;
}

export interface RegisteredPolicy {
  name: string;
  enforcementLevel: Diagnostic["enforcementLevel"];
}

const LEVEL_NAMES: Record<number, Diagnostic["enforcementLevel"]> = {
  [analyzerpb.EnforcementLevel.ADVISORY]: "advisory",
  [analyzerpb.EnforcementLevel.MANDATORY]: "mandatory",
  [analyzerpb.EnforcementLevel.DISABLED]: "disabled",
  [analyzerpb.EnforcementLevel.REMEDIATE]: "remediate",
};
const LEVEL_NUMBERS = Object.fromEntries(
  Object.entries(LEVEL_NAMES).map(([n, name]) => [name, Number(n)]),
) as Record<Diagnostic["enforcementLevel"], analyzerpb.EnforcementLevel>;

const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
const SIG_KEY = "4dabf18193072939515e22adb298388d";

/**
 * The engine does not send resource references to analyzers (it marshals them down to the
 * referenced resource's id, or its URN for a component); do the same so the SDK's deserializer,
 * which refuses the reference signature, sees what it sees under the CLI.
 */
function downgradeResourceReferences(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(downgradeResourceReferences);
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  if (record[SIG_KEY] === RESOURCE_SIG) return record.id ?? record.urn;
  return Object.fromEntries(
    Object.entries(record).map(([k, v]) => [k, downgradeResourceReferences(v)]),
  );
}

function optionsOf(r: WireResource): analyzerpb.AnalyzerResourceOptions {
  const opts = new analyzerpb.AnalyzerResourceOptions();
  opts.setProtect(r.protect);
  opts.setIgnorechangesList(r.ignoreChanges);
  if (r.parent) opts.setParent(r.parent);
  return opts;
}

function structOf(properties: Record<string, unknown>): Struct {
  return Struct.fromJavaScript(
    downgradeResourceReferences(properties) as Parameters<typeof Struct.fromJavaScript>[0],
  );
}

export function diagnosticsOf(res: analyzerpb.AnalyzeResponse): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    enforcementLevel: LEVEL_NAMES[d.getEnforcementlevel()] ?? "advisory",
    message: d.getMessage(),
    urn: d.getUrn(),
  }));
}

function unary<Req, Res>(
  call: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    call(req, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

/** The engine's Analyze request for one resource. */
export function analyzeRequest(r: WireResource): analyzerpb.AnalyzeRequest {
  const req = new analyzerpb.AnalyzeRequest();
  req.setType(r.type);
  req.setName(r.name);
  req.setUrn(r.urn);
  req.setProperties(structOf(r.properties));
  req.setOptions(optionsOf(r));
  return req;
}

export class PackUnderAnalyzer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: analyzerrpc.AnalyzerClient,
    readonly stderr: () => string,
  ) {}

  /** Starts policies/ exactly as the CLI does and connects to the port it prints. */
  static async start(): Promise<PackUnderAnalyzer> {
    const child = spawn(
      process.execPath,
      [
        path.join(ROOT, "node_modules/@pulumi/pulumi/cmd/run-policy-pack/index.js"),
        "127.0.0.1:0",
        ".",
      ],
      { cwd: POLICIES, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const found = /^(\d+)\s*$/m.exec(stdout)?.[1];
        if (found) resolve(found);
      });
      child.on("exit", (code) =>
        reject(new Error(`the pack exited (${code}) before serving: ${stderr}`)),
      );
    });
    const client = new analyzerrpc.AnalyzerClient(
      `127.0.0.1:${port}`,
      grpc.credentials.createInsecure(),
      { "grpc.max_receive_message_length": 400 * 1024 * 1024 },
    );
    return new PackUnderAnalyzer(child, client, () => stderr);
  }

  stop(): void {
    this.client.close();
    this.child.kill();
  }

  /** The policies the pack registers, as it tells the CLI (GetAnalyzerInfo). */
  async policies(): Promise<RegisteredPolicy[]> {
    const info = await unary<Empty, analyzerpb.AnalyzerInfo>(
      this.client.getAnalyzerInfo.bind(this.client),
      new Empty(),
    );
    return info.getPoliciesList().map((p) => ({
      name: p.getName(),
      enforcementLevel: LEVEL_NAMES[p.getEnforcementlevel()] ?? "advisory",
    }));
  }

  /** Configure: what the CLI sends for `--policy-pack-config` (level and properties per policy). */
  async configure(reconciled: readonly ReconciledPolicy[]): Promise<void> {
    const req = new analyzerpb.ConfigureAnalyzerRequest();
    const map = req.getPolicyconfigMap();
    for (const r of reconciled) {
      const pc = new analyzerpb.PolicyConfig();
      pc.setEnforcementlevel(LEVEL_NUMBERS[r.enforcementLevel]);
      pc.setProperties(structOf(r.config));
      map.set(r.policy.name, pc);
    }
    await unary<analyzerpb.ConfigureAnalyzerRequest, Empty>(
      this.client.configure.bind(this.client),
      req,
    );
  }

  /** Analyze (resource policies), one call per resource, as the engine does during a preview. */
  async analyze(r: WireResource): Promise<Diagnostic[]> {
    const res = await unary<analyzerpb.AnalyzeRequest, analyzerpb.AnalyzeResponse>(
      this.client.analyze.bind(this.client),
      analyzeRequest(r),
    );
    return diagnosticsOf(res).map((d) => ({ ...d, urn: d.urn || r.urn }));
  }

  /** AnalyzeStack (stack policies) with every resource. */
  async analyzeStack(resources: readonly WireResource[]): Promise<Diagnostic[]> {
    const req = new analyzerpb.AnalyzeStackRequest();
    req.setResourcesList(
      resources.map((r) => {
        const ar = new analyzerpb.AnalyzerResource();
        ar.setType(r.type);
        ar.setName(r.name);
        ar.setUrn(r.urn);
        ar.setProperties(structOf(r.properties));
        ar.setOptions(optionsOf(r));
        if (r.parent) ar.setParent(r.parent);
        ar.setDependenciesList(r.dependencies);
        return ar;
      }),
    );
    const res = await unary<analyzerpb.AnalyzeStackRequest, analyzerpb.AnalyzeResponse>(
      this.client.analyzeStack.bind(this.client),
      req,
    );
    return diagnosticsOf(res);
  }

  /** A whole preview: Analyze for each resource, then AnalyzeStack. */
  async preview(resources: readonly WireResource[]): Promise<Diagnostic[]> {
    const out: Diagnostic[] = [];
    for (const r of resources) out.push(...(await this.analyze(r)));
    out.push(...(await this.analyzeStack(resources)));
    return out;
  }
}

/** The SDK's own words when a policy touched a value the preview cannot know. */
export const SKIPPED = /can't run policy '([^']+)' from policy pack .* during preview/;
