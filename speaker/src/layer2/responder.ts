// The Layer 2 responder of one interface: answers ARP requests and NDP neighbor solicitations for the IPs this
// node announces there, and sends gratuitous ARP / unsolicited NA on demand. Decisions come from the pure core
// (model/src/layer2/respond.ts); this file only wires raw sockets to them. Timing (when and how often to
// announce) belongs to the announcer.
import type { IPAddress } from "../../../model/src/net/ip.js";
import { formatIP } from "../../../model/src/net/ip.js";
import { arpRequestFilter, ndpSolicitationFilter } from "../../../model/src/layer2/bpf.js";
import {
  buildGratuitousArp,
  buildUnsolicitedNA,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV6,
  solicitedNodeMulticastMac,
  type MacAddress,
} from "../../../model/src/layer2/packets.js";
import { answerArp, answerNeighborSolicitation, type Decision, type IgnoreReason } from "../../../model/src/layer2/respond.js";
import type { Logger } from "../../../shell/src/logger.js";
import { arpAnyFilter, buildArpProbe, buildDadSolicitation, foreignClaim, ndpAnyFilter, type ForeignClaim } from "./claims.js";
import { openRawSocket, PacketType, type RawSocket, type RawSocketOptions } from "./rawsocket.js";

/** Per-IP observations for metrics and second-responder detection. */
export interface L2ResponderHooks {
  /** A request (ARP who-has / neighbor solicitation) for an owned IP arrived. */
  request?: (ip: IPAddress, proto: "arp" | "ndp") => void;
  /** A reply for an owned IP was sent. */
  reply?: (ip: IPAddress, proto: "arp" | "ndp") => void;
  /**
   * Another station claims an IP (ARP reply, gratuitous ARP, neighbor advertisement) — any IP, owned or not: the
   * caller tells duplicates of owned IPs from answers to its pre-takeover probes. Setting this widens the socket
   * filters to let replies and advertisements through.
   */
  claim?: (claim: ForeignClaim) => void;
}

export interface L2ResponderOptions {
  ifname: string;
  /** Open the sockets inside this network namespace (/run/netns/<name>). */
  netnsPath?: string;
  /** Which protocols to serve; both by default. */
  arp?: boolean;
  ndp?: boolean;
  log?: Logger;
  addonPath?: string;
  /** Opens a raw socket; tests may substitute a fake. */
  open?: (opts: RawSocketOptions) => RawSocket;
  hooks?: L2ResponderHooks;
}

export interface L2ResponderStats {
  arpReplies: number;
  ndpReplies: number;
  ignored: Record<IgnoreReason, number>;
  sendErrors: number;
}

export class L2Responder {
  readonly ifname: string;
  readonly mac: MacAddress;
  private readonly arp: RawSocket | undefined;
  private readonly ndp: RawSocket | undefined;
  /** Owned IPs (by family + value) with a reference count: a shared IP is announced once. */
  private readonly ips = new Map<string, { ip: IPAddress; refs: number }>();
  /** Joined solicited-node groups with the number of owned IPv6 addresses mapping to each. */
  private readonly groups = new Map<MacAddress, number>();
  private readonly log: Logger | undefined;
  private readonly hooks: L2ResponderHooks;
  private readonly counters: L2ResponderStats = {
    arpReplies: 0,
    ndpReplies: 0,
    ignored: { malformed: 0, notRequest: 0, gratuitous: 0, otherDestination: 0, notOwned: 0 },
    sendErrors: 0,
  };

  constructor(opts: L2ResponderOptions) {
    const open = opts.open ?? openRawSocket;
    const base = {
      ifname: opts.ifname,
      ...(opts.netnsPath !== undefined ? { netnsPath: opts.netnsPath } : {}),
      ...(opts.addonPath !== undefined ? { addonPath: opts.addonPath } : {}),
    };
    this.ifname = opts.ifname;
    this.log = opts.log?.child({ component: "l2-responder", iface: opts.ifname });
    this.hooks = opts.hooks ?? {};
    const watchClaims = this.hooks.claim !== undefined;
    this.arp = opts.arp === false ? undefined : open({ ...base, ethertype: ETHERTYPE_ARP, filter: watchClaims ? arpAnyFilter : arpRequestFilter });
    try {
      this.ndp = opts.ndp === false ? undefined : open({ ...base, ethertype: ETHERTYPE_IPV6, filter: watchClaims ? ndpAnyFilter : ndpSolicitationFilter });
    } catch (e) {
      this.arp?.close();
      throw e;
    }
    const first = this.arp ?? this.ndp;
    if (first === undefined) throw new Error("L2Responder: neither ARP nor NDP enabled");
    this.mac = first.mac;
    const onError = (err: Error): void => this.log?.warn({ err }, "raw socket error");
    this.arp?.onFrame((frame, pktType) => this.receive(frame, pktType, "arp"), onError);
    this.ndp?.onFrame((frame, pktType) => this.receive(frame, pktType, "ndp"), onError);
  }

  get stats(): Readonly<L2ResponderStats> {
    return this.counters;
  }

  /** Starts answering for `ip` (reference counted). */
  addIP(ip: IPAddress): void {
    const key = ipKey(ip);
    const entry = this.ips.get(key);
    if (entry !== undefined) {
      entry.refs++;
      return;
    }
    if (ip.family === "IPv6" && this.ndp !== undefined) {
      // veth and bridges flood multicast anyway; real NICs filter it unless the group is joined.
      const group = solicitedNodeMulticastMac(ip);
      const n = this.groups.get(group) ?? 0;
      if (n === 0) this.ndp.addMembership(group);
      this.groups.set(group, n + 1);
    }
    this.ips.set(key, { ip, refs: 1 });
  }

  /** Drops one reference to `ip`; stops answering when the last one goes. */
  removeIP(ip: IPAddress): void {
    const key = ipKey(ip);
    const entry = this.ips.get(key);
    if (entry === undefined) return;
    if (--entry.refs > 0) return;
    this.ips.delete(key);
    if (ip.family === "IPv6" && this.ndp !== undefined && !this.ndp.closed) {
      const group = solicitedNodeMulticastMac(ip);
      const n = (this.groups.get(group) ?? 1) - 1;
      if (n === 0) {
        this.groups.delete(group);
        this.ndp.dropMembership(group);
      } else {
        this.groups.set(group, n);
      }
    }
  }

  readonly ownsIP = (ip: IPAddress): boolean => this.ips.has(ipKey(ip));

  /**
   * One round of announcement for `ip`: gratuitous ARP in request and reply form (IPv4), or an unsolicited NA
   * to all nodes (IPv6). Returns the number of frames sent.
   */
  sendGratuitous(ip: IPAddress): number {
    if (ip.family === "IPv4") {
      if (this.arp === undefined) return 0;
      return this.sendAll(this.arp, [buildGratuitousArp(this.mac, ip, "request"), buildGratuitousArp(this.mac, ip, "reply")], ip);
    }
    if (this.ndp === undefined) return 0;
    return this.sendAll(this.ndp, [buildUnsolicitedNA(this.mac, ip)], ip);
  }

  /**
   * Sends a probe for `ip`: an RFC 5227 ARP probe (sender IP 0.0.0.0) or an IPv6 DAD solicitation (source ::). A
   * station holding the address answers it, and `hooks.claim` reports that answer. Returns the frames sent (0 or 1).
   */
  sendProbe(ip: IPAddress): number {
    if (ip.family === "IPv4") return this.arp === undefined ? 0 : this.sendAll(this.arp, [buildArpProbe(this.mac, ip)], ip);
    return this.ndp === undefined ? 0 : this.sendAll(this.ndp, [buildDadSolicitation(this.mac, ip)], ip);
  }

  /** Closes both sockets; idempotent. */
  close(): void {
    this.arp?.close();
    this.ndp?.close();
    this.ips.clear();
    this.groups.clear();
  }

  private sendAll(sock: RawSocket, frames: readonly Uint8Array[], ip: IPAddress): number {
    let sent = 0;
    for (const frame of frames) {
      try {
        sock.send(frame);
        sent++;
      } catch (err) {
        this.counters.sendErrors++;
        this.log?.warn({ err, ip: formatIP(ip) }, "sending gratuitous announcement failed");
      }
    }
    return sent;
  }

  private receive(frame: Buffer, pktType: number, proto: "arp" | "ndp"): void {
    // Our own transmissions (replies, announcements, probes) come back on a packet socket: never answer them.
    if (pktType === PacketType.outgoing) return;
    const sock = proto === "arp" ? this.arp : this.ndp;
    const d = proto === "arp" ? answerArp(frame, this.mac, this.ownsIP) : answerNeighborSolicitation(frame, this.mac, this.ownsIP);
    if (d.kind === "ignore" && this.hooks.claim !== undefined && (d.reason === "notRequest" || d.reason === "gratuitous" || d.reason === "malformed")) {
      const claim = foreignClaim(frame, this.mac, () => true);
      if (claim !== null) this.hooks.claim(claim);
    }
    this.handle(sock, d, proto);
  }

  private handle(sock: RawSocket | undefined, d: Decision, proto: "arp" | "ndp"): void {
    if (d.kind === "ignore") {
      this.counters.ignored[d.reason]++;
      return;
    }
    if (sock === undefined) return;
    this.hooks.request?.(d.ip, proto);
    try {
      sock.send(d.frame);
      this.hooks.reply?.(d.ip, proto);
      if (proto === "arp") this.counters.arpReplies++;
      else this.counters.ndpReplies++;
    } catch (err) {
      this.counters.sendErrors++;
      this.log?.warn({ err, ip: formatIP(d.ip), requester: d.requester, proto }, "sending reply failed");
    }
  }
}

const ipKey = (ip: IPAddress): string => `${ip.family}/${ip.value.toString(16)}`;
