// Pure encode/decode of the Layer 2 announcement frames: ARP (IPv4) and NDP neighbor solicitation /
// advertisement (IPv6), as complete Ethernet frames the speaker's raw socket sends and receives.
//
// Frames are Uint8Arrays (a Node Buffer is one). Parsers never throw: anything truncated, malformed or not of
// the expected kind is null. Builders throw a RangeError only on invalid arguments (a broken caller invariant).
import type { IPAddress } from "../net/ip.js";

/** A MAC address in canonical text form: six lower-case two-digit hex octets joined by colons. */
export type MacAddress = string;

export const ETHERTYPE_ARP = 0x0806;
export const ETHERTYPE_IPV6 = 0x86dd;
export const ETHERTYPE_IPV4 = 0x0800;
export const BROADCAST_MAC: MacAddress = "ff:ff:ff:ff:ff:ff";
export const ZERO_MAC: MacAddress = "00:00:00:00:00:00";
/** ff02::1, all nodes on the link. */
export const ALL_NODES: IPAddress = { family: "IPv6", value: (0xff02n << 112n) | 1n };
/** 33:33:00:00:00:01, the Ethernet group of ff02::1. */
export const ALL_NODES_MAC: MacAddress = "33:33:00:00:00:01";

const ETH_HEADER = 14;
/** Minimum Ethernet frame without FCS; shorter frames are zero-padded (ARP is 42 bytes of payload+header). */
export const MIN_FRAME = 60;
const ARP_LEN = 28;
const IPV6_HEADER = 40;
const ICMPV6 = 58;
const ICMPV6_NS = 135;
const ICMPV6_NA = 136;
const NDP_HOP_LIMIT = 255;
const NDP_MESSAGE = 24; // type, code, checksum, reserved/flags, target
const OPT_SOURCE_LL = 1;
const OPT_TARGET_LL = 2;
const NA_FLAG_ROUTER = 0x80;
const NA_FLAG_SOLICITED = 0x40;
const NA_FLAG_OVERRIDE = 0x20;

// ---------------------------------------------------------------------------------------------------------
// Addresses

const MAC_TEXT = /^([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})[:-]([0-9a-f]{2})$/i;

/** Parses "aa:bb:cc:dd:ee:ff" (or with dashes, any case) into the canonical form, or null. */
export function parseMac(text: string): MacAddress | null {
  const m = MAC_TEXT.exec(text);
  if (m === null) return null;
  return m.slice(1, 7).join(":").toLowerCase();
}

/** The canonical MAC text of 6 bytes at `offset`. */
export function macFromBytes(bytes: Uint8Array, offset = 0): MacAddress {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push((bytes[offset + i] ?? 0).toString(16).padStart(2, "0"));
  return parts.join(":");
}

/** The 6 bytes of a MAC address; throws RangeError on anything that is not a MAC. */
export function macToBytes(mac: MacAddress): Uint8Array {
  const canonical = parseMac(mac);
  if (canonical === null) throw new RangeError(`invalid MAC address ${JSON.stringify(mac)}`);
  return Uint8Array.from(canonical.split(":"), (h) => parseInt(h, 16));
}

function ipFromBytes(bytes: Uint8Array, offset: number, family: IPAddress["family"]): IPAddress {
  const len = family === "IPv4" ? 4 : 16;
  let value = 0n;
  for (let i = 0; i < len; i++) value = (value << 8n) | BigInt(bytes[offset + i] ?? 0);
  return { family, value };
}

function writeIP(out: Uint8Array, offset: number, ip: IPAddress, family: IPAddress["family"]): void {
  if (ip.family !== family) throw new RangeError(`expected an ${family} address, got ${ip.family}`);
  const len = family === "IPv4" ? 4 : 16;
  for (let i = 0; i < len; i++) out[offset + i] = Number((ip.value >> BigInt((len - 1 - i) * 8)) & 0xffn);
}

function writeMac(out: Uint8Array, offset: number, mac: MacAddress): void {
  out.set(macToBytes(mac), offset);
}

const isIPv6Multicast = (ip: IPAddress): boolean => ip.value >> 120n === 0xffn;
const isUnspecified = (ip: IPAddress): boolean => ip.value === 0n;

/** The solicited-node multicast group of an IPv6 address: ff02::1:ffXX:XXXX (low 24 bits of the address). */
export function solicitedNodeAddress(ip: IPAddress): IPAddress {
  if (ip.family !== "IPv6") throw new RangeError("solicited-node multicast needs an IPv6 address");
  return { family: "IPv6", value: (0xff02n << 112n) | (0x1ffn << 24n) | (ip.value & 0xffffffn) };
}

/** The Ethernet group of an IPv6 multicast address: 33:33 followed by its low 32 bits (RFC 2464 §7). */
export function ipv6MulticastMac(group: IPAddress): MacAddress {
  if (group.family !== "IPv6") throw new RangeError("expected an IPv6 multicast group");
  const bytes = new Uint8Array(6);
  bytes[0] = 0x33;
  bytes[1] = 0x33;
  for (let i = 0; i < 4; i++) bytes[2 + i] = Number((group.value >> BigInt((3 - i) * 8)) & 0xffn);
  return macFromBytes(bytes);
}

/** 33:33:ff:XX:XX:XX, the Ethernet group NDP solicitations for `ip` are sent to. */
export function solicitedNodeMulticastMac(ip: IPAddress): MacAddress {
  return ipv6MulticastMac(solicitedNodeAddress(ip));
}

// ---------------------------------------------------------------------------------------------------------
// Ethernet

interface EthernetHeader {
  dst: MacAddress;
  src: MacAddress;
  type: number;
}

function parseEthernet(frame: Uint8Array): EthernetHeader | null {
  if (frame.length < ETH_HEADER) return null;
  return { dst: macFromBytes(frame, 0), src: macFromBytes(frame, 6), type: ((frame[12] ?? 0) << 8) | (frame[13] ?? 0) };
}

function newFrame(payloadLen: number, header: EthernetHeader): Uint8Array {
  const out = new Uint8Array(Math.max(MIN_FRAME, ETH_HEADER + payloadLen));
  writeMac(out, 0, header.dst);
  writeMac(out, 6, header.src);
  out[12] = header.type >> 8;
  out[13] = header.type & 0xff;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// ARP (RFC 826), Ethernet/IPv4 only

export type ArpOperation = "request" | "reply";

export interface ArpPacket {
  op: ArpOperation;
  senderMac: MacAddress;
  senderIP: IPAddress;
  targetMac: MacAddress;
  targetIP: IPAddress;
  ethSrc: MacAddress;
  ethDst: MacAddress;
}

/** Decodes an Ethernet ARP frame for IPv4 (request or reply); null for anything else. Trailing padding is fine. */
export function parseArp(frame: Uint8Array): ArpPacket | null {
  const eth = parseEthernet(frame);
  if (eth === null || eth.type !== ETHERTYPE_ARP || frame.length < ETH_HEADER + ARP_LEN) return null;
  const v = new DataView(frame.buffer, frame.byteOffset + ETH_HEADER, ARP_LEN);
  if (v.getUint16(0) !== 1 || v.getUint16(2) !== ETHERTYPE_IPV4 || v.getUint8(4) !== 6 || v.getUint8(5) !== 4) return null;
  const code = v.getUint16(6);
  if (code !== 1 && code !== 2) return null;
  const a = ETH_HEADER;
  return {
    op: code === 1 ? "request" : "reply",
    senderMac: macFromBytes(frame, a + 8),
    senderIP: ipFromBytes(frame, a + 14, "IPv4"),
    targetMac: macFromBytes(frame, a + 18),
    targetIP: ipFromBytes(frame, a + 24, "IPv4"),
    ethSrc: eth.src,
    ethDst: eth.dst,
  };
}

/** Encodes an ARP packet in an Ethernet frame, zero-padded to 60 bytes. */
export function buildArp(pkt: ArpPacket): Uint8Array {
  const out = newFrame(ARP_LEN, { dst: pkt.ethDst, src: pkt.ethSrc, type: ETHERTYPE_ARP });
  const v = new DataView(out.buffer, out.byteOffset + ETH_HEADER, ARP_LEN);
  v.setUint16(0, 1); // hardware type: Ethernet
  v.setUint16(2, ETHERTYPE_IPV4);
  v.setUint8(4, 6);
  v.setUint8(5, 4);
  v.setUint16(6, pkt.op === "request" ? 1 : 2);
  writeMac(out, ETH_HEADER + 8, pkt.senderMac);
  writeIP(out, ETH_HEADER + 14, pkt.senderIP, "IPv4");
  writeMac(out, ETH_HEADER + 18, pkt.targetMac);
  writeIP(out, ETH_HEADER + 24, pkt.targetIP, "IPv4");
  return out;
}

export interface ArpReplyFields {
  /** Our interface MAC: the answer to "who has senderIP". */
  senderMac: MacAddress;
  /** The owned IP (the VIP). */
  senderIP: IPAddress;
  /** The requester's MAC (also the Ethernet destination). */
  targetMac: MacAddress;
  /** The requester's IP. */
  targetIP: IPAddress;
}

/** A unicast ARP reply "senderIP is at senderMac" to the requester. */
export function buildArpReply(f: ArpReplyFields): Uint8Array {
  return buildArp({ op: "reply", ...f, ethSrc: f.senderMac, ethDst: f.targetMac });
}

/**
 * A gratuitous ARP announcing `ip` at `mac`, broadcast, sender IP = target IP = `ip` (as MetalLB sends both
 * forms). The request form leaves the target MAC zero (RFC 5227 announcement); the reply form puts the
 * broadcast address there.
 */
export function buildGratuitousArp(mac: MacAddress, ip: IPAddress, form: ArpOperation): Uint8Array {
  return buildArp({
    op: form,
    senderMac: mac,
    senderIP: ip,
    targetMac: form === "request" ? ZERO_MAC : BROADCAST_MAC,
    targetIP: ip,
    ethSrc: mac,
    ethDst: BROADCAST_MAC,
  });
}

// ---------------------------------------------------------------------------------------------------------
// ICMPv6 checksum (RFC 4443 §2.3 / RFC 8200 §8.1)

function sumWords(bytes: Uint8Array, offset: number, length: number, initial: number): number {
  let sum = initial;
  for (let i = 0; i + 1 < length; i += 2) sum += ((bytes[offset + i] ?? 0) << 8) | (bytes[offset + i + 1] ?? 0);
  if (length % 2 === 1) sum += (bytes[offset + length - 1] ?? 0) << 8;
  return sum;
}

const foldSum = (sum: number): number => {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
};

/**
 * The one's-complement sum (folded to 16 bits, not inverted) of the IPv6 pseudo-header (source, destination,
 * upper-layer length, next header 58) and `length` bytes of the ICMPv6 message at `offset`.
 */
function icmpv6Sum(frame: Uint8Array, ipOffset: number, length: number): number {
  let sum = sumWords(frame, ipOffset + 8, 32, 0); // source and destination addresses
  sum += Math.floor(length / 0x10000) + (length & 0xffff) + ICMPV6;
  return foldSum(sumWords(frame, ipOffset + IPV6_HEADER, length, sum));
}

/** True if the ICMPv6 message after the IPv6 header at `ipOffset` carries a valid checksum. */
function icmpv6ChecksumOk(frame: Uint8Array, ipOffset: number, length: number): boolean {
  return icmpv6Sum(frame, ipOffset, length) === 0xffff;
}

/**
 * Computes the ICMPv6 checksum of the message following the IPv6 header at `ipOffset` in a frame (the checksum
 * field itself must be zero) — the value to store at message offset 2.
 */
export function icmpv6Checksum(frame: Uint8Array, ipOffset: number, length: number): number {
  return ~icmpv6Sum(frame, ipOffset, length) & 0xffff;
}

// ---------------------------------------------------------------------------------------------------------
// NDP (RFC 4861)

interface Ipv6Icmp {
  eth: EthernetHeader;
  srcIP: IPAddress;
  dstIP: IPAddress;
  hopLimit: number;
  type: number;
  /** Offset of the ICMPv6 message in the frame and its length (from the IPv6 payload length). */
  at: number;
  length: number;
}

/** Ethernet + IPv6 (no extension headers) + ICMPv6 with a valid checksum and code 0, else null. */
function parseIcmpv6(frame: Uint8Array): Ipv6Icmp | null {
  const eth = parseEthernet(frame);
  if (eth === null || eth.type !== ETHERTYPE_IPV6 || frame.length < ETH_HEADER + IPV6_HEADER) return null;
  const ip = ETH_HEADER;
  if ((frame[ip] ?? 0) >> 4 !== 6 || frame[ip + 6] !== ICMPV6) return null;
  const length = ((frame[ip + 4] ?? 0) << 8) | (frame[ip + 5] ?? 0);
  const at = ip + IPV6_HEADER;
  if (length < 4 || frame.length < at + length) return null;
  if (frame[at + 1] !== 0 || !icmpv6ChecksumOk(frame, ip, length)) return null;
  return {
    eth,
    srcIP: ipFromBytes(frame, ip + 8, "IPv6"),
    dstIP: ipFromBytes(frame, ip + 24, "IPv6"),
    hopLimit: frame[ip + 7] ?? 0,
    type: frame[at] ?? 0,
    at,
    length,
  };
}

interface NdpOption {
  type: number;
  /** Offset of the option's data (after type and length) in the frame, and its length in bytes. */
  at: number;
  length: number;
}

/** Splits NDP options; null if any option has length 0 or runs past the end (RFC 4861 §4.6). */
function parseOptions(frame: Uint8Array, start: number, end: number): NdpOption[] | null {
  const options: NdpOption[] = [];
  let at = start;
  while (at < end) {
    if (at + 2 > end) return null;
    const units = frame[at + 1] ?? 0;
    if (units === 0 || at + units * 8 > end) return null;
    options.push({ type: frame[at] ?? 0, at: at + 2, length: units * 8 - 2 });
    at += units * 8;
  }
  return options;
}

/** The link-layer address option of the given type (Ethernet: 6 bytes), null if absent; undefined if malformed. */
function linkLayerOption(frame: Uint8Array, options: readonly NdpOption[], type: number): MacAddress | null | undefined {
  const opt = options.find((o) => o.type === type);
  if (opt === undefined) return null;
  if (opt.length < 6) return undefined;
  return macFromBytes(frame, opt.at);
}

export interface NeighborSolicitation {
  ethSrc: MacAddress;
  ethDst: MacAddress;
  /** IPv6 source; `::` for duplicate address detection. */
  srcIP: IPAddress;
  dstIP: IPAddress;
  hopLimit: number;
  target: IPAddress;
  /** The source link-layer address option, if present. */
  sourceLinkLayer: MacAddress | null;
}

/**
 * Decodes an Ethernet + IPv6 + ICMPv6 neighbor solicitation and applies RFC 4861 §7.1.1 validation: hop limit
 * 255, valid checksum, code 0, length >= 24, target not multicast, well-formed options, and for a DAD
 * solicitation (source ::) a solicited-node multicast destination and no source link-layer option. Else null.
 */
export function parseNeighborSolicitation(frame: Uint8Array): NeighborSolicitation | null {
  const icmp = parseIcmpv6(frame);
  if (icmp === null || icmp.type !== ICMPV6_NS || icmp.hopLimit !== NDP_HOP_LIMIT || icmp.length < NDP_MESSAGE) return null;
  const target = ipFromBytes(frame, icmp.at + 8, "IPv6");
  if (isIPv6Multicast(target)) return null;
  const options = parseOptions(frame, icmp.at + NDP_MESSAGE, icmp.at + icmp.length);
  if (options === null) return null;
  const sourceLinkLayer = linkLayerOption(frame, options, OPT_SOURCE_LL);
  if (sourceLinkLayer === undefined) return null;
  if (isUnspecified(icmp.srcIP)) {
    if (sourceLinkLayer !== null || icmp.dstIP.value !== solicitedNodeAddress(target).value) return null;
  }
  return { ethSrc: icmp.eth.src, ethDst: icmp.eth.dst, srcIP: icmp.srcIP, dstIP: icmp.dstIP, hopLimit: icmp.hopLimit, target, sourceLinkLayer };
}

export interface NeighborAdvertisementFields {
  /** Our interface MAC: Ethernet source and the target link-layer address option. */
  srcMac: MacAddress;
  dstMac: MacAddress;
  /** IPv6 source; the responder uses the target address itself. */
  srcIP: IPAddress;
  dstIP: IPAddress;
  target: IPAddress;
  solicited: boolean;
  override: boolean;
  router?: boolean;
}

/** Encodes a neighbor advertisement with a target link-layer address option, hop limit 255 and its checksum. */
export function buildNeighborAdvertisement(f: NeighborAdvertisementFields): Uint8Array {
  const length = NDP_MESSAGE + 8;
  const out = newFrame(IPV6_HEADER + length, { dst: f.dstMac, src: f.srcMac, type: ETHERTYPE_IPV6 });
  const ip = ETH_HEADER;
  out[ip] = 0x60; // version 6, traffic class 0, flow label 0
  out[ip + 4] = length >> 8;
  out[ip + 5] = length & 0xff;
  out[ip + 6] = ICMPV6;
  out[ip + 7] = NDP_HOP_LIMIT;
  writeIP(out, ip + 8, f.srcIP, "IPv6");
  writeIP(out, ip + 24, f.dstIP, "IPv6");
  const at = ip + IPV6_HEADER;
  out[at] = ICMPV6_NA;
  out[at + 4] = (f.router === true ? NA_FLAG_ROUTER : 0) | (f.solicited ? NA_FLAG_SOLICITED : 0) | (f.override ? NA_FLAG_OVERRIDE : 0);
  writeIP(out, at + 8, f.target, "IPv6");
  out[at + 24] = OPT_TARGET_LL;
  out[at + 25] = 1; // 8 bytes
  writeMac(out, at + 26, f.srcMac);
  const checksum = icmpv6Checksum(out, ip, length);
  out[at + 2] = checksum >> 8;
  out[at + 3] = checksum & 0xff;
  return out;
}

/** An unsolicited NA for `ip` at `mac` to all nodes (ff02::1 / 33:33:00:00:00:01): Override set, Solicited clear. */
export function buildUnsolicitedNA(mac: MacAddress, ip: IPAddress, srcIP: IPAddress = ip): Uint8Array {
  return buildNeighborAdvertisement({ srcMac: mac, dstMac: ALL_NODES_MAC, srcIP, dstIP: ALL_NODES, target: ip, solicited: false, override: true });
}

export interface NeighborAdvertisement {
  ethSrc: MacAddress;
  ethDst: MacAddress;
  srcIP: IPAddress;
  dstIP: IPAddress;
  hopLimit: number;
  target: IPAddress;
  router: boolean;
  solicited: boolean;
  override: boolean;
  targetLinkLayer: MacAddress | null;
}

/** Decodes and validates (RFC 4861 §7.1.2) a neighbor advertisement; null for anything else. */
export function parseNeighborAdvertisement(frame: Uint8Array): NeighborAdvertisement | null {
  const icmp = parseIcmpv6(frame);
  if (icmp === null || icmp.type !== ICMPV6_NA || icmp.hopLimit !== NDP_HOP_LIMIT || icmp.length < NDP_MESSAGE) return null;
  const flags = frame[icmp.at + 4] ?? 0;
  const target = ipFromBytes(frame, icmp.at + 8, "IPv6");
  const solicited = (flags & NA_FLAG_SOLICITED) !== 0;
  if (isIPv6Multicast(target) || (solicited && isIPv6Multicast(icmp.dstIP))) return null;
  const options = parseOptions(frame, icmp.at + NDP_MESSAGE, icmp.at + icmp.length);
  if (options === null) return null;
  const targetLinkLayer = linkLayerOption(frame, options, OPT_TARGET_LL);
  if (targetLinkLayer === undefined) return null;
  return {
    ethSrc: icmp.eth.src,
    ethDst: icmp.eth.dst,
    srcIP: icmp.srcIP,
    dstIP: icmp.dstIP,
    hopLimit: icmp.hopLimit,
    target,
    router: (flags & NA_FLAG_ROUTER) !== 0,
    solicited,
    override: (flags & NA_FLAG_OVERRIDE) !== 0,
    targetLinkLayer,
  };
}
