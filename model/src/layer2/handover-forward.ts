// Second-chance forwarding after a Layer 2 hand-over, pure part: which address to forward to, and the nftables batch
// the speaker applies with `nft -f -`.
//
// Why: a hand-over (the owner leaves, is cordoned, or a returning node takes its IP back) is make before break at
// the ARP level, but the client sends every packet of a connection to the MAC it resolved last. A connection whose
// SYN went to the previous owner A has its next packets arrive at the new owner B once B's gratuitous ARP moved the
// client's neighbor entry; B has no socket for it and resets it (bench/README.md: 18 of 48,383 requests). So, for a
// bounded window after taking an IP over from an owner that is still alive, B passes the TCP packets of connections
// it did not start itself to A:
// - in the netdev ingress hook of the announcing interface, before conntrack and routing: no ip_forward, no ICMP
//   redirect, no sysctl;
// - a SYN seen by B records the connection's 4-tuple as B's (set flows4/flows6); every other TCP packet to the IP
//   whose 4-tuple B never saw a SYN for goes to A through the neighbor layer (`fwd ip to`), the IP header unchanged
//   (A still accepts the IP: kube-proxy on every node, or the address on lo), and A answers the client directly;
// - a SYN is never forwarded (B serves new connections, even when its flow set is full);
// - forwarded packets are set to TTL / hop limit 2, which `fwd` decrements (nft_fwd_netdev does, as a router would),
//   so they arrive with 1, and a packet arriving with 1 is never forwarded: a packet bounces at most once even if two
//   nodes forward the same IP to each other for a moment (a take-back overlapping the end of a hand-over). Local
//   delivery ignores the TTL. (Set to 1, it arrives with 0 and is lost: found by the namespace e2e test.)
// UDP is not covered (no connection to tell apart), nor connections started on A that outlive the window.
import { cidrContainsIP, type Cidr } from "../net/cidr.js";
import { formatIP, type IPAddress } from "../net/ip.js";
import { electL2Owner, type OwnershipChangeReason } from "./election.js";

export const HANDOVER_TABLE = "metallb_ts_handover";
/** Named counter of the packets forwarded (both families). */
export const HANDOVER_COUNTER = "forwarded";
/** Connections B may start during a window (elements of each flow set); a full set records no more SYNs. */
export const HANDOVER_FLOW_SET_SIZE = 262_144;

/** One IP being forwarded on one interface: packets of connections B did not start go to `previousOwner`. */
export interface HandoverForwardEntry {
  vip: IPAddress;
  /** The previous owner's address on that interface's link (same family as vip). */
  previousOwner: IPAddress;
  iface: string;
}

export interface HandoverForwardPlan {
  entries: readonly HandoverForwardEntry[];
  /** How long a connection B started stays recorded as B's (at least the forwarding window). */
  flowTimeoutSeconds: number;
}

export interface HandoverForwardBatch {
  /** The `nft -f -` input: one atomic transaction. */
  text: string;
  /** Interfaces with a chain once it is applied (pass back as `applied` next time; [] = no table). */
  interfaces: string[];
}

/**
 * Whether the new owner forwards to the previous one after this change: only when the previous owner is alive and
 * still holds the connections it started (it left on purpose, is cordoned, or is preempted by a returning node). A
 * silent owner may be dead (a blackhole), an excluded one may have no endpoint any more.
 */
export function forwardsToPreviousOwner(change: OwnershipChangeReason | null): boolean {
  return change === "ownerLeft" || change === "drain" || change === "preference";
}

/**
 * Who holds an IP this node takes without a known previous owner (it just started, or came back from a fence, so
 * its last decision was no election at all): the candidate that owns it when this node is left out, among the nodes
 * alive in its view. That is the node a restarted speaker takes its IP back from (it ranks first again), which
 * still serves the connections it accepted meanwhile. Null when no other candidate is alive.
 */
export function presumedHolder(candidates: readonly string[], me: string, alive: ReadonlySet<string>): string | null {
  return electL2Owner(
    candidates.filter((c) => c !== me),
    alive,
  );
}

/**
 * The previous owner's address to forward an IP to on an interface: the first of its addresses of the IP's family
 * inside a subnet of the interface (the neighbor layer must reach it on that link); null when none is (then nothing
 * is forwarded: better today's resets than a blackhole).
 */
export function forwardingAddress(vip: IPAddress, previousOwnerAddresses: readonly IPAddress[], ifaceSubnets: readonly Cidr[]): IPAddress | null {
  for (const a of previousOwnerAddresses) {
    if (a.family !== vip.family || a.value === vip.value) continue;
    if (ifaceSubnets.some((s) => s.family === a.family && cidrContainsIP(s, a))) return a;
  }
  return null;
}

/** A chain/map name part for an interface name: [A-Za-z0-9] kept, anything else as _XX (hex), so names stay distinct. */
export function nftNamePart(iface: string): string {
  let out = "";
  for (const ch of iface) out += /[A-Za-z0-9]/.test(ch) ? ch : `_${(ch.codePointAt(0) ?? 0).toString(16).padStart(2, "0")}`;
  return out;
}

const quote = (s: string): string => `"${s.replace(/["\\]/g, "")}"`;

const elements = (entries: readonly HandoverForwardEntry[]): string =>
  entries.length === 0 ? "" : ` elements = { ${entries.map((e) => `${formatIP(e.vip)} : ${formatIP(e.previousOwner)}`).join(", ")} };`;

function chainLines(iface: string, entries: readonly HandoverForwardEntry[]): string[] {
  const n = nftNamePart(iface);
  const v4 = entries.filter((e) => e.vip.family === "IPv4");
  const v6 = entries.filter((e) => e.vip.family === "IPv6");
  const lines = [
    `  map prev4_${n} { type ipv4_addr : ipv4_addr;${elements(v4)} }`,
    `  map prev6_${n} { type ipv6_addr : ipv6_addr;${elements(v6)} }`,
    `  chain in_${n} {`,
    `    type filter hook ingress device ${quote(iface)} priority -500; policy accept;`,
  ];
  const rules = (ip: "ip" | "ip6", set: string, map: string, hop: string): string[] => {
    const tuple = `${ip} saddr . tcp sport . ${ip} daddr . tcp dport`;
    return [
      `    ${ip} daddr @${map} tcp flags & (syn | ack) == syn update @${set} { ${tuple} } return`,
      `    ${ip} daddr @${map} ${hop} != 1 tcp flags & syn == 0 ${tuple} != @${set} counter name ${quote(HANDOVER_COUNTER)} ${hop} set 2 fwd ${ip} to ${ip} daddr map @${map} device ${quote(iface)}`,
    ];
  };
  if (v4.length > 0) lines.push(...rules("ip", "flows4", `prev4_${n}`, "ip ttl"));
  if (v6.length > 0) lines.push(...rules("ip6", "flows6", `prev6_${n}`, "ip6 hoplimit"));
  lines.push("  }");
  return lines;
}

/**
 * The batch taking the kernel from `applied` (the interfaces of the batch applied last; null = unknown, e.g. a
 * table left by an earlier run) to `plan`, as one transaction:
 * - no entry: the table is deleted (`table … {}` first, so the delete never fails);
 * - a table this run did not create (applied null): deleted and defined afresh, so no 4-tuple of an earlier run
 *   counts as this node's;
 * - otherwise the chains and maps are redefined in place and the flow sets kept: connections this node started
 *   during the window of one IP stay its own when another IP is handed over meanwhile.
 */
export function handoverForwardBatch(applied: readonly string[] | null, plan: HandoverForwardPlan): HandoverForwardBatch {
  const t = `netdev ${HANDOVER_TABLE}`;
  const lines = [`table ${t} {}`];
  if (plan.entries.length === 0 || applied === null) lines.push(`delete table ${t}`);
  if (plan.entries.length === 0) return { text: `${lines.join("\n")}\n`, interfaces: [] };
  for (const iface of applied ?? []) {
    const n = nftNamePart(iface);
    lines.push(`delete chain ${t} in_${n}`, `delete map ${t} prev4_${n}`, `delete map ${t} prev6_${n}`);
  }
  const timeout = Math.max(1, Math.ceil(plan.flowTimeoutSeconds));
  const set = (name: string, type: string): string =>
    `  set ${name} { type ${type} . inet_service . ${type} . inet_service; flags dynamic,timeout; timeout ${timeout}s; size ${HANDOVER_FLOW_SET_SIZE}; }`;
  lines.push(`table ${t} {`, set("flows4", "ipv4_addr"), set("flows6", "ipv6_addr"), `  counter ${HANDOVER_COUNTER} {}`);
  const byIface = new Map<string, HandoverForwardEntry[]>();
  for (const e of plan.entries) {
    const list = byIface.get(e.iface) ?? [];
    // One map element per IP: a second entry for the same IP on the interface would fail the whole batch.
    if (!list.some((x) => x.vip.family === e.vip.family && x.vip.value === e.vip.value)) list.push(e);
    byIface.set(e.iface, list);
  }
  const interfaces = [...byIface.keys()].sort();
  for (const iface of interfaces) lines.push(...chainLines(iface, byIface.get(iface) ?? []));
  lines.push("}");
  return { text: `${lines.join("\n")}\n`, interfaces };
}
