/**
 * Redis: sentinel mode in production (3 pods × redis + sentinel + exporter), standalone in dev;
 * the rendered configuration; the password only through secretKeyRef and files; probes; PDB;
 * NetworkPolicy (the host-network reflex layer admitted by node CIDRs); schema validation. The
 * init script is executed for real (sh, with a stub redis-cli) to prove the files it writes.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { describe, expect, it } from "vitest";
import { redisConf, redisInitScript } from "../../components/data-stores/redis";
import { STACKS, objectsOf } from "../harness";
import type { Obj } from "./support";
import {
  configOf,
  containerNames,
  containerOf,
  envOf,
  maybeObject,
  objectOf,
  portsOf,
  resourceOf,
  ruleFor,
  validateWith,
} from "./support";

const EXPECTED = {
  dev: { replicas: 1, sentinel: false, storage: "1Gi", renamed: false },
  staging: { replicas: 3, sentinel: true, storage: "2Gi", renamed: true },
  production: { replicas: 3, sentinel: true, storage: "10Gi", renamed: true },
} as const;

describe.each(STACKS)("Redis on %s", (stack) => {
  const want = EXPECTED[stack];
  const sts = () => objectOf(stack, "StatefulSet", "redis");

  it("is a StatefulSet that validates against the Kubernetes schema", async () => {
    const s = await sts();
    expect(() => validateWith(StatefulSet, s)).not.toThrow();
    expect(() => validateWith(StatefulSet, { ...s, spec: { ...s.spec, replicas: "3" } })).toThrow();
  });

  it("runs redis (+ sentinel in sentinel mode) + exporter on the configured replicas", async () => {
    const s = await sts();
    expect(s.spec.replicas).toBe(want.replicas);
    expect(containerNames(s)).toEqual(
      want.sentinel ? ["redis", "sentinel", "exporter"] : ["redis", "exporter"],
    );
    expect(s.spec.serviceName).toBe("redis-headless");
    expect(s.spec.podManagementPolicy).toBe("Parallel");
    expect(s.spec.persistentVolumeClaimRetentionPolicy).toEqual({
      whenDeleted: "Retain",
      whenScaled: "Retain",
    });
    const image = configOf(stack).dataStores.redis.image;
    expect(containerOf(s, "redis").image).toBe(`${image.repository}:${image.tag}`);
    expect(image.tag).toMatch(/^7\./);
    expect(containerOf(s, "exporter").ports).toEqual([
      { name: "metrics", containerPort: 9121, protocol: "TCP" },
    ]);
  });

  it("keeps 10Gi-class data on the stack's StorageClass", async () => {
    const s = await sts();
    expect(s.spec.volumeClaimTemplates).toHaveLength(1);
    expect(s.spec.volumeClaimTemplates[0].metadata.name).toBe("data");
    expect(s.spec.volumeClaimTemplates[0].spec).toEqual({
      accessModes: ["ReadWriteOnce"],
      storageClassName: configOf(stack).dataStores.storageClass.name,
      resources: { requests: { storage: want.storage } },
    });
  });

  it("runs as UID 10001 (not the image's 999) with an fsGroup for /data", async () => {
    const pod = (await sts()).spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsUser: 10001, fsGroup: 10001 });
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const c of [...pod.containers, ...pod.initContainers]) {
      expect(c.securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
    }
  });

  it("renders appendonly, maxmemory and its policy from config", async () => {
    const cm = await objectOf(stack, "ConfigMap", "redis-config");
    const conf = cm.data["redis.conf"] as string;
    const r = configOf(stack).dataStores.redis;
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toContain(`\nmaxmemory ${r.maxmemory}\n`);
    expect(conf).toContain(`\nmaxmemory-policy ${r.maxmemoryPolicy}\n`);
    expect(conf).not.toMatch(/requirepass|masterauth/);
    expect(conf.includes("min-replicas-to-write 1")).toBe(want.sentinel);
  });

  it("never puts the password into a command, args or a literal env value", async () => {
    const pod = (await sts()).spec.template.spec;
    for (const c of [...pod.containers, ...pod.initContainers]) {
      const argv = JSON.stringify([c.command ?? [], c.args ?? []]);
      expect(argv, c.name).not.toMatch(/requirepass|--pass|-a |\$\(REDIS_PASSWORD\)/);
      for (const [name, e] of envOf(c)) {
        if (/PASSWORD|AUTH|^REDIS_CONFIG_COMMAND$/.test(name)) {
          expect(e.value, `${c.name} ${name}`).toBeUndefined();
          expect(e.valueFrom.secretKeyRef).toEqual(
            name === "REDIS_ACCEPT_PASSWORD"
              ? { name: "redis-server-credentials", key: "accept-password" }
              : name === "REDIS_CONFIG_COMMAND"
                ? { name: "redis-config-command", key: "name" }
                : { name: "redis-credentials", key: "password" },
          );
        }
      }
    }
    // the password-bearing runtime config lives in memory, never on a node disk
    const runtime = pod.volumes.find((v: any) => v.name === "runtime");
    expect(runtime.emptyDir.medium).toBe("Memory");
  });

  it("renames the dangerous commands exactly where configured, keeping CONFIG usable for Sentinel", async () => {
    const script = (await objectOf(stack, "ConfigMap", "redis-config")).data["init.sh"] as string;
    for (const cmd of ["FLUSHALL", "FLUSHDB", "DEBUG"]) {
      expect(script.includes(`rename-command ${cmd} ""`)).toBe(want.renamed);
    }
    expect(script.includes("rename-command CONFIG %s")).toBe(want.renamed);
    expect(script.includes("sentinel rename-command mymaster CONFIG %s")).toBe(
      want.renamed && want.sentinel,
    );
    const exporterEnv = envOf(containerOf(await sts(), "exporter"));
    expect(exporterEnv.get("REDIS_EXPORTER_CONFIG_COMMAND")?.value).toBe(
      want.renamed ? "-" : undefined,
    );
  });

  it("has probes that mean what they say", async () => {
    const s = await sts();
    const redis = containerOf(s, "redis");
    const script = (p: any) => p.exec.command[2] as string;
    expect(redis.startupProbe.exec.command.slice(0, 2)).toEqual(["sh", "-c"]);
    expect(script(redis.startupProbe)).toContain('= "PONG"');
    expect(redis.startupProbe.failureThreshold * redis.startupProbe.periodSeconds).toBe(600);
    expect(script(redis.livenessProbe)).toContain("PONG|LOADING*");
    expect(script(redis.readinessProbe)).toContain("master_link_status:up");
    for (const c of s.spec.template.spec.containers) {
      expect(c.livenessProbe, c.name).toBeDefined();
      expect(c.readinessProbe, c.name).toBeDefined();
      expect(JSON.stringify(c.livenessProbe)).not.toContain("mock-");
    }
    if (want.sentinel) {
      expect(script(containerOf(s, "sentinel").readinessProbe)).toContain(
        "sentinel ckquorum mymaster",
      );
    }
  });

  it("has headless, client and (sentinel mode) sentinel Services", async () => {
    const headless = await objectOf(stack, "Service", "redis-headless");
    expect(headless.spec).toMatchObject({ clusterIP: "None", publishNotReadyAddresses: true });
    const client = await objectOf(stack, "Service", "redis");
    expect(client.spec.ports.map((p: any) => p.port)).toEqual([6379, 9121]);
    const sentinel = await maybeObject(stack, "Service", "redis-sentinel");
    if (want.sentinel) {
      expect(sentinel?.spec.ports).toEqual([
        {
          name: "sentinel",
          port: 26379,
          targetPort: "sentinel",
          protocol: "TCP",
          appProtocol: "redis",
        },
      ]);
    } else {
      expect(sentinel).toBeUndefined();
    }
  });

  it("has a PDB of maxUnavailable 1 only with several pods, and pods spread across nodes", async () => {
    const pdb = await maybeObject(stack, "PodDisruptionBudget", "redis");
    if (want.replicas > 1) {
      expect(pdb?.spec.maxUnavailable).toBe(1);
      expect(pdb?.spec.selector.matchLabels).toEqual((await sts()).spec.selector.matchLabels);
    } else {
      expect(pdb).toBeUndefined();
    }
    const anti = (await sts()).spec.template.spec.affinity.podAntiAffinity;
    if (stack === "production")
      expect(anti.requiredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    else expect(anti.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
  });

  it("is protected and retained on delete exactly when protectData is on", async () => {
    const { resource } = await resourceOf(stack, "kubernetes:apps/v1:StatefulSet", "redis");
    expect(resource.protect).toBe(stack === "production");
    expect(resource.retainOnDelete).toBe(stack === "production");
  });

  it("admits exactly its clients, the reflex layer by node address, its peers and Prometheus", async () => {
    const config = configOf(stack);
    const np = await objectOf(stack, "NetworkPolicy", "redis");
    const ingress = np.spec.ingress as Record<string, any>[];
    const clients = ruleFor(
      ingress,
      (p) => p.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "orchestrator",
      "from",
    )!;
    expect(portsOf(clients)).toEqual(want.sentinel ? [6379, 26379] : [6379]);
    const cidrs = clients.from.filter((p: any) => p.ipBlock).map((p: any) => p.ipBlock.cidr);
    expect(cidrs).toEqual(config.network.nodeCidrs);
    const reflexNs = clients.from.find(
      (p: any) =>
        p.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"] ===
        config.namespaces.reflex,
    );
    expect(reflexNs?.podSelector.matchLabels["app.kubernetes.io/name"]).toBe("reflex-layer");
    const names = clients.from
      .filter((p: any) => p.podSelector && !p.namespaceSelector)
      .map((p: any) => p.podSelector.matchLabels["app.kubernetes.io/name"]);
    const armsUsing = config.arms.filter((a) => a.uses.redis).map((a) => `${a.name}-arm`);
    expect(names.sort()).toEqual(["orchestrator", "redis-backup", ...armsUsing].sort());

    const prometheus = ruleFor(
      ingress,
      (p) => p.podSelector?.matchLabels?.["app.kubernetes.io/name"] === "prometheus",
      "from",
    );
    // Prometheus is admitted only where the stack runs monitoring (dev does not).
    const monitored = config.observability.enabled;
    expect(portsOf(prometheus)).toEqual(monitored ? [9121] : []);
    const egress = np.spec.egress as Record<string, any>[];
    if (want.sentinel) {
      expect(ingress).toHaveLength(3);
      expect(egress).toEqual([
        {
          to: [{ podSelector: { matchLabels: np.spec.podSelector.matchLabels } }],
          ports: [
            { protocol: "TCP", port: 6379 },
            { protocol: "TCP", port: 26379 },
          ],
        },
      ]);
    } else {
      expect(ingress).toHaveLength(monitored ? 2 : 1);
      expect(egress).toEqual([]);
    }
  });
});

describe("Redis: an arm that does not use Redis is not admitted", () => {
  it("drops the arm's pods from the client rule", async () => {
    const overrides = { "octollm:arms": [{ name: "judge", uses: { redis: false } }] };
    const np = await objectOf("dev", "NetworkPolicy", "redis", overrides);
    const text = JSON.stringify(np.spec.ingress);
    expect(text).not.toContain("judge-arm");
    expect(text).toContain("coder-arm");
  });
});

const CONFIG_COMMAND = "CONFIG_0123456789abcdef0123456789abcdef";
const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

/** Runs the init script in a sandbox: /etc/redis paths moved to a temp dir, redis-cli stubbed. */
function runInit(
  stack: string,
  podName: string,
  sentinelAnswers: Record<string, string>,
  overrides: Record<string, unknown> = {},
  env: Record<string, string> = {},
): { redis: string; sentinel?: string; log: string } {
  const config = configOf(stack, overrides);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-init-"));
  const base = path.join(dir, "base");
  const run = path.join(dir, "run");
  const bin = path.join(dir, "bin");
  for (const d of [base, run, bin]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(base, "redis.conf"), redisConf(config));
  const script = redisInitScript(config)
    .replace("BASE=/etc/redis/base", `BASE=${base}`)
    .replace("RUN=/etc/redis/run", `RUN=${run}`);
  fs.writeFileSync(path.join(dir, "init.sh"), script);
  // redis-cli stub: answers `-h <host> ... SENTINEL get-master-addr-by-name` from the table,
  // and fails if the password is not in REDISCLI_AUTH.
  const cases = Object.entries(sentinelAnswers)
    .map(([host, answer]) => `  ${host}) printf '%s\\n6379\\n' '${answer}' ;;`)
    .join("\n");
  fs.writeFileSync(
    path.join(bin, "redis-cli"),
    `#!/bin/sh\n[ "$REDISCLI_AUTH" = "s3cret-pw" ] || exit 9\nwhile [ "$1" != "-h" ]; do shift; done\ncase "$2" in\n${cases}\n  *) exit 1 ;;\nesac\n`,
    { mode: 0o755 },
  );
  const log = execFileSync("sh", [path.join(dir, "init.sh")], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      REDIS_PASSWORD: "s3cret-pw",
      POD_NAME: podName,
      REDIS_CONFIG_COMMAND: CONFIG_COMMAND,
      ...env,
    },
    encoding: "utf8",
  });
  const read = (f: string) =>
    fs.existsSync(path.join(run, f)) ? fs.readFileSync(path.join(run, f), "utf8") : undefined;
  const mode = fs.statSync(path.join(run, "redis.conf")).mode & 0o777;
  expect(mode).toBe(0o600);
  return { redis: read("redis.conf")!, sentinel: read("sentinel.conf"), log };
}

describe("Redis init script (executed)", () => {
  const domain = "redis-headless.octollm-production.svc.cluster.local";

  it("makes pod 0 of a fresh set the master, with passwords only in the files", () => {
    const out = runInit("production", "redis-0", {});
    expect(out.redis).toContain(`\nuser default on #${sha256("s3cret-pw")} ~* &* +@all\n`);
    expect(out.redis).not.toContain("requirepass");
    expect(out.redis).toContain('masterauth "s3cret-pw"');
    expect(out.redis).toContain(`replica-announce-ip redis-0.${domain}`);
    expect(out.redis).not.toMatch(/^replicaof/m);
    expect(out.sentinel).toContain(`sentinel monitor mymaster redis-0.${domain} 6379 2`);
    expect(out.sentinel).toContain(`sentinel announce-ip redis-0.${domain}`);
    expect(out.sentinel).toContain('sentinel auth-pass mymaster "s3cret-pw"');
    expect(out.sentinel).toContain("sentinel resolve-hostnames yes");
    expect(out.log).not.toContain("s3cret-pw");
    // CONFIG is renamed to the same secret name for Redis and Sentinel
    expect(out.redis).toContain(`rename-command CONFIG ${CONFIG_COMMAND}`);
    expect(out.sentinel).toContain(`sentinel rename-command mymaster CONFIG ${CONFIG_COMMAND}`);
    expect(out.sentinel).toContain(`\nuser default on #${sha256("s3cret-pw")} ~* &* +@all\n`);
    expect(out.sentinel).toContain('sentinel sentinel-pass "s3cret-pw"');
    expect(out.redis).toContain('rename-command FLUSHALL ""');
  });

  it("makes another pod of a fresh set a replica of pod 0", () => {
    const out = runInit("production", "redis-2", {});
    expect(out.redis).toContain(`replicaof redis-0.${domain} 6379`);
    expect(out.sentinel).toContain(`sentinel monitor mymaster redis-0.${domain} 6379 2`);
  });

  it("follows the master the running Sentinels report (after a failover), even for pod 0", () => {
    const out = runInit("production", "redis-0", {
      [`redis-1.${domain}`]: `redis-2.${domain}`,
      [`redis-2.${domain}`]: `redis-2.${domain}`,
    });
    expect(out.redis).toContain(`replicaof redis-2.${domain} 6379`);
    expect(out.sentinel).toContain(`sentinel monitor mymaster redis-2.${domain} 6379 2`);
  });

  it("ignores an answer that is not one of the set's host names", () => {
    const out = runInit("production", "redis-1", { [`redis-0.${domain}`]: "10.1.2.3" });
    expect(out.redis).toContain(`replicaof redis-0.${domain} 6379`);
  });

  it("writes no sentinel config and no replication in standalone mode (dev)", () => {
    const out = runInit("dev", "redis-0", {});
    expect(out.sentinel).toBeUndefined();
    expect(out.redis).toContain(`user default on #${sha256("s3cret-pw")} ~* &* +@all`);
    expect(out.redis).not.toMatch(/replicaof|replica-announce-ip|rename-command/);
  });
});

describe("Redis: no generated secret in any rendered object", () => {
  it.each(STACKS)("%s", async (stack) => {
    const objects = await objectsOf(stack);
    const mine = objects.filter(
      (o) => o.metadata.name?.startsWith("redis") && o.kind !== "Secret",
    ) as Obj[];
    expect(mine.length).toBeGreaterThan(3);
    expect(JSON.stringify(mine)).not.toContain("mock-");
  });
});
