import { err, ok, type Result } from "../result.js";
import { compareIP, familyBits, formatIP, parseIP, type IPAddress, type IPFamily } from "./ip.js";

/** A CIDR block with its first and last address (host bits of the text form are masked away). */
export interface Cidr {
  readonly family: IPFamily;
  readonly first: bigint;
  readonly last: bigint;
  readonly prefixLength: number;
}

const PREFIX_DIGITS = /^[0-9]+$/;

/** Builds the CIDR of the given prefix length that contains `ip`. */
export function cidrOf(ip: IPAddress, prefixLength: number): Cidr {
  const hostBits = BigInt(familyBits(ip.family) - prefixLength);
  const size = 1n << hostBits;
  const first = (ip.value >> hostBits) << hostBits;
  return { family: ip.family, first, last: first + size - 1n, prefixLength };
}

/**
 * Parses `addr/len` like Go's net.ParseCIDR: host bits are accepted and masked
 * (`10.0.0.7/24` is `10.0.0.0/24`). Note that an IPv4-mapped IPv6 address keeps a 128-bit prefix.
 */
export function parseCidr(text: string): Result<Cidr, string> {
  const invalid = err(`invalid CIDR ${JSON.stringify(text)}`);
  const slash = text.indexOf("/");
  if (slash < 0) return invalid;
  const addrText = text.slice(0, slash);
  const lenText = text.slice(slash + 1);
  const parsed = parseIP(addrText);
  if (!parsed.ok || !PREFIX_DIGITS.test(lenText)) return invalid;
  // Go keeps the textual family: an address written with ':' has 128-bit prefixes.
  const ip: IPAddress =
    addrText.includes(":") && parsed.value.family === "IPv4" ? { family: "IPv6", value: parsed.value.value | (0xffffn << 32n) } : parsed.value;
  const prefixLength = Number(lenText);
  if (prefixLength > familyBits(ip.family)) return invalid;
  return ok(cidrOf(ip, prefixLength));
}

/** Canonical text form `network/len`. */
export function formatCidr(cidr: Cidr): string {
  return `${formatIP({ family: cidr.family, value: cidr.first })}/${cidr.prefixLength}`;
}

/** Number of trailing zero bits of `value`, capped at `max`. */
function trailingZeros(value: bigint, max: number): number {
  let n = 0;
  while (n < max && ((value >> BigInt(n)) & 1n) === 0n) n++;
  return n;
}

/** The minimal list of CIDRs exactly covering `start..end` (inclusive); both of one family, start <= end. */
export function summarizeRange(start: IPAddress, end: IPAddress): Cidr[] {
  const bits = familyBits(start.family);
  const result: Cidr[] = [];
  let cursor = start.value;
  while (cursor <= end.value) {
    let hostBits = trailingZeros(cursor, bits);
    while (hostBits > 0 && cursor + (1n << BigInt(hostBits)) - 1n > end.value) hostBits--;
    result.push(cidrOf({ family: start.family, value: cursor }, bits - hostBits));
    cursor += 1n << BigInt(hostBits);
  }
  return result;
}

/**
 * Parses an address range `start-end` (whitespace around each side is trimmed) into its minimal CIDRs.
 * Messages follow MetalLB's "invalid IP range" wording.
 */
export function parseIPRange(text: string): Result<Cidr[], string> {
  const dash = text.indexOf("-");
  if (dash < 0) return err(`invalid IP range ${JSON.stringify(text)}`);
  const startText = text.slice(0, dash);
  const endText = text.slice(dash + 1);
  const start = parseIP(startText.trim());
  if (!start.ok) return err(`invalid IP range ${JSON.stringify(text)}: invalid start IP ${JSON.stringify(startText)}`);
  const end = parseIP(endText.trim());
  if (!end.ok) return err(`invalid IP range ${JSON.stringify(text)}: invalid end IP ${JSON.stringify(endText)}`);
  if (start.value.family !== end.value.family) {
    return err(`invalid IP range ${JSON.stringify(text)}: start IP and end IP are of different address families`);
  }
  if (compareIP(start.value, end.value) > 0) {
    const s = JSON.stringify(formatIP(start.value));
    const e = JSON.stringify(formatIP(end.value));
    return err(`invalid IP range ${JSON.stringify(text)}: start IP ${s} is after the end IP ${e}`);
  }
  return ok(summarizeRange(start.value, end.value));
}

/** Parses one `IPAddressPool.spec.addresses` entry: a CIDR, or a range if it contains '-'. */
export function parsePoolAddress(text: string): Result<Cidr[], string> {
  if (text.includes("-")) return parseIPRange(text);
  const cidr = parseCidr(text);
  return cidr.ok ? ok([cidr.value]) : cidr;
}

/** True if `outer` contains every address of `inner`. */
export function cidrContainsCidr(outer: Cidr, inner: Cidr): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

/** True if the CIDRs share at least one address (for CIDRs this means one contains the other). */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** True if the CIDR contains the address. */
export function cidrContainsIP(cidr: Cidr, ip: IPAddress): boolean {
  return cidr.family === ip.family && cidr.first <= ip.value && ip.value <= cidr.last;
}

/** Number of addresses in the CIDR. */
export const addressCount = (cidr: Cidr): bigint => cidr.last - cidr.first + 1n;

/** Number of IPv4 addresses ending in .0 or .255 in the CIDR (0 for IPv6). */
export function buggyIPv4Count(cidr: Cidr): bigint {
  if (cidr.family !== "IPv4") return 0n;
  if (cidr.prefixLength <= 24) return 2n * (1n << BigInt(24 - cidr.prefixLength));
  const firstBuggy = (cidr.first & 0xffn) === 0n ? 1n : 0n;
  const lastBuggy = (cidr.last & 0xffn) === 255n ? 1n : 0n;
  return firstBuggy + lastBuggy;
}
