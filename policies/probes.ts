/**
 * Probes family: long-running containers have readiness and liveness probes, and every probe
 * points at a port the container declares.
 */
import type { Container, Probe } from "./lib/k8s";
import { LONG_RUNNING_TYPES, TYPES, asArray, containerLabel, containersOf } from "./lib/k8s";
import type { OctoPolicy } from "./lib/policy";
import { validateWorkload } from "./lib/policy";
import { reportUnlessExempt } from "./lib/exemptions";

function probePort(p: Probe): number | string | undefined {
  return p.httpGet?.port ?? p.tcpSocket?.port ?? p.grpc?.port;
}

/** Why a probe's port is not one the container declares, if it is not. */
export function probePortFinding(c: Container, kind: string, p: Probe): string | undefined {
  const port = probePort(p);
  if (port === undefined) return undefined;
  const ports = asArray(c.ports);
  if (typeof port === "string" && !/^\d+$/.test(port)) {
    if (ports.some((cp) => cp.name === port)) return undefined;
    return `${kind} probe uses port name "${port}", which the container does not declare`;
  }
  const n = Number(port);
  if (ports.some((cp) => cp.containerPort === n)) return undefined;
  return `${kind} probe uses port ${n}, which the container does not declare (ports: ${
    ports.map((cp) => cp.containerPort).join(", ") || "none"
  })`;
}

export const containerProbes: OctoPolicy = {
  name: "container-probes",
  description:
    "Long-running containers (Deployments, StatefulSets, DaemonSets, ReplicaSets, restartPolicy Always pods) have readiness and liveness probes; every probe targets a declared container port.",
  enforcementLevel: "mandatory",
  validateResource: validateWorkload((w, report) => {
    const longRunning =
      LONG_RUNNING_TYPES.has(w.type) ||
      (w.type === TYPES.pod && (w.spec?.restartPolicy ?? "Always") === "Always");
    const findings: string[] = [];
    for (const ref of containersOf(w.spec)) {
      if (ref.role === "ephemeral container") continue;
      const c = ref.container;
      const who = containerLabel(ref);
      // Native sidecars (init containers with restartPolicy Always) run for the pod's life.
      const runsForever = ref.role === "container" || c.restartPolicy === "Always";
      if (longRunning && runsForever && ref.role === "container") {
        const missing = [
          c.readinessProbe ? "" : "readinessProbe",
          c.livenessProbe ? "" : "livenessProbe",
        ].filter(Boolean);
        if (missing.length > 0) findings.push(`${who} has no ${missing.join(" and no ")}`);
      }
      for (const [kind, probe] of [
        ["readiness", c.readinessProbe],
        ["liveness", c.livenessProbe],
        ["startup", c.startupProbe],
      ] as const) {
        if (!probe) continue;
        const f = probePortFinding(c, kind, probe);
        if (f) findings.push(`${who} ${f}`);
      }
    }
    reportUnlessExempt("container-probes", w.label, w.props, w.template, findings, report);
  }),
};

export const probePolicies: OctoPolicy[] = [containerProbes];
