// Issue 15: a speaker Pod replaced (a rolling update of the DaemonSet) on the only node announcing a Service. The
// Pod is reproduced as config/speaker/speaker-frr.yaml wires it: the speaker process and the FRR container of the real
// speaker image (frr-start, bgpd -p 0), sharing /etc/frr and /var/run/frr. The replacement is what the kubelet does:
// SIGTERM to the speaker (its drain), then to frr-start (after FRR's preStop); then a new Pod: FRR starts on an empty
// /etc/frr and the speaker applies. The router's path to the Service IP is sampled every 100 ms meanwhile.
//  - BGPPeer without graceful restart (the lab's peer, with BFD): the drain withdraws, FRR's exit closes the session;
//    the path is absent until the new Pod's session is up (MetalLB's behaviour).
//  - BGPPeer with enableGracefulRestart (and BFD): the drain withdraws nothing from it, bgpd stops without a
//    NOTIFICATION, the router (FRR, graceful restart helper by default) keeps the path stale until the new FRR
//    re-advertises it: never absent. The cluster layer measures the same under HTTP probes on a real kubelet.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { NODE_ASN, ROUTER_ASN, startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { apply, appsWithAdvertisedPublicPool, createEndpointSlice, createService, METALLB_NS, waitForIPs } from "../testenv/src/objects.js";
import { sleep, waitFor } from "../testenv/src/proc.js";

const NODE = "node1";
type PathState = "ok" | "stale" | "none";

describe("a speaker Pod replaced on the only announcing node (rolling update)", () => {
  let bgp: BgpLab;
  let prefix = "";

  const routerPath = async (): Promise<PathState> => {
    const none: { paths?: Array<{ stale?: boolean }> } = {};
    const r = await bgp.lab
      .frr("router")
      .vtyshJson<{ paths?: Array<{ stale?: boolean }> }>(`show bgp ipv4 unicast ${prefix} json`)
      .catch(() => none);
    const p = r.paths?.[0];
    return p === undefined ? "none" : p.stale === true ? "stale" : "ok";
  };

  /** SIGTERM to the speaker (drain), then to FRR; a new FRR on an empty /etc/frr and a new speaker; the path sampled. */
  const replacePod = async (): Promise<{ samples: PathState[]; drainMs: number }> => {
    const sp = bgp.processes.get(NODE);
    const fc = bgp.frrContainers.get(NODE);
    if (sp === undefined || fc === undefined) throw new Error(`no speaker Pod on ${NODE}`);
    const samples: PathState[] = [];
    let stop = false;
    const sampler = (async (): Promise<void> => {
      while (!stop) {
        samples.push(await routerPath());
        await sleep(100);
      }
    })();
    await sleep(500);
    const t0 = Date.now();
    await sp.kill("SIGTERM");
    const drainMs = Date.now() - t0;
    fc.signal("SIGTERM");
    await fc.waitExit();
    rmSync(join(fc.confDir, "frr.conf"), { force: true }); // the new Pod's emptyDir
    await fc.start();
    await sp.start();
    await waitFor("the router's path fresh again", async () => ((await routerPath()) === "ok" ? true : undefined), 60_000, 100);
    await sleep(500);
    stop = true;
    await sampler;
    process.stderr.write(`Pod replaced (drain ${drainMs} ms): router's path ${JSON.stringify(countRuns(samples))}\n`);
    return { samples, drainMs };
  };

  beforeAll(async () => {
    bgp = await startBgpLab({ nodes: [NODE], speakerProcesses: true, nodeFrr: "frr-start", speakerArgs: ["--drain-settle", "1"] });
    await appsWithAdvertisedPublicPool(bgp.kc);
    await createService(bgp.kc, "apps", "web");
    await createEndpointSlice(bgp.kc, "apps", "web", [NODE]);
    prefix = `${(await waitForIPs(bgp.kc, "apps", "web")).ips[0] ?? ""}/32`;
    await waitFor("the route at the router", async () => ((await routerPath()) === "ok" ? true : undefined), 90_000, 200);
  }, 300_000);

  afterAll(async () => {
    await bgp?.stop();
  }, 120_000);

  test("without graceful restart: the route is withdrawn until the new Pod's session is up", async () => {
    const { samples } = await replacePod();
    expect(samples).toContain("none");
    expect(samples).not.toContain("stale");
  }, 120_000);

  test("with enableGracefulRestart: the router keeps the route (stale) through the replacement, never absent", async () => {
    // enableGracefulRestart cannot be changed on an existing BGPPeer: the lab's peer is replaced by one with it.
    const del = await kubeRequest(bgp.kc, "DELETE", `/apis/metallb.io/v1beta2/namespaces/${METALLB_NS}/bgppeers/router`);
    expect(del.status).toBeLessThan(300);
    await waitFor("the route gone with the peer", async () => ((await routerPath()) === "none" ? true : undefined), 30_000, 100);
    await apply(
      bgp.kc,
      {
        apiVersion: "metallb.io/v1beta2",
        kind: "BGPPeer",
        metadata: { name: "router-gr", namespace: METALLB_NS },
        spec: {
          myASN: NODE_ASN,
          peerASN: ROUTER_ASN,
          peerAddress: bgp.lab.host("router").ipv4,
          holdTime: "9s",
          keepaliveTime: "3s",
          connectTime: "1s",
          passwordSecret: { name: "router-pw" },
          bfdProfile: "fast",
          enableGracefulRestart: true,
        },
      },
      "bgppeers",
    );
    const nodeIp = bgp.lab.host(NODE).ipv4;
    await waitFor(
      "the node's session in graceful restart Restart mode, the route at the router",
      async () => {
        const gr = await bgp.lab
          .frr("router")
          .vtyshJson<Record<string, { remoteGrMode?: string }>>(`show bgp ipv4 neighbors ${nodeIp} graceful-restart json`)
          .catch(() => undefined);
        return gr?.[nodeIp]?.remoteGrMode === "Restart" && (await routerPath()) === "ok" ? true : undefined;
      },
      60_000,
      200,
    );
    const { samples } = await replacePod();
    expect(samples).not.toContain("none");
    expect(samples).toContain("stale");
    expect(samples.at(-1)).toBe("ok");
  }, 180_000);
});

/** Consecutive runs of one state, e.g. [["ok", 12], ["stale", 40], ["ok", 5]]. */
function countRuns(samples: readonly PathState[]): Array<[PathState, number]> {
  const runs: Array<[PathState, number]> = [];
  for (const s of samples) {
    const last = runs.at(-1);
    if (last !== undefined && last[0] === s) last[1]++;
    else runs.push([s, 1]);
  }
  return runs;
}
