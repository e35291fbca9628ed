// FRR recovery and session start (issue 17 item 4, issue 15 item 4): how long after a node's FRR comes back the
// speaker has restored its configuration, and how long until the router has the node's Service route again.
// Everything real: apiserver, operator and speaker processes, FRR on the node and on the router (namespaces).
//   --mode frr   (default) the speaker Pod's FRR container (speaker/image/frr-start.sh): bgpd is SIGKILLed, frr-start
//                stops the others and exits, and is started again (the kubelet's restart). Also the "session up
//                after FRR start" figure: the container start is FRR starting.
//   --mode bgpd  the testenv FRR (daemonized): bgpd alone is SIGKILLed and started again empty (as watchfrr would).
// Per run: t0 = the daemons answer again (frr: the container's livenessProbe passes; bgpd: its vty socket exists),
// restored = the node's running configuration has the Service's `network` line, session = the router's session to
// the node Established, route = the router's BGP table has the /32 via the node. CPU-s: the speaker process's
// user+system time from the kill to the route back.
// --no-bfd: the BGPPeer without its BFD profile.
// Run as root: npm run bench:frr-recovery [-- --mode frr|bgpd --runs 5 --no-bfd]
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { applyMetallb, createEndpointSlice, createService, ensureNamespace, METALLB_NS, pool, waitForIPs } from "../testenv/src/objects.js";
import { startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { readPidFile, sleep, waitFor } from "../testenv/src/proc.js";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

const NODE = "node1";
const CLK_TCK = 100;

/** user+system CPU seconds of a process so far (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
};
const summary = (xs: readonly number[]): { min: number; median: number; max: number } => ({
  min: Math.min(...xs),
  median: median(xs),
  max: Math.max(...xs),
});

interface Sample {
  /**
   * From the (re)start of FRR (frr: the container's restart, watched from then on) or of bgpd (bgpd: the kill; the
   * session is watched from the daemon's socket on) to the router's session Established.
   */
  sessionFromStartMs: number;
  /** From the (re)start to t0 (frr: the container's livenessProbe passed; bgpd: bgpd's vty socket exists). */
  startToProbeMs: number;
  restoredMs: number;
  sessionMs: number;
  routeMs: number;
  speakerCpuS: number;
}

async function main(): Promise<void> {
  const mode = arg("mode", "frr");
  if (mode !== "frr" && mode !== "bgpd") throw new Error(`--mode ${mode}: frr or bgpd`);
  const runs = Number(arg("runs", "5"));
  const noBfd = process.argv.includes("--no-bfd");
  const bgp: BgpLab = await startBgpLab({ nodes: [NODE], speakerProcesses: true, ...(mode === "frr" ? { nodeFrr: "frr-start" as const } : {}) });
  try {
    const { kc, lab } = bgp;
    const node = lab.host(NODE);
    const router = lab.frr("router");
    const speaker = bgp.processes.get(NODE);
    if (speaker?.pid === undefined) throw new Error("no speaker process");
    const fc = bgp.frrContainers.get(NODE);
    const runDir = fc?.runDir ?? lab.frr(NODE).dir;
    const confDir = fc?.confDir ?? lab.frr(NODE).dir;
    await ensureNamespace(kc, "bench");
    await pool(kc, "bench", { addresses: ["10.210.0.0/24"] });
    await applyMetallb(kc, "BGPAdvertisement", "bench", { ipAddressPools: ["bench"] });
    if (noBfd) {
      // The lab's BGPPeer without its BFD profile (the router keeps BFD configured: it never comes up, and FRR does
      // not hold a session down for a BFD session that never was up).
      const r = await kubeRequest(
        kc,
        "PATCH",
        `/apis/metallb.io/v1beta2/namespaces/${METALLB_NS}/bgppeers/router`,
        { spec: { bfdProfile: null } },
        "application/merge-patch+json",
      );
      if (r.status >= 300) throw new Error(`patching the BGPPeer: ${r.status}`);
    }
    await createService(kc, "bench", "web");
    await createEndpointSlice(kc, "bench", "web", [NODE]);
    const ip = (await waitForIPs(kc, "bench", "web")).ips[0] ?? "";
    const prefix = `${ip}/32`;
    const routeAtRouter = async (): Promise<boolean> => {
      const t = await router.vtyshJson<{ routes?: Record<string, Array<{ valid?: boolean; peerId?: string }>> }>("show ip bgp json");
      return (t.routes?.[prefix] ?? []).some((p) => p.valid === true && p.peerId === node.ipv4);
    };
    const sessionUp = async (): Promise<boolean> =>
      (await router.vtyshJson<Record<string, { bgpState?: string }>>("show bgp neighbors json"))[node.ipv4]?.bgpState === "Established";
    const restored = async (): Promise<boolean> => {
      const r = await lab.exec(NODE, "vtysh", ["--vty_socket", runDir, "--config_dir", confDir, "-c", "show running-config"], { allowFail: true });
      return r.code === 0 && r.stdout.includes(`network ${prefix}`);
    };
    await waitFor("route at the router", async () => ((await routeAtRouter()) ? true : undefined), 60_000, 100);
    await sleep(2_000);

    const samples: Sample[] = [];
    for (let i = 0; i < runs; i++) {
      const cpu0 = cpuSeconds(speaker.pid);
      // The container has its own pid namespace: its bgpd.pid holds bgpd's pid in there, not on the host.
      const bgpdPid = fc !== undefined ? fc.daemonPid("bgpd") : readPidFile(join(runDir, "bgpd.pid"));
      if (bgpdPid === undefined) throw new Error("no bgpd pid");
      let t0: number;
      let tStart: number;
      // frr mode: the session is watched from the container's (re)start, not only once its probe passed: the probe
      // (podman exec of `frr-start probe`, polled every 250 ms) can pass after the session is already up, and then
      // "from start" measured the probe, not FRR (the one 2.2 s of an earlier run).
      let sessionFromStart: Promise<number> | undefined;
      if (fc !== undefined) {
        process.kill(bgpdPid, "SIGKILL");
        await fc.waitExit(15_000);
        await waitFor("route withdrawn at the router", async () => ((await routeAtRouter()) ? undefined : true), 30_000, 50);
        await waitFor("session down at the router", async () => ((await sessionUp()) ? undefined : true), 30_000, 50);
        tStart = Date.now();
        const started = tStart;
        sessionFromStart = waitFor("session Established (from start)", async () => ((await sessionUp()) ? Date.now() - started : undefined), 60_000, 25);
        await fc.start();
        t0 = Date.now();
      } else {
        tStart = Date.now();
        await lab.frr(NODE).restartDaemon("bgpd");
        t0 = Date.now();
      }
      // Polled concurrently: each figure is when its own condition was first seen.
      const at = (what: string, probe: () => Promise<boolean>): Promise<number> =>
        waitFor(what, async () => ((await probe()) ? Date.now() - t0 : undefined), 60_000, 25);
      const [restoredMs, sessionMs, routeMs] = await Promise.all([
        at("configuration restored", restored),
        at("session Established", sessionUp),
        at("route back at the router", routeAtRouter),
      ]);
      const sample = {
        sessionFromStartMs: sessionFromStart !== undefined ? await sessionFromStart : sessionMs + (t0 - tStart),
        startToProbeMs: t0 - tStart,
        restoredMs,
        sessionMs,
        routeMs,
        speakerCpuS: Math.round((cpuSeconds(speaker.pid) - cpu0) * 100) / 100,
      };
      samples.push(sample);
      process.stderr.write(`run ${i + 1}/${runs}: ${JSON.stringify(sample)}\n`);
      await sleep(2_000);
    }
    process.stdout.write(
      JSON.stringify({
        mode,
        runs,
        bfd: !noBfd,
        sessionFromStartMs: summary(samples.map((s) => s.sessionFromStartMs)),
        startToProbeMs: summary(samples.map((s) => s.startToProbeMs)),
        restoredMs: summary(samples.map((s) => s.restoredMs)),
        sessionMs: summary(samples.map((s) => s.sessionMs)),
        routeMs: summary(samples.map((s) => s.routeMs)),
        speakerCpuS: summary(samples.map((s) => s.speakerCpuS)),
        samples,
      }) + "\n",
    );
  } finally {
    // --logs DIR: keep the router's and the node's FRR logs and the speaker's log (timelines of a run).
    const logs = process.argv.indexOf("--logs") >= 0 ? arg("logs", "") : "";
    if (logs !== "") {
      mkdirSync(logs, { recursive: true });
      const files = [join(bgp.lab.dir, "frr-router", "frr.log"), join(bgp.cp.dir, `speaker-${NODE}.log`), join(bgp.lab.dir, `frr-${NODE}`, "frr.log")];
      for (const f of files) if (existsSync(f)) copyFileSync(f, join(logs, f.split("/").slice(-2).join("-")));
    }
    await bgp.stop();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
