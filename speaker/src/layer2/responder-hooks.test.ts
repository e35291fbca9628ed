import { describe, expect, test } from "@jest/globals";
import { buildGratuitousArp, buildUnsolicitedNA, parseArp, parseNeighborSolicitation } from "../../../model/src/layer2/packets.js";
import { CAPTURED_ARP_REQUEST } from "../../../model/src/layer2/testdata/frames.js";
import { formatIP } from "../../../model/src/net/ip.js";
import { arpAnyFilter, ndpAnyFilter, type ForeignClaim } from "./claims.js";
import { PacketType, type FrameHandler, type RawSocket, type RawSocketOptions } from "./rawsocket.js";
import { L2Responder } from "./responder.js";
import { mustParseIP as ip } from "../../../model/src/net/testdata/ip.js";

function fakeSocket(opts: RawSocketOptions, sent: Uint8Array[], handlers: FrameHandler[]): RawSocket {
  return {
    ifname: opts.ifname,
    ethertype: opts.ethertype,
    mac: "02:11:00:00:00:0b",
    ifindex: 2,
    closed: false,
    send: (f) => {
      sent.push(f);
      return f.length;
    },
    onFrame: (h) => {
      handlers.push(h);
    },
    stopReceiving: () => undefined,
    attachFilter: () => undefined,
    detachFilter: () => undefined,
    addMembership: () => undefined,
    dropMembership: () => undefined,
    close: () => undefined,
  };
}

describe("L2Responder hooks (fake sockets)", () => {
  test("wide filters, per-IP request/reply hooks, foreign claims, own frames ignored, probes for both families", () => {
    const sent: Uint8Array[] = [];
    const handlers: FrameHandler[] = [];
    const filters: unknown[] = [];
    const events: string[] = [];
    const claims: ForeignClaim[] = [];
    const r = new L2Responder({
      ifname: "eth0",
      open: (o) => {
        filters.push(o.filter);
        return fakeSocket(o, sent, handlers);
      },
      hooks: {
        request: (x, proto) => events.push(`request ${formatIP(x)} ${proto}`),
        reply: (x, proto) => events.push(`reply ${formatIP(x)} ${proto}`),
        claim: (c) => claims.push(c),
      },
    });
    expect(filters).toEqual([arpAnyFilter, ndpAnyFilter]);
    const [arp, ndp] = handlers;
    r.addIP(ip("10.111.0.200"));
    arp?.(Buffer.from(CAPTURED_ARP_REQUEST), PacketType.broadcast);
    expect(events).toEqual(["request 10.111.0.200 arp", "reply 10.111.0.200 arp"]);
    // Our own transmissions come back as outgoing: never answered, never claims.
    arp?.(Buffer.from(CAPTURED_ARP_REQUEST), PacketType.outgoing);
    expect(sent).toHaveLength(1);
    arp?.(Buffer.from(buildGratuitousArp("02:66:00:00:00:01", ip("10.111.0.200"), "reply")), PacketType.broadcast);
    ndp?.(Buffer.from(buildUnsolicitedNA("02:66:00:00:00:01", ip("fd00:111::9"))), PacketType.multicast);
    expect(claims.map((c) => `${formatIP(c.ip)} ${c.mac} ${c.kind}`)).toEqual([
      "10.111.0.200 02:66:00:00:00:01 arpReply",
      "fd00:111::9 02:66:00:00:00:01 neighborAdvertisement",
    ]);
    expect(r.sendProbe(ip("10.111.0.200"))).toBe(1);
    expect(parseArp(sent.at(-1) ?? new Uint8Array())).toMatchObject({ op: "request", senderIP: { value: 0n } });
    expect(r.sendProbe(ip("fd00:111::200"))).toBe(1);
    expect(parseNeighborSolicitation(sent.at(-1) ?? new Uint8Array())).toMatchObject({ srcIP: { value: 0n }, target: ip("fd00:111::200") });
  });
});
