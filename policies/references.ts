/**
 * References family: names and selectors point at something. Services, PDBs and NetworkPolicies
 * select pods; HPAs, Ingress backends and ServiceMonitors name objects and ports that exist;
 * Secrets and ConfigMaps a pod reads exist in the stack, are made by an operator the stack uses,
 * or are declared external with the `octollm.io/external-secrets` / `octollm.io/external-configmaps`
 * annotation (comma-separated names) on the workload or its pod template.
 */
import type { Container, PodSpec, Props } from "./lib/k8s";
import { TYPES, annotationsOf, asArray, metaOf } from "./lib/k8s";
import type { OctoPolicy } from "./lib/policy";
import type { Indexed, LabelSelector, StackIndex, Workload } from "./lib/stack";
import { describeSelector, indexStack, mapSelector, selectorMatches } from "./lib/stack";

export const EXTERNAL_SECRETS_ANNOTATION = "octollm.io/external-secrets";
export const EXTERNAL_CONFIGMAPS_ANNOTATION = "octollm.io/external-configmaps";

/** A pod an operator creates at run time: its labels and the names of its container ports. */
interface OperatorPod {
  labels: Record<string, string>;
  ports: string[];
}

/**
 * Pods operators make for objects of the stack: CloudNativePG instances (ports postgresql,
 * metrics, status) and Pooler pods (pgbouncer, metrics), cert-manager's ACME HTTP-01 solvers.
 */
function operatorPods(index: StackIndex, namespace: string | undefined): OperatorPod[] {
  const out: OperatorPod[] = [];
  for (const c of index.inNamespace(TYPES.cnpgCluster, namespace ?? "")) {
    for (const role of ["primary", "replica"])
      out.push({
        labels: {
          "cnpg.io/cluster": c.objectName,
          "cnpg.io/podRole": "instance",
          "cnpg.io/instanceRole": role,
          role,
        },
        ports: ["postgresql", "metrics", "status"],
      });
  }
  for (const p of index.inNamespace(TYPES.cnpgPooler, namespace ?? "")) {
    out.push({
      labels: { "cnpg.io/poolerName": p.objectName, "cnpg.io/podRole": "pooler" },
      ports: ["pgbouncer", "metrics"],
    });
  }
  // cert-manager runs ACME HTTP-01 solver pods in the namespace of the Certificate being issued.
  if (index.inNamespace(TYPES.certificate, namespace ?? "").some((c) => mayUseHttp01(index, c)))
    out.push({ labels: { "acme.cert-manager.io/http01-solver": "true" }, ports: ["http"] });
  return out;
}

/** Whether a Certificate's issuer may solve HTTP-01 challenges (unknown issuers: assume so). */
function mayUseHttp01(index: StackIndex, cert: Indexed): boolean {
  const ref = (cert.props.spec as { issuerRef?: { kind?: string; name?: string } } | undefined)
    ?.issuerRef;
  const kind = ref?.kind ?? "Issuer";
  const issuer = index.all.find(
    (r) =>
      r.props.kind === kind &&
      r.objectName === ref?.name &&
      (kind === "ClusterIssuer" || r.namespace === cert.namespace),
  );
  if (!issuer) return true;
  const solvers = (issuer.props.spec as { acme?: { solvers?: { http01?: unknown }[] } } | undefined)
    ?.acme?.solvers;
  return asArray(solvers).some((s) => s.http01 !== undefined);
}

/** Objects of `type` the stack itself declares (not rendered by a Helm chart). */
function own(index: StackIndex, type: string): Indexed[] {
  return index.of(type).filter((r) => !r.chartManaged);
}

function hasUnexpandedChart(index: StackIndex, namespace: string | undefined): boolean {
  return index.charts.some((c) => (c.props as { namespace?: string }).namespace === namespace);
}

function selectsSomething(
  index: StackIndex,
  namespace: string | undefined,
  selector: LabelSelector,
): boolean {
  return (
    index.podsSelectedBy(namespace, selector).length > 0 ||
    operatorPods(index, namespace).some((pod) => selectorMatches(selector, pod.labels))
  );
}

function isEmptySelector(s: LabelSelector | undefined): boolean {
  return (
    !s ||
    (Object.keys(s.matchLabels ?? {}).length === 0 && asArray(s.matchExpressions).length === 0)
  );
}

export const selectorsMatch: OctoPolicy = {
  name: "selectors-match",
  description:
    "Service, PodDisruptionBudget and NetworkPolicy selectors match the pods of some workload in their namespace; ServiceMonitor/PodMonitor selectors match Services/pods and name ports they expose.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    const check = (r: Indexed, selector: LabelSelector | undefined, what: string) => {
      if (isEmptySelector(selector)) return;
      if (selectsSomething(index, r.namespace, selector as LabelSelector)) return;
      // Pods of a Helm chart are not visible offline: a selector into its namespace cannot be judged.
      if (hasUnexpandedChart(index, r.namespace)) return;
      reportViolation(
        `${r.label}: ${what} ${describeSelector(selector)} matches no pod template in namespace ${r.namespace}`,
        r.urn,
      );
    };
    for (const s of index.of(TYPES.service)) {
      if (s.chartManaged) continue;
      const spec = (s.props.spec ?? {}) as { selector?: Record<string, string>; type?: string };
      if (spec.type === "ExternalName" || !spec.selector || Object.keys(spec.selector).length === 0)
        continue;
      check(s, mapSelector(spec.selector), "selector");
    }
    for (const p of own(index, TYPES.pdb)) {
      const selector = (p.props.spec as { selector?: LabelSelector } | undefined)?.selector;
      if (isEmptySelector(selector))
        reportViolation(
          // policy/v1: a null or empty selector selects no pod at all (policy/v1beta1 selected
          // every pod); such a PDB protects nothing, as pdb-coverage also counts it.
          `${p.label}: has an empty selector, which in policy/v1 selects no pod: it protects nothing in ${p.namespace}`,
          p.urn,
        );
      else check(p, selector, "selector");
    }
    for (const np of own(index, TYPES.networkPolicy))
      check(np, (np.props.spec as NetworkPolicySpec | undefined)?.podSelector, "podSelector");
    for (const sm of own(index, TYPES.serviceMonitor))
      checkServiceMonitor(index, sm, reportViolation);
    for (const pm of own(index, TYPES.podMonitor)) {
      const spec = (pm.props.spec ?? {}) as {
        selector?: LabelSelector;
        namespaceSelector?: { matchNames?: string[] };
        podMetricsEndpoints?: { port?: string }[];
      };
      const namespaces = spec.namespaceSelector?.matchNames ?? [pm.namespace];
      const pods = namespaces.flatMap((ns) => index.podsSelectedBy(ns, spec.selector ?? {}));
      const madePods = namespaces.flatMap((ns) =>
        operatorPods(index, ns).filter((p) => selectorMatches(spec.selector ?? {}, p.labels)),
      );
      if (pods.length === 0 && madePods.length === 0) {
        if (!namespaces.some((ns) => hasUnexpandedChart(index, ns)))
          reportViolation(
            `${pm.label}: selector ${describeSelector(spec.selector)} matches no pod template in ${namespaces.join(", ")}`,
            pm.urn,
          );
        continue;
      }
      for (const ep of asArray(spec.podMetricsEndpoints)) {
        if (!ep.port) continue;
        if (
          !madePods.some((p) => p.ports.includes(ep.port as string)) &&
          !pods.some((w) =>
            containersOfSpec(w.template?.spec).some((c) =>
              asArray(c.ports).some((p) => p.name === ep.port),
            ),
          )
        )
          reportViolation(
            `${pm.label}: endpoint port "${ep.port}" is not a named container port of the selected pods`,
            pm.urn,
          );
      }
    }
  },
};

interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}

interface NetworkPolicySpec {
  podSelector?: LabelSelector;
  ingress?: { from?: NetworkPolicyPeer[] }[];
  egress?: { to?: NetworkPolicyPeer[] }[];
}

/**
 * A peer's podSelector must match pods where the peer points: the policy's own namespace, or a
 * namespace of the stack named by `kubernetes.io/metadata.name`. Peers into namespaces the stack
 * does not declare (kube-system, ingress-nginx) or chosen by other labels are not judged.
 */
function checkPeer(
  index: StackIndex,
  np: Indexed,
  direction: string,
  peer: NetworkPolicyPeer,
  report: (m: string, urn?: string) => void,
): void {
  if (isEmptySelector(peer.podSelector)) return;
  let namespace = np.namespace;
  if (peer.namespaceSelector) {
    const named = peer.namespaceSelector.matchLabels?.["kubernetes.io/metadata.name"];
    const others =
      Object.keys(peer.namespaceSelector.matchLabels ?? {}).length > 1 ||
      asArray(peer.namespaceSelector.matchExpressions).length > 0;
    if (!named || others || !index.namespaces.has(named)) return;
    namespace = named;
  }
  const selector = peer.podSelector as LabelSelector;
  if (selectsSomething(index, namespace, selector) || hasUnexpandedChart(index, namespace)) return;
  report(
    `${np.label}: ${direction} pods ${describeSelector(selector)} in namespace ${namespace}, which match no pod template`,
    np.urn,
  );
}

function containersOfSpec(spec: PodSpec | undefined): Container[] {
  return [
    ...asArray(spec?.containers),
    ...asArray(spec?.initContainers).filter((c) => c.restartPolicy === "Always"),
  ];
}

interface ServicePort {
  name?: string;
  port?: number;
  targetPort?: number | string;
}

function checkServiceMonitor(
  index: StackIndex,
  sm: Indexed,
  report: (m: string, urn?: string) => void,
): void {
  const spec = (sm.props.spec ?? {}) as {
    selector?: LabelSelector;
    namespaceSelector?: { matchNames?: string[]; any?: boolean };
    endpoints?: { port?: string; targetPort?: number | string }[];
  };
  const targetNamespaces = spec.namespaceSelector?.matchNames ?? [sm.namespace];
  const services = index
    .of(TYPES.service)
    .filter((s) => (spec.namespaceSelector?.any ? true : targetNamespaces.includes(s.namespace)))
    .filter((s) => selectorMatches(spec.selector ?? {}, metaOf(s.props).labels ?? {}));
  // Like NetworkPolicy peers: Services in namespaces the stack does not declare (a pre-installed
  // Velero's) cannot be judged offline.
  const unjudgeable =
    !spec.namespaceSelector?.any &&
    targetNamespaces.every((ns) => ns !== undefined && !index.namespaces.has(ns));
  if (services.length === 0 && unjudgeable) return;
  if (services.length === 0) {
    report(
      `${sm.label}: selector ${describeSelector(spec.selector)} matches no Service's labels`,
      sm.urn,
    );
    return;
  }
  for (const ep of asArray(spec.endpoints)) {
    if (
      ep.port &&
      !services.some((s) =>
        asArray((s.props.spec as { ports?: ServicePort[] })?.ports).some((p) => p.name === ep.port),
      )
    )
      report(
        `${sm.label}: endpoint port "${ep.port}" is not a port name of the selected Service(s) ${services.map((s) => s.objectName).join(", ")}`,
        sm.urn,
      );
  }
}

/** Whether some selected pod's container exposes `target` (a number or a port name). */
function podsExpose(pods: Workload[], target: number | string): boolean {
  return pods.some((w) =>
    containersOfSpec(w.template?.spec).some((c) =>
      asArray(c.ports).some((p) =>
        typeof target === "number" || /^\d+$/.test(target)
          ? p.containerPort === Number(target)
          : p.name === target,
      ),
    ),
  );
}

export const networkPolicyPeers: OctoPolicy = {
  name: "network-policy-peers",
  description:
    "NetworkPolicy ingress/egress peers that select pods (in the policy's namespace, or in a namespace of the stack named by kubernetes.io/metadata.name) match some pod template: a typo in a peer silently blocks the flow it was meant to allow.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    for (const np of own(index, TYPES.networkPolicy)) {
      const spec = (np.props.spec ?? {}) as NetworkPolicySpec;
      for (const [direction, peers] of [
        ["ingress from", asArray(spec.ingress).flatMap((r) => asArray(r.from))],
        ["egress to", asArray(spec.egress).flatMap((r) => asArray(r.to))],
      ] as const) {
        for (const peer of peers) checkPeer(index, np, direction, peer, reportViolation);
      }
    }
  },
};

export const backendReferences: OctoPolicy = {
  name: "backend-references",
  description:
    "HPA scaleTargetRefs name an existing workload; Ingress backends name an existing Service and one of its ports; Service targetPorts are container ports of the pods they select.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    for (const h of [...own(index, TYPES.hpa), ...own(index, TYPES.hpaV1)]) {
      const ref = (h.props.spec as { scaleTargetRef?: { kind?: string; name?: string } })
        ?.scaleTargetRef;
      const found = index.workloadByName(h.namespace, ref?.kind, ref?.name) !== undefined;
      if (!found)
        reportViolation(
          `${h.label}: scaleTargetRef ${ref?.kind ?? "?"} ${ref?.name ?? "?"} does not exist in namespace ${h.namespace}`,
          h.urn,
        );
    }
    const servicesIn = (ns: string | undefined, name: string) =>
      index.inNamespace(TYPES.service, ns).find((s) => s.objectName === name);
    for (const ing of own(index, TYPES.ingress)) {
      const spec = (ing.props.spec ?? {}) as {
        defaultBackend?: Backend;
        rules?: { host?: string; http?: { paths?: { path?: string; backend?: Backend }[] } }[];
      };
      const backends: { where: string; backend: Backend }[] = [];
      if (spec.defaultBackend)
        backends.push({ where: "default backend", backend: spec.defaultBackend });
      for (const rule of asArray(spec.rules))
        for (const p of asArray(rule.http?.paths))
          if (p.backend)
            backends.push({ where: `${rule.host ?? "*"}${p.path ?? "/"}`, backend: p.backend });
      for (const { where, backend } of backends) {
        const svc = backend.service;
        if (!svc?.name) continue; // resource backends are not checked
        const found = servicesIn(ing.namespace, svc.name);
        if (!found) {
          reportViolation(
            `${ing.label}: ${where} → Service ${svc.name}, which does not exist in namespace ${ing.namespace}`,
            ing.urn,
          );
          continue;
        }
        const ports = asArray((found.props.spec as { ports?: ServicePort[] })?.ports);
        const ok =
          svc.port?.name !== undefined
            ? ports.some((p) => p.name === svc.port?.name)
            : ports.some((p) => p.port === svc.port?.number);
        if (!ok)
          reportViolation(
            `${ing.label}: ${where} → Service ${svc.name} port ${svc.port?.name ?? svc.port?.number ?? "?"}, which the Service does not expose (ports: ${ports.map((p) => p.name ?? p.port).join(", ")})`,
            ing.urn,
          );
      }
    }
    for (const s of own(index, TYPES.service)) {
      const spec = (s.props.spec ?? {}) as {
        selector?: Record<string, string>;
        ports?: ServicePort[];
      };
      if (!spec.selector || Object.keys(spec.selector).length === 0) continue;
      const pods = index.podsSelectedBy(s.namespace, mapSelector(spec.selector));
      if (pods.length === 0) continue; // selectors-match reports it (or the pods are operator-made)
      for (const p of asArray(spec.ports)) {
        const target = p.targetPort ?? p.port;
        if (target !== undefined && !podsExpose(pods, target))
          reportViolation(
            `${s.label}: port ${p.name ?? p.port} targets ${target}, which no selected pod's container declares`,
            s.urn,
          );
      }
    }
  },
};

interface Backend {
  service?: { name?: string; port?: { name?: string; number?: number } };
}

/** Secrets made by operators or charts that the stack drives, per namespace. */
function operatorSecrets(index: StackIndex): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (ns: string | undefined, name: string | undefined) => {
    if (!ns || !name) return;
    const set = out.get(ns) ?? new Set<string>();
    set.add(name);
    out.set(ns, set);
  };
  for (const c of index.of(TYPES.cnpgCluster)) {
    // CloudNativePG: <cluster>-app (owner credentials), -ca, -server, -replication; -superuser if enabled.
    for (const suffix of ["app", "ca", "server", "replication", "superuser"])
      add(c.namespace, `${c.objectName}-${suffix}`);
  }
  for (const cert of index.of(TYPES.certificate))
    add(cert.namespace, (cert.props.spec as { secretName?: string })?.secretName);
  for (const ing of index.of(TYPES.ingress)) {
    const ann = metaOf(ing.props).annotations ?? {};
    if (!ann["cert-manager.io/cluster-issuer"] && !ann["cert-manager.io/issuer"]) continue;
    for (const t of asArray((ing.props.spec as { tls?: { secretName?: string }[] })?.tls))
      add(ing.namespace, t.secretName);
  }
  return out;
}

function listAnnotation(value: string | undefined): Set<string> {
  return new Set(
    (value ?? "")
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

interface Refs {
  secrets: { name: string; where: string }[];
  configMaps: { name: string; where: string }[];
}

/** Secret and ConfigMap names a pod spec reads (optional references excluded). */
export function podReferences(spec: PodSpec | undefined): Refs {
  const refs: Refs = { secrets: [], configMaps: [] };
  if (!spec) return refs;
  const containers = [
    ...asArray(spec.initContainers),
    ...asArray(spec.containers),
    ...asArray(spec.ephemeralContainers),
  ];
  for (const c of containers) {
    for (const e of asArray(c.env)) {
      const s = e.valueFrom?.secretKeyRef;
      if (s?.name && !s.optional)
        refs.secrets.push({ name: s.name, where: `container "${c.name}" env ${e.name}` });
      const m = e.valueFrom?.configMapKeyRef;
      if (m?.name && !m.optional)
        refs.configMaps.push({ name: m.name, where: `container "${c.name}" env ${e.name}` });
    }
    for (const f of asArray(c.envFrom)) {
      if (f.secretRef?.name && !f.secretRef.optional)
        refs.secrets.push({ name: f.secretRef.name, where: `container "${c.name}" envFrom` });
      if (f.configMapRef?.name && !f.configMapRef.optional)
        refs.configMaps.push({ name: f.configMapRef.name, where: `container "${c.name}" envFrom` });
    }
  }
  for (const v of asArray(spec.volumes)) {
    const secret = v.secret as { secretName?: string; optional?: boolean } | undefined;
    if (secret?.secretName && !secret.optional)
      refs.secrets.push({ name: secret.secretName, where: `volume "${v.name}"` });
    const cm = v.configMap as { name?: string; optional?: boolean } | undefined;
    if (cm?.name && !cm.optional)
      refs.configMaps.push({ name: cm.name, where: `volume "${v.name}"` });
    const projected = v.projected as
      | {
          sources?: {
            secret?: { name?: string; optional?: boolean };
            configMap?: { name?: string; optional?: boolean };
          }[];
        }
      | undefined;
    for (const src of asArray(projected?.sources)) {
      if (src.secret?.name && !src.secret.optional)
        refs.secrets.push({ name: src.secret.name, where: `projected volume "${v.name}"` });
      if (src.configMap?.name && !src.configMap.optional)
        refs.configMaps.push({ name: src.configMap.name, where: `projected volume "${v.name}"` });
    }
  }
  for (const p of asArray(spec.imagePullSecrets))
    if (p.name) refs.secrets.push({ name: p.name, where: "imagePullSecrets" });
  return refs;
}

/** Secrets a CloudNativePG Cluster reads. */
function clusterSecretRefs(props: Props): { name: string; where: string }[] {
  const spec = (props.spec ?? {}) as {
    bootstrap?: {
      initdb?: { secret?: { name?: string } };
      recovery?: { secret?: { name?: string } };
    };
    superuserSecret?: { name?: string };
    imagePullSecrets?: { name?: string }[];
    backup?: {
      barmanObjectStore?: { s3Credentials?: Record<string, { name?: string } | boolean> };
    };
  };
  const out: { name: string; where: string }[] = [];
  if (spec.bootstrap?.initdb?.secret?.name)
    out.push({ name: spec.bootstrap.initdb.secret.name, where: "bootstrap.initdb.secret" });
  if (spec.superuserSecret?.name)
    out.push({ name: spec.superuserSecret.name, where: "superuserSecret" });
  for (const p of asArray(spec.imagePullSecrets))
    if (p.name) out.push({ name: p.name, where: "imagePullSecrets" });
  for (const [k, v] of Object.entries(spec.backup?.barmanObjectStore?.s3Credentials ?? {}))
    if (typeof v === "object" && v?.name)
      out.push({ name: v.name, where: `backup s3Credentials.${k}` });
  return out;
}

export const configReferences: OctoPolicy = {
  name: "config-references",
  description: `Secrets and ConfigMaps that pods (env, envFrom, volumes, imagePullSecrets) and CloudNativePG clusters read exist in the stack, are created by an operator the stack drives (CloudNativePG, cert-manager), or are declared external with ${EXTERNAL_SECRETS_ANNOTATION} / ${EXTERNAL_CONFIGMAPS_ANNOTATION}.`,
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    const existing = (type: string) => {
      const m = new Map<string, Set<string>>();
      for (const r of index.of(type)) {
        const set = m.get(r.namespace ?? "default") ?? new Set<string>();
        set.add(r.objectName);
        m.set(r.namespace ?? "default", set);
      }
      return m;
    };
    const secrets = existing(TYPES.secret);
    const configMaps = existing(TYPES.configMap);
    const made = operatorSecrets(index);
    const check = (r: Indexed, annotations: Record<string, string>, refs: Refs) => {
      const ns = r.namespace ?? "default";
      const externalSecrets = listAnnotation(annotations[EXTERNAL_SECRETS_ANNOTATION]);
      const externalConfigMaps = listAnnotation(annotations[EXTERNAL_CONFIGMAPS_ANNOTATION]);
      const seen = new Set<string>();
      for (const ref of refs.secrets) {
        if (seen.has(`s/${ref.name}`)) continue;
        seen.add(`s/${ref.name}`);
        if (
          secrets.get(ns)?.has(ref.name) ||
          made.get(ns)?.has(ref.name) ||
          externalSecrets.has(ref.name)
        )
          continue;
        reportViolation(
          `${r.label}: ${ref.where} reads Secret ${ref.name}, which is neither in namespace ${ns} of this stack, made by an operator the stack uses, nor declared in ${EXTERNAL_SECRETS_ANNOTATION}`,
          r.urn,
        );
      }
      for (const ref of refs.configMaps) {
        if (seen.has(`c/${ref.name}`)) continue;
        seen.add(`c/${ref.name}`);
        // Every namespace gets kube-root-ca.crt from the control plane.
        if (
          ref.name === "kube-root-ca.crt" ||
          configMaps.get(ns)?.has(ref.name) ||
          externalConfigMaps.has(ref.name)
        )
          continue;
        reportViolation(
          `${r.label}: ${ref.where} reads ConfigMap ${ref.name}, which is neither in namespace ${ns} of this stack nor declared in ${EXTERNAL_CONFIGMAPS_ANNOTATION}`,
          r.urn,
        );
      }
    };
    for (const w of index.workloads.filter((x) => !x.chartManaged))
      check(w, annotationsOf(w.props, w.template), podReferences(w.template?.spec));
    for (const c of index.of(TYPES.cnpgCluster))
      check(c, metaOf(c.props).annotations ?? {}, {
        secrets: clusterSecretRefs(c.props),
        configMaps: [],
      });
  },
};

// ---------------------------------------------------------------------------------------------
// Gateway API (the default edge): listeners, routes, backends
// ---------------------------------------------------------------------------------------------

const GATEWAY_TYPE = "kubernetes:gateway.networking.k8s.io/v1:Gateway";
const HTTPROUTE_TYPE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute";
const GRANT_TYPES = [
  "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant",
  "kubernetes:gateway.networking.k8s.io/v1:ReferenceGrant",
];

interface Listener {
  name?: string;
  protocol?: string;
  tls?: {
    certificateRefs?: { group?: string; kind?: string; name?: string; namespace?: string }[];
  };
  allowedRoutes?: {
    namespaces?: { from?: string; selector?: LabelSelector };
    kinds?: { group?: string; kind?: string }[];
  };
}
interface ParentRef {
  group?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  sectionName?: string;
}
interface RouteRule {
  backendRefs?: {
    group?: string;
    kind?: string;
    name?: string;
    namespace?: string;
    port?: number;
  }[];
  filters?: { type?: string; requestRedirect?: { scheme?: string } }[];
}

/** Whether a ReferenceGrant in `to.namespace` lets `from` refer to `to`. */
function granted(
  index: StackIndex,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  return GRANT_TYPES.flatMap((t) => index.inNamespace(t, to.namespace)).some((g) => {
    const spec = (g.props.spec ?? {}) as {
      from?: { group?: string; kind?: string; namespace?: string }[];
      to?: { group?: string; kind?: string; name?: string }[];
    };
    return (
      asArray(spec.from).some(
        (f) =>
          (f.group ?? "") === from.group && f.kind === from.kind && f.namespace === from.namespace,
      ) &&
      asArray(spec.to).some(
        (t) =>
          (t.group ?? "") === to.group && t.kind === to.kind && (!t.name || t.name === to.name),
      )
    );
  });
}

/** Whether a listener's allowedRoutes admits an HTTPRoute from `routeNs` (Gateway in `gwNs`). */
function listenerAdmits(
  index: StackIndex,
  listener: Listener,
  gwNs: string | undefined,
  routeNs: string | undefined,
): boolean {
  const kinds = asArray(listener.allowedRoutes?.kinds);
  if (kinds.length > 0 && !kinds.some((k) => k.kind === "HTTPRoute")) return false;
  const ns = listener.allowedRoutes?.namespaces;
  const from = ns?.from ?? "Same";
  if (from === "All") return true;
  if (from === "Same") return routeNs === gwNs;
  if (from !== "Selector" || !ns?.selector || !routeNs) return false;
  const declared = index.namespaces.get(routeNs);
  const labels = {
    ...(declared ? (metaOf(declared.props).labels ?? {}) : {}),
    "kubernetes.io/metadata.name": routeNs,
  };
  return selectorMatches(ns.selector, labels);
}

export const gatewayReferences: OctoPolicy = {
  name: "gateway-references",
  description:
    "Gateway API edge: every HTTPS listener terminates TLS with certificateRefs to a Secret that exists or that a cert-manager Certificate makes; every HTTPRoute's parentRefs name an existing Gateway listener whose allowedRoutes admit it; every backendRef names an existing Service and one of its ports (across namespaces only with a ReferenceGrant); an HTTP listener only redirects to HTTPS.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    const made = operatorSecrets(index);
    const gateways = own(index, GATEWAY_TYPE);
    for (const gw of gateways) {
      for (const l of asArray((gw.props.spec as { listeners?: Listener[] })?.listeners)) {
        if (l.protocol !== "HTTPS") continue;
        const refs = asArray(l.tls?.certificateRefs);
        if (refs.length === 0) {
          reportViolation(
            `${gw.label}: HTTPS listener ${l.name ?? "?"} has no certificateRefs`,
            gw.urn,
          );
          continue;
        }
        for (const ref of refs) {
          const ns = ref.namespace ?? gw.namespace ?? "default";
          const kind = ref.kind ?? "Secret";
          const exists =
            kind === "Secret" &&
            (index.inNamespace(TYPES.secret, ns).some((s) => s.objectName === ref.name) ||
              made.get(ns)?.has(ref.name ?? "") === true);
          if (!exists)
            reportViolation(
              `${gw.label}: HTTPS listener ${l.name ?? "?"} → ${kind} ${ns}/${ref.name ?? "?"}, which neither exists nor is made by a Certificate`,
              gw.urn,
            );
          else if (
            ns !== gw.namespace &&
            !granted(
              index,
              {
                group: "gateway.networking.k8s.io",
                kind: "Gateway",
                namespace: gw.namespace ?? "",
              },
              { group: "", kind: "Secret", namespace: ns, name: ref.name ?? "" },
            )
          )
            reportViolation(
              `${gw.label}: HTTPS listener ${l.name ?? "?"} → Secret ${ns}/${ref.name ?? "?"} in another namespace without a ReferenceGrant there`,
              gw.urn,
            );
        }
      }
    }
    const servicesIn = (ns: string | undefined, name: string | undefined) =>
      index.inNamespace(TYPES.service, ns).find((s) => s.objectName === name);
    for (const route of own(index, HTTPROUTE_TYPE)) {
      const spec = (route.props.spec ?? {}) as { parentRefs?: ParentRef[]; rules?: RouteRule[] };
      const rules = asArray(spec.rules);
      const parents = asArray(spec.parentRefs);
      if (parents.length === 0)
        reportViolation(`${route.label}: has no parentRefs, so no Gateway serves it`, route.urn);
      for (const p of parents) {
        if ((p.kind ?? "Gateway") !== "Gateway") continue;
        const gwNs = p.namespace ?? route.namespace;
        const gw = gateways.find((g) => g.objectName === p.name && g.namespace === gwNs);
        if (!gw) {
          reportViolation(
            `${route.label}: parentRef Gateway ${gwNs ?? "?"}/${p.name ?? "?"} does not exist`,
            route.urn,
          );
          continue;
        }
        const listeners = asArray((gw.props.spec as { listeners?: Listener[] })?.listeners).filter(
          (l) => p.sectionName === undefined || l.name === p.sectionName,
        );
        if (listeners.length === 0) {
          reportViolation(
            `${route.label}: parentRef ${gw.label} has no listener ${p.sectionName ?? "?"}`,
            route.urn,
          );
          continue;
        }
        const admitting = listeners.filter((l) =>
          listenerAdmits(index, l, gw.namespace, route.namespace),
        );
        if (admitting.length === 0)
          reportViolation(
            `${route.label}: listener ${listeners.map((l) => l.name).join(", ")} of ${gw.label} does not admit routes from namespace ${route.namespace ?? "?"} (allowedRoutes)`,
            route.urn,
          );
        for (const l of admitting.filter((x) => x.protocol === "HTTP")) {
          const redirectOnly = rules.every(
            (r) =>
              asArray(r.backendRefs).length === 0 &&
              asArray(r.filters).some(
                (f) => f.type === "RequestRedirect" && f.requestRedirect?.scheme === "https",
              ),
          );
          if (!redirectOnly)
            reportViolation(
              `${route.label}: attaches to plain-HTTP listener ${l.name ?? "?"} of ${gw.label} and serves backends instead of redirecting to https`,
              route.urn,
            );
        }
      }
      for (const rule of rules)
        for (const b of asArray(rule.backendRefs)) {
          if ((b.kind ?? "Service") !== "Service" || (b.group ?? "") !== "") continue;
          const ns = b.namespace ?? route.namespace;
          const svc = servicesIn(ns, b.name);
          if (!svc) {
            reportViolation(
              `${route.label}: backendRef Service ${ns ?? "?"}/${b.name ?? "?"} does not exist`,
              route.urn,
            );
            continue;
          }
          const ports = asArray((svc.props.spec as { ports?: ServicePort[] })?.ports);
          if (!ports.some((p) => p.port === b.port))
            reportViolation(
              `${route.label}: backendRef Service ${ns ?? "?"}/${b.name ?? "?"} port ${b.port ?? "?"}, which the Service does not expose (ports: ${ports.map((p) => p.port).join(", ")})`,
              route.urn,
            );
          if (
            ns !== route.namespace &&
            !granted(
              index,
              {
                group: "gateway.networking.k8s.io",
                kind: "HTTPRoute",
                namespace: route.namespace ?? "",
              },
              { group: "", kind: "Service", namespace: ns ?? "", name: b.name ?? "" },
            )
          )
            reportViolation(
              `${route.label}: backendRef Service ${ns ?? "?"}/${b.name ?? "?"} is in another namespace without a ReferenceGrant there`,
              route.urn,
            );
        }
    }
  },
};

export const referencePolicies: OctoPolicy[] = [
  selectorsMatch,
  networkPolicyPeers,
  backendReferences,
  configReferences,
  gatewayReferences,
];
