/**
 * The kind E2E cannot run here (no container engine), so what can be proven offline is:
 * - the e2e stack renders clean: schema-valid, no mandatory policy violated;
 * - it runs only public, pinned images, and the app tier answers the paths the probes use;
 * - every object a smoke check touches exists in the rendered e2e stack (a rename cannot
 *   silently break the E2E), and the check of that is shown to catch a missing object;
 * - the pinned versions agree (versions.env, kind.yaml, package.json, the stack's network);
 * - the script refuses to start without its tools, naming the tool and the pinned version;
 * - the workflow follows the rules of the others (workflows.test.ts) plus a time limit.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { parsePlatformConfig } from "../../components/config";
import type { SmokeRef } from "../../scripts/e2e-smoke";
import { smokePlan } from "../../scripts/e2e-smoke";
import { loadStackConfig } from "../../scripts/offline";
import { renderStackReport } from "../../scripts/render";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "e2e";

function versions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(path.join(ROOT, "e2e", "versions.env"), "utf8").split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}

/** The refs no rendered object answers for (kind/namespace/name, and the port on a Service). */
function missingRefs(refs: SmokeRef[], objects: K8sObject[]): string[] {
  return refs
    .filter((ref) => {
      const found = objects.find(
        (o) =>
          o.kind === ref.kind &&
          o.metadata.name === ref.name &&
          (o.metadata.namespace ?? "") === ref.namespace,
      );
      if (!found) return true;
      if (ref.port === undefined) return false;
      const ports = (found.spec?.ports ?? []) as { port: number }[];
      return !ports.some((p) => p.port === ref.port);
    })
    .map((r) => `${r.kind} ${r.namespace}/${r.name}${r.port ? `:${r.port}` : ""}`);
}

function containerImages(objects: K8sObject[]): string[] {
  const images = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === "object") {
      for (const [key, v] of Object.entries(value)) {
        if (key === "image" && typeof v === "string") images.add(v);
        else if (key === "imageName" && typeof v === "string") images.add(v);
        else walk(v);
      }
    }
  };
  objects.forEach(walk);
  return [...images].sort();
}

describe("the e2e stack", () => {
  let objects: K8sObject[] = [];
  let report: Awaited<ReturnType<typeof renderStackReport>>["report"];
  const config = parsePlatformConfig(loadStackConfig(STACK));

  beforeAll(async () => {
    const rendered = await renderStackReport(STACK, { writeYaml: false });
    report = rendered.report;
    objects = parseYamlDocuments(rendered.yaml);
  }, 120_000);

  it("renders clean: every object schema-valid, no mandatory policy violated", () => {
    expect(report.schema.errors).toEqual([]);
    const mandatory = report.policies.violations.filter((v) => v.enforcementLevel === "mandatory");
    expect(mandatory.map((v) => `${v.policy}: ${v.message}`)).toEqual([]);
  });

  it("runs only public images pinned to a version, none of them the private octollm/* ones", () => {
    const images = containerImages(objects);
    expect(images.length).toBeGreaterThan(3);
    for (const image of images) {
      expect(image, image).toMatch(/^(docker\.io|ghcr\.io|quay\.io|registry\.k8s\.io)\//);
      expect(image, image).toMatch(/:[\w.-]+$|@sha256:[0-9a-f]{64}$/);
      expect(image, image).not.toMatch(/:latest$/);
      expect(image, image).not.toMatch(/^docker\.io\/octollm\//);
    }
  });

  it("points the app tier's probes at paths its podinfo image serves", () => {
    // podinfo serves /healthz and /readyz under PODINFO_PREFIX (default /).
    const workloads = [
      config.orchestrator,
      config.reflexLayer,
      ...config.arms.map((a) => ({ ...a })),
    ] as { env: Record<string, string>; probes: Record<string, { path: string }> }[];
    for (const w of workloads) {
      const prefix = (w.env.PODINFO_PREFIX ?? "").replace(/\/$/, "");
      for (const probe of Object.values(w.probes)) {
        expect([`${prefix}/healthz`, `${prefix}/readyz`]).toContain(probe.path);
      }
    }
    // The edge check asks for the readiness path through the public edge, unrewritten.
    expect(
      config.orchestrator.probes.readiness.path.startsWith(config.ingress.paths.orchestrator),
    ).toBe(true);
    expect(config.ingress.kind).toBe("gateway");
    // Each app listens where its Service and the NetworkPolicies expect it.
    expect(config.orchestrator.env.PODINFO_PORT).toBe(String(config.orchestrator.ports.http));
    expect(config.orchestrator.env.PODINFO_PORT_METRICS).toBe(
      String(config.orchestrator.ports.metrics),
    );
    expect(config.reflexLayer.env.PODINFO_PORT).toBe(String(config.reflexLayer.port));
    for (const arm of config.arms) expect(arm.env.PODINFO_PORT, arm.name).toBe(String(arm.port));
  });

  it("holds every object the smoke checks and the failover drill touch", () => {
    const plan = smokePlan(config, { failover: true });
    expect(plan.length).toBeGreaterThanOrEqual(8);
    const refs = plan.flatMap((c) => c.refs);
    expect(refs.length).toBeGreaterThan(10);
    expect(missingRefs(refs, objects)).toEqual([]);
    // Prometheus' check reads the monitors at run time: the stack must render some.
    expect(objects.some((o) => o.kind === "ServiceMonitor" || o.kind === "PodMonitor")).toBe(true);
  });

  it("the reference check catches a renamed object and a wrong port", () => {
    const ns = config.namespaces.workloads;
    expect(
      missingRefs(
        [
          { kind: "Service", namespace: ns, name: "no-such-service" },
          { kind: "CronJob", namespace: ns, name: "redis-backup" },
          { kind: "Service", namespace: ns, name: "qdrant", port: 1 },
        ],
        objects,
      ),
    ).toEqual([`Service ${ns}/no-such-service`, `Service ${ns}/qdrant:1`]);
  });

  it("names the kind cluster's context and the docker network the script creates", () => {
    const v = versions();
    const kind = parseYaml(fs.readFileSync(path.join(ROOT, "e2e", "kind.yaml"), "utf8")) as {
      name: string;
      networking: { podSubnet: string };
      nodes: { role: string; image: string }[];
    };
    expect(config.kubernetes.context).toBe(`kind-${kind.name}`);
    expect(config.network.nodeCidrs).toEqual([v.E2E_NODE_SUBNET]);
    expect(config.network.apiServerCidrs).toEqual([v.E2E_NODE_SUBNET]);
    // Workers only: kind taints the control plane when there are workers.
    expect(kind.nodes.filter((n) => n.role === "worker").length).toBe(config.kubernetes.nodeCount);
    expect(kind.networking.podSubnet).not.toBe(v.E2E_NODE_SUBNET);
  });
});

describe("pinned versions", () => {
  const v = versions();

  it("pins kind, its node image by digest, kubectl, the Pulumi CLI and metrics-server", () => {
    expect(v.KIND_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(v.KIND_NODE_IMAGE).toMatch(/^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    expect(v.KUBECTL_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    expect(v.METRICS_SERVER_VERSION).toMatch(/^v\d+\.\d+\.\d+$/);
    // kubectl within one minor of the node's Kubernetes (the version skew policy).
    const nodeMinor = Number(/:v1\.(\d+)\./.exec(v.KIND_NODE_IMAGE)?.[1]);
    const kubectlMinor = Number(/^v1\.(\d+)\./.exec(v.KUBECTL_VERSION)?.[1]);
    expect(Math.abs(nodeMinor - kubectlMinor)).toBeLessThanOrEqual(1);
  });

  it("every kind node runs the pinned image", () => {
    const kind = parseYaml(fs.readFileSync(path.join(ROOT, "e2e", "kind.yaml"), "utf8")) as {
      nodes: { image: string }[];
    };
    for (const node of kind.nodes) expect(node.image).toBe(v.KIND_NODE_IMAGE);
  });

  it("the Pulumi CLI is the version of the SDK in package.json", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(v.PULUMI_VERSION).toBe(pkg.dependencies["@pulumi/pulumi"]);
    expect(pkg.scripts.e2e).toBe("bash scripts/e2e.sh");
  });
});

describe("scripts/e2e.sh", () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "e2e-tools-"));
  const v = versions();

  function stub(name: string, body: string): void {
    fs.writeFileSync(path.join(scratch, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  }

  /** Runs the script with only the stubs (and basic tools) on PATH; returns its stderr. */
  function runWithStubs(): { status: number; stderr: string } {
    try {
      execFileSync("bash", [path.join(ROOT, "scripts", "e2e.sh")], {
        env: { PATH: `${scratch}:/usr/bin:/bin`, HOME: scratch, E2E_ARTIFACTS: scratch },
        encoding: "utf8",
        stdio: "pipe",
        timeout: 30_000,
      });
      return { status: 0, stderr: "" };
    } catch (error) {
      const e = error as { status: number; stderr: string };
      return { status: e.status, stderr: e.stderr };
    }
  }

  it("is valid bash, and so is the tool installer", () => {
    for (const script of ["e2e.sh", "e2e-install-tools.sh"]) {
      execFileSync("bash", ["-n", path.join(ROOT, "scripts", script)]);
    }
  });

  it("names a missing tool and its pinned version, before touching any cluster", () => {
    stub("docker", "exit 0");
    const { status, stderr } = runWithStubs();
    expect(status).toBe(1);
    expect(stderr).toContain(`kind ${v.KIND_VERSION} is required`);
    expect(stderr).toContain("scripts/e2e-install-tools.sh");
  });

  it("refuses a tool at another version than the pinned one", () => {
    stub("docker", "exit 0");
    stub("kind", 'echo "kind v0.0.1 go1.24 linux/amd64"');
    stub("kubectl", `echo "Client Version: ${v.KUBECTL_VERSION}"`);
    stub("pulumi", `echo v${v.PULUMI_VERSION}`);
    stub("node", "echo v22.0.0");
    const { status, stderr } = runWithStubs();
    expect(status).toBe(1);
    expect(stderr).toContain(`kind v0.0.1 found, ${v.KIND_VERSION} required`);
  });

  it("says so when Docker is installed but its engine does not answer", () => {
    stub("docker", "exit 1");
    const { status, stderr } = runWithStubs();
    expect(status).toBe(1);
    expect(stderr).toMatch(/engine does not answer/);
  });
});

describe(".github/workflows/e2e.yml", () => {
  const doc = parseYaml(
    fs.readFileSync(path.join(ROOT, ".github", "workflows", "e2e.yml"), "utf8"),
  ) as {
    on: Record<string, unknown>;
    jobs: Record<
      string,
      {
        "timeout-minutes"?: number;
        steps: { run?: string; uses?: string; if?: string; env?: Record<string, string> }[];
      }
    >;
  };

  it("runs on pull requests and nightly, needs no secret, has a time limit", () => {
    expect(Object.keys(doc.on)).toEqual(
      expect.arrayContaining(["pull_request", "schedule", "workflow_dispatch"]),
    );
    const text = fs.readFileSync(path.join(ROOT, ".github", "workflows", "e2e.yml"), "utf8");
    expect(text).not.toMatch(/secrets\./);
    for (const [id, job] of Object.entries(doc.jobs)) {
      expect(job["timeout-minutes"], id).toBeGreaterThan(0);
      expect(job["timeout-minutes"], id).toBeLessThanOrEqual(90);
    }
  });

  it("installs the pinned tools, runs the local command, uploads diagnostics on failure", () => {
    const steps = Object.values(doc.jobs).flatMap((j) => j.steps);
    const runs = steps.map((s) => s.run?.trim());
    expect(runs.indexOf("scripts/e2e-install-tools.sh")).toBeLessThan(runs.indexOf("npm run e2e"));
    const upload = steps.find((s) => s.uses?.startsWith("actions/upload-artifact@"));
    expect(upload?.if).toBe("failure()");
    expect(steps.find((s) => s.run === "npm run e2e")?.env?.E2E_FAILOVER).toBe("1");
  });
});

function parseYamlDocuments(text: string): K8sObject[] {
  return text
    .split(/^---$/m)
    .map((d) => parseYaml(d) as K8sObject | null)
    .filter((d): d is K8sObject => d !== null && typeof d === "object" && "kind" in d);
}
