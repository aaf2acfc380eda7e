/**
 * Every resources block the program writes, and the namespace its pods land in: the program's
 * own pods (from config), every chart's values (walked generically, see k8s/limits.ts) and the
 * operator flags that become container resources. parsePlatformConfig checks them all against
 * the LimitRanges of the stack's namespaces before any resource is registered.
 *
 * A chart the program installs has its values built by the same functions its component calls
 * (ours, then the stack's `operators.<chart>.values` merged over them), so what is checked here
 * is what is deployed.
 */
import type { PlatformConfig } from "./config";
import type { ContainerLimitRange, LimitProblem, ResourcePlacement } from "./k8s/limits";
import {
  chartResourcePlacements,
  flagPlacement,
  limitRangeDefaultProblems,
  placementProblems,
} from "./k8s/limits";
import { NAMESPACE_ROLES } from "./foundation";
import { certManagerValues, STARTUPAPICHECK_RESOURCES } from "./ingress";
import { ENVOY_GATEWAY_RESOURCES, envoyGatewayValues } from "./gateway";
import { edgeTlsRoles } from "./secrets";
import { cnpgOperatorValues } from "./data-stores/postgres";
import { veleroChartValues } from "./backups/velero";
import { prometheusStackValues } from "./observability/stack-chart";
import type { ChartId, PassthroughProblem, Values } from "./chart-values";
import {
  CHART_IDS,
  formatValuesPath,
  ownedKeyProblems,
  unknownKeyProblems,
  withPassthrough,
} from "./chart-values";

/** cert-manager's own defaults for the HTTP-01 solver pod (flags of the controller, v1.18). */
const CERT_MANAGER_SOLVER_DEFAULTS = {
  "requests.cpu": "10m",
  "requests.memory": "64Mi",
  "limits.cpu": "100m",
  "limits.memory": "64Mi",
} as const;

/** `--acme-http01-solver-resource-{request,limits}-{cpu,memory}=X` flags, by resource field. */
function solverFlags(args: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const arg of Array.isArray(args) ? args : []) {
    const m = /^--acme-http01-solver-resource-(request|limits)-(cpu|memory)=(.*)$/.exec(
      String(arg),
    );
    if (m) out[`${m[1] === "request" ? "requests" : "limits"}.${m[2]}`] = m[3];
  }
  return out;
}

/** The program's own pods: config key, namespace role, resources. */
function ownPlacements(c: PlatformConfig): ResourcePlacement[] {
  const ns = c.namespaces;
  const out: ResourcePlacement[] = [
    {
      key: "orchestrator.resources",
      what: "the orchestrator container",
      namespace: ns.workloads,
      resources: c.orchestrator.resources,
    },
    ...c.arms.map((a) => ({
      key: `arms[${a.name}].resources`,
      what: `the ${a.name} arm container`,
      namespace: ns.workloads,
      resources: a.resources,
    })),
    {
      key: "reflexLayer.resources",
      what: "the reflex layer container",
      namespace: ns.reflex,
      resources: c.reflexLayer.resources,
    },
    {
      // CloudNativePG gives the Cluster's resources to the instance pods' postgres container,
      // their bootstrap-controller init container and the initdb/join Jobs.
      key: "dataStores.postgres.resources",
      what: "the postgres instances",
      namespace: ns.workloads,
      resources: c.dataStores.postgres.resources,
    },
    {
      key: "dataStores.redis.resources",
      what: "the redis container",
      namespace: ns.workloads,
      resources: c.dataStores.redis.resources,
    },
    {
      // The config init container uses them in every mode; the sentinel container in sentinel mode.
      key: "dataStores.redis.sentinelResources",
      what: "the redis config init container and sentinel",
      namespace: ns.workloads,
      resources: c.dataStores.redis.sentinelResources,
    },
    {
      key: "dataStores.redis.exporterResources",
      what: "the redis exporter sidecar",
      namespace: ns.workloads,
      resources: c.dataStores.redis.exporterResources,
    },
    {
      key: "dataStores.qdrant.resources",
      what: "the qdrant container",
      namespace: ns.workloads,
      resources: c.dataStores.qdrant.resources,
    },
  ];
  if (c.backups.enabled)
    out.push({
      key: "backups.jobResources",
      what: "the backup CronJob containers",
      namespace: ns.workloads,
      resources: c.backups.jobResources,
    });
  if (c.observability.tracing.enabled)
    out.push({
      key: "observability.tracing.resources",
      what: `the OpenTelemetry Collector${c.observability.tracing.mode === "jaeger" ? " and Jaeger" : ""}`,
      namespace: ns.system,
      resources: c.observability.tracing.resources,
    });
  return out;
}

/**
 * The charts this stack installs, each with the values the program builds (before the
 * passthrough). Absent: a chart the stack does not install.
 */
export function installedChartValues(c: PlatformConfig): Partial<Record<ChartId, Values>> {
  const ops = c.operators;
  const out: Partial<Record<ChartId, Values>> = {};
  if (c.observability.enabled && ops.prometheusStack.install)
    out.prometheusStack = prometheusStackValues(c);
  if (ops.cloudnativePg.install) out.cloudnativePg = cnpgOperatorValues();
  if (ops.velero.install) out.velero = veleroChartValues(c);
  if (c.ingress.enabled && c.ingress.tls.mode === "acme" && ops.certManager.install)
    out.certManager = certManagerValues(c);
  if (c.ingress.enabled && c.ingress.kind === "gateway" && ops.envoyGateway.install)
    out.envoyGateway = envoyGatewayValues(c);
  return out;
}

/**
 * Resources blocks a passthrough sets, by values path (as chartResourcePlacements spells it):
 * their problems name the passthrough key, not the chart's install key.
 */
function passthroughResourceKeys(c: PlatformConfig, chart: ChartId): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of chartResourcePlacements(c.operators[chart].values, {
    chart: "",
    namespace: "",
    configKey: "",
  })) {
    const path = p.what.replace(/^ value /, "");
    out[path] = `operators.${chart}.values.${path}`;
  }
  return out;
}

/** The charts the program installs: merged values walked for every resources block. */
function chartPlacements(c: PlatformConfig): ResourcePlacement[] {
  const out: ResourcePlacement[] = [];
  const ops = c.operators;
  const charts = installedChartValues(c);
  const merged = (chart: ChartId, ours: Values) => withPassthrough(c, chart, ours);
  const place = (
    chart: ChartId,
    ours: Values,
    options: { chart: string; namespace: string; keyOverrides?: Record<string, string> },
  ) =>
    chartResourcePlacements(merged(chart, ours), {
      ...options,
      configKey: `operators.${chart}`,
      // A config key of our own wins: a passthrough setting that block is refused anyway.
      keyOverrides: { ...passthroughResourceKeys(c, chart), ...options.keyOverrides },
    });
  if (charts.prometheusStack) {
    out.push(
      ...place("prometheusStack", charts.prometheusStack, {
        chart: "kube-prometheus-stack",
        // The chart's pods, the Prometheus and Alertmanager pods the operator makes from its
        // CRs, and node-exporter's DaemonSet when enabled: all in the release namespace.
        namespace: c.namespaces.system,
        keyOverrides: {
          "prometheus.prometheusSpec.resources": "observability.prometheus.resources",
          "alertmanager.alertmanagerSpec.resources": "observability.alertmanager.resources",
          "grafana.resources": "observability.grafana.resources",
        },
      }),
    );
  }
  if (charts.cloudnativePg) {
    out.push(
      ...place("cloudnativePg", charts.cloudnativePg, {
        chart: "cloudnative-pg",
        namespace: ops.cloudnativePg.namespace,
      }),
    );
  }
  if (charts.velero) {
    out.push(
      ...place("velero", charts.velero, { chart: "velero", namespace: ops.velero.namespace }),
    );
  }
  if (charts.certManager) {
    const values = merged("certManager", charts.certManager);
    out.push(
      ...place("certManager", charts.certManager, {
        chart: "cert-manager",
        namespace: ops.certManager.namespace,
      }),
    );
    // cert-manager's API check Job (the issuer's readiness gate) runs in the system namespace.
    out.push({
      key: "operators.certManager",
      what: "the cert-manager-startupapicheck Job",
      namespace: c.namespaces.system,
      resources: STARTUPAPICHECK_RESOURCES,
    });
    // The controller's flags size the HTTP-01 solver pods, which start in the namespace of
    // each Certificate (beside the Gateway, or both backend namespaces for Ingress objects).
    for (const role of c.ingress.tls.solver === "http01" ? edgeTlsRoles(c) : []) {
      out.push(
        flagPlacement(
          {
            key: "operators.certManager",
            what: "cert-manager's HTTP-01 solver pod (controller flags --acme-http01-solver-resource-*)",
            namespace: c.namespaces[role],
          },
          solverFlags(values.extraArgs),
          CERT_MANAGER_SOLVER_DEFAULTS,
        ),
      );
    }
  }
  if (c.ingress.enabled && c.ingress.kind === "gateway") {
    const eg = ops.envoyGateway;
    if (charts.envoyGateway)
      out.push(
        ...place("envoyGateway", charts.envoyGateway, {
          chart: "gateway-helm",
          namespace: eg.namespace,
        }),
      );
    // The Envoy proxies (EnvoyProxy resources) run in Envoy Gateway's namespace.
    out.push(
      {
        key: "ingress.gateway.proxyResources",
        what: "the Envoy proxy container",
        namespace: eg.namespace,
        resources: c.ingress.gateway.proxyResources,
      },
      {
        key: "ingress.gateway",
        what: "the Envoy proxies' shutdown-manager sidecar",
        namespace: eg.namespace,
        resources: ENVOY_GATEWAY_RESOURCES.shutdownManager,
      },
    );
  }
  return out;
}

/**
 * Problems with the stack's chart passthroughs (`operators.<chart>.values`): keys we own, keys
 * the chart's values.yaml does not have, values for a chart this stack does not install.
 */
export function chartValuesProblems(c: PlatformConfig): LimitProblem[] {
  const installed = installedChartValues(c);
  const out: LimitProblem[] = [];
  for (const chart of CHART_IDS) {
    const extra = c.operators[chart].values;
    if (Object.keys(extra).length === 0) continue;
    const ours = installed[chart];
    if (!ours) {
      out.push({
        key: `operators.${chart}.values`,
        value: extra,
        message: `this stack does not install the chart (operators.${chart}.install is ${String(c.operators[chart].install)}, or the feature that needs it is off): the values would have no effect; remove them`,
      });
      continue;
    }
    const problems: PassthroughProblem[] = [
      ...ownedKeyProblems(chart, extra, ours),
      ...unknownKeyProblems(chart, c.operators[chart].version, extra, ours),
    ];
    for (const p of problems)
      out.push({
        key: formatValuesPath(["operators", chart, "values", ...p.path]),
        value: p.value,
        message: p.message,
      });
  }
  return out;
}

/** Every resources block the program writes, with its namespace. */
export function resourcePlacements(c: PlatformConfig): ResourcePlacement[] {
  return [...ownPlacements(c), ...chartPlacements(c)];
}

/** The LimitRange of each of the stack's namespaces, with its config key. */
export function limitRangesByNamespace(
  c: PlatformConfig,
): Map<string, { range: ContainerLimitRange; key: string }> {
  const out = new Map<string, { range: ContainerLimitRange; key: string }>();
  for (const role of NAMESPACE_ROLES) {
    const lr = c.quotas[role].limitRange;
    out.set(c.namespaces[role], {
      key: `quotas.${role}.limitRange`,
      range: {
        default: lr.default,
        defaultRequest: lr.defaultRequest,
        ...(lr.min ? { min: lr.min } : {}),
        ...(lr.max ? { max: lr.max } : {}),
        maxLimitRequestRatio: {
          cpu: lr.maxLimitRequestRatio.cpu,
          memory: lr.maxLimitRequestRatio.memory,
        },
      },
    });
  }
  return out;
}

/**
 * The LimitRange guard: every LimitRange's defaults pass it, and every placement passes the
 * LimitRange of its namespace. Empty when every pod the program creates (or makes an operator
 * or chart create) is admitted.
 */
export function limitRangeProblems(c: PlatformConfig): LimitProblem[] {
  const ranges = limitRangesByNamespace(c);
  const out: LimitProblem[] = [];
  for (const role of NAMESPACE_ROLES) {
    const lr = ranges.get(c.namespaces[role]);
    if (lr) out.push(...limitRangeDefaultProblems(lr.range, lr.key, c.namespaces[role]));
  }
  out.push(...placementProblems(resourcePlacements(c), ranges));
  return out;
}
