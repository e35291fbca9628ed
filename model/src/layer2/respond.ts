// What the Layer 2 responder answers (MetalLB internal/layer2/arp.go, ndp.go), as pure decisions: a received
// frame, the interface MAC and the set of owned IPs in; the reply frame or a reason code out.
import type { IPAddress } from "../net/ip.js";
import {
  ALL_NODES,
  ALL_NODES_MAC,
  BROADCAST_MAC,
  buildArpReply,
  buildNeighborAdvertisement,
  parseArp,
  parseMac,
  parseNeighborSolicitation,
  type MacAddress,
} from "./packets.js";

export type IgnoreReason =
  /** Not a valid frame of the kind this socket handles. */
  | "malformed"
  /** An ARP reply (e.g. another node's gratuitous reply). */
  | "notRequest"
  /** Sender IP = target IP: another node announcing the address, not asking for it. */
  | "gratuitous"
  /** Unicast to another station's MAC (seen in promiscuous mode). */
  | "otherDestination"
  /** Not one of the IPs this node announces on this interface. */
  | "notOwned";

export type Decision = { kind: "reply"; frame: Uint8Array; ip: IPAddress; requester: MacAddress } | { kind: "ignore"; reason: IgnoreReason };

/** Predicate "this node announces `ip` on the receiving interface". */
export type OwnsIP = (ip: IPAddress) => boolean;

const ignore = (reason: IgnoreReason): Decision => ({ kind: "ignore", reason });

function ownMacOrThrow(ownMac: MacAddress): MacAddress {
  const mac = parseMac(ownMac);
  if (mac === null) throw new RangeError(`invalid interface MAC ${JSON.stringify(ownMac)}`);
  return mac;
}

/**
 * Answers an ARP request for an owned IP with a unicast reply from `ownMac`. Only requests that are broadcast
 * or unicast to `ownMac` are considered; announcements (sender IP = target IP) are ignored.
 */
export function answerArp(frame: Uint8Array, ownMac: MacAddress, owns: OwnsIP): Decision {
  const me = ownMacOrThrow(ownMac);
  const req = parseArp(frame);
  if (req === null) return ignore("malformed");
  if (req.op !== "request") return ignore("notRequest");
  if (req.ethDst !== BROADCAST_MAC && req.ethDst !== me) return ignore("otherDestination");
  if (req.senderIP.value === req.targetIP.value) return ignore("gratuitous");
  if (!owns(req.targetIP)) return ignore("notOwned");
  const frameOut = buildArpReply({ senderMac: me, senderIP: req.targetIP, targetMac: req.senderMac, targetIP: req.senderIP });
  return { kind: "reply", frame: frameOut, ip: req.targetIP, requester: req.senderMac };
}

/**
 * Answers a neighbor solicitation for an owned IPv6 address with a solicited NA (S and O set, source = the
 * target) to the soliciting node; a DAD probe (source ::) gets an NA to all nodes with S clear (RFC 4861 §7.2.4).
 */
export function answerNeighborSolicitation(frame: Uint8Array, ownMac: MacAddress, owns: OwnsIP): Decision {
  const me = ownMacOrThrow(ownMac);
  const ns = parseNeighborSolicitation(frame);
  if (ns === null) return ignore("malformed");
  if (!ns.ethDst.startsWith("33:33:") && ns.ethDst !== me) return ignore("otherDestination");
  if (!owns(ns.target)) return ignore("notOwned");
  const dad = ns.srcIP.value === 0n;
  const dstMac = dad ? ALL_NODES_MAC : (ns.sourceLinkLayer ?? ns.ethSrc);
  const frameOut = buildNeighborAdvertisement({
    srcMac: me,
    dstMac,
    srcIP: ns.target,
    dstIP: dad ? ALL_NODES : ns.srcIP,
    target: ns.target,
    solicited: !dad,
    override: true,
  });
  return { kind: "reply", frame: frameOut, ip: ns.target, requester: ns.sourceLinkLayer ?? ns.ethSrc };
}
