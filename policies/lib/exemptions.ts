/**
 * Exemptions: the `octollm.io/policy-exemption` annotation on a workload or its pod template
 * (`<policy-name>: <reason>`, one per line, written by components/k8s/pod.ts). A policy honours
 * it only if the policy is in EXEMPTIBLE_POLICIES; every exemption honoured is recorded, and the
 * offline evaluator (evaluate.ts) lists them in its report. Under `pulumi preview` there is no
 * recorder and an honoured exemption is silent, exactly like a compliant resource.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { EXEMPTION_ANNOTATION, parseExemptionAnnotation } from "../../components/k8s/exemptions";
import type { PodTemplate, Props } from "./k8s";
import { annotationsOf } from "./k8s";

export { EXEMPTION_ANNOTATION };

/**
 * Policies a workload may be exempted from, with a written reason. Everything else (resources,
 * capacity, images, secrets, references, namespaces) holds for every workload without exception.
 */
export const EXEMPTIBLE_POLICIES: ReadonlySet<string> = new Set([
  "pod-security-standards",
  "read-only-root-filesystem",
  "container-probes",
  "workload-replicas",
  "pod-anti-affinity",
]);

export interface ExemptionUse {
  policy: string;
  resource: string;
  reason: string;
}

const recorder = new AsyncLocalStorage<ExemptionUse[]>();

/** Runs `fn` with a fresh recorder; returns what it produced and every exemption honoured. */
export async function recordingExemptions<T>(
  fn: () => Promise<T>,
): Promise<{ result: T; exemptions: ExemptionUse[] }> {
  const uses: ExemptionUse[] = [];
  const result = await recorder.run(uses, fn);
  return { result, exemptions: uses };
}

export type ExemptionLookup =
  | { kind: "none" }
  | { kind: "valid"; reason: string }
  /** the annotation names the policy, but the policy cannot be exempted */
  | { kind: "not-exemptible"; reason: string };

/** What the annotations of a workload say about `policy`. */
export function exemptionFor(
  policy: string,
  props: Props,
  template: PodTemplate | undefined,
): ExemptionLookup {
  const value = annotationsOf(props, template)[EXEMPTION_ANNOTATION];
  if (!value) return { kind: "none" };
  const reason = parseExemptionAnnotation(value).get(policy);
  if (reason === undefined) return { kind: "none" };
  if (!EXEMPTIBLE_POLICIES.has(policy)) return { kind: "not-exemptible", reason };
  if (reason.trim() === "") return { kind: "none" };
  return { kind: "valid", reason };
}

/** Records that `policy` let `resource` off because of its exemption. */
export function useExemption(policy: string, resource: string, reason: string): void {
  const uses = recorder.getStore();
  if (!uses) return;
  if (!uses.some((u) => u.policy === policy && u.resource === resource && u.reason === reason)) {
    uses.push({ policy, resource, reason });
  }
}

/** Suffix for a violation whose resource names a non-exemptible policy in its annotation. */
export function notExemptibleNote(policy: string, lookup: ExemptionLookup): string {
  return lookup.kind === "not-exemptible"
    ? ` (its ${EXEMPTION_ANNOTATION} annotation names "${policy}", which cannot be exempted)`
    : "";
}

/**
 * Reports each finding unless the workload carries a valid exemption for `policy`, in which case
 * the findings are recorded as one exemption use (the reason, plus what it covered).
 */
export function reportUnlessExempt(
  policy: string,
  resource: string,
  props: Props,
  template: PodTemplate | undefined,
  findings: string[],
  report: (message: string) => void,
): void {
  if (findings.length === 0) return;
  const lookup = exemptionFor(policy, props, template);
  if (lookup.kind === "valid") {
    useExemption(policy, resource, `${lookup.reason} [covers: ${findings.join("; ")}]`);
    return;
  }
  const note = notExemptibleNote(policy, lookup);
  for (const f of findings) report(`${resource}: ${f}${note}`);
}
