// A network lab of network namespaces: one "switch" namespace holding a bridge, and one namespace per host (router,
// nodes, client) whose eth0 is a veth plugged into that bridge. All traffic stays inside these namespaces.
//
// Namespace names are `mlt-<owner pid>-<random>-<host>`, unique per run; a run whose owner process is dead is
// cleaned up (daemons killed, namespaces and directories removed) by cleanupStaleLabs() at the next start.
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { addExitHook, runSyncQuiet } from "./exit-hooks.js";
import { FrrInstance, type FrrDaemon } from "./frr.js";
import { isAlive, listDir, ownerPidOf, run, runId, type RunResult } from "./proc.js";

export const LAB_PREFIX = "mlt";
const LAB_DIR_PREFIX = "metallb-ts-lab";

export interface LabHostSpec {
  name: string;
  /** Host number on the LAN: IPv4 <v4Prefix>.<index>, IPv6 <v6Prefix>::<index hex>, MAC 02:11:00:00:00:<index hex>. */
  index: number;
}

export interface LabHost {
  name: string;
  netns: string;
  iface: "eth0";
  ipv4: string;
  ipv6: string;
  mac: string;
}

export interface NetLabOptions {
  /** First three octets of the LAN, default "10.111.0". */
  v4Prefix?: string;
  /** The /64 of the LAN without the trailing "::", default "fd00:111". */
  v6Prefix?: string;
  log?: (line: string) => void;
}

export class NetLab {
  private readonly frrs = new Map<string, FrrInstance>();
  private removeExitHook: () => void;
  private destroyed = false;

  private constructor(
    readonly id: string,
    readonly dir: string,
    readonly switchNs: string,
    private readonly hostsByName: ReadonlyMap<string, LabHost>,
  ) {
    this.removeExitHook = addExitHook(() => this.destroySync());
  }

  get hosts(): LabHost[] {
    return [...this.hostsByName.values()];
  }

  host(name: string): LabHost {
    const h = this.hostsByName.get(name);
    if (h === undefined) throw new Error(`no host ${name} in lab ${this.id}`);
    return h;
  }

  static async create(specs: readonly LabHostSpec[], opts: NetLabOptions = {}): Promise<NetLab> {
    // A crashed run's leftovers are cleaned at the next start.
    await cleanupStaleLabs(opts.log);
    const v4 = opts.v4Prefix ?? "10.111.0";
    const v6 = opts.v6Prefix ?? "fd00:111";
    const id = `${LAB_PREFIX}-${runId()}`;
    const dir = join(tmpdir(), `${LAB_DIR_PREFIX}-${id.slice(LAB_PREFIX.length + 1)}`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const hosts = new Map<string, LabHost>();
    for (const s of specs) {
      if (!/^[a-z][a-z0-9]{0,14}$/.test(s.name)) throw new Error(`lab host name ${JSON.stringify(s.name)} must be [a-z][a-z0-9]{0,14}`);
      if (s.index < 1 || s.index > 254) throw new Error(`lab host ${s.name}: index must be 1..254`);
      const hex = s.index.toString(16).padStart(2, "0");
      hosts.set(s.name, {
        name: s.name,
        netns: `${id}-${s.name}`,
        iface: "eth0",
        ipv4: `${v4}.${s.index}`,
        ipv6: `${v6}::${s.index.toString(16)}`,
        mac: `02:11:00:00:00:${hex}`,
      });
    }
    const lab = new NetLab(id, dir, `${id}-sw`, hosts);
    try {
      await lab.build();
    } catch (e) {
      await lab.destroy();
      throw new Error(`building network lab ${id}`, { cause: e });
    }
    opts.log?.(`lab ${id}: ${specs.map((s) => s.name).join(", ")}`);
    return lab;
  }

  private async build(): Promise<void> {
    const sw = this.switchNs;
    await run("ip", ["netns", "add", sw]);
    await run("ip", ["-n", sw, "link", "add", "br0", "type", "bridge"]);
    // No STP delay, and flood multicast (NDP to solicited-node groups has no MLD report behind it).
    await run("ip", ["-n", sw, "link", "set", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0", "mcast_snooping", "0"]);
    await run("ip", ["-n", sw, "link", "set", "br0", "up"]);
    for (const h of this.hostsByName.values()) {
      await run("ip", ["netns", "add", h.netns]);
      // veth created in place: the switch end is named after the host, the host end is eth0.
      await run("ip", ["link", "add", h.name, "netns", sw, "type", "veth", "peer", "name", "eth0", "netns", h.netns]);
      await run("ip", ["-n", sw, "link", "set", h.name, "master", "br0", "up"]);
      await run("ip", ["-n", h.netns, "link", "set", "eth0", "address", h.mac]);
      await this.exec(h.name, "sysctl", [
        "-qw",
        "net.ipv6.conf.all.accept_dad=0",
        "net.ipv6.conf.default.accept_dad=0",
        "net.ipv6.conf.eth0.accept_dad=0",
        "net.ipv6.conf.all.keep_addr_on_down=1",
        "net.ipv6.conf.eth0.keep_addr_on_down=1",
      ]);
      await run("ip", ["-n", h.netns, "addr", "add", `${h.ipv4}/24`, "dev", "eth0"]);
      await run("ip", ["-n", h.netns, "addr", "add", `${h.ipv6}/64`, "dev", "eth0", "nodad"]);
      await run("ip", ["-n", h.netns, "link", "set", "lo", "up"]);
      await run("ip", ["-n", h.netns, "link", "set", "eth0", "up"]);
    }
  }

  /** Runs a command inside a host's namespace. */
  exec(host: string, cmd: string, args: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return run("ip", ["netns", "exec", this.host(host).netns, cmd, ...args], opts);
  }

  /** Lets a host route between its interfaces (a router). */
  async enableForwarding(host: string): Promise<void> {
    await this.exec(host, "sysctl", ["-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv4.fib_multipath_hash_policy=1"]);
  }

  /** Starts an FRR instance in a host's namespace with the given frr.conf. */
  async startFrr(host: string, config: string, daemons?: readonly FrrDaemon[]): Promise<FrrInstance> {
    if (this.frrs.has(host)) throw new Error(`FRR already runs on ${host}`);
    const inst = await FrrInstance.start({
      netns: this.host(host).netns,
      dir: join(this.dir, `frr-${host}`),
      config,
      ...(daemons !== undefined ? { daemons } : {}),
    });
    this.frrs.set(host, inst);
    return inst;
  }

  frr(host: string): FrrInstance {
    const f = this.frrs.get(host);
    if (f === undefined) throw new Error(`no FRR on ${host}`);
    return f;
  }

  /** Pulls (or plugs back) a host's cable at the switch. */
  async setCable(host: string, up: boolean): Promise<void> {
    await run("ip", ["-n", this.switchNs, "link", "set", this.host(host).name, up ? "up" : "down"]);
  }

  /** Stops every FRR, kills anything left in the namespaces, deletes them and the lab directory. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.frrs.values()].map((f) => f.stop()));
    this.frrs.clear();
    for (const ns of [...[...this.hostsByName.values()].map((h) => h.netns), this.switchNs]) {
      await deleteNamespace(ns);
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.removeExitHook();
  }

  private destroySync(): void {
    for (const ns of [...[...this.hostsByName.values()].map((h) => h.netns), this.switchNs]) deleteNamespaceSync(ns);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  const pids = await run("ip", ["netns", "pids", ns], { allowFail: true });
  for (const pid of pids.stdout.split(/\s+/).filter((p) => p !== "")) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  await run("ip", ["netns", "del", ns], { allowFail: true });
}

function deleteNamespaceSync(ns: string): void {
  for (const pid of runSyncQuiet("ip", ["netns", "pids", ns])
    .split(/\s+/)
    .filter((p) => p !== "")) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      /* gone */
    }
  }
  runSyncQuiet("ip", ["netns", "del", ns]);
}

/** Names of all lab namespaces on this machine. */
export async function labNamespaces(): Promise<string[]> {
  const out = await run("ip", ["netns", "list"], { allowFail: true });
  return out.stdout
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${LAB_PREFIX}-`));
}

/** Removes namespaces, daemons and directories of labs whose owner process is gone (crashed runs). */
export async function cleanupStaleLabs(log: (line: string) => void = () => undefined): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await labNamespaces()) {
    const owner = ownerPidOf(ns, LAB_PREFIX);
    if (owner !== undefined && isAlive(owner)) continue;
    await deleteNamespace(ns);
    removed.push(ns);
  }
  for (const name of listDir(tmpdir())) {
    const owner = ownerPidOf(name, LAB_DIR_PREFIX);
    if (owner === undefined || isAlive(owner)) continue;
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  if (removed.length > 0) log(`removed ${removed.length} namespaces of crashed runs: ${removed.join(", ")}`);
  return removed;
}
