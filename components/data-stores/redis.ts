/**
 * Redis: StatefulSet `redis` of the official image.
 *
 * - sentinel mode (production): N pods, each `redis` + `sentinel` + `redis_exporter`. Replication
 *   with Sentinel (quorum from config) for automatic failover; clients ask the `redis-sentinel`
 *   Service for the master of `mymaster` (the URL in `redis-credentials` says so). Pods announce
 *   their stable DNS names (`redis-<i>.redis-headless.<ns>.svc.cluster.local`), never pod IPs,
 *   so a rescheduled pod keeps its identity in every Sentinel's view.
 * - standalone mode (dev): one `redis` + `redis_exporter`.
 *
 * Secrets: the password reaches Redis only through a file. The init container reads it from
 * `redis-credentials` (secretKeyRef env), writes an ACL line `user default on #<sha256> …` (the
 * active password and, during a rotation, the other slot's from `redis-server-credentials`),
 * `masterauth` (and the Sentinel equivalents) into a copy of the ConfigMap's config in a
 * memory-backed emptyDir (mode 0600), and the servers start with that file: no password in args,
 * in `ps`, or in any rendered object. Probes and the exporter read it from env (`REDISCLI_AUTH`,
 * `REDIS_PASSWORD`). Rotation: two password slots, three phases (config
 * `dataStores.redis.passwordRotation`, docs/runbook.md); the pod template carries the phase, so
 * each phase rolls the pods.
 *
 * Dangerous commands (disableDangerousCommands): FLUSHALL, FLUSHDB and DEBUG are disabled
 * (renamed to ""); CONFIG is renamed to a secret name (`redis-config-command`, fixed once, see
 * secrets.ts), because Sentinel must still send CONFIG REWRITE to reconfigure instances after a
 * failover — each Sentinel is told the name with `sentinel rename-command`. The exporter skips
 * CONFIG.
 *
 * Restarts: a master's preStop asks the Sentinels (through their Service) to fail over and waits
 * for the switch; the sentinel container's preStop keeps this pod's Sentinel up meanwhile; the
 * grace period covers both plus redis-server's shutdown.
 *
 * Probes: startup waits for the dataset (AOF) to load (PONG, up to 10 minutes); liveness is a
 * PING that answers (LOADING counts: a replica loading a full sync is alive); readiness is PONG
 * and, on a replica, a master link that is up. A Sentinel is ready when it sees a quorum.
 *
 * The Sentinel configuration is rewritten by Sentinel itself, so it lives in the writable
 * emptyDir; it is rebuilt at every pod start from the current master as the other Sentinels
 * report it (or pod 0 when none answers: a fresh set).
 */
import { createHash } from "node:crypto";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "../config";
import { REDIS_MASTER_NAME } from "../k8s/http-service";
import type { Labels } from "../k8s/labels";
import { selectorLabels, standardLabels } from "../k8s/labels";
import { hardenedPodTemplate, secretEnv } from "../k8s/pod";
import { resolvePodOptions } from "../k8s/pod-options";
import { credentialRef, externalCredentialSecrets, redisAcceptRef, refEnv } from "../credentials";
import {
  dataStorePodLabels,
  policySpec,
  prometheusIngress,
  reflexPeers,
  tcp,
} from "../network-flows";
import { SECRET_KEYS, SECRET_NAMES } from "../secrets";
import type { DataStoreArgs } from "./common";
import {
  clientPeers,
  dataOptions,
  dataVolumeClaim,
  execProbe,
  fqdn,
  headlessService,
  requireSpread,
  service,
  statefulSetPdb,
  storeIdentity,
} from "./common";
import { spreadAcrossNodes } from "../k8s/pod";

export const REDIS_NAME = "redis";
export const REDIS_PORTS = { redis: 6379, sentinel: 26379, metrics: 9121 } as const;
export const REDIS_SERVICES = {
  client: "redis",
  headless: "redis-headless",
  sentinel: "redis-sentinel",
} as const;

const BASE_DIR = "/etc/redis/base";
const RUN_DIR = "/etc/redis/run";
const DATA_DIR = "/data";

export type RedisArgs = DataStoreArgs;

/** The non-secret part of redis.conf (ConfigMap). */
export function redisConf(config: PlatformConfig): string {
  const r = config.dataStores.redis;
  const lines = [
    "# Rendered by the OctoLLM data-store tier; secrets are appended at pod start.",
    "bind * -::*",
    "protected-mode yes",
    `port ${REDIS_PORTS.redis}`,
    `dir ${DATA_DIR}`,
    "appendonly yes",
    "appendfsync everysec",
    'appenddirname "appendonlydir"',
    // RDB snapshots too: the backup job copies dump.rdb.
    "save 3600 1 300 100 60 10000",
    `maxmemory ${r.maxmemory}`,
    `maxmemory-policy ${r.maxmemoryPolicy}`,
    "tcp-keepalive 60",
    "timeout 0",
    "loglevel notice",
    'logfile ""',
  ];
  if (r.mode === "sentinel") {
    lines.push(
      "replica-read-only yes",
      "replica-serve-stale-data yes",
      "repl-diskless-sync yes",
      // A master cut off from every replica stops taking writes after 10 s, bounding what a
      // partition can lose when Sentinel promotes a replica on the other side.
      "min-replicas-to-write 1",
      "min-replicas-max-lag 10",
    );
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The init script: decides the master, then writes redis.conf (and sentinel.conf) with the
 * secrets into the runtime directory. Runs with REDIS_PASSWORD and POD_NAME in env.
 */
export function redisInitScript(config: PlatformConfig): string {
  const r = config.dataStores.redis;
  const sentinel = r.mode === "sentinel";
  const domain = fqdn(config, REDIS_SERVICES.headless);
  const lines = [
    "#!/bin/sh",
    "# Writes this pod's runtime configuration; the password only ever goes into files (0600).",
    "set -eu",
    ': "${REDIS_PASSWORD:?REDIS_PASSWORD is not set}"',
    ': "${POD_NAME:?POD_NAME is not set}"',
    "# Passwords accepted: the active one and, during a rotation, the other slot's. Written as",
    "# ACL hashes, so the plain text is only in masterauth / auth-pass / sentinel-pass.",
    'hash() { printf %s "$1" | sha256sum | cut -d" " -f1; }',
    'USER_LINE="user default on #$(hash "$REDIS_PASSWORD")"',
    'if [ -n "${REDIS_ACCEPT_PASSWORD:-}" ] && [ "$REDIS_ACCEPT_PASSWORD" != "$REDIS_PASSWORD" ]; then',
    '  USER_LINE="$USER_LINE #$(hash "$REDIS_ACCEPT_PASSWORD")"',
    "fi",
    'USER_LINE="$USER_LINE ~* &* +@all"',
    "umask 077",
    `BASE=${BASE_DIR}`,
    `RUN=${RUN_DIR}`,
    `DOMAIN=${domain}`,
    'SELF="${POD_NAME}.${DOMAIN}"',
    'export REDISCLI_AUTH="$REDIS_PASSWORD"',
  ];
  if (r.disableDangerousCommands) {
    lines.push(
      "# CONFIG keeps working for Sentinel under a secret name that never changes (a rotation",
      "# must not rename it mid-roll: Redis and every Sentinel have to agree).",
      ': "${REDIS_CONFIG_COMMAND:?REDIS_CONFIG_COMMAND is not set}"',
      'case "$REDIS_CONFIG_COMMAND" in CONFIG_*) ;; *) echo "bad REDIS_CONFIG_COMMAND" >&2; exit 1 ;; esac',
      'CONFIG_NAME="$REDIS_CONFIG_COMMAND"',
    );
  }
  if (sentinel) {
    lines.push(
      "# The current master as the other Sentinels see it; none answering means a fresh set.",
      'MASTER=""',
      "i=0",
      `while [ "$i" -lt ${r.replicas} ]; do`,
      '  PEER="redis-${i}.${DOMAIN}"',
      '  if [ "$PEER" != "$SELF" ]; then',
      `    ANSWER=$(timeout 5 redis-cli --no-auth-warning -h "$PEER" -p ${REDIS_PORTS.sentinel} SENTINEL get-master-addr-by-name ${REDIS_MASTER_NAME} 2>/dev/null | head -n 1 || true)`,
      '    case "$ANSWER" in',
      '      *".${DOMAIN}") MASTER="$ANSWER"; break ;;',
      "    esac",
      "  fi",
      "  i=$((i + 1))",
      "done",
      '[ -n "$MASTER" ] || MASTER="redis-0.${DOMAIN}"',
      'echo "master: $MASTER (self: $SELF)"',
    );
  }
  lines.push(
    'cp "$BASE/redis.conf" "$RUN/redis.conf"',
    "{",
    "  printf '%s\\n' \"$USER_LINE\"",
    '  printf \'masterauth "%s"\\n\' "$REDIS_PASSWORD"',
  );
  if (sentinel) {
    lines.push(
      "  printf 'replica-announce-ip %s\\n' \"$SELF\"",
      `  if [ "$MASTER" != "$SELF" ]; then printf 'replicaof %s ${REDIS_PORTS.redis}\\n' "$MASTER"; fi`,
    );
  }
  if (r.disableDangerousCommands) {
    lines.push(
      "  printf 'rename-command FLUSHALL \"\"\\n'",
      "  printf 'rename-command FLUSHDB \"\"\\n'",
      "  printf 'rename-command DEBUG \"\"\\n'",
      "  printf 'rename-command CONFIG %s\\n' \"$CONFIG_NAME\"",
    );
  }
  lines.push('} >> "$RUN/redis.conf"');
  if (sentinel) {
    lines.push(
      "{",
      `  printf 'port ${REDIS_PORTS.sentinel}\\n'`,
      "  printf 'dir /tmp\\n'",
      "  printf 'sentinel resolve-hostnames yes\\n'",
      "  printf 'sentinel announce-hostnames yes\\n'",
      "  printf 'sentinel announce-ip %s\\n' \"$SELF\"",
      "  printf '%s\\n' \"$USER_LINE\"",
      '  printf \'sentinel sentinel-pass "%s"\\n\' "$REDIS_PASSWORD"',
      `  printf 'sentinel monitor ${REDIS_MASTER_NAME} %s ${REDIS_PORTS.redis} ${r.sentinelQuorum}\\n' "$MASTER"`,
      `  printf 'sentinel auth-pass ${REDIS_MASTER_NAME} "%s"\\n' "$REDIS_PASSWORD"`,
      `  printf 'sentinel down-after-milliseconds ${REDIS_MASTER_NAME} 5000\\n'`,
      `  printf 'sentinel failover-timeout ${REDIS_MASTER_NAME} 60000\\n'`,
      `  printf 'sentinel parallel-syncs ${REDIS_MASTER_NAME} 1\\n'`,
    );
    if (r.disableDangerousCommands) {
      lines.push(
        `  printf 'sentinel rename-command ${REDIS_MASTER_NAME} CONFIG %s\\n' "$CONFIG_NAME"`,
      );
    }
    lines.push('} > "$RUN/sentinel.conf"');
  }
  lines.push('echo "configuration written to $RUN"');
  return `${lines.join("\n")}\n`;
}

const CLI = "redis-cli --no-auth-warning -h 127.0.0.1";

/** Probe scripts (REDISCLI_AUTH is in the container's env). */
export const REDIS_PROBES = {
  /** the dataset is loaded and commands are served */
  startup: `[ "$(${CLI} -p ${REDIS_PORTS.redis} ping)" = "PONG" ]`,
  /** the server answers; LOADING (AOF load, full resync) is alive, not dead */
  liveness: `case "$(${CLI} -p ${REDIS_PORTS.redis} ping)" in PONG|LOADING*) exit 0 ;; *) exit 1 ;; esac`,
  /** serves, and a replica is connected to its master */
  readiness: [
    `[ "$(${CLI} -p ${REDIS_PORTS.redis} ping)" = "PONG" ] || exit 1`,
    `INFO="$(${CLI} -p ${REDIS_PORTS.redis} info replication)"`,
    'case "$INFO" in *role:master*) exit 0 ;; esac',
    'printf %s "$INFO" | grep -q "^master_link_status:up"',
  ].join("\n"),
  sentinelLiveness: `[ "$(${CLI} -p ${REDIS_PORTS.sentinel} ping)" = "PONG" ]`,
  /** this Sentinel knows the master and, with its peers, can authorise a failover */
  sentinelReadiness: `${CLI} -p ${REDIS_PORTS.sentinel} sentinel ckquorum ${REDIS_MASTER_NAME} | grep -q "^OK"`,
} as const;

/** How long a stopping master's pod waits for Sentinel to move the master elsewhere. */
export const FAILOVER_WAIT_SECONDS = 45;
/**
 * After the preStop hooks, SIGTERM: redis-server fsyncs the AOF and, with `save` points, writes
 * a last RDB snapshot (seconds for a few GB) before it exits.
 */
export const SHUTDOWN_SECONDS = 30;
export const REDIS_TERMINATION_GRACE_SECONDS = FAILOVER_WAIT_SECONDS + SHUTDOWN_SECONDS + 15;

/**
 * preStop of the `redis` container: a master hands its role to a replica before it stops, so a
 * restart (rolling update, node drain) is one short switchover, not down-after-milliseconds of
 * unavailability plus an election.
 *
 * The request goes to the Sentinel SERVICE, not to this pod's Sentinel: containers of a
 * terminating pod stop in parallel and only the container with the hook waits, and a
 * terminating pod's endpoints leave the Service, so another pod's Sentinel answers. The hook
 * then waits (at most FAILOVER_WAIT_SECONDS) until the Sentinels report another master,
 * repeating the request every 5 s (-NOGOODSLAVE while a replica is still syncing, -INPROG, a
 * Sentinel that went away). The `sentinel` container's own preStop keeps this pod's Sentinel
 * up for the same time, so the set never loses a Sentinel vote in the middle.
 */
export function redisPreStopScript(config: PlatformConfig): string {
  const domain = fqdn(config, REDIS_SERVICES.headless);
  const sentinels = fqdn(config, REDIS_SERVICES.sentinel);
  const viaService = `redis-cli --no-auth-warning -h "$SENTINELS" -p ${REDIS_PORTS.sentinel}`;
  return [
    "#!/bin/sh",
    `SELF="\${POD_NAME}.${domain}"`,
    `SENTINELS=${sentinels}`,
    `${CLI} -p ${REDIS_PORTS.redis} info replication | grep -q "^role:master" || exit 0`,
    "i=0",
    `while [ "$i" -lt ${FAILOVER_WAIT_SECONDS} ]; do`,
    `  if [ $((i % 5)) -eq 0 ]; then ${viaService} sentinel failover ${REDIS_MASTER_NAME} || true; fi`,
    "  sleep 1",
    "  i=$((i + 1))",
    `  MASTER=$(${viaService} sentinel get-master-addr-by-name ${REDIS_MASTER_NAME} 2>/dev/null | head -n 1)`,
    '  case "$MASTER" in',
    `    "$SELF") ;;`,
    `    *".${domain}") echo "master moved to $MASTER"; exit 0 ;;`,
    "  esac",
    "done",
    `echo "no failover within ${FAILOVER_WAIT_SECONDS}s; stopping as master" >&2`,
    "",
  ].join("\n");
}

/**
 * preStop of the `sentinel` container: while this pod's Redis is the master the Sentinels know,
 * keep this Sentinel running (at most FAILOVER_WAIT_SECONDS) so the failover the redis
 * container asked for has every vote and this Sentinel sees it through; a replica's Sentinel
 * stops at once.
 */
export function sentinelPreStopScript(config: PlatformConfig): string {
  const domain = fqdn(config, REDIS_SERVICES.headless);
  return [
    "#!/bin/sh",
    `SELF="\${POD_NAME}.${domain}"`,
    "i=0",
    `while [ "$i" -lt ${FAILOVER_WAIT_SECONDS} ]; do`,
    `  MASTER=$(${CLI} -p ${REDIS_PORTS.sentinel} sentinel get-master-addr-by-name ${REDIS_MASTER_NAME} 2>/dev/null | head -n 1)`,
    '  [ "$MASTER" = "$SELF" ] || exit 0',
    "  sleep 1",
    "  i=$((i + 1))",
    "done",
    "",
  ].join("\n");
}

/** `a`, `a+b` (a in use, b accepted too), `b+a`, `b`: the rotation phase the pods run with. */
export function redisPasswordPhase(config: PlatformConfig): string {
  const { active, acceptBoth } = config.dataStores.redis.passwordRotation;
  return acceptBoth ? `${active}+${active === "a" ? "b" : "a"}` : active;
}

export function redisConfigChecksum(config: PlatformConfig): string {
  return createHash("sha256")
    .update(redisConf(config))
    .update(redisInitScript(config))
    .digest("hex");
}

export class Redis extends pulumi.ComponentResource {
  public readonly statefulSet: k8s.apps.v1.StatefulSet;
  public readonly mode: "standalone" | "sentinel";
  /** Services: client, headless and (sentinel mode) sentinel */
  public readonly serviceNames: { client: string; headless: string; sentinel?: string };
  public readonly masterName: string;
  public readonly selectorLabels: Labels;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:data:Redis", name, {}, opts);
    const { config, namespaces, storageClassName } = args;
    const r = config.dataStores.redis;
    const sentinel = r.mode === "sentinel";
    const identity = storeIdentity(config, REDIS_NAME);
    const labels = standardLabels(identity);
    const selector = selectorLabels(identity);
    const namespace = namespaces.workloads;

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      {
        metadata: { name: REDIS_NAME, namespace, labels },
        automountServiceAccountToken: false,
      },
      { parent: this },
    );

    const configMap = new k8s.core.v1.ConfigMap(
      `${name}-config`,
      {
        metadata: { name: `${REDIS_NAME}-config`, namespace, labels },
        data: { "redis.conf": redisConf(config), "init.sh": redisInitScript(config) },
      },
      { parent: this },
    );

    const passwordEnv = [
      refEnv("REDIS_PASSWORD", credentialRef(config, "redis")),
      refEnv("REDISCLI_AUTH", credentialRef(config, "redis")),
    ];
    const podName = { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } };
    const mounts = {
      base: { name: "config", mountPath: BASE_DIR, readOnly: true },
      run: { name: "runtime", mountPath: RUN_DIR },
      data: { name: "data", mountPath: DATA_DIR },
    };

    const template = hardenedPodTemplate({
      // No version label here: the pod template labels are part of the data-safety contract.
      labels,
      annotations: {
        "octollm.io/config-checksum": redisConfigChecksum(config),
        // Pods read passwords at start: each rotation phase must roll them (Secret changes do not).
        "octollm.io/password-phase": redisPasswordPhase(config),
      },
      serviceAccountName: serviceAccount.metadata.name,
      // The builder's UID 10001 (the image's redis user, 999, is below 1000); fsGroup owns /data.
      affinity: spreadAcrossNodes(selector, requireSpread(config)),
      options: resolvePodOptions(
        config.podDefaults,
        config.dataStores.redis.pod,
        externalCredentialSecrets(config),
      ),
      // Covers the preStop hooks (failover wait) and redis-server's own shutdown after them.
      terminationGracePeriodSeconds: sentinel ? REDIS_TERMINATION_GRACE_SECONDS : 30,
      volumes: [
        { name: "config", configMap: { name: `${REDIS_NAME}-config`, defaultMode: 0o444 } },
        // Holds the password-bearing config: memory-backed, never on a node disk.
        { name: "runtime", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
      ],
      initContainers: [
        {
          name: "config",
          image: r.image,
          resources: r.sentinelResources,
          command: ["sh", `${BASE_DIR}/init.sh`],
          env: [
            podName,
            ...passwordEnv,
            refEnv("REDIS_ACCEPT_PASSWORD", redisAcceptRef(config)),
            ...(r.disableDangerousCommands
              ? [
                  secretEnv(
                    "REDIS_CONFIG_COMMAND",
                    SECRET_NAMES.redisConfigCommand,
                    SECRET_KEYS.commandName,
                  ),
                ]
              : []),
          ],
          volumeMounts: [mounts.base, mounts.run],
        },
      ],
      containers: [
        {
          name: "redis",
          image: r.image,
          resources: r.resources,
          command: ["redis-server", `${RUN_DIR}/redis.conf`],
          ports: [{ name: "redis", containerPort: REDIS_PORTS.redis }],
          // POD_NAME: the preStop hook compares the master's name with its own.
          env: sentinel ? [podName, ...passwordEnv] : passwordEnv,
          volumeMounts: [mounts.run, mounts.data],
          startupProbe: execProbe(REDIS_PROBES.startup, {
            periodSeconds: 5,
            timeoutSeconds: 3,
            failureThreshold: 120,
          }),
          livenessProbe: execProbe(REDIS_PROBES.liveness, {
            periodSeconds: 10,
            timeoutSeconds: 5,
            failureThreshold: 3,
          }),
          readinessProbe: execProbe(REDIS_PROBES.readiness, {
            periodSeconds: 5,
            timeoutSeconds: 3,
            failureThreshold: 2,
          }),
          ...(sentinel
            ? {
                lifecycle: {
                  preStop: { exec: { command: ["sh", "-c", redisPreStopScript(config)] } },
                },
              }
            : {}),
        },
        ...(sentinel
          ? [
              {
                name: "sentinel",
                image: r.image,
                resources: r.sentinelResources,
                command: ["redis-sentinel", `${RUN_DIR}/sentinel.conf`],
                ports: [{ name: "sentinel", containerPort: REDIS_PORTS.sentinel }],
                env: [podName, ...passwordEnv],
                volumeMounts: [mounts.run],
                lifecycle: {
                  preStop: { exec: { command: ["sh", "-c", sentinelPreStopScript(config)] } },
                },
                livenessProbe: execProbe(REDIS_PROBES.sentinelLiveness, {
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                  failureThreshold: 3,
                }),
                readinessProbe: execProbe(REDIS_PROBES.sentinelReadiness, {
                  periodSeconds: 10,
                  timeoutSeconds: 5,
                  failureThreshold: 3,
                }),
              },
            ]
          : []),
        {
          name: "exporter",
          image: r.exporterImage,
          resources: r.exporterResources,
          ports: [{ name: "metrics", containerPort: REDIS_PORTS.metrics }],
          env: [
            { name: "REDIS_ADDR", value: `redis://127.0.0.1:${REDIS_PORTS.redis}` },
            refEnv("REDIS_PASSWORD", credentialRef(config, "redis")),
            // CONFIG is renamed away when dangerous commands are off; maxmemory comes from INFO.
            ...(r.disableDangerousCommands
              ? [{ name: "REDIS_EXPORTER_CONFIG_COMMAND", value: "-" }]
              : []),
          ],
          livenessProbe: {
            httpGet: { path: "/health", port: "metrics" },
            periodSeconds: 15,
            timeoutSeconds: 3,
            failureThreshold: 3,
          },
          readinessProbe: {
            httpGet: { path: "/health", port: "metrics" },
            periodSeconds: 10,
            timeoutSeconds: 3,
            failureThreshold: 3,
          },
        },
      ],
    });

    const headless = headlessService(
      `${name}-headless`,
      {
        identity,
        serviceName: REDIS_SERVICES.headless,
        namespace,
        ports: [
          { name: "redis", port: REDIS_PORTS.redis, appProtocol: "redis" },
          ...(sentinel
            ? [{ name: "sentinel", port: REDIS_PORTS.sentinel, appProtocol: "redis" }]
            : []),
        ],
      },
      this,
    );
    service(
      `${name}-service`,
      {
        identity,
        serviceName: REDIS_SERVICES.client,
        namespace,
        ports: [
          { name: "redis", port: REDIS_PORTS.redis, appProtocol: "redis" },
          { name: "metrics", port: REDIS_PORTS.metrics, appProtocol: "http" },
        ],
      },
      this,
    );
    if (sentinel) {
      service(
        `${name}-sentinel`,
        {
          identity,
          serviceName: REDIS_SERVICES.sentinel,
          namespace,
          ports: [{ name: "sentinel", port: REDIS_PORTS.sentinel, appProtocol: "redis" }],
        },
        this,
      );
    }

    this.statefulSet = new k8s.apps.v1.StatefulSet(
      `${name}-statefulset`,
      {
        metadata: {
          name: REDIS_NAME,
          namespace,
          labels: { ...labels, "app.kubernetes.io/version": r.image.tag },
        },
        spec: {
          serviceName: REDIS_SERVICES.headless,
          replicas: r.replicas,
          // All pods start together: a restarted set finds its master through whichever
          // Sentinel is already up, instead of waiting for pod 0.
          podManagementPolicy: "Parallel",
          updateStrategy: { type: "RollingUpdate" },
          minReadySeconds: 10,
          revisionHistoryLimit: 5,
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          selector: { matchLabels: selector },
          template,
          volumeClaimTemplates: [dataVolumeClaim(identity, storageClassName, r.storage)],
        },
      },
      { parent: this, dependsOn: [configMap, headless], ...dataOptions(config) },
    );

    statefulSetPdb(name, { identity, namespace, replicas: r.replicas }, this);

    // In: clients (orchestrator, arms with uses.redis, backup job, the reflex layer — from its
    // namespace, or by node address while it runs on the host network) on 6379 and 26379;
    // the other Redis pods (replication, Sentinel gossip); Prometheus on the exporter.
    // Out: the other Redis pods.
    const self = { podSelector: { matchLabels: dataStorePodLabels(config, "redis") } };
    const clientPorts = sentinel
      ? tcp(REDIS_PORTS.redis, REDIS_PORTS.sentinel)
      : tcp(REDIS_PORTS.redis);
    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      {
        metadata: { name: REDIS_NAME, namespace, labels },
        spec: policySpec(
          dataStorePodLabels(config, "redis"),
          [
            {
              from: [...clientPeers(config, "redis"), ...reflexPeers(config)],
              ports: clientPorts,
            },
            ...(sentinel ? [{ from: [self], ports: clientPorts }] : []),
            ...prometheusIngress(config, REDIS_PORTS.metrics),
          ],
          sentinel ? [{ to: [self], ports: clientPorts }] : [],
        ),
      },
      { parent: this },
    );

    this.mode = r.mode;
    this.serviceNames = {
      client: REDIS_SERVICES.client,
      headless: REDIS_SERVICES.headless,
      ...(sentinel ? { sentinel: REDIS_SERVICES.sentinel } : {}),
    };
    this.masterName = REDIS_MASTER_NAME;
    this.selectorLabels = selector;
    this.registerOutputs({ mode: this.mode, serviceNames: this.serviceNames });
  }
}
