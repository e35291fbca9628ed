// Second-responder detection, pure part: socket filters that let ARP replies / gratuitous ARPs and neighbor
// advertisements through next to the requests the responder answers, the decision "does this frame show another
// station claiming an IP we own", and the RFC 5227 ARP probe the owner sends to provoke such a station's reply.
import { BPF_ACCEPT, BPF_JMP_JEQ_K, BPF_LD_B_ABS, BPF_LD_H_ABS, BPF_LD_W_ABS, BPF_RET_K, type BpfInstruction } from "../../../model/src/layer2/bpf.js";
import {
  BROADCAST_MAC,
  buildArp,
  icmpv6Checksum,
  macToBytes,
  parseArp,
  parseNeighborAdvertisement,
  solicitedNodeAddress,
  solicitedNodeMulticastMac,
  ZERO_MAC,
  type MacAddress,
} from "../../../model/src/layer2/packets.js";
import type { IPAddress } from "../../../model/src/net/ip.js";

const insn = (code: number, jt: number, jf: number, k: number): BpfInstruction => Object.freeze({ code, jt, jf, k });

/** ARP for IPv4 over Ethernet, requests and replies (replies and gratuitous ARPs are watched for duplicates). */
export const arpAnyFilter: readonly BpfInstruction[] = Object.freeze([
  insn(BPF_LD_H_ABS, 0, 0, 12), // ethertype
  insn(BPF_JMP_JEQ_K, 0, 6, 0x0806),
  insn(BPF_LD_W_ABS, 0, 0, 14), // hardware type + protocol type
  insn(BPF_JMP_JEQ_K, 0, 4, 0x00010800),
  insn(BPF_LD_H_ABS, 0, 0, 18), // address lengths
  insn(BPF_JMP_JEQ_K, 0, 2, 0x0604),
  insn(BPF_RET_K, 0, 0, BPF_ACCEPT),
  insn(BPF_RET_K, 0, 0, 0),
  insn(BPF_RET_K, 0, 0, 0),
]);

/** Neighbor solicitations (135) and advertisements (136): ethertype IPv6, next header ICMPv6, hop limit 255. */
export const ndpAnyFilter: readonly BpfInstruction[] = Object.freeze([
  insn(BPF_LD_H_ABS, 0, 0, 12), // ethertype
  insn(BPF_JMP_JEQ_K, 0, 8, 0x86dd),
  insn(BPF_LD_B_ABS, 0, 0, 20), // next header
  insn(BPF_JMP_JEQ_K, 0, 6, 58),
  insn(BPF_LD_B_ABS, 0, 0, 21), // hop limit
  insn(BPF_JMP_JEQ_K, 0, 4, 255),
  insn(BPF_LD_B_ABS, 0, 0, 54), // ICMPv6 type
  insn(BPF_JMP_JEQ_K, 1, 0, 135),
  insn(BPF_JMP_JEQ_K, 0, 1, 136),
  insn(BPF_RET_K, 0, 0, BPF_ACCEPT),
  insn(BPF_RET_K, 0, 0, 0),
]);

/** Another station saying "ip is at mac". */
export interface ForeignClaim {
  ip: IPAddress;
  mac: MacAddress;
  kind: "arpReply" | "gratuitousArp" | "neighborAdvertisement";
}

/**
 * The claim a received frame makes on one of our IPs from a MAC other than ours, or null. ARP: a reply whose
 * sender IP we own, or a gratuitous request (sender IP = target IP = an IP we own). NDP: an advertisement for a
 * target we own whose target link-layer address (or Ethernet source) is not ours. Never throws.
 */
export function foreignClaim(frame: Uint8Array, ownMac: MacAddress, owns: (ip: IPAddress) => boolean): ForeignClaim | null {
  const arp = parseArp(frame);
  if (arp !== null) {
    if (arp.senderMac === ownMac || arp.ethSrc === ownMac || arp.senderIP.value === 0n || !owns(arp.senderIP)) return null;
    if (arp.op === "reply") return { ip: arp.senderIP, mac: arp.senderMac, kind: "arpReply" };
    return arp.senderIP.value === arp.targetIP.value ? { ip: arp.senderIP, mac: arp.senderMac, kind: "gratuitousArp" } : null;
  }
  const na = parseNeighborAdvertisement(frame);
  if (na === null) return null;
  const mac = na.targetLinkLayer ?? na.ethSrc;
  if (mac === ownMac || na.ethSrc === ownMac || !owns(na.target)) return null;
  return { ip: na.target, mac, kind: "neighborAdvertisement" };
}

/** An RFC 5227 ARP probe for `ip` from `mac`: sender IP 0.0.0.0, so no receiver's cache is touched. */
export function buildArpProbe(mac: MacAddress, ip: IPAddress): Uint8Array {
  return buildArp({
    op: "request",
    senderMac: mac,
    senderIP: { family: "IPv4", value: 0n },
    targetMac: ZERO_MAC,
    targetIP: ip,
    ethSrc: mac,
    ethDst: BROADCAST_MAC,
  });
}

function ipv6Bytes(ip: IPAddress): Uint8Array {
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number((ip.value >> BigInt((15 - i) * 8)) & 0xffn);
  return out;
}

/**
 * A duplicate address detection probe for `ip` from `mac` (RFC 4862 §5.4.2): a neighbor solicitation from :: to the
 * target's solicited-node group, no options. A station holding the address answers with an NA to all nodes.
 */
export function buildDadSolicitation(mac: MacAddress, ip: IPAddress): Uint8Array {
  if (ip.family !== "IPv6") throw new RangeError("a DAD probe needs an IPv6 address");
  const length = 24;
  const out = new Uint8Array(14 + 40 + length);
  out.set(macToBytes(solicitedNodeMulticastMac(ip)), 0);
  out.set(macToBytes(mac), 6);
  out[12] = 0x86;
  out[13] = 0xdd;
  const ipAt = 14;
  out[ipAt] = 0x60;
  out[ipAt + 5] = length;
  out[ipAt + 6] = 58;
  out[ipAt + 7] = 255;
  // source :: (already zero), destination the solicited-node group
  out.set(ipv6Bytes(solicitedNodeAddress(ip)), ipAt + 24);
  const at = ipAt + 40;
  out[at] = 135;
  out.set(ipv6Bytes(ip), at + 8);
  const checksum = icmpv6Checksum(out, ipAt, length);
  out[at + 2] = checksum >> 8;
  out[at + 3] = checksum & 0xff;
  return out;
}
