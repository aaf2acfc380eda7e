/**
 * Exact Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource).
 *
 * Capacity checks add hundreds of quantities such as `500m` and `1.5Gi`; floating point would
 * make "fits the quota" depend on rounding, so a quantity is an exact rational of two bigints.
 */

export interface Quantity {
  /** numerator, in base units (cores, bytes, pods) */
  readonly num: bigint;
  /** positive denominator; the fraction is always reduced */
  readonly den: bigint;
}

const BINARY_SUFFIXES: Record<string, bigint> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};

/** Decimal SI suffixes as powers of ten. */
const DECIMAL_SUFFIXES: Record<string, number> = {
  n: -9,
  u: -6,
  m: -3,
  "": 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

// sign, digits with optional fraction, then a binary suffix, a decimal suffix or a decimal exponent.
const QUANTITY_PATTERN =
  /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;

export class QuantityError extends Error {}

function gcd(a: bigint, b: bigint): bigint {
  let x = a < 0n ? -a : a;
  let y = b < 0n ? -b : b;
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

function make(num: bigint, den: bigint): Quantity {
  if (den === 0n) throw new QuantityError("quantity with a zero denominator");
  if (den < 0n) [num, den] = [-num, -den];
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

function pow10(exp: number): Quantity {
  return exp >= 0 ? make(10n ** BigInt(exp), 1n) : make(1n, 10n ** BigInt(-exp));
}

/** True when `text` is a valid Kubernetes quantity (`500m`, `2`, `1.5Gi`, `1e3`, `100k`). */
export function isQuantity(text: string | number): boolean {
  return QUANTITY_PATTERN.test(String(text).trim()) && String(text).trim() !== "";
}

/** Parses a Kubernetes quantity exactly; throws QuantityError for anything else (e.g. `2 cores`). */
export function parseQuantity(text: string | number): Quantity {
  const raw = String(text).trim();
  const match = QUANTITY_PATTERN.exec(raw);
  if (!match) {
    throw new QuantityError(
      `"${raw}" is not a Kubernetes quantity (expected e.g. 500m, 2, 1.5Gi, 100M, 1e3)`,
    );
  }
  const [, sign, digits, suffix = ""] = match;
  const [whole, fraction = ""] = digits.split(".");
  let value = make(BigInt((whole || "0") + fraction), 10n ** BigInt(fraction.length));
  if (sign === "-") value = make(-value.num, value.den);
  if (suffix in BINARY_SUFFIXES) return multiply(value, make(BINARY_SUFFIXES[suffix], 1n));
  if (suffix in DECIMAL_SUFFIXES) return multiply(value, pow10(DECIMAL_SUFFIXES[suffix]));
  return multiply(value, pow10(Number(suffix.slice(1))));
}

export const ZERO: Quantity = { num: 0n, den: 1n };

export function add(a: Quantity, b: Quantity): Quantity {
  return make(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function subtract(a: Quantity, b: Quantity): Quantity {
  return make(a.num * b.den - b.num * a.den, a.den * b.den);
}

export function multiply(a: Quantity, b: Quantity): Quantity {
  return make(a.num * b.num, a.den * b.den);
}

export function scale(a: Quantity, factor: number | bigint): Quantity {
  return make(a.num * BigInt(factor), a.den);
}

/** -1, 0 or 1 as a is less than, equal to or greater than b. */
export function compare(a: Quantity, b: Quantity): -1 | 0 | 1 {
  const left = a.num * b.den;
  const right = b.num * a.den;
  return left < right ? -1 : left > right ? 1 : 0;
}

export function sum(quantities: Iterable<Quantity>): Quantity {
  let total = ZERO;
  for (const q of quantities) total = add(total, q);
  return total;
}

/** a / b as a float, for ratios and percentages in reports only. */
export function ratio(a: Quantity, b: Quantity): number {
  return Number(a.num * b.den) / Number(a.den * b.num);
}

export function toNumber(a: Quantity): number {
  return Number(a.num) / Number(a.den);
}

/** Compares two quantity strings; throws QuantityError when either is not a quantity. */
export function compareQuantities(a: string | number, b: string | number): -1 | 0 | 1 {
  return compare(parseQuantity(a), parseQuantity(b));
}

/** CPU for humans: whole cores when exact, otherwise millicores (rounded up). */
export function formatCpu(a: Quantity): string {
  if (a.den === 1n) return a.num.toString();
  const milli = (a.num * 1000n + a.den - 1n) / a.den;
  return `${milli}m`;
}

/** Bytes for humans: the largest binary unit that divides exactly, else Mi rounded up. */
export function formatBytes(a: Quantity): string {
  const bytes = (a.num + a.den - 1n) / a.den;
  for (const unit of ["Ei", "Pi", "Ti", "Gi", "Mi", "Ki"]) {
    const size = BINARY_SUFFIXES[unit];
    if (bytes !== 0n && bytes % size === 0n) return `${bytes / size}${unit}`;
  }
  if (bytes >= BINARY_SUFFIXES.Mi) {
    const mi = (bytes + BINARY_SUFFIXES.Mi - 1n) / BINARY_SUFFIXES.Mi;
    return `${mi}Mi`;
  }
  return bytes.toString();
}

/** Counts (pods, PVCs) are plain integers. */
export function formatCount(a: Quantity): string {
  return a.den === 1n ? a.num.toString() : toNumber(a).toString();
}
