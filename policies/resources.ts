/**
 * Resources family: requests and limits on every container, limits at least the requests, and
 * limit/request ratios (and min/max) inside the namespace's LimitRange.
 */
import type { Quantity } from "../components/k8s/quantity";
import { compare, isQuantity, multiply, parseQuantity } from "../components/k8s/quantity";
import type { Container, ResourceList } from "./lib/k8s";
import { TYPES, containerLabel, containersOf, describeResource } from "./lib/k8s";
import type { OctoPolicy } from "./lib/policy";
import { validateType, validateWorkload } from "./lib/policy";
import { indexStack } from "./lib/stack";

const COMPUTE = ["cpu", "memory"] as const;

/** Problems with one container's (or one operator cluster's) `resources`. */
export function resourceFindings(
  who: string,
  resources: { requests?: ResourceList; limits?: ResourceList } | undefined,
): string[] {
  const out: string[] = [];
  for (const kind of COMPUTE) {
    const request = resources?.requests?.[kind];
    const limit = resources?.limits?.[kind];
    const missing = [
      request === undefined ? `requests.${kind}` : "",
      limit === undefined ? `limits.${kind}` : "",
    ].filter(Boolean);
    if (missing.length > 0) out.push(`${who} has no ${missing.join(" or ")}`);
    for (const [field, value] of [
      [`requests.${kind}`, request],
      [`limits.${kind}`, limit],
    ] as const) {
      if (value !== undefined && !isQuantity(value))
        out.push(`${who} ${field} "${String(value)}" is not a Kubernetes quantity`);
    }
    if (request !== undefined && limit !== undefined && isQuantity(request) && isQuantity(limit)) {
      if (compare(parseQuantity(limit), parseQuantity(request)) < 0)
        out.push(`${who} limits.${kind} ${limit} is below requests.${kind} ${request}`);
    }
  }
  return out;
}

export const containerResources: OctoPolicy = {
  name: "container-resources",
  description:
    "Every container (init containers included) and every CloudNativePG cluster sets CPU and memory requests and limits, with limits ≥ requests.",
  enforcementLevel: "mandatory",
  validateResource: [
    validateWorkload((w, report) => {
      for (const ref of containersOf(w.spec)) {
        // Ephemeral (debug) containers cannot carry resources.
        if (ref.role === "ephemeral container") continue;
        for (const f of resourceFindings(containerLabel(ref), ref.container.resources))
          report(`${w.label}: ${f}`);
      }
    }, "container-resources"),
    validateType(TYPES.cnpgCluster, (props, label, _args, report) => {
      const spec = (props.spec ?? {}) as {
        resources?: { requests?: ResourceList; limits?: ResourceList };
      };
      for (const f of resourceFindings("the postgres instances", spec.resources))
        report(`${label}: ${f}`);
    }),
  ],
};

interface LimitRangeItem {
  type?: string;
  default?: ResourceList;
  defaultRequest?: ResourceList;
  max?: ResourceList;
  min?: ResourceList;
  maxLimitRequestRatio?: ResourceList;
}

function q(v: string | number | undefined): Quantity | undefined {
  return v !== undefined && isQuantity(v) ? parseQuantity(v) : undefined;
}

export const limitRequestRatio: OctoPolicy = {
  name: "limit-request-ratio",
  description:
    "Container limit/request ratios stay within the namespace LimitRange's maxLimitRequestRatio, and requests/limits within its min/max, so the API server admits the pods.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const index = indexStack(args.resources);
    const rangesByNs = new Map<string, LimitRangeItem[]>();
    for (const lr of index.of(TYPES.limitRange)) {
      const items = (
        (lr.props.spec as { limits?: LimitRangeItem[] } | undefined)?.limits ?? []
      ).filter((l) => l.type === "Container");
      const ns = lr.namespace ?? "default";
      rangesByNs.set(ns, [...(rangesByNs.get(ns) ?? []), ...items]);
    }
    if (rangesByNs.size === 0) return;
    for (const w of index.workloads) {
      const ranges = rangesByNs.get(w.namespace ?? "default");
      if (!ranges) continue;
      for (const ref of containersOf(w.template?.spec)) {
        if (ref.role === "ephemeral container") continue;
        const who = `${w.label}: ${containerLabel(ref)}`;
        checkAgainstRanges(who, ref.container.resources, ranges, (m) => reportViolation(m, w.urn));
      }
    }
    for (const c of index.of(TYPES.cnpgCluster)) {
      const ranges = rangesByNs.get(c.namespace ?? "default");
      const spec = (c.props.spec ?? {}) as {
        resources?: { requests?: ResourceList; limits?: ResourceList };
      };
      if (ranges)
        checkAgainstRanges(
          `${describeResource(c.type, c.props, c.name)}: the postgres instances`,
          spec.resources,
          ranges,
          (m) => reportViolation(m, c.urn),
        );
    }
    // CloudNativePG Poolers: the pgbouncer container (its bootstrap init container gets the same).
    for (const p of index.of(TYPES.cnpgPooler)) {
      const ranges = rangesByNs.get(p.namespace ?? "default");
      const containers =
        (p.props.spec as { template?: { spec?: { containers?: Container[] } } } | undefined)
          ?.template?.spec?.containers ?? [];
      if (ranges)
        for (const c of containers)
          checkAgainstRanges(
            `${describeResource(p.type, p.props, p.name)}: container "${c.name}"`,
            c.resources,
            ranges,
            (m) => reportViolation(m, p.urn),
          );
    }
  },
};

/**
 * What admission checks: LimitRange defaults are applied first (a missing limit takes the
 * range's `default`; a missing request the container's limit, else the range's
 * `defaultRequest`), then min, max and maxLimitRequestRatio are validated.
 */
function checkAgainstRanges(
  who: string,
  resources: { requests?: ResourceList; limits?: ResourceList } | undefined,
  ranges: LimitRangeItem[],
  report: (m: string) => void,
): void {
  for (const kind of COMPUTE) {
    const defaultLimit = ranges.map((r) => r.default?.[kind]).find((v) => v !== undefined);
    const defaultRequest = ranges.map((r) => r.defaultRequest?.[kind]).find((v) => v !== undefined);
    const ownLimit = resources?.limits?.[kind];
    const ownRequest = resources?.requests?.[kind];
    const limitText =
      ownLimit !== undefined
        ? String(ownLimit)
        : defaultLimit !== undefined
          ? `${defaultLimit} (LimitRange default)`
          : undefined;
    const requestText =
      ownRequest !== undefined
        ? String(ownRequest)
        : ownLimit !== undefined
          ? `${ownLimit} (its limit)`
          : defaultRequest !== undefined
            ? `${defaultRequest} (LimitRange default)`
            : undefined;
    const limit = q(ownLimit ?? defaultLimit);
    const request = q(ownRequest ?? ownLimit ?? defaultRequest);
    for (const range of ranges) {
      const ratio = q(range.maxLimitRequestRatio?.[kind]);
      if (ratio && request && limit && request.num !== 0n) {
        if (compare(limit, multiply(request, ratio)) > 0) {
          const actual = Number(limit.num * request.den) / Number(limit.den * request.num);
          report(
            `${who} ${kind} limit/request ratio ${+actual.toFixed(3)} (${limitText} / ${requestText}) exceeds the LimitRange maxLimitRequestRatio ${range.maxLimitRequestRatio?.[kind]}`,
          );
        }
      }
      const max = q(range.max?.[kind]);
      if (max && limit && compare(limit, max) > 0)
        report(
          `${who} limits.${kind} ${limitText} is above the LimitRange max ${range.max?.[kind]}`,
        );
      const min = q(range.min?.[kind]);
      if (min && request && compare(request, min) < 0)
        report(
          `${who} requests.${kind} ${requestText} is below the LimitRange min ${range.min?.[kind]}`,
        );
    }
  }
}

export const resourcePolicies: OctoPolicy[] = [containerResources, limitRequestRatio];
