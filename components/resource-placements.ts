/**
 * Every resources block the program writes, and the namespace its pods land in: the program's
 * own pods (from config), every chart's values (walked generically, see k8s/limits.ts) and the
 * operator flags that become container resources. parsePlatformConfig checks them all against
 * the LimitRanges of the stack's namespaces before any resource is registered.
 *
 * A chart the program installs has its values built by the same function its component calls,
 * so what is checked here is what is deployed.
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

/** The charts the program installs: values walked for every resources block. */
function chartPlacements(c: PlatformConfig): ResourcePlacement[] {
  const out: ResourcePlacement[] = [];
  const ops = c.operators;
  if (c.observability.enabled && ops.prometheusStack.install) {
    out.push(
      ...chartResourcePlacements(prometheusStackValues(c), {
        chart: "kube-prometheus-stack",
        // The chart's pods, the Prometheus and Alertmanager pods the operator makes from its
        // CRs, and node-exporter's DaemonSet when enabled: all in the release namespace.
        namespace: c.namespaces.system,
        configKey: "operators.prometheusStack",
        keyOverrides: {
          "prometheus.prometheusSpec.resources": "observability.prometheus.resources",
          "alertmanager.alertmanagerSpec.resources": "observability.alertmanager.resources",
          "grafana.resources": "observability.grafana.resources",
        },
      }),
    );
  }
  if (ops.cloudnativePg.install) {
    out.push(
      ...chartResourcePlacements(cnpgOperatorValues(), {
        chart: "cloudnative-pg",
        namespace: ops.cloudnativePg.namespace,
        configKey: "operators.cloudnativePg",
      }),
    );
  }
  if (ops.velero.install) {
    out.push(
      ...chartResourcePlacements(veleroChartValues(c), {
        chart: "velero",
        namespace: ops.velero.namespace,
        configKey: "operators.velero",
      }),
    );
  }
  if (c.ingress.enabled && c.ingress.tls.mode === "acme" && ops.certManager.install) {
    const values = certManagerValues(c);
    out.push(
      ...chartResourcePlacements(values, {
        chart: "cert-manager",
        namespace: ops.certManager.namespace,
        configKey: "operators.certManager",
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
    if (eg.install)
      out.push(
        ...chartResourcePlacements(envoyGatewayValues(c), {
          chart: "gateway-helm",
          namespace: eg.namespace,
          configKey: "operators.envoyGateway",
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
