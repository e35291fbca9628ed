// Hand-over forwarding (speaker/src/layer2/handover-forward.ts) against the real kernel: a client, a previous owner A
// and a new owner B in network namespaces on one bridge (testenv NetLab; all traffic inside them), the Service IP
// (IPv4 and IPv6) on A's and B's `lo` with a TCP server on each that names its node. A long-lived connection is
// established to A; B installs the forwarding (its nft runs in B's namespace) and the client's neighbor entry moves
// to B: the connection keeps being answered by A, while a new connection is served by B. When B ends the forwarding,
// the same connection breaks (B resets it): the forwarding is what kept it.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { Registry } from "prom-client";
import { parseCidr } from "../model/src/net/cidr.js";
import { mustParseIP as ip } from "../model/src/net/testdata/ip.js";
import { silentLogger } from "../shell/src/logger.js";
import { HandoverForwarding, type NftRunner } from "../speaker/src/layer2/handover-forward.js";
import { NetLab } from "../testenv/src/netlab.js";
import { run, sleep, waitFor } from "../testenv/src/proc.js";

const PORT = 8080;
const VIP4 = "10.111.0.100";
const VIP6 = "fd00:111::100";

/** A TCP server naming its node: every line received is answered with "<node> <line>". */
const SERVER = `
const net = require("node:net");
net.createServer((s) => {
  let buf = "";
  s.on("data", (d) => { buf += d; let i; while ((i = buf.indexOf("\\n")) >= 0) { s.write(process.argv[1] + " " + buf.slice(0, i) + "\\n"); buf = buf.slice(i + 1); } });
  s.on("error", () => {});
}).listen(${PORT}, "::");
`;

/** One connection that sends a line every 50 ms and prints every answer and its end as JSON lines. */
const PINGER = `
const net = require("node:net");
process.stdout.on("error", () => process.exit(0));
const s = net.connect({ host: process.argv[1], port: ${PORT} });
let n = 0, buf = "";
const out = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
s.on("connect", () => setInterval(() => s.write("ping" + n++ + "\\n"), 50));
s.on("data", (d) => { buf += d; let i; while ((i = buf.indexOf("\\n")) >= 0) { out({ reply: buf.slice(0, i) }); buf = buf.slice(i + 1); } });
s.on("error", (e) => { out({ error: e.code || e.message }); process.exit(0); });
s.on("close", () => { out({ error: "closed" }); process.exit(0); });
`;

/** One new connection: sends one line, prints the answer. */
const ONCE = `
const net = require("node:net");
const s = net.connect({ host: process.argv[1], port: ${PORT} }, () => s.write("hello\\n"));
s.setTimeout(3000, () => { console.log("timeout"); process.exit(0); });
s.on("data", (d) => { console.log(String(d).trim()); process.exit(0); });
s.on("error", (e) => { console.log("error " + e.code); process.exit(0); });
`;

interface Pinger {
  replies: string[];
  errors: string[];
  child: ChildProcess;
}

describe("hand-over forwarding in network namespaces", () => {
  let lab: NetLab;
  const children: ChildProcess[] = [];

  const spawnIn = (host: string, script: string, arg: string): ChildProcess => {
    const c = spawn("ip", ["netns", "exec", lab.host(host).netns, process.execPath, "-e", script, arg], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(c);
    return c;
  };
  const pinger = (vip: string): Pinger => {
    const p: Pinger = { replies: [], errors: [], child: spawnIn("client", PINGER, vip) };
    let buf = "";
    p.child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString("utf8");
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const o = JSON.parse(buf.slice(0, i)) as { reply?: string; error?: string };
        buf = buf.slice(i + 1);
        if (o.reply !== undefined) p.replies.push(o.reply.split(" ")[0] ?? "");
        if (o.error !== undefined) p.errors.push(o.error);
      }
    });
    return p;
  };
  const once = async (vip: string): Promise<string> =>
    (await lab.exec("client", process.execPath, ["-e", ONCE, vip], { timeoutMs: 10_000 })).stdout.trim().split(" ")[0] ?? "";
  const pointClientAt = async (vip: string, host: string): Promise<void> => {
    await lab.exec("client", "ip", ["neigh", "replace", vip, "lladdr", lab.host(host).mac, "dev", "eth0", "nud", "permanent"]);
  };
  const nftInB: NftRunner = async (args, input) =>
    (await run("ip", ["netns", "exec", lab.host("nodeb").netns, "nft", ...args], input !== undefined ? { input } : {})).stdout;
  const forwarding = (registry = new Registry()): HandoverForwarding =>
    new HandoverForwarding({
      log: silentLogger,
      registry,
      windowMs: 60_000,
      nodeAddresses: (node) => (node === "nodea" ? [ip(lab.host("nodea").ipv4), ip(lab.host("nodea").ipv6)] : []),
      // The lab LAN's subnets on every interface but "eth1" (which has no address).
      interfaceSubnets: (iface) => (iface === "eth1" ? [] : [parseCidr("10.111.0.0/24"), parseCidr("fd00:111::/64")].flatMap((r) => (r.ok ? [r.value] : []))),
      nft: nftInB,
    });
  const tablesInB = async (): Promise<string> => (await nftInB(["list", "tables"])).trim();

  beforeAll(async () => {
    lab = await NetLab.create([
      { name: "client", index: 1 },
      { name: "nodea", index: 2 },
      { name: "nodeb", index: 3 },
    ]);
    for (const n of ["nodea", "nodeb"]) {
      // The Service IP on lo (as in the drain lab; kube-proxy's IPVS mode): only the speakers would answer ARP for it.
      await lab.exec(n, "sysctl", ["-qw", "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"]);
      await lab.exec(n, "ip", ["addr", "add", `${VIP4}/32`, "dev", "lo"]);
      await lab.exec(n, "ip", ["addr", "add", `${VIP6}/128`, "dev", "lo"]);
      spawnIn(n, SERVER, n);
    }
    for (const vip of [VIP4, VIP6]) await pointClientAt(vip, "nodea");
    await waitFor("servers up", async () => ((await once(VIP4)) === "nodea" && (await once(VIP6)) === "nodea" ? true : undefined), 20_000, 200);
  }, 60_000);

  afterAll(async () => {
    for (const c of children) {
      c.stdout?.destroy();
      if (c.exitCode === null) c.kill("SIGKILL");
    }
    await lab?.destroy();
  }, 30_000);

  test("a connection established to A survives the client's move to B while B forwards; a new one is served by B; without the forwarding it breaks", async () => {
    const registry = new Registry();
    const f = forwarding(registry);
    await f.start();
    const long4 = pinger(VIP4);
    const long6 = pinger(VIP6);
    await waitFor("long connections answered by A", () => (long4.replies.length >= 3 && long6.replies.length >= 3 ? true : undefined), 10_000);

    const ready = [f.begin(ip(VIP4), "nodea", ["eth0"]), f.begin(ip(VIP6), "nodea", ["eth0"])];
    expect(ready.every((r) => r !== null)).toBe(true);
    await Promise.all(ready.map((r) => r ?? Promise.resolve()));
    expect(await tablesInB()).toBe("table netdev metallb_ts_handover");
    expect(f.forwardedIPs().sort()).toEqual([VIP4, VIP6]);
    for (const vip of [VIP4, VIP6]) await pointClientAt(vip, "nodeb");
    const at4 = long4.replies.length;
    const at6 = long6.replies.length;
    await sleep(1_500);
    // Every packet now reaches B first; B passes them to A, which still answers on the same connection.
    expect(long4.errors).toEqual([]);
    expect(long6.errors).toEqual([]);
    expect(long4.replies.length - at4).toBeGreaterThanOrEqual(10);
    expect(long6.replies.length - at6).toBeGreaterThanOrEqual(10);
    expect(new Set(long4.replies)).toEqual(new Set(["nodea"]));
    expect(new Set(long6.replies)).toEqual(new Set(["nodea"]));
    // A new connection's SYN is B's: served by B (and its later packets are not forwarded).
    expect(await once(VIP4)).toBe("nodeb");
    expect(await once(VIP6)).toBe("nodeb");
    const forwarded = /metallb_ts_layer2_handover_forwarded_packets_total (\d+)/.exec(await registry.metrics())?.[1];
    expect(Number(forwarded)).toBeGreaterThanOrEqual(20);
    expect(await registry.getSingleMetricAsString("metallb_ts_layer2_handover_forwarding_ips")).toContain("metallb_ts_layer2_handover_forwarding_ips 2");

    // The control: the IPv4 forwarding ends, and the same connection is reset by B (which never saw its SYN).
    f.end(ip(VIP4));
    await waitFor("the IPv4 connection broken without forwarding", () => (long4.errors.length > 0 ? true : undefined), 10_000);
    expect(long4.errors[0]).toBe("ECONNRESET");
    // IPv6 still forwarded, so still answered by A.
    const still6 = long6.replies.length;
    await sleep(500);
    expect(long6.errors).toEqual([]);
    expect(long6.replies.length).toBeGreaterThan(still6);
    // The last IP ends: the table is deleted.
    f.end(ip(VIP6));
    await waitFor("table deleted", async () => ((await tablesInB()) === "" ? true : undefined), 10_000);
    await waitFor("the IPv6 connection broken without forwarding", () => (long6.errors.length > 0 ? true : undefined), 10_000);
    await f.stop();
  }, 60_000);

  test("a table left by an earlier run is removed at start; stop() deletes the table; no address of A on the link: nothing forwarded", async () => {
    const crashed = forwarding();
    await crashed.begin(ip(VIP4), "nodea", ["eth0"]);
    expect(await tablesInB()).toBe("table netdev metallb_ts_handover");
    // (the "crashed" run never stops; the next run starts)
    const next = forwarding();
    await next.start();
    expect(await tablesInB()).toBe("");
    expect(next.begin(ip(VIP4), "nodec", ["eth0"])).toBeNull();
    expect(next.begin(ip(VIP4), "nodea", ["eth1"])).toBeNull();
    await next.begin(ip(VIP4), "nodea", ["eth0"]);
    expect(await tablesInB()).toBe("table netdev metallb_ts_handover");
    await next.stop();
    expect(await tablesInB()).toBe("");
    await crashed.stop(); // its window timer
  }, 30_000);

  test("nft failing (here: an interface that does not exist) is a warning and a metric, and forwards nothing", async () => {
    const registry = new Registry();
    const f = forwarding(registry);
    await f.begin(ip(VIP4), "nodea", ["nosuch0"]);
    expect(f.forwardedIPs()).toEqual([]);
    expect(await registry.getSingleMetricAsString("metallb_ts_layer2_handover_forwarding_errors_total")).toContain(
      "metallb_ts_layer2_handover_forwarding_errors_total 1",
    );
    expect(await tablesInB()).toBe("");
    await f.stop();
  }, 30_000);
});
