/**
 * Reflex layer tier: the platform's first hop (per-node rate limiting and request triage in
 * front of the orchestrator), a DaemonSet on the host network in its own namespace.
 *
 * - The only PSS exemption of the platform, `EXEMPTIONS.reflexHostNetwork`, applied through the
 *   hardened pod builder: hostNetwork with dnsPolicy ClusterFirstWithHostNet, containerPort =
 *   hostPort. Everything else stays restricted: non-root, read-only root filesystem, no
 *   privilege escalation, every capability dropped. No NET_BIND_SERVICE: the port (8080) is
 *   ≥ 1024, so an unprivileged process may bind it; the config schema rejects a port below 1024
 *   rather than granting the capability.
 * - Rolling update one node at a time (maxUnavailable 1; maxSurge must stay 0: a surge pod
 *   could not bind the host port its predecessor still holds).
 * - `octollm.io/expected-nodes` carries config.kubernetes.nodeCount for the capacity report.
 * - A ClusterIP Service `reflex-layer` on 8080 for the ingress. A Service selecting host-network
 *   pods works: its endpoints are the node addresses.
 * - NetworkPolicies do not select host-network pods: the policy below is inert while the
 *   exemption holds (it records the intended flows and applies if the pod ever leaves the host
 *   network). The servers it calls admit it by `network.nodeCidrs`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { PlatformConfig } from "./config";
import type { NamespaceRole } from "./foundation";
import { EXEMPTIONS } from "./k8s/exemptions";
import { checksumOf, redisConfigEnv, secretEnvs } from "./k8s/http-service";
import { instanceName, selectorLabels, standardLabels } from "./k8s/labels";
import { hardenedPodTemplate, httpProbe } from "./k8s/pod";
import { externalCredentialSecrets } from "./credentials";
import { resolvePodOptions } from "./k8s/pod-options";
import {
  DATA_STORE_PORTS,
  dataStorePodLabels,
  edgePeer,
  orchestratorPodLabels,
  podsIn,
  policySpec,
  prometheusIngress,
  reflexPodLabels,
  tcp,
} from "./network-flows";
import { orchestratorUrl } from "./orchestrator";

export const REFLEX_NAME = "reflex-layer";
export const EXPECTED_NODES_ANNOTATION = "octollm.io/expected-nodes";

/** Non-secret environment of the reflex layer (its ConfigMap). */
export function reflexEnv(config: PlatformConfig): Record<string, string> {
  const r = config.reflexLayer;
  return {
    ENVIRONMENT: config.environment,
    LOG_LEVEL: r.logLevel,
    LOG_FORMAT: "json",
    PORT: String(r.port),
    RATE_LIMIT_ENABLED: String(r.rateLimit.enabled),
    RATE_LIMIT_REQUESTS_PER_MINUTE: String(r.rateLimit.requestsPerMinute),
    RATE_LIMIT_BURST: String(r.rateLimit.burst),
    ORCHESTRATOR_URL: orchestratorUrl(config),
    ...redisConfigEnv(config),
    ...r.env,
  };
}

export interface ReflexLayerArgs {
  config: PlatformConfig;
  namespaces: Record<NamespaceRole, pulumi.Output<string>>;
}

export class ReflexLayer extends pulumi.ComponentResource {
  public readonly serviceName: pulumi.Output<string>;
  public readonly servicePort: number;

  constructor(name: string, args: ReflexLayerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("octollm:reflex:ReflexLayer", name, {}, opts);
    const { config, namespaces } = args;
    const r = config.reflexLayer;
    const identity = {
      name: REFLEX_NAME,
      component: "reflex-layer",
      instance: instanceName(config.environment),
    };
    const labels = standardLabels(identity, { "app.kubernetes.io/version": r.image.tag });
    const selector = selectorLabels(identity);
    const namespace = namespaces.reflex;
    const child = { parent: this };

    const serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-sa`,
      { metadata: { name: REFLEX_NAME, namespace, labels }, automountServiceAccountToken: false },
      child,
    );
    const env = reflexEnv(config);
    const configMapName = `${REFLEX_NAME}-env`;
    const configMap = new k8s.core.v1.ConfigMap(
      `${name}-env`,
      { metadata: { name: configMapName, namespace, labels }, data: env },
      child,
    );

    const template = hardenedPodTemplate({
      labels,
      annotations: { "octollm.io/config-checksum": checksumOf(env) },
      serviceAccountName: serviceAccount.metadata.name,
      // The platform's only exemption: see components/k8s/exemptions.ts.
      exemption: EXEMPTIONS.reflexHostNetwork,
      options: resolvePodOptions(config.podDefaults, r.pod, externalCredentialSecrets(config)),
      containers: [
        {
          name: REFLEX_NAME,
          image: r.image,
          resources: r.resources,
          // hostNetwork: the container port is the node's port; 8080 ≥ 1024 needs no capability.
          ports: [{ name: "http", containerPort: r.port, hostPort: r.port }],
          envFrom: [{ configMapRef: { name: configMapName } }],
          // The reflex namespace has its own copy of redis-credentials (Secrets are namespaced).
          env: secretEnvs.redis(config),
          startupProbe: httpProbe(r.probes.startup, "http"),
          livenessProbe: httpProbe(r.probes.liveness, "http"),
          readinessProbe: httpProbe(r.probes.readiness, "http"),
        },
      ],
    });

    new k8s.apps.v1.DaemonSet(
      `${name}-daemonset`,
      {
        metadata: {
          name: REFLEX_NAME,
          namespace,
          labels,
          annotations: { [EXPECTED_NODES_ANNOTATION]: String(config.kubernetes.nodeCount) },
        },
        spec: {
          selector: { matchLabels: selector },
          revisionHistoryLimit: 5,
          updateStrategy: {
            type: "RollingUpdate",
            rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
          },
          template,
        },
      },
      { ...child, dependsOn: [configMap] },
    );

    const service = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { name: REFLEX_NAME, namespace, labels },
        spec: {
          type: "ClusterIP",
          selector,
          ports: [
            {
              name: "http",
              port: r.port,
              targetPort: "http",
              protocol: "TCP",
              appProtocol: "http",
            },
          ],
        },
      },
      child,
    );

    // Inert while the pods run on the host network (see the file comment); kept as the contract.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-netpol`,
      {
        metadata: {
          name: REFLEX_NAME,
          namespace,
          labels,
          annotations: {
            "octollm.io/note":
              "NetworkPolicies do not select hostNetwork pods; this policy applies only if the reflex layer leaves the host network",
          },
        },
        spec: policySpec(
          reflexPodLabels(config),
          [{ from: [edgePeer(config)], ports: tcp(r.port) }, ...prometheusIngress(config, r.port)],
          [
            {
              to: [podsIn(config.namespaces.workloads, orchestratorPodLabels(config))],
              ports: tcp(config.orchestrator.ports.http),
            },
            {
              to: [podsIn(config.namespaces.workloads, dataStorePodLabels(config, "redis"))],
              ports: tcp(...DATA_STORE_PORTS.redis),
            },
          ],
        ),
      },
      child,
    );

    this.serviceName = service.metadata.name;
    this.servicePort = r.port;
    this.registerOutputs({ serviceName: this.serviceName, servicePort: this.servicePort });
  }
}
