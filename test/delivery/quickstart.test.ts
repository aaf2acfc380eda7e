/**
 * The README's laptop quick start ("Run the dev stack on a laptop cluster"), checked by executing
 * what can run without a cluster (issue 14 #9). There is no container engine, kind, k3d or
 * Pulumi CLI here, so the commands are read from the README's fenced blocks and:
 * - every file and npm script they name exists, and `npm run -s policy-config -- dev` answers;
 * - the versions are the E2E's (sourced from e2e/versions.env, no literal pins) and the
 *   metrics-server steps are scripts/e2e.sh's, so the two cannot drift apart;
 * - the kind/k3d cluster names give dev's `kubernetes.context`, every kubectl uses it;
 * - every `pulumi config set` is applied to Pulumi.dev.yaml as the CLI writes it (plain, and
 *   as `secure:` leaves with an encryption salt) and the stack parses and renders clean;
 * - the image loop runs against the rendered dev stack and lists exactly its octollm/* images,
 *   and the E2E stand-ins the README says to copy leave none of them;
 * - the edge commands name the namespace, labels, listener port, host and outputs the render
 *   has, and the stack installs the gateway controller the README says it installs.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { parsePlatformConfig } from "../../components/config";
import { EDGE_GATEWAY_NAME, gatewayDataPlaneLabels } from "../../components/network-flows";
import { stackPolicyConfig } from "../../scripts/ci-stacks";
import { REPO_ROOT, SECURE_PLACEHOLDER, loadStackConfig } from "../../scripts/offline";
import { renderCli as cli } from "../cli";

const README = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
const HEADING = "## Run the dev stack on a laptop cluster";

/** The section's text, up to the next `## ` heading. */
function section(): string {
  const start = README.indexOf(HEADING);
  if (start < 0) throw new Error(`README: no "${HEADING}"`);
  const end = README.indexOf("\n## ", start + HEADING.length);
  return README.slice(start, end < 0 ? undefined : end);
}

/** The bash blocks of the section, in order. */
function blocks(): string[] {
  return [...section().matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
}

/** A block's commands: continuation lines joined, comments and blank lines dropped. */
function commands(block: string): string[] {
  return block
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map(stripComment)
    .filter((line) => line !== "");
}

/** Drops a `#` comment that is outside quotes and starts a word. */
function stripComment(line: string): string {
  let quote = "";
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "#" && (i === 0 || /\s/.test(line[i - 1]))) return line.slice(0, i).trim();
  }
  return line.trim();
}

/** Shell words of a simple command (quotes removed; `$VAR` kept as written). */
function words(command: string): string[] {
  const out: string[] = [];
  let word = "";
  let quote = "";
  let started = false;
  for (const c of command) {
    if (quote) {
      if (c === quote) quote = "";
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      started = true;
    } else if (/\s/.test(c)) {
      if (started || word) out.push(word);
      word = "";
      started = false;
    } else word += c;
  }
  if (started || word) out.push(word);
  return out;
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs
    .readFileSync(path.join(REPO_ROOT, "e2e", "versions.env"), "utf8")
    .split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

const ALL = blocks();
const ALL_COMMANDS = ALL.flatMap(commands);
/** The kind path: every block but the k3d alternative. */
const K3D_BLOCK = ALL.find((b) => /^k3d cluster create /m.test(b)) ?? "";
const KIND_COMMANDS = ALL.filter((b) => b !== K3D_BLOCK).flatMap(commands);
const DEV = parsePlatformConfig(loadStackConfig("dev"));

// ---------------------------------------------------------------------------------------------
// `pulumi config set` as the CLI applies it to a stack file
// ---------------------------------------------------------------------------------------------

interface ConfigSet {
  stack: string | undefined;
  secret: boolean;
  key: string;
  value: string;
}

function configSets(cmds: string[]): ConfigSet[] {
  return cmds
    .filter((c) => c.startsWith("pulumi config set "))
    .map((c) => {
      const argv = words(c).slice(3);
      expect(argv, c).toContain("--path");
      const stack = flag(argv, "--stack");
      const positional = argv.filter((a, i) => !a.startsWith("--") && argv[i - 1] !== "--stack");
      expect(positional.length, c).toBe(2);
      return { stack, secret: argv.includes("--secret"), key: positional[0], value: positional[1] };
    });
}

/** Values for the variables the README leaves to the reader (never real secrets). */
const READER_VALUES: Record<string, string> = {
  $OPENAI_API_KEY: "sk-test-openai-key-for-the-quick-start-check",
  $ANTHROPIC_API_KEY: "sk-ant-test-key-for-the-quick-start-check",
};

/** `octollm:a.b[0].c` → top key `octollm:a`, path [b, 0, c] (pulumi config set --path). */
function setPath(config: Record<string, unknown>, key: string, value: unknown): void {
  const m = /^([\w-]+:[\w-]+)((?:\.[\w-]+|\[\d+\])*)$/.exec(key);
  if (!m) throw new Error(`not a --path key: ${key}`);
  const segments = [...m[2].matchAll(/\.([\w-]+)|\[(\d+)\]/g)].map((s) =>
    s[1] !== undefined ? s[1] : Number(s[2]),
  );
  if (segments.length === 0) {
    config[m[1]] = value;
    return;
  }
  let node = (config[m[1]] ??= typeof segments[0] === "number" ? [] : {}) as Record<
    string | number,
    unknown
  >;
  segments.forEach((segment, i) => {
    if (i === segments.length - 1) node[segment] = value;
    else
      node = (node[segment] ??= typeof segments[i + 1] === "number" ? [] : {}) as Record<
        string | number,
        unknown
      >;
  });
}

/** A scratch root holding Pulumi.dev.yaml after the given `config set`s. */
function devWith(sets: ConfigSet[], form: "plain" | "secure", extra: Record<string, unknown> = {}) {
  const doc = parseYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.dev.yaml"), "utf8")) as {
    encryptionsalt?: string;
    config: Record<string, unknown>;
  };
  Object.assign(doc.config, extra);
  for (const s of sets) {
    const value = READER_VALUES[s.value] ?? s.value;
    expect(value.startsWith("$"), `${s.key}: unknown variable ${s.value}`).toBe(false);
    setPath(doc.config, s.key, s.secret && form === "secure" ? { secure: "v1:c2VjcmV0" } : value);
  }
  if (form === "secure") doc.encryptionsalt = "v1:c2FsdA==:v1:aXY=:c2FsdA==";
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "octollm-quickstart-"));
  fs.writeFileSync(path.join(root, "Pulumi.dev.yaml"), stringify(doc));
  return root;
}

interface Report {
  outputs: Record<string, unknown>;
  helmCharts: { chart: string; version: string; namespace: string }[];
  schema: { errors: unknown[] };
  policies: { violations: { enforcementLevel: string; policy: string; message: string }[] };
}

/** Renders the dev stack of `root` into `root/out`; the report and the YAML. */
async function render(root: string): Promise<{ report: Report; yaml: string }> {
  const out = path.join(root, "out");
  const { code, stdout, stderr } = await cli(["dev", "--root", root, "--out", out, "--json"]);
  expect(stderr, stderr).toBe("");
  expect(code).toBe(0);
  const [report] = JSON.parse(stdout) as Report[];
  return { report, yaml: fs.readFileSync(path.join(out, "dev.yaml"), "utf8") };
}

/** The octollm/* application images the parsed configuration asks for. */
function applicationImages(config: ReturnType<typeof parsePlatformConfig>): string[] {
  const refs = [
    config.orchestrator.image,
    config.reflexLayer.image,
    ...config.arms.map((a) => a.image),
    config.backups.jobImage,
  ];
  return [
    ...new Set(
      refs
        .filter((i) => i.repository.startsWith("docker.io/octollm/"))
        .map((i) => `${i.repository}:${i.tag}`),
    ),
  ].sort();
}

// ---------------------------------------------------------------------------------------------

describe("README quick start: the commands", () => {
  it("has the steps the brief names, in bash blocks", () => {
    expect(ALL.length).toBeGreaterThanOrEqual(4);
    const text = ALL_COMMANDS.join("\n");
    for (const step of [
      /^kind create cluster /m,
      /^k3d cluster create /m,
      /metrics-server/,
      /^pulumi stack select dev /m,
      /^pulumi config set .*--secret/m,
      /^pulumi up /m,
      /port-forward/,
      /^pulumi destroy /m,
      /^kind delete cluster /m,
    ])
      expect(text).toMatch(step);
  });

  it("every block is valid bash", () => {
    for (const block of ALL) execFileSync("bash", ["-n"], { input: block });
    expect(() => execFileSync("bash", ["-n"], { input: 'echo "$(', stdio: "pipe" })).toThrow();
  });

  it("every npm script exists and every repository file it names is there", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as {
      scripts: Record<string, string>;
    };
    const scripts = ALL_COMMANDS.flatMap((c) =>
      [...c.matchAll(/npm run (?:-s )?([\w:-]+)/g)].map((m) => m[1]),
    );
    expect(scripts).toEqual(expect.arrayContaining(["render", "policy-config"]));
    for (const s of scripts) expect(pkg.scripts[s], `npm run ${s}`).toBeDefined();

    const files = ALL_COMMANDS.flatMap((c) => {
      const argv = words(c);
      const named = [];
      for (const [i, a] of argv.entries()) {
        if (["bash", "source", "checkout"].includes(argv[i - 1] ?? "")) named.push(a);
        if (a === "--policy-pack") named.push(argv[i + 1]);
      }
      return named;
    });
    expect(files).toEqual(
      expect.arrayContaining(["scripts/e2e-install-tools.sh", "e2e/versions.env", "policies"]),
    );
    for (const f of files) expect(fs.existsSync(path.join(REPO_ROOT, f)), f).toBe(true);
  });

  it("the policy configuration it passes is the dev stack's, and exists", () => {
    const preview = KIND_COMMANDS.filter((c) => /^pulumi (preview|up) /.test(c));
    expect(preview.length).toBe(2);
    for (const c of preview) {
      expect(c).toContain('--policy-pack-config "$(npm run -s policy-config -- dev)"');
      expect(words(c)).toEqual(expect.arrayContaining(["--stack", "dev", "--policy-pack"]));
    }
    const file = stackPolicyConfig("dev");
    expect(file).toBe("policies/config/dev.json");
    expect(fs.existsSync(path.join(REPO_ROOT, file))).toBe(true);
  });

  it("takes every version from e2e/versions.env, after sourcing it, and pins nothing itself", () => {
    const v = versions();
    const text = ALL.join("\n");
    const sourced = text.indexOf("source e2e/versions.env");
    expect(sourced).toBeGreaterThanOrEqual(0);
    const assigned = new Set(
      ALL_COMMANDS.flatMap((c) => [...c.matchAll(/(?:^|\s|for )(\w+)=|for (\w+) in/g)]).map(
        (m) => m[1] ?? m[2],
      ),
    );
    const fromReader = new Set([
      "PWD",
      "PATH",
      ...Object.keys(READER_VALUES).map((k) => k.slice(1)),
    ]);
    const used = [...text.matchAll(/\$\{?([A-Za-z_]\w*)/g)].map((m) => m[1]);
    for (const name of used) {
      const known = name in v || assigned.has(name) || fromReader.has(name);
      expect(known, `$${name} is neither in e2e/versions.env nor set by the quick start`).toBe(
        true,
      );
      if (name in v) expect(text.indexOf(`$${name}`), name).toBeGreaterThan(sourced);
    }
    expect(used).toEqual(expect.arrayContaining(["KIND_NODE_IMAGE", "METRICS_SERVER_VERSION"]));
    // no literal pins that could drift from versions.env
    expect(text).not.toMatch(/kindest\/node:/);
    expect(text).not.toMatch(/releases\/download\/v\d/);
  });

  it("installs metrics-server exactly as scripts/e2e.sh does, on dev's context", () => {
    const context = DEV.kubernetes.context;
    const e2e = commands(fs.readFileSync(path.join(REPO_ROOT, "scripts", "e2e.sh"), "utf8"))
      .filter((c) => c.startsWith("kubectl ") && c.includes("metrics-server"))
      .map((c) => c.replaceAll('"$CONTEXT"', String(context)));
    const ours = KIND_COMMANDS.filter(
      (c) => c.startsWith("kubectl ") && c.includes("metrics-server"),
    );
    expect(e2e.length).toBe(3);
    expect(ours).toEqual(e2e);
  });

  it("creates, loads into and deletes the cluster dev's kubernetes.context names", () => {
    const create = words(KIND_COMMANDS.find((c) => c.startsWith("kind create cluster ")) ?? "");
    const name = flag(create, "--name");
    expect(`kind-${name}`).toBe(DEV.kubernetes.context);
    expect(flag(create, "--image")).toBe("$KIND_NODE_IMAGE");
    // the Kubernetes the API-version policies judge dev against is that node image's
    const node = /^kindest\/node:v(\d+\.\d+)\./.exec(versions().KIND_NODE_IMAGE);
    expect(DEV.kubernetes.version).toBe(node?.[1]);
    expect(section()).toContain(`Kubernetes ${DEV.kubernetes.version}`);
    // kind without a config file makes one node: the node count dev's capacity check assumes
    expect(create).not.toContain("--config");
    expect(DEV.kubernetes.nodeCount).toBe(1);
    expect(DEV.kubernetes.distribution).toBe("kind");
    for (const c of KIND_COMMANDS.filter((c) => /^\s*kind (load|delete) /.test(c)))
      expect(flag(words(c), "--name"), c).toBe(name);
    for (const c of KIND_COMMANDS.filter((c) => /^(svc="\$\()?kubectl /.test(c)))
      expect(c, c).toContain(`--context ${DEV.kubernetes.context} `);
    // every pulumi command names the stack (the workspace's selected one may be another)
    for (const c of KIND_COMMANDS.filter((c) => /^pulumi /.test(c) && !/^pulumi login/.test(c)))
      expect(c, c).toMatch(/--stack dev\b|^pulumi stack (select|rm) dev\b/);
    // the teardown keeps the committed stack file (`stack rm` deletes it otherwise)
    expect(KIND_COMMANDS.find((c) => c.startsWith("pulumi stack rm "))).toContain(
      "--preserve-config",
    );
    expect(fs.readFileSync(path.join(REPO_ROOT, "scripts", "e2e.sh"), "utf8")).toMatch(
      /pulumi stack rm .*--preserve-config/,
    );
  });

  it("the k3d alternative points dev at the k3d context and distribution it creates", () => {
    const k3d = commands(K3D_BLOCK);
    const name = words(k3d[0])[3];
    const sets = Object.fromEntries(configSets(k3d).map((s) => [s.key, s.value]));
    expect(sets["octollm:kubernetes.context"]).toBe(`k3d-${name}`);
    expect(sets["octollm:kubernetes.distribution"]).toBe("k3d");
    // the README's k3d comments name the same cluster for image import and delete
    expect(section()).toContain(`k3d image import "$image" -c ${name}`);
    expect(section()).toContain(`k3d cluster delete ${name}`);
  });
});

describe("README quick start: applied to the dev stack and rendered", () => {
  const kindSets = configSets(KIND_COMMANDS);
  const k3dSets = [...kindSets, ...configSets(commands(K3D_BLOCK))];
  let kind: { report: Report; yaml: string; root: string };

  beforeAll(async () => {
    const root = devWith(kindSets, "secure");
    kind = { ...(await render(root)), root };
  }, 180_000);

  it("every `pulumi config set` key is accepted by the schema, with the value given", () => {
    expect(kindSets.map((s) => s.key)).toEqual(
      expect.arrayContaining([
        "octollm:secrets.llmApiKeys.openai",
        "octollm:secrets.llmApiKeys.anthropic",
      ]),
    );
    for (const s of k3dSets) expect(s.stack, s.key).toBe("dev");
    // plain: what the Pulumi engine hands the program after decrypting
    const config = parsePlatformConfig(loadStackConfig("dev", devWith(k3dSets, "plain")));
    expect(Object.keys(config.secrets.llmApiKeys).sort()).toEqual(["anthropic", "openai"]);
    expect(config.kubernetes.context).toBe("k3d-octollm");
    expect(config.kubernetes.distribution).toBe("k3d");
    expect(config.network.podCidrs).toEqual(["10.42.0.0/16"]); // the k3d preset took effect
  });

  it("a misspelt key in the same form is refused (the check above can fail)", () => {
    const root = devWith(
      [{ stack: "dev", secret: true, key: "octollm:secrets.llmApiKey.openai", value: "x" }],
      "plain",
    );
    expect(() => parsePlatformConfig(loadStackConfig("dev", root))).toThrow(
      /octollm:secrets: unknown key "llmApiKey"/,
    );
  });

  it("the stack file as the CLI writes it (salt, secure leaves) renders clean, secrets unprinted", () => {
    expect(kind.report.schema.errors).toEqual([]);
    const mandatory = kind.report.policies.violations.filter(
      (v) => v.enforcementLevel === "mandatory",
    );
    expect(mandatory.map((v) => `${v.policy}: ${v.message}`)).toEqual([]);
    // both keys count as set, though the render cannot read them
    expect(kind.report.outputs.missingLlmKeys).toEqual([]);
    expect(kind.yaml).not.toContain(SECURE_PLACEHOLDER);
    expect(kind.yaml).not.toContain("v1:c2VjcmV0");
  });

  it("the k3d variant renders clean too", async () => {
    const { code, stderr } = await cli([
      "dev",
      "--root",
      devWith(k3dSets, "secure"),
      "--policy-only",
      "--json",
    ]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
  }, 120_000);

  it("installs the gateway controller itself, and no metrics-server (the README installs that)", () => {
    const eg = kind.report.helmCharts.find((c) => c.chart.endsWith("/gateway-helm"));
    expect(eg?.version).toBe(DEV.operators.envoyGateway.version);
    expect(eg?.namespace).toBe(DEV.operators.envoyGateway.namespace);
    expect(section()).toContain(`chart ${DEV.operators.envoyGateway.version}`);
    expect(kind.report.helmCharts.some((c) => /metrics-server/.test(c.chart))).toBe(false);
    expect(kind.yaml).toMatch(/^kind: HorizontalPodAutoscaler$/m);
    expect(DEV.operators.certManager.install).toBe(false);
    expect(DEV.ingress.tls.mode).toBe("private-ca");
  });

  it("the image loop, run on the rendered stack, lists exactly dev's octollm/* images", () => {
    const loop = /for image in \$\((.*)\); do/.exec(ALL.join("\n"));
    expect(loop, "the README's image loop").not.toBeNull();
    const listed = execFileSync("bash", ["-c", loop?.[1] ?? "false"], {
      cwd: kind.root,
      encoding: "utf8",
    })
      .trim()
      .split("\n");
    const expected = applicationImages(DEV);
    expect(expected.length).toBe(3 + DEV.arms.length); // orchestrator, reflex layer, backups, arms
    expect(listed).toEqual(expected);
    // and the prose names their tag
    for (const image of expected) expect(section()).toContain(`\`${image.split(":")[1]}\``);
  });

  it("the E2E stand-ins the README says to copy leave no octollm/* image to load", async () => {
    const keys = [
      ...(
        /copy the\s+((?:`octollm:\w+`,?\s+(?:and\s+)?)+)blocks of/.exec(section())?.[1] ?? ""
      ).matchAll(/`(octollm:\w+)`/g),
    ].map((m) => m[1]);
    expect(keys).toEqual(
      expect.arrayContaining(["octollm:orchestrator", "octollm:reflexLayer", "octollm:arms"]),
    );
    const e2e = (
      parseYaml(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.e2e.yaml"), "utf8")) as {
        config: Record<string, unknown>;
      }
    ).config;
    const root = devWith([], "plain", Object.fromEntries(keys.map((k) => [k, e2e[k]])));
    const config = parsePlatformConfig(loadStackConfig("dev", root));
    expect(applicationImages(config)).toEqual([]);
    const { yaml } = await render(root);
    expect(yaml).not.toMatch(/docker\.io\/octollm\//);
  }, 120_000);

  it("the edge commands name the Envoy Service, port, host and outputs the stack creates", () => {
    const text = ALL.join("\n").replace(/\\\n\s*/g, "");
    // svc="$(kubectl … get service …)": the command inside the substitution
    const get = /\$\((kubectl [^)]*get service[^)]*)\)/.exec(text);
    const argv = words(get?.[1] ?? "");
    expect(flag(argv, "-n")).toBe(DEV.operators.envoyGateway.namespace);
    const labels = Object.fromEntries(
      (flag(argv, "-l") ?? "").split(",").map((kv) => kv.split("=") as [string, string]),
    );
    expect(labels).toEqual({
      "gateway.envoyproxy.io/owning-gateway-name": EDGE_GATEWAY_NAME,
      "gateway.envoyproxy.io/owning-gateway-namespace": DEV.namespaces.system,
    });
    // the labels the stack's own NetworkPolicies admit the proxies by
    const proxy = gatewayDataPlaneLabels(DEV);
    for (const [k, v] of Object.entries(labels)) expect(proxy[k]).toBe(v);

    const forward = /port-forward "\$svc" (\d+):(\d+)/.exec(text);
    const gateway = kind.yaml
      .split(/^---$/m)
      .map(
        (d) =>
          parseYaml(d) as {
            kind?: string;
            spec?: { listeners: { protocol: string; port: number }[] };
          } | null,
      )
      .find((d) => d?.kind === "Gateway");
    const https = gateway?.spec?.listeners.find((l) => l.protocol === "HTTPS");
    expect(Number(forward?.[2])).toBe(https?.port);

    for (const output of [...text.matchAll(/pulumi stack output --stack dev (\w+)/g)].map(
      (m) => m[1],
    ))
      expect(kind.report.outputs, output).toHaveProperty(output);
    expect(kind.report.outputs).toHaveProperty("missingLlmKeys");
    const curl = /--resolve ([\w.-]+):(\d+):127\.0\.0\.1\s+https:\/\/([\w.-]+):(\d+)(\/\S*)/.exec(
      text,
    );
    expect(curl?.[1]).toBe(DEV.ingress.host);
    expect(curl?.[3]).toBe(DEV.ingress.host);
    expect(curl?.[2]).toBe(forward?.[1]);
    expect(curl?.[4]).toBe(forward?.[1]);
    expect(curl?.[5].startsWith(`${DEV.ingress.paths.orchestrator}/`)).toBe(true);
    // dev's Gateway Service is a NodePort on a port Kubernetes picks (why port-forward)
    expect(DEV.ingress.gateway.serviceType).toBe("NodePort");
  });
});
