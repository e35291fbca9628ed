// The speaker's Layer 2 responder on real raw sockets: a lab with a client and two nodes on one bridge. The test
// process opens AF_PACKET sockets inside node1's and node2's namespaces (the addon's netnsPath), answers ARP for
// 10.111.0.200 and NDP for fd00:111::200 as node1, checks what iputils arping / ndisc6 in the client see, then
// fails over to node2 with a gratuitous ARP / unsolicited NA and watches the client's neighbor table flip.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { parseArp, parseNeighborAdvertisement } from "../model/src/layer2/packets.js";
import { formatIP } from "../model/src/net/ip.js";
import { openRawSocket, type RawSocket } from "../speaker/src/layer2/rawsocket.js";
import { L2Responder } from "../speaker/src/layer2/responder.js";
import { NetLab } from "../testenv/src/netlab.js";
import { sleep, waitFor } from "../testenv/src/proc.js";
import { mustParseIP as ip } from "../model/src/net/testdata/ip.js";

const VIP4 = ip("10.111.0.200");
const VIP6 = ip("fd00:111::200");
const NODE1_MAC = "02:11:00:00:00:0b";
const NODE2_MAC = "02:11:00:00:00:0c";

interface Seen {
  arpReplies: Array<{ senderMac: string; senderIP: string }>;
  neighborAdvertisements: Array<{ ethSrc: string; target: string; solicited: boolean; override: boolean }>;
}

describe("L2 responder: ARP/NDP from raw sockets in node namespaces", () => {
  let lab: NetLab;
  let node1: L2Responder | undefined;
  let node2: L2Responder | undefined;
  const sniffers: RawSocket[] = [];
  const seen: Seen = { arpReplies: [], neighborAdvertisements: [] };
  const measured: string[] = [];
  const nsPath = (host: string): string => `/run/netns/${lab.host(host).netns}`;

  beforeAll(async () => {
    lab = await NetLab.create([
      { name: "client", index: 5 },
      { name: "node1", index: 11 },
      { name: "node2", index: 12 },
    ]);
    node1 = new L2Responder({ ifname: "eth0", netnsPath: nsPath("node1") });
    node1.addIP(VIP4);
    node1.addIP(VIP6);
    // node2 listens too, but owns nothing yet: it must stay silent.
    node2 = new L2Responder({ ifname: "eth0", netnsPath: nsPath("node2") });
    // The client's view of the wire: every ARP reply and NA it receives.
    const arpSniffer = openRawSocket({ ifname: "eth0", ethertype: 0x0806, netnsPath: nsPath("client") });
    arpSniffer.onFrame((frame) => {
      const p = parseArp(frame);
      if (p?.op === "reply") seen.arpReplies.push({ senderMac: p.senderMac, senderIP: formatIP(p.senderIP) });
    });
    const ndpSniffer = openRawSocket({ ifname: "eth0", ethertype: 0x86dd, netnsPath: nsPath("client") });
    ndpSniffer.onFrame((frame) => {
      const na = parseNeighborAdvertisement(frame);
      if (na !== null) seen.neighborAdvertisements.push({ ethSrc: na.ethSrc, target: formatIP(na.target), solicited: na.solicited, override: na.override });
    });
    sniffers.push(arpSniffer, ndpSniffer);
  });

  afterAll(async () => {
    node1?.close();
    node2?.close();
    for (const s of sniffers) s.close();
    await lab?.destroy();
    if (measured.length > 0) process.stdout.write(`l2-responder measurements: ${measured.join("; ")}\n`);
  });

  test("sockets opened through netnsPath are bound to the nodes' own eth0", () => {
    expect(node1?.mac).toBe(NODE1_MAC);
    expect(node2?.mac).toBe(NODE2_MAC);
    expect(sniffers[0]?.mac).toBe(lab.host("client").mac);
    expect(sniffers[0]?.ifindex).toBeGreaterThan(0);
  });

  test("arping from the client gets unicast replies with node1's MAC, and only those", async () => {
    seen.arpReplies.length = 0;
    const out = await lab.exec("client", "arping", ["-c", "2", "-w", "5", "-I", "eth0", "10.111.0.200"]);
    const replies = [...out.stdout.matchAll(/reply from 10\.111\.0\.200 \[([0-9A-F:]+)\]\s+([0-9.]+)ms/gi)];
    expect(replies.map((m) => m[1]?.toLowerCase())).toEqual([NODE1_MAC, NODE1_MAC]);
    expect(out.stdout).toMatch(/Received 2 response/);
    // node2 saw the same broadcast requests and decided not to answer.
    expect(new Set(seen.arpReplies.map((r) => `${r.senderIP} ${r.senderMac}`))).toEqual(new Set([`10.111.0.200 ${NODE1_MAC}`]));
    expect(node2?.stats.ignored.notOwned).toBeGreaterThanOrEqual(2);
    expect(node2?.stats.arpReplies).toBe(0);
    expect(node1?.stats.arpReplies).toBeGreaterThanOrEqual(2);
    // For comparison, an address node1's kernel answers itself.
    const kernel = await lab.exec("client", "arping", ["-c", "2", "-w", "5", "-I", "eth0", lab.host("node1").ipv4]);
    const kernelRtt = [...kernel.stdout.matchAll(/\]\s+([0-9.]+)ms/g)].map((m) => `${m[1]} ms`);
    measured.push(`arping RTT VIP (addon) ${replies.map((m) => `${m[2]} ms`).join(", ")} vs node1's own IP (kernel) ${kernelRtt.join(", ")}`);
  });

  test("ndisc6 from the client sees node1's MAC as the target link-layer address, and only that", async () => {
    seen.neighborAdvertisements.length = 0;
    // -m: wait the full second and print every advertisement, so a second answerer would show.
    const out = await lab.exec("client", "ndisc6", ["-m", "-r", "1", "-w", "1000", "fd00:111::200", "eth0"]);
    const targets = [...out.stdout.matchAll(/Target link-layer address: ([0-9A-F:]+)/gi)].map((m) => m[1]?.toLowerCase());
    expect(targets).toEqual([NODE1_MAC]);
    expect(seen.neighborAdvertisements).toEqual([{ ethSrc: NODE1_MAC, target: "fd00:111::200", solicited: true, override: true }]);
    expect(node2?.stats.ndpReplies).toBe(0);
    expect(node2?.stats.ignored.notOwned).toBeGreaterThanOrEqual(1);
  });

  test("the client's kernel resolves both VIPs to node1 (ping; node1 itself does not hold the VIPs)", async () => {
    await lab.exec("client", "ping", ["-c", "1", "-W", "1", "10.111.0.200"], { allowFail: true });
    await lab.exec("client", "ping", ["-6", "-c", "1", "-W", "1", "fd00:111::200"], { allowFail: true });
    expect(await neighMac("10.111.0.200")).toBe(NODE1_MAC);
    expect(await neighMac("fd00:111::200")).toBe(NODE1_MAC);
    // The NDP socket's BPF filter kept the ICMPv6 echo requests to node1's MAC away from JavaScript.
    expect(node1?.stats.ignored.malformed).toBe(0);
  });

  test("failover: node2's gratuitous ARP and unsolicited NA move the client's existing entries", async () => {
    node1?.removeIP(VIP4);
    node1?.removeIP(VIP6);
    node2?.addIP(VIP4);
    node2?.addIP(VIP6);
    const sentAt = Date.now();
    expect(node2?.sendGratuitous(VIP4)).toBe(2);
    expect(node2?.sendGratuitous(VIP6)).toBe(1);
    const v4 = await waitFor(
      "client neighbor 10.111.0.200 → node2",
      async () => ((await neighMac("10.111.0.200")) === NODE2_MAC ? Date.now() - sentAt : undefined),
      5_000,
      10,
    );
    const v6 = await waitFor(
      "client neighbor fd00:111::200 → node2",
      async () => ((await neighMac("fd00:111::200")) === NODE2_MAC ? Date.now() - sentAt : undefined),
      5_000,
      10,
    );
    measured.push(`GARP → client neighbor flip (10 ms polling) v4 ${v4} ms, v6 ${v6} ms`);
    await sleep(50);
    expect(seen.neighborAdvertisements).toContainEqual({ ethSrc: NODE2_MAC, target: "fd00:111::200", solicited: false, override: true });
    // And from now on node2 answers, node1 is silent.
    seen.arpReplies.length = 0;
    const out = await lab.exec("client", "arping", ["-c", "1", "-w", "3", "-I", "eth0", "10.111.0.200"]);
    expect(out.stdout.toLowerCase()).toContain(`[${NODE2_MAC}]`);
    expect(seen.arpReplies.map((r) => r.senderMac)).toEqual([NODE2_MAC]);
  });

  test("socket API: errors carry errno text, send after close throws, close twice is safe", () => {
    expect(() => openRawSocket({ ifname: "nope0", ethertype: 0x0806, netnsPath: nsPath("node1") })).toThrow(
      expect.objectContaining({ cause: expect.objectContaining({ code: "ENODEV", message: expect.stringMatching(/No such device/) }) }),
    );
    expect(() => openRawSocket({ ifname: "eth0", ethertype: 0x0806, netnsPath: "/run/netns/does-not-exist" })).toThrow(
      expect.objectContaining({ cause: expect.objectContaining({ code: "ENOENT" }) }),
    );
    const s = openRawSocket({ ifname: "eth0", ethertype: 0x88b5, netnsPath: nsPath("node1") });
    expect(s.mac).toBe(NODE1_MAC);
    s.onFrame(() => undefined);
    s.addMembership("33:33:ff:00:02:01");
    s.dropMembership("33:33:ff:00:02:01");
    s.close();
    s.close();
    expect(s.closed).toBe(true);
    expect(() => s.send(new Uint8Array(60))).toThrow(/closed/);
  });

  async function neighMac(addr: string): Promise<string | undefined> {
    const out = await lab.exec("client", "ip", ["neigh", "show", addr, "dev", "eth0"], { allowFail: true });
    return /lladdr ([0-9a-f:]+)/.exec(out.stdout)?.[1];
  }
});
