/**
 * Redis in Sentinel mode across restarts and password rotations (issue 10, defects 6 and 7):
 *
 * - the preStop hooks, executed for real (sh) against a stub redis-cli and a no-op sleep: a
 *   stopping master asks the Sentinel SERVICE (never its own, stopping, Sentinel) to fail over and
 *   waits until another master is reported; the sentinel container waits while its pod is the
 *   master; the grace period covers both and redis-server's shutdown;
 * - password rotation: which slot every Secret and config line uses in each phase, the pods
 *   rolling per phase, the CONFIG command's name independent of the password, and (when
 *   redis-server is installed) a real Redis and Sentinel accepting both passwords mid-rotation.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  FAILOVER_WAIT_SECONDS,
  REDIS_TERMINATION_GRACE_SECONDS,
  SHUTDOWN_SECONDS,
  redisConf,
  redisInitScript,
  redisPasswordPhase,
  redisPreStopScript,
  sentinelPreStopScript,
} from "../../components/data-stores/redis";
import { redisPasswordSlots } from "../../components/secrets";
import { renderStack } from "../harness";
import { configOf, containerOf, envOf, objectOf } from "./support";

const NS = "octollm-production";
const DOMAIN = `redis-headless.${NS}.svc.cluster.local`;
const SENTINEL_SERVICE = `redis-sentinel.${NS}.svc.cluster.local`;
const sha256 = (v: string) => createHash("sha256").update(v).digest("hex");

/**
 * Runs a hook script with a stub redis-cli. The stub logs every call (host, port, command) and
 * answers from a small state machine: `info replication` says role:<role>; `get-master-addr-by-
 * name` answers `masterFor(call number)`.
 */
function runHook(
  script: string,
  opts: { podName: string; role: "master" | "slave"; masterAfter: number; newMaster: string },
): { calls: string[]; status: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-hook-"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const log = path.join(dir, "calls");
  const counter = path.join(dir, "count");
  fs.writeFileSync(counter, "0");
  const self = `${opts.podName}.${DOMAIN}`;
  fs.writeFileSync(
    path.join(bin, "redis-cli"),
    [
      "#!/bin/sh",
      '[ "$REDISCLI_AUTH" = "pw" ] || exit 9',
      'while [ "$1" != "-h" ]; do shift; done',
      'HOST="$2"; PORT="$4"; shift 4',
      `echo "$HOST:$PORT $*" >> ${log}`,
      'case "$*" in',
      `  "info replication") printf 'role:${opts.role}\\r\\nconnected_slaves:2\\r\\n' ;;`,
      "  *get-master-addr-by-name*)",
      `    N=$(cat ${counter}); N=$((N + 1)); echo "$N" > ${counter}`,
      `    if [ "$N" -gt ${opts.masterAfter} ]; then printf '%s\\n6379\\n' '${opts.newMaster}'; else printf '%s\\n6379\\n' '${self}'; fi ;;`,
      "  *failover*) echo OK ;;",
      "esac",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(bin, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  fs.writeFileSync(path.join(dir, "hook.sh"), script);
  const r = spawnSync("sh", [path.join(dir, "hook.sh")], {
    env: { PATH: `${bin}:${process.env.PATH}`, REDISCLI_AUTH: "pw", POD_NAME: opts.podName },
    encoding: "utf8",
  });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
  return { calls, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("Redis preStop hooks (executed)", () => {
  const config = configOf("production");
  const redisHook = redisPreStopScript(config);
  const sentinelHook = sentinelPreStopScript(config);

  it("a stopping master asks the Sentinel Service, not its own Sentinel, and waits for the switch", () => {
    const out = runHook(redisHook, {
      podName: "redis-0",
      role: "master",
      masterAfter: 3,
      newMaster: `redis-1.${DOMAIN}`,
    });
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(`master moved to redis-1.${DOMAIN}`);
    const failovers = out.calls.filter((c) => c.includes("sentinel failover mymaster"));
    expect(failovers.length).toBeGreaterThan(0);
    for (const c of failovers)
      expect(c).toBe(`${SENTINEL_SERVICE}:26379 sentinel failover mymaster`);
    expect(out.calls.some((c) => c.startsWith("127.0.0.1:26379"))).toBe(false);
    // it polled until the fourth answer named another master
    expect(out.calls.filter((c) => c.includes("get-master-addr-by-name"))).toHaveLength(4);
  });

  it("repeats the request every 5 s and gives up (stopping as master) after the wait", () => {
    const out = runHook(redisHook, {
      podName: "redis-0",
      role: "master",
      masterAfter: 10_000,
      newMaster: "never",
    });
    expect(out.status).toBe(0);
    expect(out.stderr).toContain(`no failover within ${FAILOVER_WAIT_SECONDS}s`);
    expect(out.calls.filter((c) => c.includes("sentinel failover"))).toHaveLength(
      FAILOVER_WAIT_SECONDS / 5,
    );
  });

  it("a replica stops at once, asking nobody to fail over", () => {
    const out = runHook(redisHook, {
      podName: "redis-2",
      role: "slave",
      masterAfter: 0,
      newMaster: `redis-0.${DOMAIN}`,
    });
    expect(out.status).toBe(0);
    expect(out.calls).toEqual(["127.0.0.1:6379 info replication"]);
  });

  it("the master's Sentinel stays up until it sees another master; a replica's stops at once", () => {
    const master = runHook(sentinelHook, {
      podName: "redis-0",
      role: "master",
      masterAfter: 5,
      newMaster: `redis-2.${DOMAIN}`,
    });
    expect(master.status).toBe(0);
    expect(master.calls).toHaveLength(6);
    for (const c of master.calls)
      expect(c).toBe("127.0.0.1:26379 sentinel get-master-addr-by-name mymaster");
    const replica = runHook(sentinelHook, {
      podName: "redis-1",
      role: "slave",
      masterAfter: 0,
      newMaster: `redis-0.${DOMAIN}`,
    });
    expect(replica.calls).toHaveLength(1);
  });
});

describe("Redis restart timing as rendered", () => {
  it.each(["staging", "production"])(
    "%s: both hooks present, grace period covers them",
    async (stack) => {
      const config = configOf(stack);
      const sts = await objectOf(stack, "StatefulSet", "redis");
      const pod = sts.spec.template.spec;
      const hook = (c: string) => containerOf(sts, c).lifecycle?.preStop?.exec?.command;
      expect(hook("redis")).toEqual(["sh", "-c", redisPreStopScript(config)]);
      expect(hook("sentinel")).toEqual(["sh", "-c", sentinelPreStopScript(config)]);
      expect(redisPreStopScript(config)).toContain(
        `SENTINELS=redis-sentinel.${config.namespaces.workloads}.svc.cluster.local`,
      );
      expect(envOf(containerOf(sts, "redis")).get("POD_NAME")?.valueFrom.fieldRef.fieldPath).toBe(
        "metadata.name",
      );
      expect(envOf(containerOf(sts, "sentinel")).has("POD_NAME")).toBe(true);
      expect(pod.terminationGracePeriodSeconds).toBe(REDIS_TERMINATION_GRACE_SECONDS);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(
        FAILOVER_WAIT_SECONDS + SHUTDOWN_SECONDS,
      );
    },
  );

  it("standalone (dev) has no hooks", async () => {
    const sts = await objectOf("dev", "StatefulSet", "redis");
    expect(containerOf(sts, "redis").lifecycle).toBeUndefined();
  });
});

// ---- password rotation ------------------------------------------------------------------------

const PHASES = [
  { active: "a", acceptBoth: false, phase: "a", password: "a", accept: "a" },
  { active: "a", acceptBoth: true, phase: "a+b", password: "a", accept: "b" },
  { active: "b", acceptBoth: true, phase: "b+a", password: "b", accept: "a" },
  { active: "b", acceptBoth: false, phase: "b", password: "b", accept: "b" },
] as const;
const rotation = (active: "a" | "b", acceptBoth: boolean) => ({
  "octollm:dataStores": { redis: { passwordRotation: { active, acceptBoth } } },
});
const PW = { a: "passwordAAAA1111", b: "passwordBBBB2222" };
const CONFIG_COMMAND = "CONFIG_00112233445566778899aabbccddeeff";

/** The init script of a phase, run with the env the pod gets in that phase. */
function initFiles(phase: (typeof PHASES)[number], podName = "redis-1") {
  const config = configOf("production", rotation(phase.active, phase.acceptBoth));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "redis-rot-"));
  const [base, run, bin] = ["base", "run", "bin"].map((d) => path.join(dir, d));
  for (const d of [base, run, bin]) fs.mkdirSync(d);
  fs.writeFileSync(path.join(base, "redis.conf"), redisConf(config));
  fs.writeFileSync(path.join(bin, "redis-cli"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
  const script = redisInitScript(config)
    .replace("BASE=/etc/redis/base", `BASE=${base}`)
    .replace("RUN=/etc/redis/run", `RUN=${run}`);
  fs.writeFileSync(path.join(dir, "init.sh"), script);
  execFileSync("sh", [path.join(dir, "init.sh")], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      POD_NAME: podName,
      REDIS_PASSWORD: PW[phase.password],
      REDIS_ACCEPT_PASSWORD: PW[phase.accept],
      REDIS_CONFIG_COMMAND: CONFIG_COMMAND,
    },
    encoding: "utf8",
  });
  return {
    dir,
    redis: fs.readFileSync(path.join(run, "redis.conf"), "utf8"),
    sentinel: fs.readFileSync(path.join(run, "sentinel.conf"), "utf8"),
  };
}

describe("Redis password rotation", () => {
  it.each(PHASES)("phase $phase: the slots each Secret carries", (p) => {
    const config = configOf("production", rotation(p.active, p.acceptBoth));
    expect(redisPasswordSlots(config)).toEqual({ password: p.password, accept: p.accept });
    expect(redisPasswordPhase(config)).toBe(p.phase);
  });

  it.each(PHASES)(
    "phase $phase: servers accept exactly the phase's passwords; everyone authenticates with the active one",
    (p) => {
      const out = initFiles(p);
      const hashes = [...new Set([PW[p.password], PW[p.accept]])].map((v) => `#${sha256(v)}`);
      const user = `user default on ${hashes.join(" ")} ~* &* +@all`;
      for (const file of [out.redis, out.sentinel]) {
        expect(file).toContain(`\n${user}\n`);
        expect(file).not.toMatch(/requirepass/);
      }
      const active = PW[p.password];
      expect(out.redis).toContain(`masterauth "${active}"`);
      expect(out.sentinel).toContain(`sentinel auth-pass mymaster "${active}"`);
      expect(out.sentinel).toContain(`sentinel sentinel-pass "${active}"`);
      const other = PW[p.password === "a" ? "b" : "a"];
      // the non-active password appears only hashed, and only while both are accepted
      expect(out.redis + out.sentinel).not.toContain(other);
      // CONFIG keeps its name in every phase: Redis and Sentinels agree throughout the rolls
      expect(out.redis).toContain(`rename-command CONFIG ${CONFIG_COMMAND}`);
      expect(out.sentinel).toContain(`sentinel rename-command mymaster CONFIG ${CONFIG_COMMAND}`);
    },
  );

  it("every phase change rolls the Redis pods; clients and the exporter keep reading the active password", async () => {
    const annotations = await Promise.all(
      PHASES.map(async (p) => {
        const run = await renderStack("production", rotation(p.active, p.acceptBoth));
        const sts = run.resources.find(
          (r) =>
            r.type === "kubernetes:apps/v1:StatefulSet" && r.name.endsWith("redis-statefulset"),
        ) as any;
        return sts.inputs.spec.template.metadata.annotations["octollm.io/password-phase"];
      }),
    );
    expect(annotations).toEqual(PHASES.map((p) => p.phase));
  });

  it("renders the server-only Secret and a CONFIG name frozen at creation (ignoreChanges)", async () => {
    const run = await renderStack("production");
    const secret = (suffix: string) =>
      run.resources.find(
        (r) => r.type === "kubernetes:core/v1:Secret" && r.name === `octollm-secrets-${suffix}`,
      ) as any;
    const server = secret("redis-server");
    expect(server.inputs.metadata).toMatchObject({
      name: "redis-server-credentials",
      namespace: NS,
    });
    expect(Object.keys(server.inputs.stringData)).toEqual(["accept-password"]);
    const command = secret("redis-config-command");
    expect(command.inputs.metadata.name).toBe("redis-config-command");
    expect(command.ignoreChanges).toEqual(expect.arrayContaining(["stringData", "data"]));
    // slot b exists from the start, so a rotation only replaces a password resource
    expect(
      run.resources
        .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
        .map((r) => r.name),
    ).toEqual(expect.arrayContaining(["octollm-secrets-redis", "octollm-secrets-redis-b"]));
    const sts = await objectOf("production", "StatefulSet", "redis");
    const init = envOf(sts.spec.template.spec.initContainers[0]);
    expect(init.get("REDIS_ACCEPT_PASSWORD")?.valueFrom.secretKeyRef).toEqual({
      name: "redis-server-credentials",
      key: "accept-password",
    });
  });
});

// ---- a real Redis and Sentinel: `npm test`'s pretest (scripts/install-redis.sh) installs them --

// The pretest links redis-server into .tools/bin when the system has none on PATH.
process.env.PATH = `${path.resolve(__dirname, "../../.tools/bin")}${path.delimiter}${process.env.PATH ?? ""}`;
const redisServer =
  spawnSync("sh", ["-c", "command -v redis-server && command -v redis-cli"], {
    encoding: "utf8",
  }).status === 0;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function cli(port: number, password: string, ...args: string[]): string {
  const r = spawnSync("redis-cli", ["--no-auth-warning", "-p", String(port), ...args], {
    env: { ...process.env, REDISCLI_AUTH: password },
    encoding: "utf8",
  });
  return `${r.stdout}${r.stderr}`.trim();
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Skipped only outside CI (a machine without apt); in CI a missing Redis is a failure.
describe.skipIf(!redisServer && !process.env.CI)(
  "Redis password rotation against a real redis-server",
  () => {
    it("mid-rotation (a+b) a master and a Sentinel accept both passwords and nothing else; CONFIG answers only to its name", async () => {
      const files = initFiles(PHASES[1], "redis-0");
      const [redisPort, sentinelPort] = [await freePort(), await freePort()];
      const data = path.join(files.dir, "data");
      fs.mkdirSync(data);
      const redisFile = path.join(files.dir, "redis-test.conf");
      fs.writeFileSync(
        redisFile,
        files.redis
          .replace(/^port .*$/m, `port ${redisPort}`)
          .replace(/^dir .*$/m, `dir ${data}`)
          .replace(/^bind .*$/m, "bind 127.0.0.1")
          .replace(/^min-replicas-to-write .*$/m, ""),
      );
      const sentinelFile = path.join(files.dir, "sentinel-test.conf");
      fs.writeFileSync(
        sentinelFile,
        files.sentinel
          .replace(/^port .*$/m, `port ${sentinelPort}`)
          .replace(/^dir .*$/m, `dir ${files.dir}`)
          .replace(/^sentinel announce-ip .*$/m, "")
          .replace(/^sentinel monitor mymaster \S+/m, "sentinel monitor mymaster 127.0.0.1")
          .replace(/6379 2$/m, `${redisPort} 1`),
      );
      const servers = [
        spawn("redis-server", [redisFile], { stdio: "ignore" }),
        spawn("redis-server", [sentinelFile, "--sentinel"], { stdio: "ignore" }),
      ];
      try {
        await until(() => cli(redisPort, PW.a, "ping") === "PONG");
        await until(() => cli(sentinelPort, PW.a, "ping") === "PONG");
        for (const port of [redisPort, sentinelPort]) {
          expect(cli(port, PW.a, "ping")).toBe("PONG");
          expect(cli(port, PW.b, "ping")).toBe("PONG");
          expect(cli(port, "wrong-password", "ping")).toMatch(/WRONGPASS|NOAUTH|invalid/i);
        }
        expect(cli(redisPort, PW.b, "config", "get", "maxmemory")).toMatch(/unknown command/i);
        expect(cli(redisPort, PW.b, CONFIG_COMMAND, "get", "maxmemory-policy")).toContain(
          "allkeys-lru",
        );
        expect(cli(redisPort, PW.a, "flushall")).toMatch(/unknown command/i);
        // the Sentinel logs in to the master with the active password (auth-pass) and sees it up
        await until(
          () => /^master0:.*status=ok/m.test(cli(sentinelPort, PW.b, "info", "sentinel")),
          10_000,
        );
      } finally {
        for (const s of servers) s.kill("SIGKILL");
      }
    }, 30_000);
  },
);
