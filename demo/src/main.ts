// `npm run demo` (as root): metallb-ts doing its job on one Linux machine, with real parts only.
//   1. a real kube-apiserver + etcd (the tests' control plane);
//   2. a network in namespaces: an upstream FRR router, two nodes with their own FRR, a client on the LAN;
//   3. the operator and one speaker per node as processes, as in production (each speaker in its node's namespace);
//   4. an IPAddressPool + BGPAdvertisement, a LoadBalancer Service whose EndpointSlice points at a small HTTP server
//      on each node (the Service IP on each node's lo with arp_ignore=1/arp_announce=2, as kube-proxy's IPVS mode does);
//   5. shows the Service's EXTERNAL-IP, the router's BGP route with both nodes as next hops, and curl through it.
// --keep leaves everything up until Ctrl-C and prints how to look around.
import { applyMetallb, createEndpointSlice, createService, ensureNamespace, pool, waitForIPs } from "../../testenv/src/objects.js";
import { waitFor } from "../../testenv/src/proc.js";
import { startBgpLab, type BgpLab } from "../../testenv/src/bgp-lab.js";
import { serveHttpOnNode } from "../../testenv/src/http-on-node.js";
import { externalApiServer } from "../../testenv/src/control-plane.js";

const NODES = ["node1", "node2"];

async function step<T>(title: string, fn: () => Promise<{ value: T; detail: string }>): Promise<T> {
  const t0 = Date.now();
  process.stdout.write(`\n==> ${title}\n`);
  const { value, detail } = await fn();
  if (detail !== "") process.stdout.write(`${detail.trimEnd()}\n`);
  process.stdout.write(`    (${Date.now() - t0} ms)\n`);
  return value;
}

const indent = (text: string, by = "      "): string =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => `${by}${l}`)
    .join("\n");

async function main(argv: readonly string[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the demo builds network namespaces: run it as root (sudo npm run demo)");
  const keep = argv.includes("--keep");
  // --kubeconfig PATH: use that apiserver (it must listen on loopback) instead of starting one.
  const kIdx = argv.indexOf("--kubeconfig");
  const kubeconfig = kIdx >= 0 ? argv[kIdx + 1] : undefined;
  if (kIdx >= 0 && (kubeconfig === undefined || kubeconfig.startsWith("--"))) throw new Error("--kubeconfig needs a path");
  const t0 = Date.now();
  let bgp: BgpLab | undefined;
  try {
    bgp = await step(
      kubeconfig !== undefined
        ? `Using the apiserver of ${kubeconfig} (installing the CRDs); starting the network (router, node1, node2, client), FRR, the operator and one speaker process per node`
        : "Starting a real kube-apiserver + etcd, the network (router, node1, node2, client), FRR on the router and the nodes, the operator process, and one speaker process per node (in its namespace)",
      async () => {
        const api = kubeconfig === undefined ? undefined : await externalApiServer(kubeconfig);
        const lab = await startBgpLab({
          nodes: NODES,
          extraHosts: [{ name: "client", index: 5 }],
          speakerProcesses: true,
          ...(api !== undefined ? { controlPlane: api } : {}),
        });
        const hosts = lab.lab.hosts.map((h) => `    ${h.name.padEnd(7)} ${h.ipv4.padEnd(12)} ${h.mac}  netns ${h.netns}`).join("\n");
        return { value: lab, detail: `    apiserver ${lab.cp.server}\n${hosts}` };
      },
    );
    const { kc, lab } = bgp;
    await step("Configuring metallb-ts: an IPAddressPool and a BGPAdvertisement (the BGPPeer to the router was created with the lab)", async () => {
      await ensureNamespace(kc, "demo");
      await pool(kc, "demo-bgp", { addresses: ["10.200.0.0/28"], avoidBuggyIPs: true });
      await applyMetallb(kc, "BGPAdvertisement", "demo-bgp", { ipAddressPools: ["demo-bgp"], communities: ["64500:100"] });
      return {
        value: undefined,
        detail:
          "    IPAddressPool demo-bgp 10.200.0.0/28 (avoidBuggyIPs), BGPAdvertisement demo-bgp (community 64500:100), BGPPeer router (AS 64500, password, BFD 100 ms)",
      };
    });
    const vip = await step("Creating a LoadBalancer Service 'web' with endpoints on node1 and node2", async () => {
      await createService(kc, "demo", "web");
      await createEndpointSlice(kc, "demo", "web", NODES);
      const s = await waitForIPs(kc, "demo", "web");
      const ip = s.ips[0] ?? "";
      return {
        value: ip,
        detail: `    NAMESPACE  NAME  TYPE          EXTERNAL-IP   POOL\n    demo       web   LoadBalancer  ${ip.padEnd(12)}  ${s.pool ?? ""}`,
      };
    });
    await step("Serving HTTP on each node behind the Service IP (on lo, arp_ignore=1, arp_announce=2)", async () => {
      for (const n of NODES) await serveHttpOnNode(bgp as BgpLab, n, vip);
      return { value: undefined, detail: "    python3 -m http.server 80 in node1 and node2" };
    });
    await step(`Waiting until the router routes ${vip} to both nodes (ECMP)`, async () => {
      const route = await waitFor(
        "ECMP route",
        async () => {
          const out = await lab.exec("router", "ip", ["route", "show", `${vip}/32`]);
          return (out.stdout.match(/nexthop via/g) ?? []).length === 2 ? out.stdout : undefined;
        },
        60_000,
        50,
      );
      const table = await lab.frr("router").vtysh(`show bgp ipv4 unicast ${vip}/32`);
      return {
        value: undefined,
        detail: `    router# ip route show ${vip}/32\n${indent(route)}\n    router# show bgp ipv4 unicast ${vip}/32\n${indent(table)}`,
      };
    });
    const answers = await step(`curl http://${vip}/ from the router side, through the BGP route`, async () => {
      const seen = new Map<string, number>();
      for (let i = 0; i < 8; i++) {
        const out = await lab.exec("router", "curl", ["-s", "-m", "2", "--local-port", String(40000 + i), `http://${vip}/`], { allowFail: true });
        const who = out.stdout.trim() || `error ${out.code}`;
        seen.set(who, (seen.get(who) ?? 0) + 1);
      }
      return { value: seen, detail: [...seen].map(([who, n]) => `    ${n} × ${who}`).join("\n") };
    });
    const ok = [...answers.keys()].some((a) => a.startsWith("hello from"));
    if (!ok) throw new Error("HTTP through the BGP route did not answer");
    const nextHops =
      (await lab.exec("router", "ip", ["route", "show", `${vip}/32`])).stdout.match(/nexthop via (\S+)/g)?.map((m) => m.replace("nexthop via ", "")) ?? [];

    // ---- Layer 2 ----
    const l2vip = await step("Layer 2 mode: an IPAddressPool on the LAN, an L2Advertisement and a second Service", async () => {
      await pool(kc, "demo-l2", { addresses: ["10.111.0.200-10.111.0.209"], autoAssign: false });
      await applyMetallb(kc, "L2Advertisement", "demo-l2", { ipAddressPools: ["demo-l2"] });
      await createService(kc, "demo", "web-l2", { annotations: { "metallb.io/address-pool": "demo-l2" } });
      await createEndpointSlice(kc, "demo", "web-l2", NODES);
      const s = await waitForIPs(kc, "demo", "web-l2");
      const ip = s.ips[0] ?? "";
      for (const n of NODES) await lab.exec(n, "ip", ["addr", "replace", `${ip}/32`, "dev", "lo"]);
      return {
        value: ip,
        detail: `    NAMESPACE  NAME    TYPE          EXTERNAL-IP   POOL\n    demo       web-l2  LoadBalancer  ${ip.padEnd(12)}  ${s.pool ?? ""}`,
      };
    });
    const macToNode = new Map(NODES.map((n) => [lab.host(n).mac, n]));
    const neighbor = async (): Promise<string | undefined> => {
      const out = await lab.exec("client", "ip", ["-j", "neigh", "show", l2vip]);
      const entries = JSON.parse(out.stdout || "[]") as Array<{ lladdr?: string }>;
      return entries[0]?.lladdr;
    };
    const owner = await step(`The client asks who has ${l2vip} (arping) and fetches it (curl)`, async () => {
      const mac = await waitFor(
        "an ARP answer",
        async () => {
          const out = await lab.exec("client", "arping", ["-c", "1", "-w", "2", "-I", "eth0", l2vip], { allowFail: true });
          return /\[([0-9a-f:]{17})\]/i.exec(out.stdout)?.[1]?.toLowerCase();
        },
        30_000,
        200,
      );
      const curl = await lab.exec("client", "curl", ["-s", "-m", "2", `http://${l2vip}/`], { allowFail: true });
      const node = macToNode.get(mac) ?? mac;
      return { value: node, detail: `    client# arping ${l2vip}: answered by ${mac} (${node})\n    client# curl http://${l2vip}/: ${curl.stdout.trim()}` };
    });
    const failover = await step(`Failover: the speaker on ${owner} is killed (SIGKILL); the client's neighbor entry must move to the other node`, async () => {
      const before = await neighbor();
      const killedAt = Date.now();
      await bgp?.processes.get(owner)?.kill("SIGKILL");
      const after = await waitFor(
        "the neighbor entry to change",
        async () => {
          const mac = await neighbor();
          return mac !== undefined && mac !== before ? mac : undefined;
        },
        30_000,
        10,
      );
      const ms = Date.now() - killedAt;
      const curl = await lab.exec("client", "curl", ["-s", "-m", "2", `http://${l2vip}/`], { allowFail: true });
      const newOwner = macToNode.get(after) ?? after;
      return {
        value: { ms, newOwner, http: curl.stdout.trim() },
        detail: `    client# ip neigh: ${l2vip} ${before ?? "?"} -> ${after} (${newOwner}) ${ms} ms after the kill (gratuitous ARP)\n    client# curl http://${l2vip}/: ${curl.stdout.trim()}`,
      };
    });
    // One machine-readable line with the facts (the demo's e2e test asserts them).
    process.stdout.write(
      `DEMO_SUMMARY ${JSON.stringify({
        externalIP: vip,
        bgpNextHops: nextHops.sort(),
        httpAnswers: Object.fromEntries(answers),
        l2: { externalIP: l2vip, owner, newOwner: failover.newOwner, failoverMs: failover.ms, httpAfterFailover: failover.http },
        totalMs: Date.now() - t0,
      })}\n`,
    );
    process.stdout.write(
      `\nSummary: BGP: Service demo/web got ${vip}, routed by the upstream router to both nodes, HTTP works through it. ` +
        `L2: Service demo/web-l2 got ${l2vip}, answered by ${owner}; after its speaker was killed, ${failover.newOwner} took over ` +
        `in ${failover.ms} ms as seen by the client. Total ${Math.round((Date.now() - t0) / 100) / 10} s.\n`,
    );
    if (keep) {
      process.stdout.write(
        `\nKept running (Ctrl-C to tear down). Try:\n` +
          `  KUBECONFIG=${bgp.cp.kubeconfigPath} kubectl get svc -A        (any kubectl ≥ 1.33)\n` +
          `  vtysh --vty_socket ${lab.frr("router").dir} -c 'show bgp summary'\n` +
          `  vtysh --vty_socket ${lab.frr("node1").dir} -c 'show running-config'\n` +
          `  ip netns exec ${lab.host("router").netns} curl http://${vip}/\n` +
          `  ip netns exec ${lab.host("client").netns} arping -c 2 -I eth0 ${l2vip}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
    }
  } finally {
    if (bgp !== undefined) {
      const b = bgp;
      await step("Cleaning up", async () => {
        await b.stop();
        return { value: undefined, detail: "    speakers, operator, FRR, namespaces and the control plane are gone" };
      });
    }
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof Error && e.cause instanceof Error) process.stderr.write(`  cause: ${e.cause.message}\n`);
    process.stderr.write("Run it again as root after `bash scripts/install.sh`; leftovers of an interrupted run are removed at the next start.\n");
    process.exit(1);
  },
);
