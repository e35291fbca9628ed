import { err, ok, type Result } from "../result.js";

/** Address family of an IP address or CIDR. */
export type IPFamily = "IPv4" | "IPv6";

/** An IP address as an unsigned integer of 32 (IPv4) or 128 (IPv6) bits. */
export interface IPAddress {
  readonly family: IPFamily;
  readonly value: bigint;
}

/** Number of bits in an address of the family. */
export const familyBits = (family: IPFamily): number => (family === "IPv4" ? 32 : 128);

const DECIMAL_OCTET = /^(0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** Parses a dotted-quad IPv4 address. Like Go's net.ParseIP, octets with leading zeros are rejected. */
export function parseIPv4(text: string): IPAddress | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!DECIMAL_OCTET.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = (value << 8n) | BigInt(octet);
  }
  return { family: "IPv4", value };
}

/** Parses hex groups (and an optional trailing embedded IPv4) into 16-bit words, or null. */
function parseGroups(groups: readonly string[], allowTrailingIPv4: boolean): bigint[] | null {
  const words: bigint[] = [];
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i] ?? "";
    if (allowTrailingIPv4 && i === groups.length - 1 && group.includes(".")) {
      const v4 = parseIPv4(group);
      if (v4 === null) return null;
      words.push(v4.value >> 16n, v4.value & 0xffffn);
    } else {
      if (!HEX_GROUP.test(group)) return null;
      words.push(BigInt(parseInt(group, 16)));
    }
  }
  return words;
}

const joinWords = (words: readonly bigint[]): bigint => words.reduce((acc, w) => (acc << 16n) | w, 0n);

/** Parses an IPv6 address (RFC 4291 text forms, embedded IPv4 allowed, zones rejected). */
export function parseIPv6(text: string): IPAddress | null {
  if (!text.includes(":")) return null;
  const halves = text.split("::");
  if (halves.length > 2) return null;
  if (halves.length === 1) {
    const words = parseGroups(text.split(":"), true);
    if (words === null || words.length !== 8) return null;
    return { family: "IPv6", value: joinWords(words) };
  }
  const [head = "", tail = ""] = halves;
  const headWords = head === "" ? [] : parseGroups(head.split(":"), false);
  const tailWords = tail === "" ? [] : parseGroups(tail.split(":"), true);
  if (headWords === null || tailWords === null) return null;
  const missing = 8 - headWords.length - tailWords.length;
  if (missing < 1) return null; // "::" stands for at least one zero group
  const words = [...headWords, ...Array<bigint>(missing).fill(0n), ...tailWords];
  return { family: "IPv6", value: joinWords(words) };
}

/**
 * Parses an IPv4 or IPv6 address with Go net.ParseIP semantics. IPv4-mapped IPv6 addresses
 * (`::ffff:a.b.c.d`) are IPv4 addresses, as Go's `To4()` treats them.
 */
export function parseIP(text: string): Result<IPAddress, string> {
  const v4 = parseIPv4(text);
  if (v4 !== null) return ok(v4);
  const v6 = parseIPv6(text);
  if (v6 === null) return err(`invalid IP address ${JSON.stringify(text)}`);
  if (v6.value >> 32n === 0xffffn) return ok({ family: "IPv4", value: v6.value & 0xffffffffn });
  return ok(v6);
}

function formatIPv4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => ((value >> shift) & 0xffn).toString()).join(".");
}

/** Finds the longest run (>= 2 words) of zero words, first one on ties (RFC 5952 §4.2). */
function longestZeroRun(words: readonly bigint[]): { start: number; length: number } | null {
  let best: { start: number; length: number } | null = null;
  let i = 0;
  while (i < words.length) {
    if (words[i] !== 0n) {
      i++;
      continue;
    }
    const start = i;
    while (i < words.length && words[i] === 0n) i++;
    const length = i - start;
    if (length >= 2 && (best === null || length > best.length)) best = { start, length };
  }
  return best;
}

function formatIPv6(value: bigint): string {
  const words = Array.from({ length: 8 }, (_, i) => (value >> BigInt((7 - i) * 16)) & 0xffffn);
  const hex = (ws: readonly bigint[]): string => ws.map((w) => w.toString(16)).join(":");
  const run = longestZeroRun(words);
  if (run === null) return hex(words);
  return `${hex(words.slice(0, run.start))}::${hex(words.slice(run.start + run.length))}`;
}

/** Canonical text form: dotted quad for IPv4, RFC 5952 for IPv6. */
export function formatIP(ip: IPAddress): string {
  return ip.family === "IPv4" ? formatIPv4(ip.value) : formatIPv6(ip.value);
}

/** True for IPv4 addresses ending in .0 or .255, which some buggy devices drop. */
export function isBuggyIPv4(ip: IPAddress): boolean {
  if (ip.family !== "IPv4") return false;
  const last = ip.value & 0xffn;
  return last === 0n || last === 255n;
}

/** Total order on addresses: IPv4 before IPv6, then numerically. */
export function compareIP(a: IPAddress, b: IPAddress): number {
  if (a.family !== b.family) return a.family === "IPv4" ? -1 : 1;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}
