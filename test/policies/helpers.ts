/**
 * Helpers for policy tests: evaluate a stack with a stack's real policy config, and pick the
 * violations of one policy.
 */
import type { PolicyPackConfig, PolicyReport, RenderedResource } from "../../policies/evaluate";
import { evaluatePolicies, loadPolicyConfig } from "../../policies/evaluate";

export async function evaluate(
  stack: RenderedResource[],
  config: PolicyPackConfig = loadPolicyConfig("production"),
): Promise<PolicyReport> {
  return evaluatePolicies(stack, config);
}

/** Messages of one policy's violations. */
export function messagesOf(report: PolicyReport, policy: string): string[] {
  return report.violations.filter((v) => v.policy === policy).map((v) => v.message);
}

/** `policy: message` for every violation, for readable failure output. */
export function summary(report: PolicyReport): string[] {
  return report.violations.map((v) => `${v.policy} [${v.enforcementLevel}] ${v.message}`);
}

/** Deep clone of a stack, so a test can break one thing. */
export function clone(stack: RenderedResource[]): RenderedResource[] {
  return structuredClone(stack);
}
