/**
 * Security family: Pod Security Standards (checked against the level each namespace enforces),
 * read-only root filesystems, and ServiceAccount tokens only where a workload says why.
 */
import type { Container, PodSpec, PodTemplate, SecurityContext } from "./lib/k8s";
import { TYPES, asArray, containerLabel, containersOf, annotationsOf } from "./lib/k8s";
import { knownOr, knownStrings } from "./lib/known";
import type { OctoPolicy } from "./lib/policy";
import { validateWorkload } from "./lib/policy";
import { indexStack } from "./lib/stack";
import type { ExemptionLookup } from "./lib/exemptions";
import {
  exemptionFor,
  notExemptibleNote,
  reportUnlessExempt,
  useExemption,
} from "./lib/exemptions";

export type PssLevel = "privileged" | "baseline" | "restricted";
const LEVEL_RANK: Record<PssLevel, number> = { privileged: 0, baseline: 1, restricted: 2 };

export interface PssFinding {
  /** the lowest PSS level this finding fails */
  level: "baseline" | "restricted";
  message: string;
}

/** Capabilities PSS baseline lets a container add. */
const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

/** Volume sources PSS restricted allows. */
const RESTRICTED_VOLUMES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

/*
 * The checks below follow the Pod Security Standards as Kubernetes' admission plugin implements
 * them at the current version (kubernetes/pod-security-admission v0.36.2 = Kubernetes 1.36,
 * policy/check_*.go); docs/policies.md names each file. Values are compared exactly as admission
 * compares them: capability names are case-sensitive and a `CAP_` prefix is not stripped (so
 * `CAP_SYS_ADMIN` is simply not in the allowed set, and `drop: [CAP_ALL]` does not drop ALL).
 */

/** Sysctls PSS baseline treats as safe (check_sysctls.go, the 1.32 set). */
const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
  "net.ipv4.tcp_rmem",
  "net.ipv4.tcp_wmem",
]);

/** SELinux types baseline allows (check_seLinuxOptions.go, the 1.31 set). */
const SELINUX_TYPES = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);

/** AppArmor profile types baseline allows in the field form (check_appArmorProfile.go). */
const APPARMOR_TYPES = new Set(["RuntimeDefault", "Localhost"]);

/** The deprecated annotation form: empty, `runtime/default` or `localhost/<profile>`. */
function allowedAppArmorAnnotation(value: string): boolean {
  return value === "" || value === "runtime/default" || value.startsWith("localhost/");
}

type HostCarrier = { httpGet?: { host?: string }; tcpSocket?: { host?: string } } | undefined;

/** Probe and lifecycle handlers that name a host (check_hostProbesAndhostLifecycle.go, 1.34). */
function handlerHosts(c: Container): string[] {
  const lifecycle = (c as { lifecycle?: { postStart?: HostCarrier; preStop?: HostCarrier } })
    .lifecycle;
  const handlers: HostCarrier[] = [
    c.livenessProbe as HostCarrier,
    c.readinessProbe as HostCarrier,
    c.startupProbe as HostCarrier,
    lifecycle?.postStart,
    lifecycle?.preStop,
  ];
  return handlers
    .flatMap((h) => [h?.httpGet?.host, h?.tcpSocket?.host])
    .filter((x): x is string => !!x);
}

/** Every way a pod spec fails PSS baseline or restricted (Kubernetes Pod Security Standards). */
export function podSecurityFindings(
  spec: PodSpec | undefined,
  template?: PodTemplate,
): PssFinding[] {
  const out: PssFinding[] = [];
  if (!spec) return out;
  const baseline = (message: string) => out.push({ level: "baseline", message });
  const restricted = (message: string) => out.push({ level: "restricted", message });
  const pod: SecurityContext = spec.securityContext ?? {};

  if (spec.hostNetwork) baseline("uses hostNetwork");
  if (spec.hostPID) baseline("uses hostPID");
  if (spec.hostIPC) baseline("uses hostIPC");
  if (pod.windowsOptions?.hostProcess) baseline("runs as a Windows HostProcess pod");
  for (const v of asArray(spec.volumes)) {
    const source = Object.keys(v).find((k) => k !== "name");
    if (source === "hostPath") baseline(`volume "${v.name}" is a hostPath`);
    else if (source && !RESTRICTED_VOLUMES.has(source))
      restricted(
        `volume "${v.name}" has type ${source} (restricted allows ${[...RESTRICTED_VOLUMES].join(", ")})`,
      );
  }
  for (const s of asArray(pod.sysctls))
    if (!SAFE_SYSCTLS.has(s.name)) baseline(`sets unsafe sysctl ${s.name}`);
  if (pod.seccompProfile?.type === "Unconfined") baseline("pod seccompProfile is Unconfined");
  if (pod.appArmorProfile && !APPARMOR_TYPES.has(pod.appArmorProfile.type ?? ""))
    baseline(
      `pod appArmorProfile.type is ${JSON.stringify(pod.appArmorProfile.type ?? "")} (allowed: RuntimeDefault, Localhost)`,
    );
  if (pod.seLinuxOptions) checkSeLinux(pod.seLinuxOptions, "pod", baseline);
  if (pod.runAsUser === 0) restricted("pod runAsUser is 0 (root)");
  for (const [key, value] of Object.entries(knownStrings(template?.metadata?.annotations))) {
    if (
      key.startsWith("container.apparmor.security.beta.kubernetes.io/") &&
      !allowedAppArmorAnnotation(value)
    )
      baseline(
        `annotation ${key} is ${JSON.stringify(value)} (allowed: runtime/default, localhost/<profile>)`,
      );
  }
  const windows = (spec as { os?: { name?: string } }).os?.name === "windows";
  // 1.35+: baseline admits an unmasked /proc only in a user namespace; restricted never does.
  const userNamespace = (spec as { hostUsers?: boolean }).hostUsers === false;

  for (const ref of containersOf(spec)) {
    const c = ref.container;
    const sc: SecurityContext = c.securityContext ?? {};
    const who = containerLabel(ref);
    if (sc.privileged) baseline(`${who} is privileged`);
    if (sc.windowsOptions?.hostProcess) baseline(`${who} runs as a Windows HostProcess`);
    for (const p of asArray(c.ports))
      if (p.hostPort) baseline(`${who} uses hostPort ${p.hostPort}`);
    // Exactly as admission compares them: no case folding, no CAP_ prefix stripping.
    const added = asArray(sc.capabilities?.add);
    const beyondBaseline = added.filter((a) => !BASELINE_CAPABILITIES.has(a));
    if (beyondBaseline.length > 0)
      baseline(`${who} adds capabilities ${beyondBaseline.join(", ")}`);
    const beyondRestricted = added.filter(
      (a) => a !== "NET_BIND_SERVICE" && BASELINE_CAPABILITIES.has(a),
    );
    if (beyondRestricted.length > 0 && !windows)
      restricted(
        `${who} adds capabilities ${beyondRestricted.join(", ")} (restricted allows only NET_BIND_SERVICE)`,
      );
    if (!windows && !asArray(sc.capabilities?.drop).includes("ALL"))
      restricted(`${who} does not drop ALL capabilities (capabilities.drop must include "ALL")`);
    if (sc.procMount && sc.procMount !== "Default") {
      if (userNamespace) restricted(`${who} sets procMount ${sc.procMount}`);
      else
        baseline(
          `${who} sets procMount ${sc.procMount} outside a user namespace (hostUsers: false)`,
        );
    }
    if (sc.seLinuxOptions) checkSeLinux(sc.seLinuxOptions, who, baseline);
    if (sc.appArmorProfile && !APPARMOR_TYPES.has(sc.appArmorProfile.type ?? ""))
      baseline(
        `${who} appArmorProfile.type is ${JSON.stringify(sc.appArmorProfile.type ?? "")} (allowed: RuntimeDefault, Localhost)`,
      );
    const hosts = handlerHosts(c);
    if (hosts.length > 0)
      baseline(`${who} probe or lifecycle handler names host ${hosts.join(", ")}`);
    if (sc.allowPrivilegeEscalation !== false)
      restricted(`${who} does not set allowPrivilegeEscalation: false`);
    const nonRoot = sc.runAsNonRoot ?? pod.runAsNonRoot;
    if (nonRoot !== true) restricted(`${who} does not set runAsNonRoot: true (pod or container)`);
    if (sc.runAsUser === 0) restricted(`${who} runAsUser is 0 (root)`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (sc.seccompProfile?.type === "Unconfined") baseline(`${who} seccompProfile is Unconfined`);
    else if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost")
      restricted(`${who} has no seccompProfile RuntimeDefault or Localhost (pod or container)`);
  }
  return out;
}

function checkSeLinux(
  o: NonNullable<SecurityContext["seLinuxOptions"]>,
  who: string,
  baseline: (m: string) => void,
): void {
  if (!SELINUX_TYPES.has(o.type ?? "")) baseline(`${who} sets SELinux type ${o.type}`);
  if (o.user) baseline(`${who} sets SELinux user ${o.user}`);
  if (o.role) baseline(`${who} sets SELinux role ${o.role}`);
}

function levelOf(value: string | undefined): PssLevel | undefined {
  return value === "privileged" || value === "baseline" || value === "restricted"
    ? value
    : undefined;
}

export const POD_SECURITY_STANDARDS = "pod-security-standards";

/**
 * PSS restricted is the bar for every pod. A finding the namespace's enforced level forbids is a
 * violation outright (admission would reject the pod). A finding the namespace admits — only in a
 * namespace that explicitly enforces a lower level — is allowed only with a written exemption.
 */
export const podSecurityStandards: OctoPolicy = {
  name: POD_SECURITY_STANDARDS,
  description:
    "Pods meet Pod Security Standards restricted; deviations need both a namespace that enforces a level admitting them and an octollm.io/policy-exemption for this policy. Pods a Helm chart renders must pass their namespace's enforced level.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    for (const w of index.workloads) {
      const findings = podSecurityFindings(w.template?.spec, w.template);
      if (findings.length === 0) continue;
      const declared = index.enforcedLevel(w.namespace);
      const enforced = levelOf(declared);
      // A chart's pods answer to admission only: what the namespace rejects, not our bar.
      if (w.chartManaged && enforced === undefined) continue;
      const lookup: ExemptionLookup = exemptionFor(POD_SECURITY_STANDARDS, w.props, w.template);
      const rejected = findings.filter(
        (f) => enforced === undefined || LEVEL_RANK[f.level] <= LEVEL_RANK[enforced],
      );
      const admitted = w.chartManaged ? [] : findings.filter((f) => !rejected.includes(f));
      for (const f of rejected) {
        const why =
          enforced === undefined
            ? `namespace ${w.namespace} does not declare pod-security.kubernetes.io/enforce in this stack, so no exemption can apply`
            : `namespace ${w.namespace} enforces ${enforced}, so admission would reject this pod`;
        reportViolation(`${w.label}: ${f.message} (fails PSS ${f.level}; ${why})`, w.urn);
      }
      if (admitted.length === 0) continue;
      if (lookup.kind === "valid") {
        useExemption(
          POD_SECURITY_STANDARDS,
          w.label,
          `${lookup.reason} [namespace ${w.namespace} enforces ${enforced}; covers: ${admitted.map((f) => f.message).join("; ")}]`,
        );
        continue;
      }
      for (const f of admitted) {
        reportViolation(
          `${w.label}: ${f.message} (fails PSS ${f.level}; namespace ${w.namespace} enforces ${enforced}, but the pod has no octollm.io/policy-exemption for ${POD_SECURITY_STANDARDS})${notExemptibleNote(POD_SECURITY_STANDARDS, lookup)}`,
          w.urn,
        );
      }
    }
  },
};

export const readOnlyRootFilesystem: OctoPolicy = {
  name: "read-only-root-filesystem",
  description:
    "Every container (init containers included) sets readOnlyRootFilesystem: true; scratch space is an emptyDir.",
  enforcementLevel: "mandatory",
  validateResource: validateWorkload((w, report) => {
    const findings = containersOf(w.spec)
      .filter((ref) => ref.role !== "ephemeral container")
      .filter((ref) => ref.container.securityContext?.readOnlyRootFilesystem !== true)
      .map((ref) => `${containerLabel(ref)} does not set readOnlyRootFilesystem: true`);
    reportUnlessExempt("read-only-root-filesystem", w.label, w.props, w.template, findings, report);
  }),
};

export const API_ACCESS_ANNOTATION = "octollm.io/api-access";

export const serviceAccountToken: OctoPolicy = {
  name: "service-account-token",
  description: `Pods do not mount a ServiceAccount token unless the workload says why it calls the Kubernetes API (annotation ${API_ACCESS_ANNOTATION}): the pod spec sets automountServiceAccountToken: false, or leaves it unset and its ServiceAccount (in the stack) sets it false; a pod spec true overrides the ServiceAccount.`,
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    for (const w of index.workloads) {
      // Chart-rendered pods are the chart's (docs/policies.md).
      if (w.chartManaged || !w.template?.spec) continue;
      const spec = w.template.spec;
      const podSetting = knownOr(() => spec.automountServiceAccountToken, undefined);
      if (podSetting === false) continue;
      const reason = annotationsOf(w.props, w.template)[API_ACCESS_ANNOTATION];
      if (reason && reason.trim() !== "") continue;
      const saName = knownOr(() => spec.serviceAccountName, undefined) ?? "default";
      const sa = index
        .inNamespace(TYPES.serviceAccount, w.namespace)
        .find((r) => r.objectName === saName);
      const saSetting = sa
        ? knownOr(() => sa.props.automountServiceAccountToken, undefined)
        : undefined;
      // As the kubelet decides: the pod spec's value if set, else the ServiceAccount's.
      if (podSetting === undefined && saSetting === false) continue;
      const what =
        podSetting === true
          ? `sets automountServiceAccountToken: true${saSetting === false ? ` (overriding ServiceAccount ${saName}'s false)` : ""}`
          : sa
            ? `does not set automountServiceAccountToken: false, nor does its ServiceAccount ${saName} (the token is mounted by default)`
            : `does not set automountServiceAccountToken: false and its ServiceAccount ${saName} is not in the stack (the token is mounted by default)`;
      const note = notExemptibleNote(
        "service-account-token",
        exemptionFor("service-account-token", w.props, w.template),
      );
      reportViolation(
        `${w.label}: ${what} without an ${API_ACCESS_ANNOTATION} annotation saying why it needs the Kubernetes API${note}`,
        w.urn,
      );
    }
  },
};

export const securityPolicies: OctoPolicy[] = [
  podSecurityStandards,
  readOnlyRootFilesystem,
  serviceAccountToken,
];
