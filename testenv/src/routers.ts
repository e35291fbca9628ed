// Upstream routers of the BGP tests as containers (testcontainers over podman, image lab-router: Debian's FRR, BIRD 2
// and GoBGP), run in a lab host's network namespace, the way MetalLB's e2e runs FRR and BIRD routers. Each kind is
// configured for the same peering (every node over IPv4 and IPv6, password, 3/9 s timers, BFD 100 ms × 3 where the
// router has BFD) and read back through one interface: sessions, the paths it received for a prefix with their
// communities, large communities and LOCAL_PREF, and BFD sessions. The tools that read them run on the host against
// the container's sockets (vtysh, birdc in the bind-mounted directory; gobgp's gRPC port inside the namespace): no
// `podman exec` per poll.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IMAGES, LabContainer } from "./containers.js";
import type { NetLab } from "./netlab.js";
import { run } from "./proc.js";

export type RouterKind = "frr" | "bird" | "gobgp";
export const ROUTER_KINDS: readonly RouterKind[] = ["frr", "bird", "gobgp"];

export interface RouterPeer {
  /** The node's address (IPv4 or IPv6): one session per address. */
  address: string;
  asn: number;
}

export interface RouterSpec {
  kind: RouterKind;
  lab: NetLab;
  /** The lab host whose namespace the router joins. */
  host: string;
  asn: number;
  peers: readonly RouterPeer[];
  password?: string;
}

/** One path the router received. */
export interface RouterPath {
  /** The session's peer address. */
  peer: string;
  nextHop: string;
  communities: string[];
  largeCommunities: string[];
  localPref: number | undefined;
}

export interface UpstreamRouter {
  readonly kind: RouterKind;
  readonly supportsBfd: boolean;
  readonly container: LabContainer;
  /** Peer address -> the session is Established. */
  sessions(): Promise<Map<string, boolean>>;
  /** The paths received for a prefix (a.b.c.d/32 or an IPv6 /128), sorted by peer. */
  paths(prefix: string): Promise<RouterPath[]>;
  /** Peer address -> the BFD session is up (empty for a router without BFD). */
  bfd(): Promise<Map<string, boolean>>;
  stop(): Promise<void>;
}

const isV6 = (a: string): boolean => a.includes(":");
const byPeer = (a: RouterPath, b: RouterPath): number => a.peer.localeCompare(b.peer);

export async function startRouter(spec: RouterSpec): Promise<UpstreamRouter> {
  const dir = join(spec.lab.dir, `router-${spec.kind}`);
  mkdirSync(join(dir, "run"), { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(join(dir, "run"), 0o777);
  const netns = spec.lab.host(spec.host).netns;
  const name = `${netns}-${spec.kind}`;
  const common = { image: IMAGES.labRouter, netns, name, binds: [{ source: dir, target: "/lab" }] };
  switch (spec.kind) {
    case "frr": {
      writeFileSync(join(dir, "frr.conf"), frrConfig(spec));
      writeFileSync(join(dir, "vtysh.conf"), "service integrated-vtysh-config\n");
      const c = await LabContainer.start({ ...common, command: ["frr-router"], capAdd: ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE", "SYS_ADMIN"] });
      return new FrrRouter(c, dir);
    }
    case "bird": {
      writeFileSync(join(dir, "bird.conf"), birdConfig(spec));
      const c = await LabContainer.start({
        ...common,
        command: ["bird", "-f", "-c", "/lab/bird.conf", "-s", "/lab/run/bird.ctl"],
        capAdd: ["NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"],
      });
      return new BirdRouter(c, dir, new Map(spec.peers.map((p) => [birdName(p.address), p.address])));
    }
    case "gobgp": {
      writeFileSync(join(dir, "gobgpd.toml"), gobgpConfig(spec));
      const c = await LabContainer.start({
        ...common,
        command: ["gobgpd", "-f", "/lab/gobgpd.toml", "-t", "toml", "--api-hosts", "127.0.0.1:50051", "--log-plain"],
        capAdd: ["NET_BIND_SERVICE", "NET_RAW"],
      });
      return new GobgpRouter(c, netns);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// FRR

export function frrConfig(spec: RouterSpec): string {
  const routerId = spec.lab.host(spec.host).ipv4;
  const lines = [
    "frr defaults traditional",
    "hostname router",
    "log stdout informational",
    "bfd",
    " profile fast",
    "  receive-interval 100",
    "  transmit-interval 100",
    " exit",
    "exit",
  ];
  lines.push(`router bgp ${spec.asn}`, ` bgp router-id ${routerId}`, " no bgp ebgp-requires-policy", " no bgp default ipv4-unicast");
  for (const p of spec.peers) {
    lines.push(` neighbor ${p.address} remote-as ${p.asn}`, ` neighbor ${p.address} timers 3 9`, ` neighbor ${p.address} timers connect 1`);
    lines.push(` neighbor ${p.address} bfd profile fast`);
    if (spec.password !== undefined) lines.push(` neighbor ${p.address} password ${spec.password}`);
  }
  for (const family of ["ipv4", "ipv6"] as const) {
    lines.push(` address-family ${family} unicast`);
    for (const p of spec.peers.filter((x) => isV6(x.address) === (family === "ipv6"))) lines.push(`  neighbor ${p.address} activate`);
    const ibgp = spec.peers.some((p) => p.asn === spec.asn);
    lines.push(ibgp ? "  maximum-paths ibgp 8" : "  maximum-paths 8", " exit-address-family");
  }
  lines.push("exit", "");
  return lines.join("\n");
}

interface FrrPathJson {
  valid?: boolean;
  peer?: { peerId?: string };
  nexthops?: Array<{ ip?: string; afi?: string; scope?: string }>;
  community?: { list?: string[] };
  largeCommunity?: { list?: string[] };
  locPrf?: number;
}

class FrrRouter implements UpstreamRouter {
  readonly kind = "frr";
  readonly supportsBfd = true;
  constructor(
    readonly container: LabContainer,
    private readonly dir: string,
  ) {}

  private async vtyshJson<T>(command: string): Promise<T> {
    const r = await run("vtysh", ["--vty_socket", join(this.dir, "run"), "--config_dir", this.dir, "-c", command]);
    return JSON.parse(r.stdout) as T;
  }

  async sessions(): Promise<Map<string, boolean>> {
    const all = await this.vtyshJson<Record<string, { bgpState?: string }>>("show bgp neighbors json");
    return new Map(Object.entries(all).map(([ip, n]) => [ip, n.bgpState === "Established"]));
  }

  async paths(prefix: string): Promise<RouterPath[]> {
    const family = isV6(prefix) ? "ipv6" : "ipv4";
    const detail = await this.vtyshJson<{ paths?: FrrPathJson[] }>(`show bgp ${family} unicast ${prefix} json`);
    return (detail.paths ?? [])
      .filter((p) => p.valid === true)
      .map((p) => ({
        peer: p.peer?.peerId ?? "",
        nextHop: (p.nexthops ?? []).find((n) => n.scope !== "link-local")?.ip ?? "",
        communities: p.community?.list ?? [],
        largeCommunities: p.largeCommunity?.list ?? [],
        localPref: p.locPrf,
      }))
      .sort(byPeer);
  }

  async bfd(): Promise<Map<string, boolean>> {
    const peers = await this.vtyshJson<Array<{ peer: string; status: string }>>("show bfd peers json");
    return new Map(peers.map((p) => [p.peer, p.status === "up"]));
  }

  async stop(): Promise<void> {
    await this.container.stop(2);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// BIRD 2

const birdName = (address: string): string => `n_${address.replace(/[.:]/g, "_")}`;

export function birdConfig(spec: RouterSpec): string {
  const lines = [
    `router id ${spec.lab.host(spec.host).ipv4};`,
    "log stderr all;",
    "protocol device { scan time 10; }",
    'protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }',
    "template bgp node {",
    `  local as ${spec.asn};`,
    "  hold time 9; keepalive time 3; connect retry time 1; connect delay time 1;",
    // After a refused or failed attempt (the node's FRR not configured yet) BIRD waits 60-300 s by default.
    "  error wait time 1, 5;",
    // The nodes are on the LAN: next hops resolve directly (iBGP would otherwise want them in an IGP table).
    "  direct;",
    "  bfd on;",
    ...(spec.password !== undefined ? [`  password "${spec.password}";`] : []),
    "}",
  ];
  for (const p of spec.peers) {
    const family = isV6(p.address) ? "ipv6" : "ipv4";
    // MetalLB's peers and ours: add-paths off, accept everything, send nothing.
    lines.push(`protocol bgp ${birdName(p.address)} from node { neighbor ${p.address} as ${p.asn}; ${family} { import all; export none; }; }`);
  }
  return lines.join("\n") + "\n";
}

class BirdRouter implements UpstreamRouter {
  readonly kind = "bird";
  readonly supportsBfd = true;
  constructor(
    readonly container: LabContainer,
    private readonly dir: string,
    /** BGP protocol name -> peer address. */
    private readonly protocols: ReadonlyMap<string, string>,
  ) {}

  private async birdc(...args: string[]): Promise<string> {
    // birdc exits 1 on a query without result ("Network not found"): that is an empty answer, not an error.
    const r = await run("birdc", ["-s", join(this.dir, "run", "bird.ctl"), ...args], { allowFail: true });
    if (r.code !== 0 && !/Network not found/.test(r.stdout)) throw new Error(`birdc ${args.join(" ")} exited ${r.code}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  async sessions(): Promise<Map<string, boolean>> {
    // "NAME BGP --- up SINCE Established" per protocol; the names are ours (birdName), one per peer.
    const out = await this.birdc("show", "protocols");
    const m = new Map<string, boolean>();
    for (const line of out.split("\n")) {
      const f = line.trim().split(/\s+/);
      const peer = this.protocols.get(f[0] ?? "");
      if (peer !== undefined) m.set(peer, f[1] === "BGP" && f.includes("Established"));
    }
    return m;
  }

  async paths(prefix: string): Promise<RouterPath[]> {
    const out = await this.birdc("show", "route", "for", prefix, "all");
    return parseBirdRoutes(out, this.protocols).sort(byPeer);
  }

  async bfd(): Promise<Map<string, boolean>> {
    const out = await this.birdc("show", "bfd", "sessions");
    const m = new Map<string, boolean>();
    for (const line of out.split("\n")) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 3 && /^[0-9a-f.:]+$/i.test(f[0] ?? "") && (f[0] ?? "").length > 2) m.set(f[0] ?? "", f[2] === "Up");
    }
    return m;
  }

  async stop(): Promise<void> {
    await this.container.stop(2);
  }
}

/**
 * Parses `birdc show route for PREFIX all`: one path per route line ("unicast [PROTOCOL since] ..."), its peer
 * found from the protocol's name (`protocols`: name -> peer address), then its "via" and BGP attributes.
 */
export function parseBirdRoutes(out: string, protocols: ReadonlyMap<string, string>): RouterPath[] {
  const paths: RouterPath[] = [];
  let cur: RouterPath | undefined;
  for (const line of out.split("\n")) {
    const route = /\bunicast \[(\S+)/.exec(line);
    if (route !== null) {
      cur = { peer: protocols.get(route[1] ?? "") ?? route[1] ?? "", nextHop: "", communities: [], largeCommunities: [], localPref: undefined };
      paths.push(cur);
      continue;
    }
    if (cur === undefined) continue;
    const via = /^\s+via\s+(\S+)/.exec(line);
    if (via !== null && cur.nextHop === "") cur.nextHop = via[1] ?? "";
    const attr = /^\s+BGP\.(\w+):\s*(.*)$/.exec(line);
    if (attr === null) continue;
    const [, key, value = ""] = attr;
    if (key === "next_hop") cur.nextHop = value.split(/\s+/)[0] ?? cur.nextHop;
    if (key === "local_pref") cur.localPref = Number(value);
    if (key === "community") cur.communities = [...value.matchAll(/\((\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}`);
    if (key === "large_community") cur.largeCommunities = [...value.matchAll(/\((\d+),\s*(\d+),\s*(\d+)\)/g)].map((m) => `${m[1]}:${m[2]}:${m[3]}`);
  }
  return paths;
}

// ---------------------------------------------------------------------------------------------------------------
// GoBGP (no BFD)

export function gobgpConfig(spec: RouterSpec): string {
  const lines = ["[global.config]", `  as = ${spec.asn}`, `  router-id = "${spec.lab.host(spec.host).ipv4}"`, "  port = 179", ""];
  for (const p of spec.peers) {
    lines.push(
      "[[neighbors]]",
      "  [neighbors.config]",
      `    neighbor-address = "${p.address}"`,
      `    peer-as = ${p.asn}`,
      ...(spec.password !== undefined ? [`    auth-password = "${spec.password}"`] : []),
      "  [neighbors.timers.config]",
      "    hold-time = 9",
      "    keepalive-interval = 3",
      "    connect-retry = 1",
      "  [[neighbors.afi-safis]]",
      "    [neighbors.afi-safis.config]",
      `      afi-safi-name = "${isV6(p.address) ? "ipv6-unicast" : "ipv4-unicast"}"`,
      "",
    );
  }
  return lines.join("\n");
}

interface GobgpAttr {
  type: number;
  value?: unknown;
  nexthop?: string;
  communities?: number[];
}
interface GobgpPath {
  attrs?: GobgpAttr[];
  "neighbor-ip"?: string;
}

class GobgpRouter implements UpstreamRouter {
  readonly kind = "gobgp";
  readonly supportsBfd = false;
  constructor(
    readonly container: LabContainer,
    private readonly netns: string,
  ) {}

  private async gobgp<T>(...args: string[]): Promise<T> {
    const r = await run("ip", ["netns", "exec", this.netns, "gobgp", "-u", "127.0.0.1", "-p", "50051", "-j", ...args]);
    return JSON.parse(r.stdout) as T;
  }

  async sessions(): Promise<Map<string, boolean>> {
    const all = await this.gobgp<Array<{ conf?: { neighbor_address?: string }; state?: { session_state?: number | string } }>>("neighbor");
    return new Map(all.map((n) => [n.conf?.neighbor_address ?? "", n.state?.session_state === 6 || n.state?.session_state === "established"]));
  }

  async paths(prefix: string): Promise<RouterPath[]> {
    const rib = await this.gobgp<Record<string, GobgpPath[]>>("global", "rib", "-a", isV6(prefix) ? "ipv6" : "ipv4", prefix);
    return (rib[prefix] ?? []).map((p) => gobgpPath(p)).sort(byPeer);
  }

  bfd(): Promise<Map<string, boolean>> {
    return Promise.resolve(new Map<string, boolean>());
  }

  async stop(): Promise<void> {
    await this.container.stop(2);
  }
}

function gobgpPath(p: GobgpPath): RouterPath {
  const attrs = p.attrs ?? [];
  const attr = (type: number): GobgpAttr | undefined => attrs.find((a) => a.type === type);
  // Each large community is an object of three numbers (global admin, local data 1 and 2), in that order.
  const large = (attr(32)?.value ?? []) as Array<Record<string, number>>;
  const lp = attr(5)?.value;
  return {
    peer: p["neighbor-ip"] ?? "",
    nextHop: attr(3)?.nexthop ?? attr(14)?.nexthop ?? "",
    communities: (attr(8)?.communities ?? []).map((c) => `${Math.floor(c / 65536)}:${c % 65536}`),
    largeCommunities: large.map((l) => Object.values(l).join(":")),
    localPref: typeof lp === "number" ? lp : undefined,
  };
}
