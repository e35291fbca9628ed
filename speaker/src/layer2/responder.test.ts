import { describe, expect, test } from "@jest/globals";
import { arpRequestFilter, ndpSolicitationFilter } from "../../../model/src/layer2/bpf.js";
import { parseArp, parseNeighborAdvertisement } from "../../../model/src/layer2/packets.js";
import { CAPTURED_ARP_REQUEST, CAPTURED_NS } from "../../../model/src/layer2/testdata/frames.js";
import type { FrameHandler, RawSocket, RawSocketOptions, SocketErrorHandler } from "./rawsocket.js";
import { L2Responder } from "./responder.js";
import { mustParseIP as ip } from "../../../model/src/net/testdata/ip.js";

class FakeSocket implements RawSocket {
  readonly ifname: string;
  readonly ethertype: number;
  readonly mac = "02:11:00:00:00:0b";
  readonly ifindex = 2;
  closed = false;
  sent: Uint8Array[] = [];
  memberships = new Set<string>();
  handler: FrameHandler | undefined;
  errorHandler: SocketErrorHandler | undefined;
  failSends = false;

  constructor(readonly opts: RawSocketOptions) {
    this.ifname = opts.ifname;
    this.ethertype = opts.ethertype;
  }
  send(frame: Uint8Array): number {
    if (this.failSends) throw new Error("send: Network is down (ENETDOWN)");
    this.sent.push(frame);
    return frame.length;
  }
  onFrame(handler: FrameHandler, onError?: SocketErrorHandler): void {
    this.handler = handler;
    this.errorHandler = onError;
  }
  stopReceiving(): void {
    this.handler = undefined;
  }
  attachFilter(): void {}
  detachFilter(): void {}
  addMembership(mac: string): void {
    this.memberships.add(mac);
  }
  dropMembership(mac: string): void {
    this.memberships.delete(mac);
  }
  close(): void {
    this.closed = true;
  }
  deliver(frame: Uint8Array): void {
    this.handler?.(Buffer.from(frame), 1);
  }
}

function setup(): { responder: L2Responder; arp: FakeSocket; ndp: FakeSocket } {
  const sockets: FakeSocket[] = [];
  const responder = new L2Responder({
    ifname: "eth0",
    netnsPath: "/run/netns/x",
    open: (o) => {
      const s = new FakeSocket(o);
      sockets.push(s);
      return s;
    },
  });
  const [arp, ndp] = sockets;
  if (arp === undefined || ndp === undefined) throw new Error("expected two sockets");
  return { responder, arp, ndp };
}

describe("L2Responder (fake sockets)", () => {
  test("opens an ARP and an NDP socket with their filters in the namespace", () => {
    const { arp, ndp, responder } = setup();
    expect(arp.opts).toEqual({ ifname: "eth0", netnsPath: "/run/netns/x", ethertype: 0x0806, filter: arpRequestFilter });
    expect(ndp.opts).toEqual({ ifname: "eth0", netnsPath: "/run/netns/x", ethertype: 0x86dd, filter: ndpSolicitationFilter });
    expect(responder.mac).toBe("02:11:00:00:00:0b");
  });

  test("answers only for owned IPs", () => {
    const { arp, ndp, responder } = setup();
    arp.deliver(CAPTURED_ARP_REQUEST);
    ndp.deliver(CAPTURED_NS);
    expect(arp.sent).toHaveLength(0);
    expect(ndp.sent).toHaveLength(0);
    expect(responder.stats.ignored.notOwned).toBe(2);

    responder.addIP(ip("10.111.0.200"));
    responder.addIP(ip("fd00:111::200"));
    arp.deliver(CAPTURED_ARP_REQUEST);
    ndp.deliver(CAPTURED_NS);
    expect(arp.sent.map((f) => parseArp(f))).toMatchObject([{ op: "reply", senderIP: ip("10.111.0.200"), senderMac: "02:11:00:00:00:0b" }]);
    expect(ndp.sent.map((f) => parseNeighborAdvertisement(f))).toMatchObject([{ target: ip("fd00:111::200"), solicited: true }]);
    expect(responder.stats).toMatchObject({ arpReplies: 1, ndpReplies: 1 });
  });

  test("reference counts IPs and solicited-node groups", () => {
    const { ndp, responder } = setup();
    responder.addIP(ip("fd00:111::200"));
    responder.addIP(ip("fd00:111::200"));
    responder.addIP(ip("fd00:222::200")); // same low 24 bits → same group
    expect([...ndp.memberships]).toEqual(["33:33:ff:00:02:00"]);
    responder.removeIP(ip("fd00:111::200"));
    expect(responder.ownsIP(ip("fd00:111::200"))).toBe(true);
    responder.removeIP(ip("fd00:111::200"));
    expect(responder.ownsIP(ip("fd00:111::200"))).toBe(false);
    expect([...ndp.memberships]).toEqual(["33:33:ff:00:02:00"]);
    responder.removeIP(ip("fd00:222::200"));
    expect([...ndp.memberships]).toEqual([]);
    responder.removeIP(ip("fd00:222::200")); // not owned: no-op
  });

  test("gratuitous announcements: ARP request + reply, unsolicited NA", () => {
    const { arp, ndp, responder } = setup();
    expect(responder.sendGratuitous(ip("10.111.0.200"))).toBe(2);
    expect(arp.sent.map((f) => parseArp(f)?.op)).toEqual(["request", "reply"]);
    expect(responder.sendGratuitous(ip("fd00:111::200"))).toBe(1);
    expect(parseNeighborAdvertisement(ndp.sent[0] ?? new Uint8Array())).toMatchObject({ solicited: false, override: true });
  });

  test("send failures are counted, not thrown", () => {
    const { arp, responder } = setup();
    arp.failSends = true;
    responder.addIP(ip("10.111.0.200"));
    expect(responder.sendGratuitous(ip("10.111.0.200"))).toBe(0);
    arp.deliver(CAPTURED_ARP_REQUEST);
    expect(responder.stats.sendErrors).toBe(3);
  });

  test("close closes both sockets", () => {
    const { arp, ndp, responder } = setup();
    responder.close();
    responder.close();
    expect([arp.closed, ndp.closed]).toEqual([true, true]);
  });
});
