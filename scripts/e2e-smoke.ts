/**
 * The E2E's smoke checks: what the platform promises, proven on a real cluster after `pulumi up`
 * (scripts/e2e.sh runs this; `npm run e2e` runs that).
 *
 *   tsx scripts/e2e-smoke.ts [--stack e2e] [--context kind-octollm-e2e] [--failover]
 *
 * Every check is data first: `smokePlan(config)` lists the checks with the objects each one
 * touches (kind, namespace, name, port), computed from the stack's parsed configuration and the
 * components' own name constants. test/delivery/e2e.test.ts renders the e2e stack offline and
 * proves each of those objects exists, so a rename cannot silently break the E2E.
 *
 * Each check retries until it passes or its timeout runs out, then fails with what it last saw.
 * Secrets (database, Redis, Qdrant credentials) are read from the cluster and handed to the
 * tools on stdin or in memory; nothing secret is printed or passed as a process argument.
 */
import type { ChildProcess } from "node:child_process";
import { spawn, spawnSync } from "node:child_process";
import * as https from "node:https";
import type { PlatformConfig } from "../components/config";
import { parsePlatformConfig } from "../components/config";
import { POSTGRES_CLUSTER_NAME, POSTGRES_SERVICES } from "../components/data-stores/postgres";
import { QDRANT_PORTS, QDRANT_SERVICES } from "../components/data-stores/qdrant";
import { REDIS_NAME, REDIS_PORTS, REDIS_SERVICES } from "../components/data-stores/redis";
import { armObjectName } from "../components/arms";
import { ORCHESTRATOR_NAME } from "../components/orchestrator";
import { REFLEX_NAME } from "../components/reflex-layer";
import { EDGE_GATEWAY_NAME, gatewayDataPlaneLabels } from "../components/network-flows";
import { CA_CONFIGMAP, SECRET_KEYS } from "../components/secrets";
import { credentialRef, postgresOwnerSecret } from "../components/credentials";
import { loadStackConfig } from "./offline";

/** An object a check touches; the offline test proves it exists in the rendered stack. */
export interface SmokeRef {
  kind: string;
  namespace: string;
  name: string;
  /** a Service port the check connects to */
  port?: number;
}

export interface SmokeCheck {
  name: string;
  timeoutSeconds: number;
  refs: SmokeRef[];
  run: (cluster: Cluster) => string | Promise<string>;
}

/** Failover drill budget: the platform must serve again within this time after losing a primary. */
export const FAILOVER_BUDGET_SECONDS = 120;

// ---------------------------------------------------------------------------------------------
// kubectl
// ---------------------------------------------------------------------------------------------

export class Cluster {
  constructor(public readonly context: string) {}

  kubectl(args: string[], input?: string, timeoutSeconds = 60): string {
    const result = spawnSync("kubectl", ["--context", this.context, ...args], {
      input,
      encoding: "utf8",
      timeout: timeoutSeconds * 1000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (result.error) throw result.error;
    if (result.status !== 0) {
      throw new Error(`kubectl ${args.join(" ")}: ${result.stderr.trim() || result.stdout.trim()}`);
    }
    return result.stdout;
  }

  json<T>(args: string[]): T {
    return JSON.parse(this.kubectl([...args, "-o", "json"])) as T;
  }

  /** Decoded value of one key of a Secret, kept in memory only. */
  secret(namespace: string, name: string, key: string): string {
    const s = this.json<{ data?: Record<string, string> }>([
      "get",
      "secret",
      "-n",
      namespace,
      name,
    ]);
    const value = s.data?.[key];
    if (value === undefined) throw new Error(`Secret ${namespace}/${name} has no key ${key}`);
    return Buffer.from(value, "base64").toString("utf8");
  }

  /** `kubectl port-forward` to a Service; resolves with the local port once it listens. */
  async portForward(
    namespace: string,
    target: string,
    port: number,
  ): Promise<{ localPort: number; close: () => void }> {
    const child: ChildProcess = spawn(
      "kubectl",
      ["--context", this.context, "port-forward", "-n", namespace, target, `:${port}`],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const localPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`port-forward ${target} timed out`)), 20_000);
      let stderr = "";
      child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      child.stdout?.on("data", (d: Buffer) => {
        const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(d.toString());
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`port-forward ${namespace}/${target} exited ${code}: ${stderr.trim()}`));
      });
    });
    return { localPort, close: () => child.kill() };
  }
}

async function withPortForward<T>(
  cluster: Cluster,
  namespace: string,
  target: string,
  port: number,
  use: (localPort: number) => Promise<T>,
): Promise<T> {
  const forward = await cluster.portForward(namespace, target, port);
  try {
    return await use(forward.localPort);
  } finally {
    forward.close();
  }
}

async function httpJson(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    method: init.method ?? "GET",
    headers: { "content-type": "application/json", ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain text answers (readyz) stay text
  }
  return { status: response.status, body };
}

/** HTTPS GET through a local port, with SNI/Host set to `host` and only `ca` trusted. */
function httpsGet(host: string, localPort: number, path: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: localPort,
        path,
        servername: host,
        headers: { host },
        ca,
        minVersion: "TLSv1.2",
        timeout: 15_000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET https://${host}${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

// ---------------------------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------------------------

interface PodList {
  items: { metadata: { name: string; labels?: Record<string, string> } }[];
}

function firstPod(cluster: Cluster, namespace: string, selector: string): string {
  const pods = cluster.json<PodList>([
    "get",
    "pods",
    "-n",
    namespace,
    "-l",
    selector,
    "--field-selector=status.phase=Running",
  ]);
  const pod = pods.items[0]?.metadata.name;
  if (!pod) throw new Error(`no running pod in ${namespace} matches ${selector}`);
  return pod;
}

/**
 * `redis-cli <command>` in a Redis pod's `redis` container; the password reaches it on stdin
 * (REDISCLI_AUTH), never as an argument.
 */
function redisCli(
  cluster: Cluster,
  namespace: string,
  pod: string,
  password: string,
  command: string,
): string {
  const script = `REDISCLI_AUTH="$(cat)" redis-cli --no-auth-warning ${command}`;
  return cluster
    .kubectl(
      ["exec", "-i", "-n", namespace, pod, "-c", "redis", "--", "sh", "-c", script],
      password,
    )
    .trim();
}

const byName = (workload: string) => `app.kubernetes.io/name=${workload}`;

/** Exit status of an HTTP GET run inside a pod (the app image carries curl). */
function curlFromPod(cluster: Cluster, namespace: string, pod: string, url: string): number {
  const result = spawnSync(
    "kubectl",
    [
      "--context",
      cluster.context,
      "exec",
      "-n",
      namespace,
      pod,
      "--",
      "curl",
      "--silent",
      "--fail",
      "--max-time",
      "5",
      "--output",
      "/dev/null",
      url,
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
  return result.status ?? -1;
}

export function smokePlan(config: PlatformConfig, options: { failover?: boolean } = {}) {
  const ns = config.namespaces;
  const arms = config.arms.map((a) => ({ ...a, workload: armObjectName(a.name) }));
  const [deniedFrom, deniedTo] = arms;
  const checks: SmokeCheck[] = [];

  checks.push({
    name: "every Deployment, StatefulSet and DaemonSet of the platform is ready",
    timeoutSeconds: 900,
    refs: [
      { kind: "Deployment", namespace: ns.workloads, name: ORCHESTRATOR_NAME },
      ...arms.map((a) => ({ kind: "Deployment", namespace: ns.workloads, name: a.workload })),
      { kind: "StatefulSet", namespace: ns.workloads, name: REDIS_NAME },
      { kind: "StatefulSet", namespace: ns.workloads, name: QDRANT_SERVICES.client },
      { kind: "DaemonSet", namespace: ns.reflex, name: REFLEX_NAME },
    ],
    run: (cluster) => {
      const notReady: string[] = [];
      for (const namespace of [ns.system, ns.workloads, ns.reflex]) {
        for (const kind of ["deployment", "statefulset", "daemonset"]) {
          const list = cluster.json<{
            items: {
              metadata: { name: string };
              spec: { replicas?: number };
              status: Record<string, number | undefined>;
            }[];
          }>(["get", kind, "-n", namespace]);
          for (const item of list.items) {
            const want =
              kind === "daemonset"
                ? (item.status.desiredNumberScheduled ?? 0)
                : (item.spec.replicas ?? 1);
            const ready =
              kind === "daemonset"
                ? (item.status.numberReady ?? 0)
                : (item.status.readyReplicas ?? 0);
            if (ready < want)
              notReady.push(`${kind} ${namespace}/${item.metadata.name} ${ready}/${want}`);
          }
        }
      }
      if (notReady.length > 0) throw new Error(`not ready: ${notReady.join(", ")}`);
      return "all ready";
    },
  });

  const pg = config.dataStores.postgres;
  checks.push({
    name: `CloudNativePG cluster healthy with ${pg.instances} instances; write and read through ${POSTGRES_SERVICES.rw}`,
    timeoutSeconds: 600,
    refs: [
      { kind: "Cluster", namespace: ns.workloads, name: POSTGRES_CLUSTER_NAME },
      { kind: "Secret", namespace: ns.workloads, name: postgresOwnerSecret(config).name },
    ],
    run: (cluster) => {
      const status = cluster.json<{
        status?: { readyInstances?: number; phase?: string; currentPrimary?: string };
      }>(["get", "clusters.postgresql.cnpg.io", "-n", ns.workloads, POSTGRES_CLUSTER_NAME]).status;
      if (status?.readyInstances !== pg.instances || status.phase !== "Cluster in healthy state") {
        throw new Error(
          `Cluster ${POSTGRES_CLUSTER_NAME}: ${status?.readyInstances ?? 0}/${pg.instances} ready, phase "${status?.phase ?? "none"}"`,
        );
      }
      // The owner's basic-auth Secret, ours or an existingSecret (key "password" either way).
      const password = cluster.secret(
        ns.workloads,
        postgresOwnerSecret(config).name,
        SECRET_KEYS.password,
      );
      // psql runs in the primary's pod (the image has it) and connects through the -rw Service.
      const sql = `CREATE TABLE IF NOT EXISTS e2e_smoke (v text); INSERT INTO e2e_smoke VALUES ('ok'); SELECT count(*) FROM e2e_smoke WHERE v = 'ok';`;
      const out = cluster.kubectl(
        [
          "exec",
          "-i",
          "-n",
          ns.workloads,
          status.currentPrimary ?? `${POSTGRES_CLUSTER_NAME}-1`,
          "-c",
          "postgres",
          "--",
          "sh",
          "-c",
          `PGPASSWORD="$(cat)" psql -h ${POSTGRES_SERVICES.rw} -U ${pg.owner} -d ${pg.database} -tAc "${sql}"`,
        ],
        password,
      );
      if (!/^\d+$/m.test(out.trim()) || Number(out.trim().split("\n").pop()) < 1) {
        throw new Error(`write/read through ${POSTGRES_SERVICES.rw} returned "${out.trim()}"`);
      }
      return `primary ${status.currentPrimary}, ${pg.instances} ready, write/read ok`;
    },
  });

  const redis = config.dataStores.redis;
  checks.push({
    name:
      redis.mode === "sentinel"
        ? "Redis master found through Sentinel; a write reaches every replica"
        : "Redis answers a write and a read",
    timeoutSeconds: 300,
    refs: [
      {
        kind: "Service",
        namespace: ns.workloads,
        name: REDIS_SERVICES.client,
        port: REDIS_PORTS.redis,
      },
      ...(redis.mode === "sentinel"
        ? [
            {
              kind: "Service",
              namespace: ns.workloads,
              name: REDIS_SERVICES.sentinel,
              port: REDIS_PORTS.sentinel,
            },
          ]
        : []),
      { kind: "Secret", namespace: ns.workloads, name: credentialRef(config, "redis").name },
    ],
    run: (cluster) => {
      const { name: secret, key } = credentialRef(config, "redis");
      const password = cluster.secret(ns.workloads, secret, key);
      const cli = (pod: string, command: string) =>
        redisCli(cluster, ns.workloads, pod, password, command);
      const stamp = `e2e-${Date.now()}`;
      if (redis.mode !== "sentinel") {
        cli(`${REDIS_NAME}-0`, `SET e2e:smoke ${stamp}`);
        if (cli(`${REDIS_NAME}-0`, "GET e2e:smoke") !== stamp) throw new Error("read back differs");
        return "standalone write/read ok";
      }
      const [masterHost] = cli(
        `${REDIS_NAME}-0`,
        `-h ${REDIS_SERVICES.sentinel} -p ${REDIS_PORTS.sentinel} SENTINEL get-master-addr-by-name mymaster`,
      ).split("\n");
      if (!masterHost) throw new Error("Sentinel names no master for mymaster");
      cli(`${REDIS_NAME}-0`, `-h ${masterHost} SET e2e:smoke ${stamp}`);
      const lagging = [];
      for (let i = 0; i < redis.replicas; i++) {
        if (cli(`${REDIS_NAME}-${i}`, "GET e2e:smoke") !== stamp)
          lagging.push(`${REDIS_NAME}-${i}`);
      }
      if (lagging.length > 0) throw new Error(`write not replicated to ${lagging.join(", ")}`);
      return `master ${masterHost}, write replicated to ${redis.replicas} pods`;
    },
  });

  checks.push({
    name: "Qdrant is ready and creates and lists a collection with the API key",
    timeoutSeconds: 300,
    refs: [
      {
        kind: "Service",
        namespace: ns.workloads,
        name: QDRANT_SERVICES.client,
        port: QDRANT_PORTS.http,
      },
      { kind: "Secret", namespace: ns.workloads, name: credentialRef(config, "qdrant").name },
    ],
    run: (cluster) => {
      const { name: secret, key } = credentialRef(config, "qdrant");
      const apiKey = cluster.secret(ns.workloads, secret, key);
      return withPortForward(
        cluster,
        ns.workloads,
        `svc/${QDRANT_SERVICES.client}`,
        QDRANT_PORTS.http,
        async (port) => {
          const base = `http://127.0.0.1:${port}`;
          const headers = { "api-key": apiKey };
          const ready = await httpJson(`${base}/readyz`);
          if (ready.status !== 200) throw new Error(`/readyz answered ${ready.status}`);
          const unauthenticated = await httpJson(`${base}/collections`);
          if (unauthenticated.status !== 401 && unauthenticated.status !== 403) {
            throw new Error(
              `/collections without the API key answered ${unauthenticated.status}, not 401/403`,
            );
          }
          const put = await httpJson(`${base}/collections/e2e_smoke`, {
            method: "PUT",
            headers,
            body: { vectors: { size: 4, distance: "Cosine" } },
          });
          if (put.status !== 200)
            throw new Error(
              `create collection answered ${put.status}: ${JSON.stringify(put.body)}`,
            );
          const list = await httpJson(`${base}/collections`, { headers });
          const names = (
            (list.body as { result?: { collections?: { name: string }[] } }).result?.collections ??
            []
          ).map((c) => c.name);
          if (!names.includes("e2e_smoke"))
            throw new Error(`collection not listed: ${names.join(", ")}`);
          return `collections: ${names.join(", ")}`;
        },
      );
    },
  });

  if (deniedFrom && deniedTo) {
    checks.push({
      name: `NetworkPolicies: ${deniedFrom.name} arm cannot reach ${deniedTo.name} arm; the orchestrator can`,
      timeoutSeconds: 180,
      refs: [
        { kind: "Service", namespace: ns.workloads, name: deniedTo.workload, port: deniedTo.port },
        { kind: "NetworkPolicy", namespace: ns.workloads, name: deniedTo.workload },
      ],
      run: (cluster) => {
        const url = `http://${deniedTo.workload}.${ns.workloads}.svc:${deniedTo.port}${deniedTo.probes.readiness.path}`;
        const orchestratorPod = firstPod(cluster, ns.workloads, byName(ORCHESTRATOR_NAME));
        const allowed = curlFromPod(cluster, ns.workloads, orchestratorPod, url);
        if (allowed !== 0)
          throw new Error(`control failed: orchestrator → ${deniedTo.workload} exited ${allowed}`);
        const armPod = firstPod(cluster, ns.workloads, byName(deniedFrom.workload));
        const denied = curlFromPod(cluster, ns.workloads, armPod, url);
        if (denied === 0)
          throw new Error(
            `${deniedFrom.workload} reached ${url}: the NetworkPolicy did not refuse it`,
          );
        return `orchestrator → ${deniedTo.workload} ok; ${deniedFrom.workload} → ${deniedTo.workload} refused (curl exit ${denied})`;
      },
    });
  }

  if (config.ingress.enabled) {
    checks.push({
      name: "the orchestrator answers through the public edge over TLS (private CA)",
      timeoutSeconds: 300,
      refs: [
        { kind: "ConfigMap", namespace: ns.workloads, name: CA_CONFIGMAP },
        ...(config.ingress.kind === "gateway"
          ? [{ kind: "Gateway", namespace: ns.system, name: EDGE_GATEWAY_NAME }]
          : []),
        {
          kind: "Service",
          namespace: ns.workloads,
          name: ORCHESTRATOR_NAME,
          port: config.orchestrator.ports.http,
        },
      ],
      run: (cluster) => {
        const ca = cluster.json<{ data: Record<string, string> }>([
          "get",
          "configmap",
          "-n",
          ns.workloads,
          CA_CONFIGMAP,
        ]).data["ca.crt"];
        if (!ca) throw new Error(`ConfigMap ${CA_CONFIGMAP} has no ca.crt`);
        const edge = edgeService(cluster, config);
        // The edge routes its orchestrator prefix unchanged, so the in-cluster readiness path is
        // also the public one (the e2e stack's test holds it under ingress.paths.orchestrator).
        const path = config.orchestrator.probes.readiness.path;
        return withPortForward(cluster, edge.namespace, `svc/${edge.name}`, 443, async (port) => {
          const status = await httpsGet(config.ingress.host, port, path, ca);
          if (status !== 200)
            throw new Error(`GET https://${config.ingress.host}${path} answered ${status}`);
          return `https://${config.ingress.host}${path} → 200 through ${edge.namespace}/${edge.name}`;
        });
      },
    });
  }

  if (config.observability.enabled && config.operators.prometheusStack.install) {
    checks.push({
      name: "Prometheus has an up target for every platform ServiceMonitor and PodMonitor",
      timeoutSeconds: 600,
      refs: [],
      run: (cluster) => {
        const monitors = [ns.workloads, ns.system, ns.reflex].flatMap((namespace) =>
          cluster
            .json<{ items: { kind: string; metadata: { name: string; namespace: string } }[] }>([
              "get",
              "servicemonitors.monitoring.coreos.com,podmonitors.monitoring.coreos.com",
              "-n",
              namespace,
            ])
            .items.map(
              (m) =>
                `${m.kind === "PodMonitor" ? "podMonitor" : "serviceMonitor"}/${m.metadata.namespace}/${m.metadata.name}/`,
            ),
        );
        if (monitors.length === 0) throw new Error("no ServiceMonitor or PodMonitor found");
        return withPortForward(
          cluster,
          config.operators.prometheusStack.namespace,
          "svc/prometheus-operated",
          9090,
          async (port) => {
            const targets = await httpJson(`http://127.0.0.1:${port}/api/v1/targets?state=active`);
            const active =
              (
                targets.body as {
                  data?: { activeTargets?: { scrapePool: string; health: string }[] };
                }
              ).data?.activeTargets ?? [];
            const missing = monitors.filter(
              (m) => !active.some((t) => t.scrapePool.startsWith(m) && t.health === "up"),
            );
            if (missing.length > 0) throw new Error(`no up target for: ${missing.join(", ")}`);
            return `${monitors.length} monitors, each with an up target`;
          },
        );
      },
    });
  }

  if (config.backups.enabled) {
    checks.push({
      name: "the Redis backup CronJob, run by hand, completes",
      timeoutSeconds: 420,
      refs: [{ kind: "CronJob", namespace: ns.workloads, name: "redis-backup" }],
      run: (cluster) => {
        const job = `e2e-redis-backup-${Date.now()}`;
        cluster.kubectl(["create", "job", "-n", ns.workloads, job, "--from=cronjob/redis-backup"]);
        cluster.kubectl(
          ["wait", "-n", ns.workloads, `job/${job}`, "--for=condition=complete", "--timeout=360s"],
          undefined,
          400,
        );
        return `job ${job} complete`;
      },
    });
  }

  if (options.failover) checks.push(...failoverDrill(config));
  return checks;
}

/** Kills the Postgres primary and the Redis master; the platform must serve again in budget. */
function failoverDrill(config: PlatformConfig): SmokeCheck[] {
  const ns = config.namespaces.workloads;
  return [
    {
      name: `failover: Postgres promotes a standby within ${FAILOVER_BUDGET_SECONDS}s of losing its primary`,
      timeoutSeconds: FAILOVER_BUDGET_SECONDS,
      refs: [{ kind: "Cluster", namespace: ns, name: POSTGRES_CLUSTER_NAME }],
      run: (() => {
        let killed: string | undefined;
        return (cluster: Cluster) => {
          const status = cluster.json<{
            status: { currentPrimary: string; readyInstances?: number };
          }>(["get", "clusters.postgresql.cnpg.io", "-n", ns, POSTGRES_CLUSTER_NAME]).status;
          if (!killed) {
            killed = status.currentPrimary;
            cluster.kubectl(["delete", "pod", "-n", ns, killed, "--wait=false"]);
            throw new Error(`deleted primary ${killed}; waiting for a new one`);
          }
          if (status.currentPrimary === killed) throw new Error(`${killed} is still the primary`);
          return `new primary ${status.currentPrimary} (was ${killed})`;
        };
      })(),
    },
    {
      name: `failover: Sentinel elects a new Redis master within ${FAILOVER_BUDGET_SECONDS}s`,
      timeoutSeconds: FAILOVER_BUDGET_SECONDS,
      refs: [
        {
          kind: "Service",
          namespace: ns,
          name: REDIS_SERVICES.sentinel,
          port: REDIS_PORTS.sentinel,
        },
      ],
      run: (() => {
        let killed: string | undefined;
        return (cluster: Cluster) => {
          const { name: secret, key } = credentialRef(config, "redis");
          const password = cluster.secret(ns, secret, key);
          const pods = cluster
            .json<PodList>(["get", "pods", "-n", ns, "-l", `app.kubernetes.io/name=${REDIS_NAME}`])
            .items.map((p) => p.metadata.name);
          const asker = pods.find((p) => !killed?.startsWith(p)) ?? `${REDIS_NAME}-0`;
          const master = redisCli(
            cluster,
            ns,
            asker,
            password,
            `-h ${REDIS_SERVICES.sentinel} -p ${REDIS_PORTS.sentinel} SENTINEL get-master-addr-by-name mymaster`,
          ).split("\n")[0];
          if (!killed) {
            killed = master;
            const pod = pods.find((p) => master.startsWith(p));
            if (!pod) throw new Error(`no pod matches master ${master}`);
            cluster.kubectl(["delete", "pod", "-n", ns, pod, "--wait=false"]);
            throw new Error(`deleted master ${pod}; waiting for Sentinel to elect another`);
          }
          if (master === killed) throw new Error(`Sentinel still names ${killed}`);
          return `new master ${master} (was ${killed})`;
        };
      })(),
    },
  ];
}

/**
 * The Service Envoy Gateway runs in front of this stack's Gateway: it carries the same
 * owning-gateway labels as the proxy pods the NetworkPolicies admit (components/network-flows.ts).
 */
function edgeService(
  cluster: Cluster,
  config: PlatformConfig,
): { namespace: string; name: string } {
  const selector = Object.entries(gatewayDataPlaneLabels(config))
    .filter(([key]) => key.startsWith("gateway.envoyproxy.io/"))
    .map(([key, value]) => `${key}=${value}`)
    .join(",");
  const services = cluster.json<{ items: { metadata: { name: string; namespace: string } }[] }>([
    "get",
    "services",
    "-A",
    "-l",
    selector,
  ]);
  const match = services.items[0];
  if (!match) throw new Error(`no Envoy data-plane Service matches ${selector}`);
  return { namespace: match.metadata.namespace, name: match.metadata.name };
}

// ---------------------------------------------------------------------------------------------
// Runner
// ---------------------------------------------------------------------------------------------

async function runCheck(cluster: Cluster, check: SmokeCheck): Promise<boolean> {
  const started = Date.now();
  let last = "";
  for (;;) {
    try {
      const detail = await check.run(cluster);
      process.stdout.write(
        `  ok    ${check.name} (${Math.round((Date.now() - started) / 1000)}s): ${detail}\n`,
      );
      return true;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() - started > check.timeoutSeconds * 1000) {
      process.stdout.write(`  FAIL  ${check.name}: after ${check.timeoutSeconds}s: ${last}\n`);
      return false;
    }
    await new Promise((r) => setTimeout(r, 5000));
  }
}

export async function main(argv: string[]): Promise<number> {
  const arg = (flag: string, fallback: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 && argv[i + 1] ? argv[i + 1] : fallback;
  };
  const stack = arg("--stack", "e2e");
  const config = parsePlatformConfig(loadStackConfig(stack));
  const context = arg("--context", config.kubernetes.context ?? `kind-octollm-${stack}`);
  const cluster = new Cluster(context);
  const checks = smokePlan(config, { failover: argv.includes("--failover") });
  process.stdout.write(`smoke checks on ${context} (stack ${stack}): ${checks.length}\n`);
  let failed = 0;
  for (const check of checks) if (!(await runCheck(cluster, check))) failed++;
  process.stdout.write(`${checks.length - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`e2e-smoke: ${(error as Error).message}\n`);
      process.exit(2);
    },
  );
}
