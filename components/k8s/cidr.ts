/**
 * CIDR arithmetic for the network checks: parse IPv4 and IPv6 ranges, and tell whether two
 * ranges overlap or one contains the other. Pure, exact (bigint).
 */

export interface Cidr {
  family: 4 | 6;
  /** first address of the range */
  base: bigint;
  prefix: number;
  text: string;
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let out = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    out = (out << 8n) | BigInt(Number(p));
  }
  return out;
}

function parseIPv6(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let out = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    out = (out << 16n) | BigInt(parseInt(g, 16));
  }
  return out;
}

/** The range `text` names, or undefined when it is not a valid CIDR. Host bits are masked. */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const prefix = Number(m[2]);
  const v4 = parseIPv4(m[1]);
  if (v4 !== undefined) {
    if (prefix > 32) return undefined;
    const hostBits = BigInt(32 - prefix);
    return { family: 4, base: (v4 >> hostBits) << hostBits, prefix, text };
  }
  const v6 = parseIPv6(m[1]);
  if (v6 !== undefined) {
    if (prefix > 128) return undefined;
    const hostBits = BigInt(128 - prefix);
    return { family: 6, base: (v6 >> hostBits) << hostBits, prefix, text };
  }
  return undefined;
}

export function isCidr(text: string): boolean {
  return parseCidr(text) !== undefined;
}

function size(c: Cidr): bigint {
  return 1n << BigInt((c.family === 4 ? 32 : 128) - c.prefix);
}

/** Does `outer` contain every address of `inner`? */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return (
    outer.family === inner.family &&
    outer.prefix <= inner.prefix &&
    inner.base >= outer.base &&
    inner.base < outer.base + size(outer)
  );
}

/** Do the two ranges share at least one address? */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** A range of one address (/32, /128): a node's own address, e.g. its gateway on the pod network. */
export function isSingleAddress(c: Cidr): boolean {
  return c.prefix === (c.family === 4 ? 32 : 128);
}
