/**
 * Runs the real program (components/program.ts#buildPlatform, the function index.ts runs) for
 * one stack under Pulumi mocks — no CLI, no cluster — and captures every registered resource
 * with its type, name, parent, options and inputs. The offline render and the tests use this.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
// A static import: the program reads its config and registers resources only when buildPlatform()
// runs (after the mocks below are set), never at import time. A dynamic import() of a TypeScript
// module would need an ESM loader hook, which routes every require() of the SDK through it (slow).
import { buildPlatform } from "../components/program";

/** Internal to @pulumi/pulumi but exported at runtime: resolves when every RPC has finished. */
const { waitForRPCs } = settings as unknown as { waitForRPCs: () => Promise<void> };
import { parse as parseYaml } from "yaml";

export const PROJECT = "octollm";
export const REPO_ROOT = path.resolve(__dirname, "..");
export const REDACTED = "<redacted>";
/** A stack output a (first) preview cannot know yet. */
export const UNKNOWN_OUTPUT = "<unknown until deployed>";

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";

export interface RegisteredResource {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  /** URN of the parent resource */
  parent?: string;
  /** provider reference (`<provider urn>::<id>`) the resource is managed with */
  provider?: string;
  /** URNs this resource depends on (dependsOn and resource inputs) */
  dependencies: string[];
  protect: boolean;
  retainOnDelete: boolean;
  ignoreChanges: string[];
  /** inputs with every Pulumi secret replaced by `<redacted>` */
  inputs: Record<string, unknown>;
  /**
   * Only in a first-preview run: the inputs exactly as the SDK sent them to the engine (a
   * protobuf Struct as JavaScript): unknown values as Pulumi's unknown sentinel, secrets and
   * resource references with their signatures. In memory only; never printed.
   */
  wire?: Record<string, unknown>;
}

export interface StackRun {
  stack: string;
  resources: RegisteredResource[];
  /** the stack outputs the program returned, resolved, secrets redacted */
  outputs: Record<string, unknown>;
  /** warnings logged with pulumi.log.warn */
  warnings: string[];
}

/** `octollm:*` config of a stack file, as Pulumi hands it to a program (objects as JSON text). */
export function loadStackConfig(stack: string, root = REPO_ROOT): Record<string, string> {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(file)) throw new UnknownStackError(stack, listStacks(root));
  let doc: unknown;
  try {
    doc = parseYaml(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw StackFileError.from(file, error);
  }
  const config = isPlainObject(doc) ? doc.config : undefined;
  if (doc !== null && doc !== undefined && !isPlainObject(doc))
    throw new StackFileError(file, 1, 1, "must be a mapping with a `config:` key");
  if (config !== null && config !== undefined && !isPlainObject(config))
    throw new StackFileError(file, 1, 1, "`config:` must be a mapping of `octollm:<key>: value`");
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config ?? {})) {
    // `secure:` values are encrypted with the stack's secrets provider; offline they are absent.
    if (isSecure(value)) continue;
    const plain = withSecurePlaceholders(value);
    out[key] = typeof plain === "string" ? plain : JSON.stringify(plain);
  }
  return out;
}

/** Keys of a stack file whose value is, or holds, a `secure:` leaf (what the engine marks secret). */
export function secretConfigKeys(stack: string, root = REPO_ROOT): string[] {
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const doc = fs.existsSync(file) ? (parseYaml(fs.readFileSync(file, "utf8")) as unknown) : null;
  const config = isPlainObject(doc) && isPlainObject(doc.config) ? doc.config : {};
  return Object.entries(config)
    .filter(([, value]) => holdsSecure(value))
    .map(([key]) => key);
}

function holdsSecure(value: unknown): boolean {
  if (isSecure(value)) return true;
  if (Array.isArray(value)) return value.some(holdsSecure);
  if (isPlainObject(value)) return Object.values(value).some(holdsSecure);
  return false;
}

/**
 * What stands offline for a secret set with `pulumi config set --secret --path` (a `secure:`
 * leaf inside an object: the engine decrypts it, the render cannot). Dropping it would make a
 * correctly configured stack fail where a value is required (backup credentials with `secrets:
 * program`), so it becomes a string that every secret key's validation accepts (a URL longer
 * than the JWT secret's minimum of 32). It is never printed: `octollm:secrets.*` is redacted.
 */
export const SECURE_PLACEHOLDER = "https://encrypted.invalid/offline-placeholder-for-a-secret";

function isSecure(value: unknown): boolean {
  return isPlainObject(value) && "secure" in value && Object.keys(value).length === 1;
}

function withSecurePlaceholders(value: unknown): unknown {
  if (isSecure(value)) return SECURE_PLACEHOLDER;
  if (Array.isArray(value)) return value.map(withSecurePlaceholders);
  if (isPlainObject(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, withSecurePlaceholders(v)]),
    );
  return value;
}

export function listStacks(root = REPO_ROOT): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** A stack file that is not valid YAML (or not a mapping): where, and what is wrong. */
export class StackFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`${displayPath(file)}:${line}:${column}: ${reason}`);
    this.name = "StackFileError";
  }

  /** From the yaml library's error: its position, and its first sentence without the excerpt. */
  static from(file: string, error: unknown): StackFileError {
    const e = error as { linePos?: { line: number; col: number }[]; message?: string };
    const at = e.linePos?.[0] ?? { line: 1, col: 1 };
    const reason = String(e.message ?? error)
      .split("\n")[0]
      .replace(/ at line \d+, column \d+:?$/, "");
    return new StackFileError(file, at.line, at.col, `invalid YAML: ${reason}`);
  }
}

/** A path as a person typed it: relative to the working directory when below it. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith("..") || path.isAbsolute(relative) ? file : relative;
}

export class UnknownStackError extends Error {
  constructor(stack: string, known: string[]) {
    super(`unknown stack "${stack}": no Pulumi.${stack}.yaml (stacks: ${known.join(", ")})`);
    this.name = "UnknownStackError";
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Replaces Pulumi secrets (at any depth) with `<redacted>` and resource references with their URN. */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!isPlainObject(value)) return value;
  if (value[SECRET_SIG_KEY] === SECRET_SIG) return redactLeaves(value.value);
  if (value[SECRET_SIG_KEY] === RESOURCE_SIG) return value.urn;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)]));
}

/** A secret keeps its shape (keys stay reviewable) but every scalar in it becomes `<redacted>`. */
function redactLeaves(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactLeaves);
  if (isPlainObject(value)) {
    if (value[SECRET_SIG_KEY] !== undefined) return redactSecrets(value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactLeaves(v)]));
  }
  return value === undefined || value === null ? value : REDACTED;
}

/** Deterministic outputs for providers whose real values come from a cloud or a crypto library. */
/** What the mocks answer for a resource: its inputs, plus the outputs random/tls would compute. */
export function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const inputs = args.inputs as Record<string, unknown>;
  switch (args.type) {
    case "random:index/randomPassword:RandomPassword":
      return { ...inputs, result: `mock-${args.name}-${"x".repeat(Number(inputs.length ?? 16))}` };
    case "tls:index/privateKey:PrivateKey":
      return {
        ...inputs,
        privateKeyPem: `-----BEGIN PRIVATE KEY-----\nmock-${args.name}\n-----END PRIVATE KEY-----\n`,
        publicKeyPem: "mock",
      };
    case "tls:index/selfSignedCert:SelfSignedCert":
    case "tls:index/locallySignedCert:LocallySignedCert":
      return {
        ...inputs,
        certPem: `-----BEGIN CERTIFICATE-----\nmock-${args.name}\n-----END CERTIFICATE-----\n`,
      };
    case "tls:index/certRequest:CertRequest":
      return {
        ...inputs,
        certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\nmock-${args.name}\n-----END CERTIFICATE REQUEST-----\n`,
      };
    default:
      return inputs;
  }
}

interface Captured {
  provider?: string;
  type: string;
  name: string;
  custom: boolean;
  inputs: Record<string, unknown>;
}

interface RegisterRequest {
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getType(): string;
  getName(): string;
  getParent(): string;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDependenciesList(): string[];
  getIgnorechangesList(): string[];
}

interface RegisterResponse {
  getUrn(): string;
}

type Monitor = {
  registerResource(
    req: RegisterRequest,
    cb: (err: unknown, res?: RegisterResponse) => void,
  ): Promise<void>;
};

// Pulumi's runtime state is process-global: runs are serialised.
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs the program for `stack` with its real Pulumi.<stack>.yaml, or with `config` (raw
 * `octollm:*` values; objects are JSON-encoded like Pulumi does) merged over it.
 */
export interface RunOptions {
  config?: Record<string, unknown>;
  root?: string;
  /**
   * Run as the first `pulumi preview` of a new stack sees it: a dry run where nothing exists
   * yet, so random and tls outputs (passwords, keys, certificates), every id, and everything
   * the program derives from them are unknown (the mocks answer with the inputs only and no
   * id; the SDK then resolves the missing outputs as unknown). Each resource carries `wire`.
   */
  firstPreview?: boolean;
  /** Keep each resource's `wire` inputs (always on in a first preview). */
  captureWire?: boolean;
  /**
   * Config keys the engine marks secret besides those of the stack file (as `pulumi config set
   * --secret` would), e.g. `octollm:operators` when a `secure:` leaf sits inside it.
   */
  secretKeys?: string[];
  /**
   * Told of each resource as the program registers it, with the inputs the run will report
   * (secrets redacted): the render's validation thread takes each Kubernetes object from here.
   */
  onResource?: (resource: Pick<RegisteredResource, "type" | "custom" | "inputs">) => void;
}

export function runStack(stack: string, options: RunOptions = {}): Promise<StackRun> {
  const run = queue.then(() => runStackNow(stack, options));
  queue = run.catch(() => undefined);
  return run;
}

async function runStackNow(stack: string, options: RunOptions): Promise<StackRun> {
  const firstPreview = options.firstPreview ?? false;
  const captureWire = firstPreview || (options.captureWire ?? false);
  const config: Record<string, string> = { ...loadStackConfig(stack, options.root) };
  for (const [key, value] of Object.entries(options.config ?? {})) {
    if (value === undefined) delete config[key];
    else config[key] = typeof value === "string" ? value : JSON.stringify(value);
  }
  // No resource may see a real cluster, whatever the caller's environment says.
  delete process.env.KUBECONFIG;
  // The engine marks a key secret when its value is, or holds, a `secure:` leaf; the program
  // asks `isConfigSecret` to keep such values secret where it passes them on.
  const secretKeys = [...secretConfigKeys(stack, options.root), ...(options.secretKeys ?? [])];
  pulumi.runtime.setAllConfig(config, secretKeys);

  const captured: Captured[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const resource: Captured = {
          provider: args.provider,
          type: args.type,
          name: args.name,
          custom: args.custom ?? false,
          // As reported: secrets redacted, once, here (the mocks' copy is the run's alone).
          inputs: redactSecrets(args.inputs) as Record<string, unknown>,
        };
        captured.push(resource);
        options.onResource?.(resource);
        if (firstPreview) return { id: undefined, state: args.inputs as Record<string, unknown> };
        return { id: args.custom ? `${args.name}-id` : "", state: mockState(args) };
      },
      call: (args) => args.inputs as Record<string, unknown>,
    },
    PROJECT,
    stack,
    firstPreview,
  );

  const requests: {
    type: string;
    name: string;
    urn?: string;
    parent: string;
    protect: boolean;
    retain: boolean;
    deps: string[];
    ignore: string[];
    wire?: Record<string, unknown>;
  }[] = [];
  const monitor = settings.getMonitor() as unknown as Monitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    const record = {
      type: req.getType(),
      name: req.getName(),
      parent: req.getParent(),
      protect: req.getProtect(),
      retain: req.getRetainondelete(),
      deps: req.getDependenciesList(),
      ignore: req.getIgnorechangesList(),
      urn: undefined as string | undefined,
      ...(captureWire ? { wire: req.getObject()?.toJavaScript() ?? {} } : {}),
    };
    requests.push(record);
    return register(req, (err, res) => {
      if (res) record.urn = res.getUrn();
      cb(err, res);
    });
  };

  const warnings: string[] = [];
  const originalWarn = pulumi.log.warn;
  pulumi.log.warn = (msg: string) => {
    warnings.push(msg);
    return Promise.resolve();
  };
  try {
    const outputs = buildPlatform();
    const resolved = await resolveOutputs(outputs);
    await waitForRPCs();

    const byTypeAndName = new Map(requests.map((r) => [`${r.type}::${r.name}`, r]));
    const resources = captured.map((c): RegisteredResource => {
      const req = byTypeAndName.get(`${c.type}::${c.name}`);
      return {
        type: c.type,
        name: c.name,
        urn: req?.urn ?? "",
        custom: c.custom,
        parent: req?.parent || undefined,
        provider: c.provider || undefined,
        dependencies: req?.deps ?? [],
        protect: req?.protect ?? false,
        retainOnDelete: req?.retain ?? false,
        ignoreChanges: req?.ignore ?? [],
        inputs: c.inputs,
        ...(req?.wire ? { wire: req.wire } : {}),
      };
    });
    return { stack, resources, outputs: resolved, warnings };
  } finally {
    pulumi.log.warn = originalWarn;
  }
}

/** Resolves every Output in the program's result; secret outputs come back as `<redacted>`. */
async function resolveOutputs(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const entries = await Promise.all(
    Object.entries(outputs).map(async ([key, value]) => {
      const output = pulumi.output(value) as pulumi.Output<unknown> & {
        isSecret: Promise<boolean>;
        isKnown: Promise<boolean>;
      };
      // In a preview an unknown output never runs an apply callback: say so instead of waiting.
      if (!(await output.isKnown)) return [key, UNKNOWN_OUTPUT] as const;
      const secret = await output.isSecret;
      const plain = await new Promise<unknown>((resolve) =>
        output.apply((v: unknown) => resolve(v)),
      );
      return [key, secret ? REDACTED : plain] as const;
    }),
  );
  return Object.fromEntries(entries);
}
