/**
 * The value formats operators parse, re-implemented exactly as the operator versions the
 * program pins parse them, so the pack refuses what the operator would refuse (or silently
 * misread) before anything is applied:
 *
 * - cron: github.com/robfig/cron. Velero 1.16 (chart 10.1.0) parses `Schedule.spec.schedule`
 *   with v3.0.1 `ParseStandard` (pkg/controller/schedule_controller.go#parseCronSchedule): five
 *   fields, descriptors (`@daily`, `@every 1h30m`), an optional `CRON_TZ=`/`TZ=` prefix.
 *   CloudNativePG 1.27 (chart 0.26.0) parses `ScheduledBackup.spec.schedule` with v1.2.0 `Parse`
 *   (internal/webhook/v1/scheduledbackup_webhook.go): seconds FIRST, day-of-week optional (5 or 6
 *   fields), descriptors, no time-zone prefix. Field bounds and names per robfig's spec.go:
 *   day of week 0-6 (7 is out of range), months and weekdays by 3-letter name, `?` as `*`.
 * - Go durations (time.ParseDuration): Velero's `template.ttl` (metav1.Duration) and `@every`.
 * - Prometheus durations (prometheus/common model.ParseDuration): a rule's `for` /
 *   `keep_firing_for` and a group's `interval`, and the CRD's own pattern for them.
 */

interface CronBounds {
  name: string;
  min: number;
  max: number;
  names?: Record<string, number>;
}

const MONTH_NAMES = [
  "jan",
  "feb",
  "mar",
  "apr",
  "may",
  "jun",
  "jul",
  "aug",
  "sep",
  "oct",
  "nov",
  "dec",
];
const DOW_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const SECOND: CronBounds = { name: "second", min: 0, max: 59 };
const MINUTE: CronBounds = { name: "minute", min: 0, max: 59 };
const HOUR: CronBounds = { name: "hour", min: 0, max: 23 };
const DOM: CronBounds = { name: "day of month", min: 1, max: 31 };
const MONTH: CronBounds = {
  name: "month",
  min: 1,
  max: 12,
  names: Object.fromEntries(MONTH_NAMES.map((n, i) => [n, i + 1])),
};
const DOW: CronBounds = {
  name: "day of week",
  min: 0,
  max: 6,
  names: Object.fromEntries(DOW_NAMES.map((n, i) => [n, i])),
};

const DESCRIPTORS = new Set([
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
]);

/** robfig's mustParseInt: Go strconv.Atoi (an optional sign, decimal digits), then ≥ 0. */
function cronInt(expr: string, b: CronBounds): number | string {
  const named = b.names?.[expr.toLowerCase()];
  if (named !== undefined) return named;
  if (!/^[+-]?\d+$/.test(expr)) return `failed to parse int from ${expr}`;
  const n = Number(expr);
  if (n < 0) return `negative number (${n}) not allowed: ${expr}`;
  return n;
}

/** robfig's getRange, for one comma-separated part of a field: why it is invalid, if it is. */
function cronRangeProblem(expr: string, b: CronBounds): string | undefined {
  const rangeAndStep = expr.split("/");
  const lowAndHigh = rangeAndStep[0].split("-");
  let start: number;
  let end: number;
  if (lowAndHigh[0] === "*" || lowAndHigh[0] === "?") {
    start = b.min;
    end = b.max;
  } else {
    const s = cronInt(lowAndHigh[0], b);
    if (typeof s === "string") return s;
    start = s;
    if (lowAndHigh.length === 1) end = start;
    else if (lowAndHigh.length === 2) {
      const e = cronInt(lowAndHigh[1], b);
      if (typeof e === "string") return e;
      end = e;
    } else return `too many hyphens: ${expr}`;
  }
  let step = 1;
  if (rangeAndStep.length === 2) {
    const s = cronInt(rangeAndStep[1], { name: b.name, min: 0, max: 0 });
    if (typeof s === "string") return s;
    step = s;
    // "N/step" means "N-max/step"
    if (lowAndHigh.length === 1) end = b.max;
  } else if (rangeAndStep.length > 2) return `too many slashes: ${expr}`;
  if (start < b.min) return `beginning of range (${start}) below minimum (${b.min}): ${expr}`;
  if (end > b.max) return `end of range (${end}) above maximum (${b.max}): ${expr}`;
  if (start > end) return `beginning of range (${start}) beyond end of range (${end}): ${expr}`;
  if (step === 0) return `step of range should be a positive number: ${expr}`;
  return undefined;
}

function cronFieldProblem(field: string, b: CronBounds): string | undefined {
  // strings.FieldsFunc on ',': empty parts are dropped
  for (const part of field.split(",").filter((p) => p !== "")) {
    const problem = cronRangeProblem(part, b);
    if (problem) return `${b.name}: ${problem}`;
  }
  return undefined;
}

function descriptorProblem(spec: string): string | undefined {
  if (DESCRIPTORS.has(spec)) return undefined;
  if (spec.startsWith("@every ")) {
    const d = goDurationProblem(spec.slice("@every ".length));
    return d ? `failed to parse duration ${spec}: ${d}` : undefined;
  }
  return `unrecognized descriptor: ${spec}`;
}

function fieldsProblem(fields: string[], bounds: CronBounds[]): string | undefined {
  for (let i = 0; i < bounds.length; i++) {
    const problem = cronFieldProblem(fields[i], bounds[i]);
    if (problem) return problem;
  }
  return undefined;
}

/** A valid IANA time zone (or UTC / Local), as Go's time.LoadLocation would find it. */
function isTimeZone(name: string): boolean {
  if (name === "" || name === "UTC" || name === "Local") return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Why robfig/cron v3 `ParseStandard` (Velero's parser) rejects `spec`, or undefined when it
 * accepts it: minute hour day-of-month month day-of-week, or a descriptor, optionally after
 * `CRON_TZ=<zone> ` / `TZ=<zone> `.
 */
export function standardCronProblem(spec: string): string | undefined {
  if (spec.length === 0) return "empty spec string";
  let rest = spec;
  if (rest.startsWith("TZ=") || rest.startsWith("CRON_TZ=")) {
    const space = rest.indexOf(" ");
    // robfig slices up to the first space; without one it panics (Velero reports it invalid)
    if (space < 0) return "a time zone prefix needs a schedule after it";
    const zone = rest.slice(rest.indexOf("=") + 1, space);
    if (!isTimeZone(zone)) return `provided bad location ${zone}`;
    rest = rest.slice(space).trim();
  }
  if (rest.startsWith("@")) return descriptorProblem(rest);
  const fields = rest.split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${rest}`;
  return fieldsProblem(fields, [MINUTE, HOUR, DOM, MONTH, DOW]);
}

/**
 * Why robfig/cron v1.2.0 `Parse` (CloudNativePG's ScheduledBackup webhook) rejects `spec`:
 * second minute hour day-of-month month [day-of-week], or a descriptor; no time-zone prefix.
 */
export function secondsCronProblem(spec: string): string | undefined {
  if (spec.length === 0) return "empty spec string";
  if (spec.startsWith("@")) return descriptorProblem(spec);
  const fields = spec.split(/\s+/).filter((f) => f !== "");
  if (fields.length < 5 || fields.length > 6)
    return `expected 5 to 6 fields, found ${fields.length}: ${spec}`;
  if (fields.length === 5) fields.push("*");
  return fieldsProblem(fields, [SECOND, MINUTE, HOUR, DOM, MONTH, DOW]);
}

const GO_UNITS: Record<string, number> = {
  ns: 1e-9,
  us: 1e-6,
  µs: 1e-6,
  μs: 1e-6,
  ms: 1e-3,
  s: 1,
  m: 60,
  h: 3600,
};

/** Seconds in a Go duration (time.ParseDuration), or a string saying why it is not one. */
export function parseGoDuration(text: string): number | string {
  // [-+]? then one or more <decimal number><unit>; "0" alone needs no unit
  if (text === "0" || text === "+0" || text === "-0") return 0;
  const m = /^([-+]?)((?:(?:\d+\.?\d*|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/.exec(text);
  if (!m) return `time: invalid duration "${text}"`;
  let seconds = 0;
  for (const part of m[2].matchAll(/(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g))
    seconds += Number(part[1]) * GO_UNITS[part[2]];
  return m[1] === "-" ? -seconds : seconds;
}

export function goDurationProblem(text: string): string | undefined {
  const d = parseGoDuration(text);
  return typeof d === "string" ? d : undefined;
}

/**
 * prometheus/common model.ParseDuration, which is also the prometheus-operator CRD's Duration
 * pattern: units in descending order y w d h m s ms, each at most once, integers only; "0".
 */
const PROMETHEUS_DURATION =
  /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;

export function prometheusDurationProblem(text: string): string | undefined {
  if (text === "" || !PROMETHEUS_DURATION.test(text))
    return `"${text}" is not a Prometheus duration (e.g. 5m, 1h30m, 0; units y w d h m s ms in that order)`;
  return undefined;
}

/**
 * Metric and label names in the legacy character set. Prometheus 3 also accepts UTF-8 names,
 * but such a name must be quoted (`{"my.metric"}`) wherever PromQL uses it: a recorded series
 * or label named outside this set cannot be used by name in the expressions, dashboards and
 * `by (…)` clauses that read it. The pack holds the stacks to the set every tool reads.
 */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
