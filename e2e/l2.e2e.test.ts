// Layer 2 mode end to end: a real kube-apiserver, the operator (in this process), and one speaker process per node
// running inside the node's network namespace (reaching the apiserver through a unix-socket bridge), on a lab bridge
// with a client. The client resolves the Service IPs with arping / ndisc6 and its kernel's neighbor table; speakers
// are SIGKILLed to fail over. EndpointSlices are created by the test (there is no controller-manager).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import { encodeHeartbeat } from "../model/src/layer2/heartbeat.js";
import { buildArp, parseArp, type MacAddress } from "../model/src/layer2/packets.js";
import { formatIP } from "../model/src/net/ip.js";
import { apply, applyMetallb, createService, ensureNamespace, eventsFor, METALLB_NS, pool, waitForIPs } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { openRawSocket, type RawSocket } from "../speaker/src/layer2/rawsocket.js";
import type { NetLab } from "../testenv/src/netlab.js";
import { sleep, waitFor } from "../testenv/src/proc.js";
import { arpingMacs } from "../testenv/src/arp-probe.js";
import { startL2Lab, type L2Lab } from "../testenv/src/l2-lab.js";
import { metricValue } from "../testenv/src/speaker-process.js";

const ROGUE_MAC = "02:66:00:00:00:01";

describe("Layer 2 mode end to end (speakers as processes in node namespaces)", () => {
  let l2: L2Lab;
  let kc: k8s.KubeConfig;
  let lab: NetLab;
  let vip4 = "";
  let vip6 = "";
  let owner = "";
  let other = "";
  const measured: string[] = [];
  const macOf = (node: string): MacAddress => lab.host(node).mac;

  const endpoints = async (svc: string, nodes: string[]): Promise<void> => {
    await apply(
      kc,
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: `${svc}-1`, namespace: "apps", labels: { "kubernetes.io/service-name": svc } },
        addressType: "IPv4",
        endpoints: nodes.map((n, i) => ({ addresses: [`10.244.${i}.10`], nodeName: n, conditions: { ready: true } })),
        ports: [{ port: 80, protocol: "TCP" }],
      },
      "endpointslices",
    );
  };
  /** MACs in the replies arping gets for `ip` on eth0 (empty when nobody answers). */
  const arping = async (ip: string, count = 2): Promise<string[]> => arpingMacs(lab, "client", ip, count);
  const neighMac = async (ip: string): Promise<string | undefined> => {
    const out = await lab.exec("client", "ip", ["neigh", "show", ip, "dev", "eth0"], { allowFail: true });
    return /lladdr ([0-9a-f:]+)/.exec(out.stdout)?.[1];
  };
  const l2Statuses = async (): Promise<Array<{ node: string; serviceName: string; interfaces?: Array<{ name: string }> }>> => {
    const res = await kubeRequest(kc, "GET", `/apis/metallb.io/v1beta1/namespaces/${METALLB_NS}/servicel2statuses`);
    return ((res.body as { items?: Array<{ status?: { node: string; serviceName: string; interfaces?: Array<{ name: string }> } }> }).items ?? []).flatMap(
      (o) => (o.status !== undefined ? [o.status] : []),
    );
  };
  const metric = async (node: string, name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const sp = l2.speakers.get(node);
    if (sp === undefined) throw new Error(`no speaker ${node}`);
    return metricValue(await sp.metrics(), name, labels);
  };

  /** Announce/withdraw lines of every speaker's log, for failure diagnosis. */
  const decisions = (): string =>
    l2.nodes
      .map(
        (n) =>
          `${n}:\n${readFileSync(join(l2.dir, `speaker-${n}.log`), "utf8")
            .split("\n")
            .filter((l) => /"(peer status|liveness view changed|sending heartbeat failed|heartbeat dropped)"/.test(l))
            .slice(-25)
            .join("\n")}`,
      )
      .join("\n");
  const explained = async (what: () => Promise<void>): Promise<void> => {
    try {
      await what();
    } catch (e) {
      process.stderr.write(`speaker decisions:\n${decisions()}\n`);
      throw e;
    }
  };

  beforeAll(async () => {
    l2 = await startL2Lab({
      // A second Ethernet interface on every node, for the interface-selection case.
      prepareNode: async (lab, node) => {
        await lab.exec(node, "ip", ["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
        await lab.exec(node, "ip", ["link", "set", "eth1", "up"]);
        await lab.exec(node, "ip", ["link", "set", "eth1p", "up"]);
      },
    });
    kc = l2.kc;
    lab = l2.lab;
    await ensureNamespace(kc, "apps");
    await pool(kc, "lan", { addresses: ["10.111.0.200-10.111.0.209", "fd00:111::200-fd00:111::209"] });
    await pool(kc, "side", { addresses: ["10.111.0.220-10.111.0.229"] });
    await applyMetallb(kc, "L2Advertisement", "lan", { ipAddressPools: ["lan"] });
    await applyMetallb(kc, "L2Advertisement", "side", { ipAddressPools: ["side"], interfaces: ["eth1"] });
    await createService(kc, "apps", "web", {
      annotations: { "metallb.io/address-pool": "lan" },
      ipFamilyPolicy: "RequireDualStack",
      ipFamilies: ["IPv4", "IPv6"],
    });
    await endpoints("web", ["node1", "node2"]);
    const st = await waitForIPs(kc, "apps", "web");
    vip4 = st.ips.find((i) => !i.includes(":")) ?? "";
    vip6 = st.ips.find((i) => i.includes(":")) ?? "";
    const cands = await waitFor(
      "web's plan",
      async () => {
        const c = await l2.candidates(vip4);
        return c.length === 2 ? c : undefined;
      },
      30_000,
    );
    owner = cands[0] ?? "";
    other = cands[1] ?? "";
  }, 400_000);

  afterAll(async () => {
    await l2?.stop();
    if (measured.length > 0) process.stdout.write(`l2 e2e measurements: ${measured.join("; ")}\n`);
  });

  test("the plan's first candidate answers ARP for the IPv4 VIP; the other node stays silent", async () => {
    expect(vip4).toMatch(/^10\.111\.0\.20\d$/);
    expect([owner, other].sort()).toEqual(["node1", "node2"]);
    const macs = await waitFor(
      "arping answered",
      async () => {
        const m = await arping(vip4);
        return m.length === 2 ? m : undefined;
      },
      30_000,
      200,
    );
    expect(macs).toEqual([macOf(owner), macOf(owner)]);
    expect(await metric(owner, "metallb_speaker_announced", { service: "apps/web", protocol: "layer2", node: owner, ip: vip4 })).toBe(1);
    expect(await metric(owner, "metallb_layer2_responses_sent", { ip: vip4 })).toBeGreaterThanOrEqual(2);
    expect(await metric(owner, "metallb_layer2_requests_received", { ip: vip4 })).toBeGreaterThanOrEqual(2);
    expect(await metric(owner, "metallb_layer2_gratuitous_sent", { ip: vip4 })).toBeGreaterThanOrEqual(1);
    expect(await metric(other, "metallb_speaker_announced", { service: "apps/web", protocol: "layer2", node: other, ip: vip4 })).toBeUndefined();
    expect(await metric(other, "metallb_layer2_responses_sent", { ip: vip4 })).toBeUndefined();
    // Heartbeats flow, nothing is dropped (same key on both nodes).
    expect(await metric(owner, "metallb_ts_layer2_heartbeats_received_total", {})).toBeGreaterThan(0);
    expect(await metric(owner, "metallb_ts_layer2_heartbeats_dropped_total", { reason: "badMac" })).toBeUndefined();
  });

  test("ndisc6 gets the owner's MAC for the IPv6 VIP, and only that", async () => {
    expect(vip6).toMatch(/^fd00:111::20\d$/);
    const out = await lab.exec("client", "ndisc6", ["-m", "-r", "2", "-w", "1000", vip6, "eth0"], { allowFail: true });
    const targets = [...out.stdout.matchAll(/Target link-layer address: ([0-9A-F:]+)/gi)].map((m) => m[1]?.toLowerCase());
    expect(targets.length).toBeGreaterThanOrEqual(1);
    expect(new Set(targets)).toEqual(new Set([macOf(owner)]));
  });

  test("heartbeats that are not signed with the shared key are dropped and counted", async () => {
    const forged = encodeHeartbeat(
      { node: other, incarnation: Date.now() * 2, seq: 1, sentAtMs: Date.now() },
      new TextEncoder().encode("not-the-shared-key-0123456789"),
    );
    const file = join(l2.dir, "forged-heartbeat.bin");
    writeFileSync(file, forged);
    const target = lab.host(owner).ipv4;
    // One datagram each (bash's /dev/udp would split printf's output into several).
    await lab.exec("client", "socat", ["-u", `OPEN:${file}`, `UDP-SENDTO:${target}:7947`]);
    await lab.exec("client", "socat", ["-u", "SYSTEM:echo garbage", `UDP-SENDTO:${target}:7947`]);
    await waitFor(
      "drops counted",
      async () => {
        const m = await l2.speakers.get(owner)?.metrics();
        const bad = metricValue(m ?? "", "metallb_ts_layer2_heartbeats_dropped_total", { reason: "badMac" }) ?? 0;
        const magic = metricValue(m ?? "", "metallb_ts_layer2_heartbeats_dropped_total", { reason: "truncated" }) ?? 0; // shorter than any heartbeat
        return bad >= 1 && magic >= 1 ? true : undefined;
      },
      10_000,
      200,
    );
    // The forged "other is alive, new incarnation" heartbeat changed nothing.
    expect(await arping(vip4)).toEqual([macOf(owner), macOf(owner)]);
  });

  test("the owner publishes a ServiceL2Status for the Service", async () => {
    const st = await waitFor(
      "ServiceL2Status of web",
      async () => {
        const all = await l2Statuses();
        const mine = all.filter((s) => s.serviceName === "web");
        return mine.length === 1 ? mine : undefined;
      },
      20_000,
      200,
    );
    expect(st[0]).toMatchObject({ node: owner, serviceName: "web", serviceNamespace: "apps" });
    expect(st[0]?.interfaces).toBeUndefined();
  });

  test("interface selection: an IP advertised on eth1 only is not answered on eth0", async () => {
    await createService(kc, "apps", "side", { annotations: { "metallb.io/address-pool": "side" } });
    await endpoints("side", ["node1", "node2"]);
    const ip = (await waitForIPs(kc, "apps", "side")).ips[0] ?? "";
    expect(ip).toMatch(/^10\.111\.0\.22\d$/);
    const sideOwner = await waitFor("side's plan", async () => (await l2.candidates(ip))[0], 20_000);
    const st = await waitFor("ServiceL2Status of side", async () => (await l2Statuses()).find((s) => s.serviceName === "side"), 20_000, 200);
    expect(st).toMatchObject({ node: sideOwner, interfaces: [{ name: "eth1" }] });
    expect(await metric(sideOwner, "metallb_speaker_announced", { service: "apps/side", protocol: "layer2", node: sideOwner, ip })).toBe(1);
    expect(await arping(ip)).toEqual([]);
  });

  test("SIGKILL of the owner's speaker: the client's neighbor entry moves to the other node", async () => {
    // A kernel neighbor entry for the VIP (ping resolves it; nobody holds the VIP, so no echo reply is expected).
    await lab.exec("client", "ping", ["-c", "1", "-W", "1", vip4], { allowFail: true });
    await lab.exec("client", "ping", ["-6", "-c", "1", "-W", "1", vip6], { allowFail: true });
    expect(await neighMac(vip4)).toBe(macOf(owner));
    expect(await neighMac(vip6)).toBe(macOf(owner));
    const t0 = Date.now();
    await l2.speakers.get(owner)?.kill("SIGKILL");
    await waitFor("neighbor entry on the other node", async () => ((await neighMac(vip4)) === macOf(other) ? true : undefined), 10_000, 20);
    const v4Ms = Date.now() - t0;
    await waitFor("IPv6 neighbor entry on the other node", async () => ((await neighMac(vip6)) === macOf(other) ? true : undefined), 10_000, 20);
    measured.push(`failover kill→client neigh flip v4 ${v4Ms} ms, v6 ${Date.now() - t0} ms`);
    expect(await arping(vip4)).toEqual([macOf(other), macOf(other)]);
    await waitFor(
      "ServiceL2Status moved",
      async () => {
        const web = (await l2Statuses()).filter((s) => s.serviceName === "web");
        return web.length === 1 && web[0]?.node === other ? true : undefined;
      },
      20_000,
      200,
    );
  });

  test("restarting it: ownership follows the plan back to the first candidate", async () => {
    await l2.speakers.get(owner)?.start();
    await waitFor("neighbor entry back on the owner", async () => ((await neighMac(vip4)) === macOf(owner) ? true : undefined), 20_000, 50);
    await waitFor("IPv6 entry back on the owner", async () => ((await neighMac(vip6)) === macOf(owner) ? true : undefined), 20_000, 50);
    // Only the owner answers again.
    await sleep(300);
    expect(await arping(vip4)).toEqual([macOf(owner), macOf(owner)]);
    await waitFor(
      "other node withdrew",
      async () =>
        (await metric(other, "metallb_speaker_announced", { service: "apps/web", protocol: "layer2", node: other, ip: vip4 })) === undefined ? true : undefined,
      10_000,
      200,
    );
  });

  test("SIGTERM (rolling restart): the speaker's leaving heartbeat hands the VIP over without waiting for expiry", async () => {
    await lab.exec("client", "ping", ["-c", "1", "-W", "1", vip4], { allowFail: true });
    expect(await neighMac(vip4)).toBe(macOf(owner));
    const t0 = Date.now();
    await l2.speakers.get(owner)?.kill("SIGTERM");
    await waitFor("neighbor entry on the other node", async () => ((await neighMac(vip4)) === macOf(other) ? true : undefined), 10_000, 20);
    measured.push(`graceful (SIGTERM) kill→client neigh flip v4 ${Date.now() - t0} ms`);
    await l2.speakers.get(owner)?.start();
    await waitFor("neighbor entry back on the owner", async () => ((await neighMac(vip4)) === macOf(owner) ? true : undefined), 20_000, 50);
  });

  test("partition: an owner cut off from peers and apiserver fences itself, the other node takes over, then it takes the VIP back", async () => {
    await lab.exec("client", "ping", ["-c", "1", "-W", "1", vip4], { allowFail: true });
    expect(await neighMac(vip4)).toBe(macOf(owner));
    await l2.bridge.cut(owner);
    await lab.setCable(owner, false);
    try {
      // The isolated owner stops answering on its own (no peer heartbeat, no apiserver: it may be the one cut off).
      await waitFor("isolated owner withdrew", async () => ((await metric(owner, "metallb_ts_layer2_owned_ips", {})) === 0 ? true : undefined), 10_000, 100);
      expect(await metric(owner, "metallb_speaker_announced", { service: "apps/web", protocol: "layer2", node: owner, ip: vip4 })).toBeUndefined();
      await waitFor("client's entry on the other node", async () => ((await neighMac(vip4)) === macOf(other) ? true : undefined), 10_000, 50);
      expect(await arping(vip4)).toEqual([macOf(other), macOf(other)]);
    } finally {
      await lab.setCable(owner, true);
      await l2.bridge.restore(lab, owner, join(l2.dir, `bridge-${owner}-2.log`));
    }
    await explained(async () => {
      await waitFor("entry back on the owner after the partition heals", async () => ((await neighMac(vip4)) === macOf(owner) ? true : undefined), 20_000, 50);
      await sleep(300);
      expect(await arping(vip4)).toEqual([macOf(owner), macOf(owner)]);
    });
  });

  test("a rogue responder for the VIP is reported: Warning Event on the Service and a metric on the owner", async () => {
    // A station in the client namespace that answers the owner's ARP probes for the VIP with another MAC.
    let rogue: RawSocket | undefined;
    try {
      rogue = openRawSocket({ ifname: "eth0", ethertype: 0x0806, netnsPath: `/run/netns/${lab.host("client").netns}` });
      const sock = rogue;
      sock.onFrame((frame) => {
        const p = parseArp(frame);
        if (p?.op !== "request" || formatIP(p.targetIP) !== vip4 || p.senderMac === ROGUE_MAC) return;
        sock.send(
          buildArp({
            op: "reply",
            senderMac: ROGUE_MAC,
            senderIP: p.targetIP,
            targetMac: p.senderMac,
            targetIP: p.senderIP,
            ethSrc: ROGUE_MAC,
            ethDst: p.senderMac,
          }),
        );
      });
      const ev = await waitFor(
        "DuplicateResponder event",
        async () => (await eventsFor(kc, "apps", "Service", "web")).find((e) => e.reason === "DuplicateResponder" && e.message.includes(ROGUE_MAC)),
        30_000,
        250,
      );
      expect(ev.type).toBe("Warning");
      expect(ev.message).toContain(vip4);
      expect(ev.message).toContain(ROGUE_MAC);
      expect(await metric(owner, "metallb_ts_layer2_duplicate_responders_total", { ip: vip4 })).toBeGreaterThanOrEqual(1);
      // The node's own second interface on a segment is never reported.
      const events = await eventsFor(kc, "apps", "Service", "web");
      expect(events.filter((e) => e.reason === "DuplicateResponder" && !e.message.includes(ROGUE_MAC))).toEqual([]);
    } finally {
      rogue?.close();
    }
  });
});
