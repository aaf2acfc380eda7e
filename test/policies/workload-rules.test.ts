/** Resource policies on containers: resources, images, probes, secrets. */
import { describe, expect, it } from "vitest";
import { compliantStack, find } from "../fixtures/stack";
import { clone, evaluate, messagesOf } from "./helpers";
import { parseImage } from "../../policies/images";
import { loadPolicyConfig } from "../../policies/evaluate";

describe("container-resources", () => {
  it("reports missing requests and limits, bad quantities and limits below requests", async () => {
    const stack = clone(compliantStack());
    const c = find(stack, "Deployment", "orchestrator").spec.template.spec.containers[0];
    c.resources = { requests: { cpu: "2", memory: "2 GiB" }, limits: { cpu: "1" } };
    const cluster = find(stack, "Cluster", "postgres");
    delete cluster.spec.resources.limits;
    expect(messagesOf(await evaluate(stack), "container-resources")).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" limits.cpu 1 is below requests.cpu 2',
      'Deployment octollm-production/orchestrator: container "orchestrator" has no limits.memory',
      'Deployment octollm-production/orchestrator: container "orchestrator" requests.memory "2 GiB" is not a Kubernetes quantity',
      "Cluster octollm-production/postgres: the postgres instances has no limits.cpu",
      "Cluster octollm-production/postgres: the postgres instances has no limits.memory",
    ]);
  });
});

describe("limit-request-ratio", () => {
  it("reports ratios above the LimitRange's maxLimitRequestRatio, exactly", async () => {
    const stack = clone(compliantStack());
    // 500m → 2001m is just over 4×; 512Mi → 2Gi is exactly 4× and passes.
    find(
      stack,
      "Deployment",
      "orchestrator",
    ).spec.template.spec.containers[0].resources.limits.cpu = "2001m";
    find(stack, "Cluster", "postgres").spec.resources.limits.memory = "32Gi";
    expect(messagesOf(await evaluate(stack), "limit-request-ratio")).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" cpu limit/request ratio 4.002 (2001m / 500m) exceeds the LimitRange maxLimitRequestRatio 4',
      "Cluster octollm-production/postgres: the postgres instances memory limit/request ratio 8 (32Gi / 4Gi) exceeds the LimitRange maxLimitRequestRatio 4",
    ]);
  });

  it("checks LimitRange min and max", async () => {
    const stack = clone(compliantStack());
    const lr = find(stack, "LimitRange", "octollm-limits");
    lr.spec.limits[0].max = { cpu: "3" };
    lr.spec.limits[0].min = { memory: "1Gi" };
    const messages = messagesOf(await evaluate(stack), "limit-request-ratio");
    expect(messages).toContain(
      "Cluster octollm-production/postgres: the postgres instances limits.cpu 4 is above the LimitRange max 3",
    );
    expect(messages).toContain(
      'Deployment octollm-production/orchestrator: container "orchestrator" requests.memory 512Mi is below the LimitRange min 1Gi',
    );
  });
});

describe("image-tag-pinned", () => {
  it("reports latest, missing tags, and (when required) missing digests", async () => {
    const stack = clone(compliantStack());
    find(stack, "Deployment", "orchestrator").spec.template.spec.containers[0].image =
      "docker.io/octollm/orchestrator:latest";
    find(stack, "Deployment", "coder-arm").spec.template.spec.containers[0].image =
      "octollm/coder-arm";
    find(stack, "Cluster", "postgres").spec.imageName = "ghcr.io/cloudnative-pg/postgresql:latest";
    expect(messagesOf(await evaluate(stack), "image-tag-pinned")).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" image docker.io/octollm/orchestrator:latest uses the mutable tag latest',
      'Deployment octollm-production/coder-arm: container "coder-arm" image octollm/coder-arm has no tag (resolves to latest)',
      "Cluster octollm-production/postgres: postgres image ghcr.io/cloudnative-pg/postgresql:latest uses the mutable tag latest",
    ]);
  });

  it("requires a digest when the stack's config says so", async () => {
    const config = loadPolicyConfig("production");
    config["image-tag-pinned"] = { enforcementLevel: "mandatory", requireDigest: true };
    const stack = clone(compliantStack());
    const digest = "a".repeat(64);
    for (const name of ["orchestrator", "coder-arm"]) {
      const c = find(stack, "Deployment", name).spec.template.spec.containers[0];
      c.image = `${c.image}@sha256:${digest}`;
    }
    const messages = messagesOf(await evaluate(stack, config), "image-tag-pinned");
    expect(messages).toContain(
      'StatefulSet octollm-production/redis: container "redis" image docker.io/library/redis:7.4.2 is not pinned by digest (@sha256:…)',
    );
    expect(messages.some((m) => m.includes("orchestrator"))).toBe(false);
  });
});

describe("image-registry-allowed", () => {
  it("reports images from registries outside the stack's list; short names are docker.io", async () => {
    const stack = clone(compliantStack());
    find(stack, "Deployment", "orchestrator").spec.template.spec.containers[0].image =
      "evil.example.com/octollm/orchestrator:v1.0.0";
    find(stack, "Deployment", "coder-arm").spec.template.spec.containers[0].image =
      "octollm/coder-arm:v1.0.0";
    expect(messagesOf(await evaluate(stack), "image-registry-allowed")).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" image evil.example.com/octollm/orchestrator:v1.0.0 comes from evil.example.com, which is not an allowed registry (docker.io, ghcr.io, quay.io, registry.k8s.io)',
    ]);
  });

  it("parses references like the container runtime", () => {
    expect(parseImage("postgres:15-alpine")).toEqual({
      registry: "docker.io",
      repository: "library/postgres",
      tag: "15-alpine",
      digest: undefined,
    });
    expect(parseImage("localhost:5000/a/b:1@sha256:ab")).toEqual({
      registry: "localhost:5000",
      repository: "a/b",
      tag: "1",
      digest: "sha256:ab",
    });
    expect(parseImage("registry.k8s.io/pause")).toMatchObject({
      registry: "registry.k8s.io",
      repository: "pause",
      tag: undefined,
    });
  });
});

describe("container-probes", () => {
  it("reports long-running containers without probes and probes on undeclared ports", async () => {
    const stack = clone(compliantStack());
    const c = find(stack, "Deployment", "orchestrator").spec.template.spec.containers[0];
    delete c.readinessProbe;
    c.livenessProbe.httpGet.port = "health";
    c.startupProbe.httpGet.port = 8001;
    const messages = messagesOf(await evaluate(stack), "container-probes");
    expect(messages).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" has no readinessProbe',
      'Deployment octollm-production/orchestrator: container "orchestrator" liveness probe uses port name "health", which the container does not declare',
      'Deployment octollm-production/orchestrator: container "orchestrator" startup probe uses port 8001, which the container does not declare (ports: 8000, 9090)',
    ]);
  });

  it("does not ask run-to-completion jobs for probes", async () => {
    const stack = clone(compliantStack());
    expect(
      find(stack, "CronJob", "qdrant-backup").spec.jobTemplate.spec.template.spec.containers[0]
        .livenessProbe,
    ).toBeUndefined();
    expect(messagesOf(await evaluate(stack), "container-probes")).toEqual([]);
  });
});

describe("no-secret-literals-in-env", () => {
  it("reports literal values under sensitive names and credential URLs; accepts secretKeyRef and paths", async () => {
    const stack = clone(compliantStack());
    const c = find(stack, "Deployment", "orchestrator").spec.template.spec.containers[0];
    c.env.push(
      { name: "OPENAI_API_KEY", value: "sk-live-123" },
      { name: "JWT_SECRET", value: "hunter2" },
      { name: "CACHE_URL", value: "redis://default:hunter2@redis:6379/0" },
      { name: "TLS_KEY_FILE", value: "/etc/tls/tls.key" },
      { name: "KEYCLOAK_REALM", value: "octollm" },
      { name: "NOTES", value: "sk-ant-abcdefghijklmnopqrstuvwxyz" },
    );
    expect(messagesOf(await evaluate(stack), "no-secret-literals-in-env")).toEqual([
      'Deployment octollm-production/orchestrator: container "orchestrator" env OPENAI_API_KEY looks sensitive but has a literal value; read it from a Secret (secretKeyRef)',
      'Deployment octollm-production/orchestrator: container "orchestrator" env JWT_SECRET looks sensitive but has a literal value; read it from a Secret (secretKeyRef)',
      'Deployment octollm-production/orchestrator: container "orchestrator" env CACHE_URL is a literal URL with embedded credentials; read it from a Secret (secretKeyRef)',
      'Deployment octollm-production/orchestrator: container "orchestrator" env NOTES has a literal value that looks like an LLM provider API key; read it from a Secret',
    ]);
  });
});

describe("no-secrets-in-configmaps", () => {
  it("reports sensitive keys and credential-shaped values", async () => {
    const stack = clone(compliantStack());
    const cm = find(stack, "ConfigMap", "orchestrator-config");
    cm.data = {
      LOG_LEVEL: "INFO",
      DB_PASSWORD: "hunter2",
      "redis.conf": "maxmemory 2gb\nrequirepass hunter2\n",
      "key.pem": "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
      "ca.crt": "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----",
      DATABASE_URL: "postgresql://octollm:PASSWORD@postgresql:5432/octollm",
    };
    expect(messagesOf(await evaluate(stack), "no-secrets-in-configmaps")).toEqual([
      'ConfigMap octollm-production/orchestrator-config: key "DB_PASSWORD" looks sensitive; put it in a Secret',
      'ConfigMap octollm-production/orchestrator-config: key "redis.conf" holds a Redis password directive; put it in a Secret',
      'ConfigMap octollm-production/orchestrator-config: key "key.pem" holds a PEM private key; put it in a Secret',
      'ConfigMap octollm-production/orchestrator-config: key "DATABASE_URL" holds a URL with embedded credentials; put it in a Secret',
    ]);
  });
});
