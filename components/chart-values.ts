/**
 * Extra Helm values per installed chart: `operators.<chart>.values`, deep-merged over the values
 * the program builds, so a chart value the program does not expose never blocks a user.
 *
 * Merge rule (Helm's own for `--values` files, except `null`): mappings merge key by key; a list
 * or a scalar replaces what was there. A `null` in the stack file removes the key from the
 * passthrough itself (mergeConfig's rule for every key) and is never handed to Helm.
 *
 * Keys we own are refused at parse time, naming the full key path, the value and why
 * (OWNED_ANYWHERE for a key name at any depth, OWNED_KEYS for one chart's paths). A passthrough
 * key refused here either has its own config key (named in the reason) or holds an invariant the
 * pack, the NetworkPolicies or Pod Security admission rely on. Everything else may be set:
 * resources blocks included, because the LimitRange guard (components/resource-placements.ts)
 * walks the merged values and names the passthrough key of a block that breaks it.
 *
 * Typo check: with the chart at the pinned version, a top-level key (for kube-prometheus-stack
 * also a key under `grafana` or `kube-state-metrics`) that the chart's values.yaml does not have
 * is refused with the closest known key. With another `version`, it is not checked.
 *
 * Pure functions, no Pulumi: run by parsePlatformConfig, by the components and in tests.
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import type { ChartKeys } from "./k8s/chart-keys";
import { CHART_KEYS } from "./k8s/chart-keys";
import { DASHBOARD_LABEL, MONITORING_POD_LABEL } from "./observability/stack-chart";

/** The charts the program installs, by their key under `operators`. */
export const CHART_IDS = [
  "cloudnativePg",
  "certManager",
  "envoyGateway",
  "prometheusStack",
  "velero",
] as const;
export type ChartId = (typeof CHART_IDS)[number];

export type Values = Record<string, unknown>;
type Segment = string | number;

function isObject(v: unknown): v is Values {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep merge of Helm values: mappings merge key by key, lists and scalars replace. */
export function mergeValues(ours: Values, extra: Values): Values {
  const out: Values = { ...ours };
  for (const [k, v] of Object.entries(extra)) {
    const base = Object.hasOwn(out, k) ? out[k] : undefined;
    // defineProperty: a `__proto__` key (JSON allows it) stays a key, not a prototype.
    Object.defineProperty(out, k, {
      value: isObject(base) && isObject(v) ? mergeValues(base, v) : structuredClone(v),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** The values handed to a chart: ours, with the stack's passthrough merged over them. */
export function withPassthrough(config: PlatformConfig, chart: ChartId, ours: Values): Values {
  const extra = config.operators[chart].values;
  return Object.keys(extra).length > 0 ? mergeValues(ours, extra) : ours;
}

/**
 * The engine's "is this config key secret?". @pulumi/pulumi exports `isConfigSecret` from
 * runtime/config.js but leaves it out of its typings; should a later SDK drop it, every
 * passthrough is taken as secret rather than risk one in clear.
 */
const runtimeConfig = pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean };
const isConfigSecret = (key: string): boolean => runtimeConfig.isConfigSecret?.(key) ?? true;

/** The config key that holds every chart's passthrough. */
export const PASSTHROUGH_CONFIG_KEY = "octollm:operators";

/**
 * The values a Chart resource gets. A passthrough may carry a secret (an SMTP password set with
 * `pulumi config set --secret --path 'octollm:operators.prometheusStack.values…'`); the program
 * reads config as plain data, so without this the engine would store it in clear in the
 * Chart's inputs. (Objects the chart renders from it are secret only where they are Kubernetes
 * Secrets: Chart v4 does not carry the mark to its children; docs/operations.md says so.) The engine marks the whole `octollm:operators` key secret when any leaf is,
 * and then the whole values of every chart with a passthrough become secret.
 */
export function chartValuesInput(
  config: PlatformConfig,
  chart: ChartId,
  ours: Values,
): pulumi.Input<Values> {
  const values = withPassthrough(config, chart, ours);
  const hasPassthrough = Object.keys(config.operators[chart].values).length > 0;
  return hasPassthrough && isConfigSecret(PASSTHROUGH_CONFIG_KEY) ? pulumi.secret(values) : values;
}

const POD_SECURITY =
  "Pod Security 'restricted' and the hardened-pod rules: the program sets (or keeps the chart's restricted default) non-root, seccomp RuntimeDefault, no privilege escalation, all capabilities dropped";
const HOST =
  "host namespaces are not admitted by Pod Security 'restricted', which the operator namespaces enforce; only the reflex layer carries that exemption";

/** Key names refused at any depth of any chart's values (subcharts, sidecars, list items). */
export const OWNED_ANYWHERE: Readonly<Record<string, string>> = {
  securityContext: POD_SECURITY,
  podSecurityContext: POD_SECURITY,
  containerSecurityContext: POD_SECURITY,
  hostNetwork: HOST,
  hostPID: HOST,
  hostIPC: HOST,
  namespaceOverride:
    "the chart's objects land in operators.<chart>.namespace (set that key): the namespace whose LimitRange, quota, Pod Security labels and NetworkPolicies the program manages",
};

/** One owned values path of one chart, and why. */
export interface OwnedKey {
  path: readonly string[];
  reason: string;
}

const own = (path: string, reason: string): OwnedKey => ({ path: path.split("."), reason });
/** A label key contains dots: the path's last segment is the whole label key. */
const ownLabel = (parent: string, label: string, reason: string): OwnedKey => ({
  path: [...parent.split("."), label],
  reason,
});

const MONITORING_LABEL = Object.keys(MONITORING_POD_LABEL)[0];
const MONITORING_NETPOL = `the label ${MONITORING_LABEL}=true is what the monitoring-stack NetworkPolicy selects`;
const KPS_NAMES =
  "object names kps-* are what the monitors, NetworkPolicies, outputs and runbook name";
const KPS_SCOPE =
  "Prometheus reads monitors and rules only from this stack's namespaces, without the chart's release label (several stacks may share a cluster; ours carry no release label)";
const NO_HOOKS = "a Helm hook, which helm.v4.Chart does not run";
const RBAC = "the operator's RBAC: without it the program's custom resources are never reconciled";

/** Values paths each chart's passthrough may not set, with the reason (docs/operations.md lists them). */
export const OWNED_KEYS: Readonly<Record<ChartId, readonly OwnedKey[]>> = {
  prometheusStack: [
    own("fullnameOverride", KPS_NAMES),
    own("nameOverride", KPS_NAMES),
    own("cleanPrometheusOperatorObjectNames", KPS_NAMES),
    own(
      "crds",
      `the CRDs come from the chart's crds/ directory (the upgrade Job is ${NO_HOOKS}); monitors and rules wait for them`,
    ),
    own("global.rbac.create", RBAC),
    own(
      "kubeStateMetrics.enabled",
      "the platform's alerts read its metrics (PodCrashLooping, HPAAtMaxReplicas: kube_*)",
    ),
    own(
      "kubelet.enabled",
      "the platform's PVCUsageHigh alert reads the kubelet's kubelet_volume_stats_*",
    ),
    own(
      "grafana.sidecar.dashboards.enabled",
      "the sidecar loads the platform's dashboard ConfigMaps",
    ),
    own("nodeExporter.enabled", HOST),
    own("prometheus-node-exporter", HOST),
    own(
      "prometheusOperator.enabled",
      "the operator makes Prometheus and Alertmanager and loads the platform's monitors and rules",
    ),
    own("prometheusOperator.admissionWebhooks", `the webhook's certificate comes from ${NO_HOOKS}`),
    own("prometheusOperator.tls", `the TLS listener mounts a Secret made by ${NO_HOOKS}`),
    ownLabel("prometheusOperator.podLabels", MONITORING_LABEL, MONITORING_NETPOL),
    ownLabel("kube-state-metrics.podLabels", MONITORING_LABEL, MONITORING_NETPOL),
    ownLabel("grafana.podLabels", MONITORING_LABEL, MONITORING_NETPOL),
    ownLabel("prometheus.prometheusSpec.podMetadata.labels", MONITORING_LABEL, MONITORING_NETPOL),
    ownLabel(
      "alertmanager.alertmanagerSpec.podMetadata.labels",
      MONITORING_LABEL,
      MONITORING_NETPOL,
    ),
    own(
      "prometheus.enabled",
      "the platform's alerts need Prometheus; set octollm:observability.enabled instead",
    ),
    own(
      "alertmanager.enabled",
      "the platform's alerts route through Alertmanager; set octollm:observability.enabled instead",
    ),
    own(
      "grafana.enabled",
      "the platform's dashboards need Grafana; set octollm:observability.enabled instead",
    ),
    own("prometheus.prometheusSpec.retention", "set octollm:observability.prometheus.retention"),
    own(
      "prometheus.prometheusSpec.retentionSize",
      "derived from octollm:observability.prometheus.storage (85% of the volume)",
    ),
    own("prometheus.prometheusSpec.storageSpec", "set octollm:observability.prometheus.storage"),
    own("prometheus.prometheusSpec.resources", "set octollm:observability.prometheus.resources"),
    own(
      "alertmanager.alertmanagerSpec.resources",
      "set octollm:observability.alertmanager.resources",
    ),
    own("grafana.resources", "set octollm:observability.grafana.resources"),
    ...["serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"].flatMap((kind) => [
      own(`prometheus.prometheusSpec.${kind}NamespaceSelector`, KPS_SCOPE),
      own(`prometheus.prometheusSpec.${kind}Selector`, KPS_SCOPE),
      own(`prometheus.prometheusSpec.${kind}SelectorNilUsesHelmValues`, KPS_SCOPE),
    ]),
    own(
      "alertmanager.alertmanagerSpec.useExistingSecret",
      "Alertmanager's routing is the Secret the program writes from octollm:secrets.alerting.* (receiver URLs are secrets)",
    ),
    own(
      "alertmanager.alertmanagerSpec.configSecret",
      "Alertmanager's routing is the Secret the program writes from octollm:secrets.alerting.* (receiver URLs are secrets)",
    ),
    own(
      "grafana.admin",
      "Grafana's admin credentials come from the generated Secret; a password in values would be plain text",
    ),
    own(
      "grafana.adminPassword",
      "Grafana's admin credentials come from the generated Secret; a password in values would be plain text",
    ),
    own("grafana.testFramework", `Grafana's test pod is ${NO_HOOKS}`),
    own(
      "grafana.initChownData",
      "a root init container, not admitted by Pod Security 'restricted'",
    ),
    own(
      "grafana.sidecar.dashboards.label",
      `the platform's dashboard ConfigMaps carry the label ${Object.keys(DASHBOARD_LABEL)[0]}=1`,
    ),
    own(
      "grafana.sidecar.dashboards.labelValue",
      `the platform's dashboard ConfigMaps carry the label ${Object.keys(DASHBOARD_LABEL)[0]}=1`,
    ),
  ],
  cloudnativePg: [
    own("crds", "the Cluster and ScheduledBackup objects need the CRDs this chart installs"),
    own("config.clusterWide", "the operator must watch the workloads namespace, not only its own"),
    own("rbac.create", RBAC),
    own("serviceAccount.create", RBAC),
  ],
  certManager: [
    own(
      "crds",
      "the ClusterIssuer and Certificates need the CRDs; keep: true so removing the chart does not delete every Certificate",
    ),
    own("installCRDs", "the CRDs are installed through crds.enabled (owned)"),
    own(
      "startupapicheck",
      `${NO_HOOKS} with hook-only RBAC; the program runs its own readiness Job`,
    ),
    own(
      "config.enableGatewayAPI",
      "the Gateway API HTTP-01 solver (ingress.kind gateway) needs it",
    ),
    own(
      "extraArgs",
      "carries the HTTP-01 solver pods' resource flags, sized for the LimitRange of the namespaces the solvers start in",
    ),
    own("global.rbac.create", RBAC),
  ],
  envoyGateway: [
    own(
      "crds",
      "the Gateway API and Envoy Gateway CRDs come from this chart; the GatewayClass, Gateway and policies wait for them",
    ),
    own(
      "createNamespace",
      "the program creates operators.envoyGateway.namespace with its Pod Security labels",
    ),
    own(
      "config.envoyGateway.gateway.controllerName",
      "the GatewayClass the program creates names gateway.envoyproxy.io/gatewayclass-controller",
    ),
  ],
  velero: [
    own("upgradeCRDs", `the CRD upgrade Job is ${NO_HOOKS}`),
    own("cleanUpCRDs", `the CRD cleanup Job is ${NO_HOOKS}`),
    own("namespace", "the program labels operators.velero.namespace for Pod Security"),
    own(
      "deployNodeAgent",
      "the node agent needs hostPath and privileges that Pod Security 'restricted' does not admit",
    ),
    own(
      "initContainers",
      "the pinned object-store plugin for octollm:backups.velero.storageLocation.provider",
    ),
    own(
      "configuration.backupStorageLocation",
      "set octollm:backups.velero.storageLocation (the Schedule and the backup alerts name this location)",
    ),
    own(
      "configuration.volumeSnapshotLocation",
      "set octollm:backups.velero.storageLocation and snapshotVolumes",
    ),
    own("credentials", "set octollm:backups.credentials (a secret in values would be plain text)"),
    own(
      "serviceAccount.server",
      "named for the IAM trust of octollm:backups.credentials (workload identity)",
    ),
    own("rbac.create", RBAC),
    own(
      "metrics.enabled",
      "the BackupFailed and BackupTooOld alerts read Velero's velero_backup_* metrics",
    ),
    ownLabel(
      "podLabels",
      "azure.workload.identity/use",
      "Azure Workload Identity (octollm:backups.credentials.mode azureWorkloadIdentity) injects its token into pods with this label",
    ),
  ],
};

/** A problem with one passthrough key; `path` is relative to `operators.<chart>.values`. */
export interface PassthroughProblem {
  path: Segment[];
  value: unknown;
  message: string;
}

function startsWith(path: readonly Segment[], prefix: readonly Segment[]): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => path[i] === s);
}

/** Every occurrence of an OWNED_ANYWHERE name inside a value (lists walked too). */
function anywhereKeys(node: unknown, path: Segment[], out: Segment[][]): void {
  if (Array.isArray(node)) {
    node.forEach((item, i) => anywhereKeys(item, [...path, i], out));
    return;
  }
  if (!isObject(node)) return;
  for (const [k, v] of Object.entries(node)) {
    if (k in OWNED_ANYWHERE) out.push([...path, k]);
    else anywhereKeys(v, [...path, k], out);
  }
}

function valueAt(node: unknown, path: readonly Segment[]): unknown {
  let at = node;
  for (const s of path) {
    if (!isObject(at) && !Array.isArray(at)) return undefined;
    at = (at as Record<string, unknown>)[s as string];
  }
  return at;
}

/**
 * Passthrough keys that set a key we own: the key itself (or a key inside it), or a list or
 * scalar that would replace a mapping holding one. `ours` is the program's own values, whose
 * owned names a replacement would remove.
 */
export function ownedKeyProblems(
  chart: ChartId,
  extra: Values,
  ours: Values,
): PassthroughProblem[] {
  const out: PassthroughProblem[] = [];
  const owned = OWNED_KEYS[chart];
  const refuse = (path: Segment[], value: unknown, message: string) =>
    out.push({ path, value, message });
  const walk = (node: Values, path: Segment[]) => {
    for (const [k, v] of Object.entries(node)) {
      const here = [...path, k];
      if (k in OWNED_ANYWHERE) {
        refuse(here, v, `owned by the program, not settable here: ${OWNED_ANYWHERE[k]}`);
        continue;
      }
      const hit = owned.find((o) => startsWith(here, o.path));
      if (hit) {
        refuse(
          here,
          v,
          `owned by the program, not settable here (${hit.path.join(".")}): ${hit.reason}`,
        );
        continue;
      }
      if (isObject(v)) {
        walk(v, here);
        continue;
      }
      // A list or scalar replaces the whole subtree: refused when an owned key lives under it,
      // or when it brings an owned name of its own (a list of containers with securityContext).
      const under = owned.find((o) => startsWith(o.path, here));
      if (under) {
        refuse(
          here,
          v,
          `would replace ${under.path.join(".")}, which the program owns: ${under.reason}`,
        );
        continue;
      }
      const inOurs: Segment[][] = [];
      anywhereKeys(valueAt(ours, here), [], inOurs);
      if (inOurs.length > 0) {
        const name = String(inOurs[0].at(-1));
        refuse(
          here,
          v,
          `would replace our ${[...here, ...inOurs[0]].join(".")}: ${OWNED_ANYWHERE[name]}`,
        );
        continue;
      }
      const inValue: Segment[][] = [];
      anywhereKeys(v, [], inValue);
      if (inValue.length > 0) {
        const name = String(inValue[0].at(-1));
        refuse(
          [...here, ...inValue[0]],
          valueAt(v, inValue[0]),
          `owned by the program, not settable here: ${OWNED_ANYWHERE[name]}`,
        );
      }
    }
  };
  walk(extra, []);
  return out;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

/**
 * Keys the chart does not know (typo protection), at the pinned version only: a top-level key,
 * and for a subchart a key one level down. Known: what the chart's values.yaml sets or documents
 * in a comment (components/k8s/chart-keys.ts), and what our own values set (the chart reads
 * those: test/foundation/limits.test.ts). Deeper keys are not checked: charts read keys their
 * values.yaml only mentions in nested comments or not at all.
 */
export function unknownKeyProblems(
  chart: ChartId,
  version: string,
  extra: Values,
  ours: Values,
): PassthroughProblem[] {
  const known: ChartKeys = CHART_KEYS[chart];
  if (version !== known.version) return [];
  const out: PassthroughProblem[] = [];
  const check = (chartKeys: readonly string[], node: Values, path: Segment[], where: string) => {
    const oursHere = valueAt(ours, path);
    const keys = [...new Set([...chartKeys, ...(isObject(oursHere) ? Object.keys(oursHere) : [])])];
    for (const [k, v] of Object.entries(node)) {
      // Every chart, and every subchart, reads `global`.
      if (k === "global" || keys.includes(k)) continue;
      const hint = closest(k, keys);
      out.push({
        path: [...path, k],
        value: v,
        message: `${where} has no key "${k}": ${hint ? `did you mean "${hint}"?` : `allowed: ${[...keys].sort().join(", ")}`}`,
      });
    }
  };
  check(known.keys, extra, [], `the ${known.chart} ${known.version} chart's values.yaml`);
  for (const [sub, keys] of Object.entries(known.subcharts ?? {})) {
    const node = extra[sub];
    if (isObject(node))
      check(keys, node, [sub], `the ${sub} subchart of ${known.chart} ${known.version}`);
  }
  return out;
}

/** A values path as `pulumi config set --path` spells it. */
export function formatValuesPath(path: readonly Segment[]): string {
  return path
    .map((s, i) =>
      typeof s === "number"
        ? `[${s}]`
        : /^[A-Za-z0-9_-]+$/.test(s)
          ? `${i === 0 ? "" : "."}${s}`
          : `["${s}"]`,
    )
    .join("");
}
