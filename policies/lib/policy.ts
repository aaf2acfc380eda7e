/**
 * Small helpers for writing policies: a validation that runs for every workload (pod template
 * owner) and one that runs for one kind, both in the shape @pulumi/policy calls.
 */
import type {
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { PodSpec, PodTemplate, Props } from "./k8s";
import { WORKLOAD_TYPES, describeResource, isChartManaged, podTemplateOf } from "./k8s";
import { exemptionFor, notExemptibleNote } from "./exemptions";

export type OctoPolicy = ResourceValidationPolicy | StackValidationPolicy;

export interface WorkloadContext {
  type: string;
  props: Props;
  template: PodTemplate | undefined;
  spec: PodSpec | undefined;
  /** `Kind namespace/name` */
  label: string;
  args: ResourceValidationArgs;
}

/** Runs `fn` for Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs. */
export function validateWorkload(
  fn: (w: WorkloadContext, report: ReportViolation) => void,
  /**
   * A policy that cannot be exempted names itself here: if a workload's exemption annotation
   * names it anyway, each violation says the exemption does not apply.
   */
  nonExemptiblePolicy?: string,
  /** also judge workloads a Helm chart renders (image provenance); hardening policies do not */
  includeChartManaged = false,
): ResourceValidation {
  return (args, reportViolation) => {
    if (!WORKLOAD_TYPES.has(args.type)) return;
    if (!includeChartManaged && isChartManaged(args.urn)) return;
    const props = args.props as Props;
    const template = podTemplateOf(args.type, props);
    let report = reportViolation;
    if (nonExemptiblePolicy) {
      const note = notExemptibleNote(
        nonExemptiblePolicy,
        exemptionFor(nonExemptiblePolicy, props, template),
      );
      if (note) report = (message, urn) => reportViolation(`${message}${note}`, urn);
    }
    fn(
      {
        type: args.type,
        props,
        template,
        spec: template?.spec,
        label: describeResource(args.type, props, args.name),
        args,
      },
      report,
    );
  };
}

/** Runs `fn` only for resources of one Pulumi type token (the fast path the server skips on). */
export function validateType(
  type: string,
  fn: (props: Props, label: string, args: ResourceValidationArgs, report: ReportViolation) => void,
  /** judge objects a Helm chart renders too (exposure, TLS, secrets in ConfigMaps: yes) */
  includeChartManaged = true,
): ResourceValidation {
  const validation: ResourceValidation & { __pulumiType?: string } = (args, reportViolation) => {
    if (args.type !== type) return;
    if (!includeChartManaged && isChartManaged(args.urn)) return;
    const props = args.props as Props;
    fn(props, describeResource(args.type, props, args.name), args, reportViolation);
  };
  // Same marker validateResourceOfType attaches: the analyzer skips other types without a call.
  validation.__pulumiType = type;
  return validation;
}
