/**
 * LimitRange guard: does a container's `resources` block pass the LimitRange admission plugin of
 * the namespace it lands in? Pure functions, no Pulumi: the same code runs at config parse time
 * (components/resource-placements.ts → parsePlatformConfig), in tests and wherever chart values
 * are built.
 *
 * The offline render does not expand Helm charts, so the pods a chart creates are invisible to
 * the policy pack; what the program controls is the values it writes. This module therefore
 * works on *placements*: one resources block, the namespace its pods land in, and the config key
 * that set it.
 *
 * API, in the order a caller needs it:
 *
 *   chartResourcePlacements(values, { chart, namespace, configKey, keyOverrides })
 *       walks ANY chart's values object (merged values included) and returns one placement per
 *       `resources` block with cpu/memory requests or limits, wherever it is nested (subcharts,
 *       sidecars, init containers, `*Spec` objects). Subtrees with `enabled: false` are skipped:
 *       the chart renders no pod from them. Storage-only blocks (PVC templates) are ignored.
 *   flagPlacement(...)
 *       a placement for resources an operator receives as command-line flags (the Prometheus
 *       operator's --config-reloader-*, cert-manager's --acme-http01-solver-resource-*).
 *   placementProblems(placements, rangesByNamespace)
 *       every placement checked against the LimitRange of its namespace, with defaults applied
 *       the way admission applies them; namespaces without a LimitRange pass.
 *   limitRangeDefaultProblems(range)
 *       a LimitRange whose own default/defaultRequest break its ratio, min or max: every
 *       container that relies on the defaults would be rejected.
 *
 * Problems are `{ key, value, message }`: `key` is the config key to change (`octollm:` prefix
 * added by the caller), `message` says what is allowed.
 */
import type { Quantity } from "./quantity";
import { compare, formatBytes, formatCpu, isQuantity, multiply, parseQuantity } from "./quantity";

export const COMPUTE_RESOURCES = ["cpu", "memory"] as const;
export type ComputeResource = (typeof COMPUTE_RESOURCES)[number];
export type ComputeList = Partial<Record<ComputeResource, string | number>>;

/** A container's `resources` (only cpu and memory matter for a LimitRange of ours). */
export interface ResourcesBlock {
  requests?: ComputeList;
  limits?: ComputeList;
}

/** One `type: Container` item of a LimitRange, as the program writes it. */
export interface ContainerLimitRange {
  default?: ComputeList;
  defaultRequest?: ComputeList;
  min?: ComputeList;
  max?: ComputeList;
  maxLimitRequestRatio?: ComputeList;
}

/** A resources block and where its pods land. */
export interface ResourcePlacement {
  /** the config key that sets it, without the `octollm:` prefix */
  key: string;
  /** what gets the resources, for the message (e.g. `kube-prometheus-stack value grafana.sidecar.resources`) */
  what: string;
  namespace: string;
  resources: ResourcesBlock;
}

export interface LimitProblem {
  key: string;
  value: unknown;
  message: string;
}

function q(v: string | number | undefined): Quantity | undefined {
  return v !== undefined && isQuantity(v) ? parseQuantity(v) : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function computeList(v: unknown): ComputeList | undefined {
  if (!isObject(v)) return undefined;
  const out: ComputeList = {};
  for (const kind of COMPUTE_RESOURCES) {
    const x = v[kind];
    if (typeof x === "string" || typeof x === "number") out[kind] = x;
  }
  return out;
}

/** A `resources` value that sets cpu or memory (PVC `resources.requests.storage` is not one). */
function asComputeBlock(v: unknown): ResourcesBlock | undefined {
  if (!isObject(v)) return undefined;
  const requests = computeList(v.requests);
  const limits = computeList(v.limits);
  const sets = (l?: ComputeList) => l !== undefined && Object.keys(l).length > 0;
  if (!sets(requests) && !sets(limits)) return undefined;
  return { ...(sets(requests) ? { requests } : {}), ...(sets(limits) ? { limits } : {}) };
}

export interface ChartPlacementOptions {
  /** chart name, for messages */
  chart: string;
  /** namespace the chart's pods land in (the release namespace) */
  namespace: string;
  /** config key that installs the chart, e.g. `operators.prometheusStack` */
  configKey: string;
  /** values paths set from a config key of their own, e.g. { "grafana.resources": "observability.grafana.resources" } */
  keyOverrides?: Record<string, string>;
}

/**
 * Every `resources` block in a chart's values, wherever it is nested. Arrays are walked too
 * (e.g. Velero's `initContainers[].resources`). A chart may route one of these blocks to a
 * different namespace than its release; callers handle that case (none of our charts do).
 */
export function chartResourcePlacements(
  values: unknown,
  options: ChartPlacementOptions,
): ResourcePlacement[] {
  const out: ResourcePlacement[] = [];
  const walk = (node: unknown, path: string[]) => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, [...path.slice(0, -1), `${path.at(-1) ?? ""}[${i}]`]));
      return;
    }
    if (!isObject(node)) return;
    // A disabled component renders no pod, whatever resources its values carry.
    if (node.enabled === false) return;
    for (const [k, v] of Object.entries(node)) {
      const here = [...path, k];
      if (k === "resources") {
        const block = asComputeBlock(v);
        if (block) {
          const valuesPath = here.join(".");
          const override = options.keyOverrides?.[valuesPath];
          out.push({
            key: override ?? options.configKey,
            what: `${options.chart} value ${valuesPath}`,
            namespace: options.namespace,
            resources: block,
          });
        }
        continue;
      }
      walk(v, here);
    }
  };
  walk(values, []);
  return out;
}

/**
 * Resources an operator receives as flags and gives to the containers it creates. `flags` maps
 * a resource field to its flag value; absent fields take `defaults` (the operator's own). An
 * empty or "0" value means "not set" (both operators we drive read it so).
 */
export function flagPlacement(
  placement: Omit<ResourcePlacement, "resources">,
  flags: Partial<
    Record<"requests.cpu" | "requests.memory" | "limits.cpu" | "limits.memory", string>
  >,
  defaults: Partial<
    Record<"requests.cpu" | "requests.memory" | "limits.cpu" | "limits.memory", string>
  > = {},
): ResourcePlacement {
  const resources: ResourcesBlock = {};
  for (const field of ["requests.cpu", "requests.memory", "limits.cpu", "limits.memory"] as const) {
    const value = field in flags ? flags[field] : defaults[field];
    if (value === undefined || value === "" || value === "0") continue;
    const [side, kind] = field.split(".") as ["requests" | "limits", ComputeResource];
    resources[side] = { ...(resources[side] ?? {}), [kind]: value };
  }
  return { ...placement, resources };
}

/** Requests and limits after API defaulting and LimitRange defaulting, with where each came from. */
export interface Admitted {
  request?: Quantity;
  limit?: Quantity;
  requestText?: string;
  limitText?: string;
}

/**
 * What the API server stores for one resource of a container: a missing request takes the
 * container's own limit (API defaulting, before admission), else the LimitRange's
 * `defaultRequest`; a missing limit takes the LimitRange's `default`.
 */
export function admitted(
  resources: ResourcesBlock | undefined,
  range: ContainerLimitRange,
  kind: ComputeResource,
): Admitted {
  const ownLimit = resources?.limits?.[kind];
  const ownRequest = resources?.requests?.[kind];
  const defaultLimit = range.default?.[kind];
  const defaultRequest = range.defaultRequest?.[kind];
  const limitValue = ownLimit ?? defaultLimit;
  const requestValue = ownRequest ?? ownLimit ?? defaultRequest;
  return {
    limit: q(limitValue),
    request: q(requestValue),
    limitText:
      ownLimit !== undefined
        ? String(ownLimit)
        : defaultLimit !== undefined
          ? `${defaultLimit} (LimitRange default)`
          : undefined,
    requestText:
      ownRequest !== undefined
        ? String(ownRequest)
        : ownLimit !== undefined
          ? `${ownLimit} (its limit)`
          : defaultRequest !== undefined
            ? `${defaultRequest} (LimitRange defaultRequest)`
            : undefined,
  };
}

function ratioText(limit: Quantity, request: Quantity): string {
  const r = Number(limit.num * request.den) / Number(limit.den * request.num);
  return String(+r.toFixed(3));
}

/** Why admission would reject a container with `resources` under `range`; empty when admitted. */
export function limitRangeFindings(
  resources: ResourcesBlock | undefined,
  range: ContainerLimitRange,
): string[] {
  const out: string[] = [];
  for (const kind of COMPUTE_RESOURCES) {
    const a = admitted(resources, range, kind);
    if (a.request && a.limit && compare(a.request, a.limit) > 0) {
      out.push(
        `${kind} request ${a.requestText} is above its limit ${a.limitText}: allowed: a request ≤ the limit`,
      );
    }
    const maxRatio = range.maxLimitRequestRatio?.[kind];
    const ratio = q(maxRatio);
    if (ratio) {
      if (!a.request || a.request.num === 0n) {
        out.push(
          `${kind} has no request and the LimitRange has no defaultRequest, but a maxLimitRequestRatio ${maxRatio}: allowed: a non-zero request`,
        );
      } else if (!a.limit) {
        out.push(
          `${kind} has no limit and the LimitRange has no default, but a maxLimitRequestRatio ${maxRatio}: allowed: a limit ≤ ${maxRatio} × the request`,
        );
      } else if (compare(a.limit, multiply(a.request, ratio)) > 0) {
        const fmt = kind === "cpu" ? formatCpu : formatBytes;
        // Smallest request the limit allows: limit / ratio, rounded up by the formatter.
        const minRequest = { num: a.limit.num * ratio.den, den: a.limit.den * ratio.num };
        out.push(
          `${kind} limit/request ratio ${ratioText(a.limit, a.request)} (${a.limitText} / ${a.requestText}) exceeds the LimitRange maxLimitRequestRatio ${maxRatio}: allowed: limit ≤ ${maxRatio} × request (a limit ≤ ${fmt(multiply(a.request, ratio))}, or a request ≥ ${fmt(minRequest)})`,
        );
      }
    }
    const max = q(range.max?.[kind]);
    if (max) {
      if (!a.limit)
        out.push(`${kind} has no limit, but the LimitRange max is ${range.max?.[kind]}`);
      else if (compare(a.limit, max) > 0)
        out.push(
          `${kind} limit ${a.limitText} is above the LimitRange max ${range.max?.[kind]}: allowed: ≤ ${range.max?.[kind]}`,
        );
      if (a.request && compare(a.request, max) > 0)
        out.push(
          `${kind} request ${a.requestText} is above the LimitRange max ${range.max?.[kind]}: allowed: ≤ ${range.max?.[kind]}`,
        );
    }
    const min = q(range.min?.[kind]);
    if (min) {
      if (!a.request)
        out.push(`${kind} has no request, but the LimitRange min is ${range.min?.[kind]}`);
      else if (compare(a.request, min) < 0)
        out.push(
          `${kind} request ${a.requestText} is below the LimitRange min ${range.min?.[kind]}: allowed: ≥ ${range.min?.[kind]}`,
        );
      if (a.limit && compare(a.limit, min) < 0)
        out.push(
          `${kind} limit ${a.limitText} is below the LimitRange min ${range.min?.[kind]}: allowed: ≥ ${range.min?.[kind]}`,
        );
    }
  }
  return out;
}

/**
 * A LimitRange's own defaults, applied to a container that sets nothing, must pass the same
 * LimitRange: otherwise every such container (chart sidecars without resources, operator-made
 * containers) is rejected.
 */
export function limitRangeDefaultProblems(
  range: ContainerLimitRange,
  key: string,
  namespace: string,
): LimitProblem[] {
  return limitRangeFindings(undefined, range).map((finding) => ({
    key,
    value: { default: range.default, defaultRequest: range.defaultRequest },
    message: `the defaults of namespace ${namespace}'s LimitRange break it: a container without resources gets ${finding}`,
  }));
}

/** Every placement against the LimitRange of its namespace; namespaces without one pass. */
export function placementProblems(
  placements: readonly ResourcePlacement[],
  rangesByNamespace: ReadonlyMap<string, { range: ContainerLimitRange; key: string }>,
): LimitProblem[] {
  const out: LimitProblem[] = [];
  for (const p of placements) {
    const lr = rangesByNamespace.get(p.namespace);
    if (!lr) continue;
    for (const finding of limitRangeFindings(p.resources, lr.range)) {
      out.push({
        key: p.key,
        value: p.resources,
        message: `${p.what} lands in namespace ${p.namespace}, whose LimitRange (${lr.key}) rejects it: ${finding}`,
      });
    }
  }
  return out;
}
