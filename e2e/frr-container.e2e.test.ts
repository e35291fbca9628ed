// The speaker Pod's two containers (config/speaker/speaker-frr.yaml) in a node's network namespace, wired as the
// DaemonSet wires them: the FRR container is the real speaker image run by testcontainers over podman with the
// manifest's command (frr-start), directories bind-mounted as the emptyDirs it shares with the speaker (/etc/frr,
// /var/run/frr) and as /var/tmp/frr, the startup ConfigMap's `daemons` and `vtysh.conf` at /etc/frr-startup, and
// the manifest's capabilities, supplementary group frrvty (101) and no_new_privs; the speaker is a process confined
// as its container (setpriv), with --frr-dir/--frr-config on the shared directories. The lab: the real apiserver,
// the operator and an upstream FRR router (startBgpLab with nodeFrr "frr-start"). The ConfigMap's bgpd runs with
// -p 0 (no listener), so the node connects out to the router.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import { createEndpointSlice, createService, METALLB_NS, waitForIPs, appsWithAdvertisedPublicPool } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { startBgpLab, type BgpLab } from "../testenv/src/bgp-lab.js";
import type { LabHost, NetLab } from "../testenv/src/netlab.js";
import { isAlive, listDir, waitFor } from "../testenv/src/proc.js";
import type { FrrContainer } from "../testenv/src/frr-container.js";
import type { SpeakerProcess } from "../testenv/src/speaker-process.js";

const NODE = "node1";
const DAEMONS = ["zebra", "bgpd", "bfdd"] as const;

interface NeighborJson {
  bgpState?: string;
  portLocal?: number;
  portForeign?: number;
}
interface BgpTableJson {
  routes: Record<string, Array<{ valid?: boolean; peerId: string; nexthops?: Array<{ ip: string }> }>>;
}
interface BgpStatusJson {
  result?: string;
}

/** Linux capability numbers (linux/capability.h) of the names the manifest may use. */
const CAP_BITS: Record<string, number> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_ADMIN: 21,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
};

function capMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const bit = CAP_BITS[n];
    if (bit === undefined) throw new Error(`capability ${n}: add its number to CAP_BITS`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** Effective capabilities and supplementary groups of a process, from /proc. */
function credentials(pid: number): { capEff: bigint; groups: number[] } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const capEff = BigInt(`0x${/^CapEff:\s+([0-9a-f]+)$/m.exec(status)?.[1] ?? "ffffffffffffffff"}`);
  const groups = (/^Groups:\s*(.*)$/m.exec(status)?.[1] ?? "")
    .split(/\s+/)
    .filter((g) => g !== "")
    .map(Number);
  return { capEff, groups };
}

const cmdline = (pid: number): string[] =>
  readFileSync(`/proc/${pid}/cmdline`, "utf8")
    .split("\0")
    .filter((a) => a !== "");
const parentPid = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);

describe("speaker Pod: the speaker image's FRR container and the speaker in a node namespace", () => {
  let bgp: BgpLab;
  let kc: k8s.KubeConfig;
  let lab: NetLab;
  let frr: FrrContainer;
  let speaker: SpeakerProcess;
  let node: LabHost;
  let prefix = "";

  const neighbor = async (): Promise<NeighborJson | undefined> =>
    (await lab.frr("router").vtyshJson<Record<string, NeighborJson>>("show bgp neighbors json"))[node.ipv4];
  /** The router's valid paths for a prefix: who sent it, with which next hop. */
  const routerPaths = async (p: string): Promise<Array<{ peer: string; nexthop: string | undefined }>> => {
    const t = await lab.frr("router").vtyshJson<BgpTableJson>("show ip bgp json");
    return (t.routes[p] ?? []).filter((x) => x.valid === true).map((x) => ({ peer: x.peerId, nexthop: x.nexthops?.[0]?.ip }));
  };
  const waitForRoute = (what: string): Promise<unknown> =>
    waitFor(
      what,
      async () => {
        const paths = await routerPaths(prefix);
        return paths.length === 1 && paths[0]?.peer === node.ipv4 && paths[0].nexthop === node.ipv4 ? paths : undefined;
      },
      30_000,
      100,
    );
  const waitForNoRoute = (what: string): Promise<unknown> =>
    waitFor(what, async () => ((await routerPaths(prefix)).length === 0 ? true : undefined), 30_000, 100);
  const nodeBgpStatus = async (): Promise<BgpStatusJson | undefined> => {
    const res = await kubeRequest(kc, "GET", `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}/nodeconfigs/${NODE}`);
    return (res.body as { status?: { bgp?: BgpStatusJson } }).status?.bgp;
  };
  const daemonPids = (): Record<(typeof DAEMONS)[number], number> => {
    const pids = Object.fromEntries(DAEMONS.map((d) => [d, frr.daemonPid(d) ?? -1])) as Record<(typeof DAEMONS)[number], number>;
    for (const d of DAEMONS) expect([d, isAlive(pids[d])]).toEqual([d, true]);
    return pids;
  };

  beforeAll(async () => {
    bgp = await startBgpLab({ nodes: [NODE], speakerProcesses: true, nodeFrr: "frr-start" });
    kc = bgp.kc;
    lab = bgp.lab;
    node = lab.host(NODE);
    const fc = bgp.frrContainers.get(NODE);
    const sp = bgp.processes.get(NODE);
    if (fc === undefined || sp === undefined) throw new Error("the lab has no FRR container or speaker on node1");
    frr = fc;
    speaker = sp;
    await appsWithAdvertisedPublicPool(kc);
  }, 240_000);

  afterAll(async () => {
    if (process.env.E2E_DUMP_LOGS === "1" && bgp !== undefined) {
      process.stderr.write(`==> FRR container\n${(await frr?.logs()) ?? ""}\n`);
      const f = join(bgp.cp.dir, `speaker-${NODE}.log`);
      process.stderr.write(`==> ${f}\n${readFileSync(f, "utf8")}\n`);
    }
    await bgp?.stop();
  });

  test("frr-start installs the ConfigMap's files and supervises zebra, bgpd and bfdd with its options, confined as the container", async () => {
    for (const f of ["daemons", "vtysh.conf"]) expect(readFileSync(join(frr.confDir, f), "utf8")).toBe(frr.pod.startupFiles[f]);
    const pids = daemonPids();
    const daemonsFile = frr.pod.startupFiles.daemons ?? "";
    for (const d of DAEMONS) {
      // In the foreground, children of frr-start (no -d, no watchfrr).
      expect([d, parentPid(pids[d])]).toEqual([d, frr.pid]);
      const options = (new RegExp(`^${d}_options="(.*)"$`, "m").exec(daemonsFile)?.[1] ?? "").split(/\s+/).filter((o) => o !== "");
      expect(options.length).toBeGreaterThan(0);
      const args = cmdline(pids[d]);
      expect([d, args.slice(args.length - options.length)]).toEqual([d, options]);
    }
    expect(cmdline(pids.bgpd).join(" ")).toContain("-p 0");
    // bgpd -p 0: nothing listens on the BGP port in the node's namespace.
    const listeners = await lab.exec(NODE, "ss", ["-Hltn", "sport = :179"]);
    expect(listeners.stdout.trim()).toBe("");

    // Both containers confined as the manifest says: only the added capabilities, group frrvty (the image's 101).
    const frrvty = frr.pod.frr.groups;
    expect(frrvty.length).toBe(1);
    const frrStart = credentials(frr.pid ?? -1);
    expect(frrStart.capEff).toBe(capMask(frr.pod.frr.capabilities));
    expect(frrStart.capEff & capMask(["DAC_OVERRIDE"])).toBe(0n);
    // The runtime adds the image user's own groups (root: 0, and frrvty, which Dockerfile.speaker lists root in),
    // as containerd does for a Pod: nothing but those and the Pod's supplementalGroups.
    expect(frrStart.groups.filter((g) => g !== 0)).toEqual(frrvty);
    const sp = credentials(speaker.pid ?? -1);
    expect(sp.capEff).toBe(capMask(frr.pod.speaker.capabilities));
    expect(sp.capEff).toBe(capMask(["NET_RAW", "NET_ADMIN"]));
    expect(sp.groups).toEqual(frrvty);

    // The daemons' crash-log directories went to the /var/tmp/frr emptyDir, named with their pids in the container.
    const tmpEntries = listDir(frr.varTmpFrrDir);
    for (const d of DAEMONS) expect(tmpEntries).toContain(`${d}.${frr.daemonPidInContainer(d) ?? -1}`);
    // The container's livenessProbe.
    expect(await frr.probe()).toBe(true);
  });

  test("the BGP session between the node and the router comes up, opened by the node, with BFD", async () => {
    const n = await waitFor(
      "the router's session to node1 Established",
      async () => {
        const x = await neighbor();
        return x?.bgpState === "Established" ? x : undefined;
      },
      30_000,
      100,
    );
    // The router's end is port 179: it accepted the node's connection (the node's bgpd does not listen).
    expect(n.portLocal).toBe(179);
    expect(n.portForeign).not.toBe(179);
    // The daemons log to frr-start's stdout, the container's log, as the speaker's frr.conf says (`log stdout`,
    // millisecond timestamps).
    await waitFor("bgpd's lines in the container's log", async () => (/^\S+ [\d:]+\.\d{3} BGP: /m.test(await frr.logs()) ? true : undefined), 10_000, 100);
    await waitFor(
      "BFD up with node1",
      async () => {
        const peers = await lab.frr("router").vtyshJson<Array<{ peer: string; status: string }>>("show bfd peers json");
        return peers.some((p) => p.peer === node.ipv4 && p.status === "up") ? true : undefined;
      },
      30_000,
      100,
    );
  });

  test("a LoadBalancer Service's /32 reaches the router's BGP table with the node as next hop", async () => {
    await createService(kc, "apps", "web");
    await createEndpointSlice(kc, "apps", "web", [NODE]);
    const { ips } = await waitForIPs(kc, "apps", "web");
    prefix = `${ips[0] ?? ""}/32`;
    expect(prefix).toMatch(/^10\.200\.0\.\d+\/32$/);
    await waitForRoute("the Service's /32 via node1 on the router");
    // frr.conf was written by the speaker into the shared /etc/frr.
    expect(readFileSync(join(frr.confDir, "frr.conf"), "utf8")).toContain(`network ${prefix}`);
  });

  test("bgpd killed: frr-start stops the others and exits non-zero; started again, the speaker re-applies and the route comes back", async () => {
    const pids = daemonPids();
    process.kill(pids.bgpd, "SIGKILL");
    const exit = await frr.waitExit(15_000);
    // The container's exit status is the dead daemon's (128 + SIGKILL): the kubelet restarts it.
    expect(exit).toEqual({ code: 128 + 9, signal: null });
    for (const d of DAEMONS) expect([d, isAlive(pids[d])]).toEqual([d, false]);
    expect(frr.daemonProcesses()).toEqual([]);
    await waitForNoRoute("the route withdrawn from the router");
    expect(await frr.probe()).toBe(false);

    // The kubelet's restart: the same emptyDirs (frr.conf stays), a new frr-start.
    const speakerLog = join(bgp.cp.dir, `speaker-${NODE}.log`);
    const appliesLogged = (): number => (readFileSync(speakerLog, "utf8").match(/FRR configuration applied/g) ?? []).length;
    const appliesBefore = appliesLogged();
    await frr.start();
    const again = daemonPids();
    for (const d of DAEMONS) expect(again[d]).not.toBe(pids[d]);
    await waitFor("the session Established again", async () => ((await neighbor())?.bgpState === "Established" ? true : undefined), 30_000, 100);
    await waitForRoute("the route back via node1");
    // The speaker noticed the new pid files and applied its configuration to the new FRR.
    await waitFor(
      "the speaker applied again after the restart (its log)",
      () => Promise.resolve(appliesLogged() > appliesBefore ? true : undefined),
      30_000,
      100,
    );
    const status = await waitFor(
      "NodeConfig status: Applied",
      async () => {
        const st = await nodeBgpStatus();
        return st?.result === "Applied" ? st : undefined;
      },
      30_000,
      100,
    );
    expect(status.result).toBe("Applied");
    const running = await waitFor(
      "bgpd's running configuration has the Service's network",
      async () => {
        const out = (await lab.exec(NODE, "vtysh", ["--vty_socket", frr.runDir, "--config_dir", frr.confDir, "-c", "show running-config"])).stdout;
        return out.includes(`network ${prefix}`) ? out : undefined;
      },
      10_000,
      100,
    );
    expect(running).toContain(`neighbor ${lab.host("router").ipv4} remote-as`);
  });

  test("SIGTERM: frr-start stops every daemon of its instance and exits 0", async () => {
    const pids = daemonPids();
    frr.signal("SIGTERM");
    const exit = await frr.waitExit(15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    for (const d of DAEMONS) expect([d, isAlive(pids[d])]).toEqual([d, false]);
    expect(frr.daemonProcesses()).toEqual([]);
    await waitForNoRoute("the route withdrawn after FRR stopped");
    expect((await neighbor())?.bgpState).not.toBe("Established");
  });
});
