// A steady ARP prober for the lab client: broadcasts an ARP request for an IP every `intervalMs` from an AF_PACKET
// socket inside the client namespace and records the MAC of every reply, for as long as a test needs (iputils
// arping only takes whole seconds between requests). Broadcast, so a second responder anywhere would answer too.
import { buildArp, parseArp } from "../../model/src/layer2/packets.js";
import { formatIP, parseIP } from "../../model/src/net/ip.js";
import { openRawSocket } from "../../speaker/src/layer2/rawsocket.js";
import type { NetLab } from "./netlab.js";

export interface ArpProbeResult {
  requests: number;
  /** MAC of each reply, in arrival order. */
  replies: string[];
}

/** Probes `ip` from lab host `from` (eth0) every `intervalMs` for `durationMs`. */
export async function probeArp(lab: NetLab, from: string, ip: string, durationMs: number, intervalMs = 200): Promise<ArpProbeResult> {
  const host = lab.host(from);
  const target = parseIP(ip);
  const source = parseIP(host.ipv4);
  if (!target.ok || !source.ok) throw new Error(`probeArp: bad IP ${ip} or ${host.ipv4}`);
  const sock = openRawSocket({ ifname: "eth0", ethertype: 0x0806, netnsPath: `/run/netns/${host.netns}` });
  const replies: string[] = [];
  sock.onFrame((frame) => {
    const p = parseArp(frame);
    if (p?.op === "reply" && formatIP(p.senderIP) === ip && p.targetMac === host.mac) replies.push(p.senderMac);
  });
  const req = buildArp({
    op: "request",
    senderMac: host.mac,
    senderIP: source.value,
    targetMac: "00:00:00:00:00:00",
    targetIP: target.value,
    ethSrc: host.mac,
    ethDst: "ff:ff:ff:ff:ff:ff",
  });
  let requests = 0;
  try {
    const end = Date.now() + durationMs;
    while (Date.now() < end) {
      sock.send(req);
      requests++;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    sock.close();
  }
  return { requests, replies };
}

/** MACs in the replies iputils arping gets for `ip` on `from`'s eth0 (`count` requests; empty when nobody answers). */
export async function arpingMacs(lab: NetLab, from: string, ip: string, count = 2): Promise<string[]> {
  const out = await lab.exec(from, "arping", ["-c", String(count), "-w", String(count + 1), "-I", "eth0", ip], { allowFail: true });
  return [...out.stdout.matchAll(/reply from \S+ \[([0-9A-F:]+)\]/gi)].map((m) => (m[1] ?? "").toLowerCase());
}
