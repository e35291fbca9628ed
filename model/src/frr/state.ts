// FRR state read back from vtysh JSON (pure): BGP sessions and BFD peers, as the speaker reports them in status and
// metrics. Accepts both `show bgp neighbors json` (keyed by neighbor) and `show bgp vrf all neighbors json` (keyed
// by VRF, each holding neighbors plus vrfId/vrfName).

export interface BgpSessionState {
  vrf: string;
  neighbor: string;
  /** `ip:port` as MetalLB labels its metrics. */
  peerLabel: string;
  state: string;
  established: boolean;
  remoteAs: number;
  uptimeMs: number;
  connectionsEstablished: number;
  connectionsDropped: number;
  sentPrefixes: number;
  receivedPrefixes: number;
  messages: {
    opensSent: number;
    opensRecv: number;
    notificationsSent: number;
    updatesSent: number;
    updatesRecv: number;
    keepalivesSent: number;
    keepalivesRecv: number;
    routeRefreshSent: number;
    totalSent: number;
    totalRecv: number;
  };
  bfdStatus: string | null;
}

export interface BfdPeerState {
  vrf: string;
  peer: string;
  status: string;
  up: boolean;
  receiveIntervalMs: number;
  transmitIntervalMs: number;
  detectMultiplier: number;
  counters: {
    controlIn: number;
    controlOut: number;
    echoIn: number;
    echoOut: number;
    sessionUp: number;
    sessionDown: number;
    zebraNotifications: number;
  } | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

function looksLikeNeighbor(v: unknown): v is Obj {
  return isObj(v) && typeof v.bgpState === "string";
}

/** The configured BGP port of each neighbor, keyed `vrf/neighbor` (VRF "default" for the default instance). */
export type NeighborPorts = ReadonlyMap<string, number>;

export const neighborPortKey = (vrf: string, neighbor: string): string => `${vrf}/${neighbor}`;

function sessionFrom(vrf: string, neighbor: string, n: Obj, ports: NeighborPorts): BgpSessionState {
  const ms = isObj(n.messageStats) ? n.messageStats : {};
  const afs = isObj(n.addressFamilyInfo) ? Object.values(n.addressFamilyInfo).filter(isObj) : [];
  // The label names the configured port (MetalLB's `peer` label), not the connection's: when the router opened the
  // TCP connection, FRR's portForeign is the router's ephemeral port.
  const port = ports.get(neighborPortKey(vrf, neighbor)) ?? 179;
  const state = str(n.bgpState);
  return {
    vrf,
    neighbor,
    peerLabel: neighbor.includes(":") ? `[${neighbor}]:${port}` : `${neighbor}:${port}`,
    state,
    established: state === "Established",
    remoteAs: num(n.remoteAs),
    uptimeMs: state === "Established" ? num(n.bgpTimerUpMsec) : 0,
    connectionsEstablished: num(n.connectionsEstablished),
    connectionsDropped: num(n.connectionsDropped),
    sentPrefixes: afs.reduce((s, a) => s + num(a.sentPrefixCounter), 0),
    receivedPrefixes: afs.reduce((s, a) => s + num(a.acceptedPrefixCounter), 0),
    messages: {
      opensSent: num(ms.opensSent),
      opensRecv: num(ms.opensRecv),
      notificationsSent: num(ms.notificationsSent),
      updatesSent: num(ms.updatesSent),
      updatesRecv: num(ms.updatesRecv),
      keepalivesSent: num(ms.keepalivesSent),
      keepalivesRecv: num(ms.keepalivesRecv),
      routeRefreshSent: num(ms.routeRefreshSent),
      totalSent: num(ms.totalSent),
      totalRecv: num(ms.totalRecv),
    },
    bfdStatus: isObj(n.peerBfdInfo) ? str(n.peerBfdInfo.status) : null,
  };
}

/** Sessions from `show bgp [vrf all] neighbors json`, sorted by VRF then neighbor. Never throws. */
export function parseBgpNeighbors(json: unknown, ports: NeighborPorts = new Map()): BgpSessionState[] {
  const out: BgpSessionState[] = [];
  if (!isObj(json)) return out;
  for (const [k, v] of Object.entries(json)) {
    if (looksLikeNeighbor(v)) {
      out.push(sessionFrom("default", k, v, ports));
    } else if (isObj(v)) {
      const vrf = typeof v.vrfName === "string" ? v.vrfName : k;
      for (const [nk, nv] of Object.entries(v)) if (looksLikeNeighbor(nv)) out.push(sessionFrom(vrf, nk, nv, ports));
    }
  }
  return out.sort((a, b) => a.vrf.localeCompare(b.vrf) || a.neighbor.localeCompare(b.neighbor));
}

/** BFD peers from `show bfd peers json`, with counters from `show bfd peers counters json` when given. */
export function parseBfdPeers(peers: unknown, counters?: unknown): BfdPeerState[] {
  const byKey = new Map<string, Obj>();
  for (const c of Array.isArray(counters) ? counters : []) if (isObj(c)) byKey.set(`${str(c.vrf) || "default"}|${str(c.peer)}`, c);
  const out: BfdPeerState[] = [];
  for (const p of Array.isArray(peers) ? peers : []) {
    if (!isObj(p) || typeof p.peer !== "string") continue;
    const vrf = str(p.vrf) || "default";
    const c = byKey.get(`${vrf}|${p.peer}`);
    const status = str(p.status);
    out.push({
      vrf,
      peer: p.peer,
      status,
      up: status === "up",
      receiveIntervalMs: num(p["receive-interval"]),
      transmitIntervalMs: num(p["transmit-interval"]),
      detectMultiplier: num(p["detect-multiplier"]),
      counters:
        c === undefined
          ? null
          : {
              controlIn: num(c["control-packet-input"]),
              controlOut: num(c["control-packet-output"]),
              echoIn: num(c["echo-packet-input"]),
              echoOut: num(c["echo-packet-output"]),
              sessionUp: num(c["session-up"]),
              sessionDown: num(c["session-down"]),
              zebraNotifications: num(c["zebra-notifications"]),
            },
    });
  }
  return out.sort((a, b) => a.vrf.localeCompare(b.vrf) || a.peer.localeCompare(b.peer));
}
