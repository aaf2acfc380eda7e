/**
 * Security family: Pod Security Standards (checked against the level each namespace enforces),
 * read-only root filesystems, and ServiceAccount tokens only where a workload says why.
 */
import type { PodSpec, PodTemplate, SecurityContext } from "./lib/k8s";
import { asArray, containerLabel, containersOf, annotationsOf } from "./lib/k8s";
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

/** Sysctls PSS baseline treats as safe (Kubernetes 1.29+). */
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
]);

const SELINUX_TYPES = new Set([
  "",
  "container_t",
  "container_init_t",
  "container_kvm_t",
  "container_engine_t",
]);

function stripCap(c: string): string {
  return c.toUpperCase().replace(/^CAP_/, "");
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
  if (pod.appArmorProfile?.type === "Unconfined") baseline("pod appArmorProfile is Unconfined");
  if (pod.seLinuxOptions) checkSeLinux(pod.seLinuxOptions, "pod", baseline);
  if (pod.runAsUser === 0) restricted("pod runAsUser is 0 (root)");
  for (const [key, value] of Object.entries(template?.metadata?.annotations ?? {})) {
    if (key.startsWith("container.apparmor.security.beta.kubernetes.io/") && value === "unconfined")
      baseline(`annotation ${key} is unconfined`);
  }

  for (const ref of containersOf(spec)) {
    const c = ref.container;
    const sc: SecurityContext = c.securityContext ?? {};
    const who = containerLabel(ref);
    if (sc.privileged) baseline(`${who} is privileged`);
    if (sc.windowsOptions?.hostProcess) baseline(`${who} runs as a Windows HostProcess`);
    for (const p of asArray(c.ports))
      if (p.hostPort) baseline(`${who} uses hostPort ${p.hostPort}`);
    const added = asArray(sc.capabilities?.add).map(stripCap);
    const beyondBaseline = added.filter((a) => !BASELINE_CAPABILITIES.has(a));
    if (beyondBaseline.length > 0)
      baseline(`${who} adds capabilities ${beyondBaseline.join(", ")}`);
    const beyondRestricted = added.filter(
      (a) => a !== "NET_BIND_SERVICE" && BASELINE_CAPABILITIES.has(a),
    );
    if (beyondRestricted.length > 0)
      restricted(
        `${who} adds capabilities ${beyondRestricted.join(", ")} (restricted allows only NET_BIND_SERVICE)`,
      );
    if (!asArray(sc.capabilities?.drop).map(stripCap).includes("ALL"))
      restricted(`${who} does not drop ALL capabilities`);
    if (sc.procMount && sc.procMount !== "Default")
      baseline(`${who} sets procMount ${sc.procMount}`);
    if (sc.seLinuxOptions) checkSeLinux(sc.seLinuxOptions, who, baseline);
    if (sc.appArmorProfile?.type === "Unconfined") baseline(`${who} appArmorProfile is Unconfined`);
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
  description: `Pods set automountServiceAccountToken: false unless the workload says why it calls the Kubernetes API (annotation ${API_ACCESS_ANNOTATION}).`,
  enforcementLevel: "mandatory",
  validateResource: validateWorkload((w, report) => {
    if (!w.spec) return;
    const reason = annotationsOf(w.props, w.template)[API_ACCESS_ANNOTATION];
    if (w.spec.automountServiceAccountToken === false) return;
    if (reason && reason.trim() !== "") return;
    const what =
      w.spec.automountServiceAccountToken === true
        ? "sets automountServiceAccountToken: true"
        : "does not set automountServiceAccountToken: false (the token is mounted by default)";
    report(
      `${w.label}: ${what} without an ${API_ACCESS_ANNOTATION} annotation saying why it needs the Kubernetes API`,
    );
  }, "service-account-token"),
};

export const securityPolicies: OctoPolicy[] = [
  podSecurityStandards,
  readOnlyRootFilesystem,
  serviceAccountToken,
];
