import { describe, expect, test } from "@jest/globals";
import { parseCidr, type Cidr } from "../net/cidr.js";
import { parseIP, type IPAddress } from "../net/ip.js";
import type { OwnershipChangeReason } from "./election.js";
import {
  forwardingAddress,
  forwardsToPreviousOwner,
  handoverForwardBatch,
  nftNamePart,
  presumedHolder,
  type HandoverForwardEntry,
} from "./handover-forward.js";

const ip = (s: string): IPAddress => {
  const r = parseIP(s);
  if (!r.ok) throw new Error(s);
  return r.value;
};
const cidr = (s: string): Cidr => {
  const r = parseCidr(s);
  if (!r.ok) throw new Error(s);
  return r.value;
};
const entry = (vip: string, previousOwner: string, iface: string): HandoverForwardEntry =>
  Object.freeze({ vip: ip(vip), previousOwner: ip(previousOwner), iface });

describe("forwardsToPreviousOwner: only previous owners still alive", () => {
  test.each<[OwnershipChangeReason | null, boolean]>([
    ["ownerLeft", true],
    ["drain", true],
    ["preference", true],
    ["ownerSilent", false],
    ["nodeExcluded", false],
    [null, false],
  ])("%s → %s", (change, want) => expect(forwardsToPreviousOwner(change)).toBe(want));
});

describe("presumedHolder: who holds an IP a restarted node takes (back)", () => {
  test.each<[desc: string, candidates: string[], alive: string[], want: string | null]>([
    ["this node ranks first, the next live one holds it", ["me", "b", "c"], ["me", "b", "c"], "b"],
    ["the next one is dead: the live one after it", ["me", "b", "c"], ["me", "c"], "c"],
    ["this node ranks second: the first", ["a", "me"], ["a", "me"], "a"],
    ["no other live candidate", ["me", "b"], ["me"], null],
    ["a live node that is no candidate never holds it", ["me", "b"], ["me", "x"], null],
  ])("%s", (_desc, candidates, alive, want) => expect(presumedHolder(Object.freeze(candidates), "me", new Set(alive))).toBe(want));
});

describe("forwardingAddress: the previous owner's address on the interface's link", () => {
  test.each<[desc: string, vip: string, addresses: string[], subnets: string[], want: string | null]>([
    ["v4 address in the interface's subnet", "10.0.0.240", ["10.0.0.2"], ["10.0.0.1/24"], "10.0.0.2"],
    ["v4 address on another subnet: no forwarding (no blackhole)", "10.0.0.240", ["192.168.1.2"], ["10.0.0.1/24"], null],
    ["the first address of the VIP's family on the link", "10.0.0.240", ["fd00::2", "192.168.1.2", "10.0.0.2"], ["fd00::1/64", "10.0.0.1/24"], "10.0.0.2"],
    ["v6 VIP, owner with a v6 address on the link", "fd00::240", ["10.0.0.2", "fd00::2"], ["10.0.0.1/24", "fd00::1/64"], "fd00::2"],
    ["v6 VIP, owner with only a v4 address: none", "fd00::240", ["10.0.0.2"], ["10.0.0.1/24", "fd00::1/64"], null],
    ["no address known", "10.0.0.240", [], ["10.0.0.1/24"], null],
    ["interface without addresses", "10.0.0.240", ["10.0.0.2"], [], null],
    ["the VIP itself is never the owner's address", "10.0.0.240", ["10.0.0.240"], ["10.0.0.1/24"], null],
  ])("%s", (_desc, vip, addresses, subnets, want) => {
    const got = forwardingAddress(ip(vip), Object.freeze(addresses.map(ip)), Object.freeze(subnets.map(cidr)));
    expect(got).toEqual(want === null ? null : ip(want));
  });
});

describe("nftNamePart", () => {
  test.each<[string, string]>([
    ["eth0", "eth0"],
    ["eth0.100", "eth0_2e100"],
    ["br-lan", "br_2dlan"],
    ["a_b", "a_5fb"],
  ])("%s → %s", (iface, want) => expect(nftNamePart(iface)).toBe(want));

  test("names stay distinct", () => expect(nftNamePart("a.b")).not.toBe(nftNamePart("a_b")));
});

const HEADER = ["table netdev metallb_ts_handover {}"];
const SETS = [
  "table netdev metallb_ts_handover {",
  "  set flows4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; flags dynamic,timeout; timeout 65s; size 262144; }",
  "  set flows6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; flags dynamic,timeout; timeout 65s; size 262144; }",
  "  counter forwarded {}",
];
const V4_RULES = (n: string, dev: string): string[] => [
  `    ip daddr @prev4_${n} tcp flags & (syn | ack) == syn update @flows4 { ip saddr . tcp sport . ip daddr . tcp dport } return`,
  `    ip daddr @prev4_${n} ip ttl != 1 tcp flags & syn == 0 ip saddr . tcp sport . ip daddr . tcp dport != @flows4 counter name "forwarded" ip ttl set 2 fwd ip to ip daddr map @prev4_${n} device "${dev}"`,
];
const V6_RULES = (n: string, dev: string): string[] => [
  `    ip6 daddr @prev6_${n} tcp flags & (syn | ack) == syn update @flows6 { ip6 saddr . tcp sport . ip6 daddr . tcp dport } return`,
  `    ip6 daddr @prev6_${n} ip6 hoplimit != 1 tcp flags & syn == 0 ip6 saddr . tcp sport . ip6 daddr . tcp dport != @flows6 counter name "forwarded" ip6 hoplimit set 2 fwd ip6 to ip6 daddr map @prev6_${n} device "${dev}"`,
];
const HOOK = (dev: string): string => `    type filter hook ingress device "${dev}" priority -500; policy accept;`;

/** A table defined afresh with one IPv4 entry on eth0: 10.0.0.240 forwarded to 10.0.0.2. */
const FRESH_ETH0_240_TO_2 = [
  ...HEADER,
  "delete table netdev metallb_ts_handover",
  ...SETS,
  "  map prev4_eth0 { type ipv4_addr : ipv4_addr; elements = { 10.0.0.240 : 10.0.0.2 }; }",
  "  map prev6_eth0 { type ipv6_addr : ipv6_addr; }",
  "  chain in_eth0 {",
  HOOK("eth0"),
  ...V4_RULES("eth0", "eth0"),
  "  }",
  "}",
];

describe("handoverForwardBatch", () => {
  type Case = [desc: string, applied: string[] | null, entries: HandoverForwardEntry[], wantLines: string[], wantInterfaces: string[]];
  test.each<Case>([
    ["no entry: the table is deleted (declared first, so the delete never fails)", ["eth0"], [], [...HEADER, "delete table netdev metallb_ts_handover"], []],
    ["no entry, nothing applied (start, exit): the same", null, [], [...HEADER, "delete table netdev metallb_ts_handover"], []],
    [
      "first hand-over (no table of this run): defined afresh, no 4-tuple of an earlier table kept",
      null,
      [entry("10.0.0.240", "10.0.0.2", "eth0")],
      FRESH_ETH0_240_TO_2,
      ["eth0"],
    ],
    [
      "update: chains and maps redefined in place, the flow sets kept (no delete table); v6 and two interfaces",
      ["eth0"],
      [
        entry("10.0.0.240", "10.0.0.2", "eth0"),
        entry("fd00::240", "fd00::2", "eth0"),
        entry("10.0.0.241", "10.0.0.3", "eth0"),
        entry("192.168.5.9", "192.168.5.2", "eth1.5"),
      ],
      [
        ...HEADER,
        "delete chain netdev metallb_ts_handover in_eth0",
        "delete map netdev metallb_ts_handover prev4_eth0",
        "delete map netdev metallb_ts_handover prev6_eth0",
        ...SETS,
        "  map prev4_eth0 { type ipv4_addr : ipv4_addr; elements = { 10.0.0.240 : 10.0.0.2, 10.0.0.241 : 10.0.0.3 }; }",
        "  map prev6_eth0 { type ipv6_addr : ipv6_addr; elements = { fd00::240 : fd00::2 }; }",
        "  chain in_eth0 {",
        HOOK("eth0"),
        ...V4_RULES("eth0", "eth0"),
        ...V6_RULES("eth0", "eth0"),
        "  }",
        "  map prev4_eth1_2e5 { type ipv4_addr : ipv4_addr; elements = { 192.168.5.9 : 192.168.5.2 }; }",
        "  map prev6_eth1_2e5 { type ipv6_addr : ipv6_addr; }",
        "  chain in_eth1_2e5 {",
        HOOK("eth1.5"),
        ...V4_RULES("eth1_2e5", "eth1.5"),
        "  }",
        "}",
      ],
      ["eth0", "eth1.5"],
    ],
    [
      "an interface that lost its last entry loses its chain; only v6 left: no v4 rules",
      ["eth0", "eth1"],
      [entry("fd00::240", "fd00::2", "eth1")],
      [
        ...HEADER,
        "delete chain netdev metallb_ts_handover in_eth0",
        "delete map netdev metallb_ts_handover prev4_eth0",
        "delete map netdev metallb_ts_handover prev6_eth0",
        "delete chain netdev metallb_ts_handover in_eth1",
        "delete map netdev metallb_ts_handover prev4_eth1",
        "delete map netdev metallb_ts_handover prev6_eth1",
        ...SETS,
        "  map prev4_eth1 { type ipv4_addr : ipv4_addr; }",
        "  map prev6_eth1 { type ipv6_addr : ipv6_addr; elements = { fd00::240 : fd00::2 }; }",
        "  chain in_eth1 {",
        HOOK("eth1"),
        ...V6_RULES("eth1", "eth1"),
        "  }",
        "}",
      ],
      ["eth1"],
    ],
    [
      "the same IP twice on an interface: one map element (a duplicate would fail the batch)",
      null,
      [entry("10.0.0.240", "10.0.0.2", "eth0"), entry("10.0.0.240", "10.0.0.3", "eth0")],
      FRESH_ETH0_240_TO_2,
      ["eth0"],
    ],
  ])("%s", (_desc, applied, entries, wantLines, wantInterfaces) => {
    const got = handoverForwardBatch(
      applied === null ? null : Object.freeze(applied),
      Object.freeze({ entries: Object.freeze(entries), flowTimeoutSeconds: 65 }),
    );
    expect(got.text.split("\n")).toEqual([...wantLines, ""]);
    expect(got.interfaces).toEqual(wantInterfaces);
  });

  test.each<[number, string]>([
    [60.2, "timeout 61s"],
    [0, "timeout 1s"],
  ])("flow timeout %s s → %s (whole seconds, at least 1)", (seconds, want) => {
    const got = handoverForwardBatch(null, { entries: [entry("10.0.0.240", "10.0.0.2", "eth0")], flowTimeoutSeconds: seconds });
    expect(got.text).toContain(want);
  });
});
