// NodeConfig.spec.bgp: a node's BGP plan as plain JSON (pure). The operator encodes what planBgpAnnouncements
// decided for a node; the speaker decodes it and renders FRR's configuration with buildFrrConfig/renderFrrConfig.
// Passwords never travel: a session says whether it has one and where the speaker reads it.
import type { NodeBgpPlan, PeerAdvertisement, PrefixAnnouncement } from "../bgp/plan.js";
import { formatCommunity, parseCommunity, type Community } from "../bgp/community.js";
import type { BFDProfile, DynamicASN, Peer } from "../config/types.js";
import { formatCidr, parseCidr, type Cidr } from "../net/cidr.js";
import { formatIP, parseIP, type IPAddress } from "../net/ip.js";
import { err, ok, type Result } from "../result.js";

/** Where the speaker reads a session's password: the Secret's `password` key, or the BGPPeer's spec.password. */
export type PasswordRef = { secret: string } | { bgpPeer: string };

export interface SessionSpec {
  name: string;
  myASN: number;
  peerASN: number;
  dynamicASN: DynamicASN | null;
  localASN: number | null;
  address: string | null;
  interface: string | null;
  port: number;
  holdTimeMs: number | null;
  keepaliveTimeMs: number | null;
  connectTimeMs: number | null;
  routerID: string | null;
  sourceAddress: string | null;
  password: PasswordRef | null;
  bfdProfile: string | null;
  enableGracefulRestart: boolean;
  ebgpMultiHop: boolean;
  vrf: string;
  dualStackAddressFamily: boolean;
}

/** Prefixes advertised the same way (same peers, communities and LOCAL_PREF per peer). */
export interface AdvertisementGroupSpec {
  peers: Array<{ peer: string; localPref: number; communities: string[] }>;
  prefixes: Array<{ prefix: string; services: string[]; advertisements: string[] }>;
}

export interface NodeBgpSpec {
  sessions: SessionSpec[];
  bfdProfiles: BFDProfile[];
  groups: AdvertisementGroupSpec[];
  /** For `kubectl get nodeconfigs`. */
  prefixCount: number;
  /** Services announced from this node and the peers they go to (ServiceBGPStatus). */
  services: Array<{ service: string; peers: string[] }>;
}

/** Placeholder the decoded Peer carries while the real password stays with the speaker's secrets map. */
export const PASSWORD_INJECTED_BY_SPEAKER = "<injected by the speaker>";

const ipText = (ip: IPAddress | null): string | null => (ip === null ? null : formatIP(ip));

function sessionSpec(p: Peer): SessionSpec {
  return {
    name: p.name,
    myASN: p.myASN,
    peerASN: p.peerASN,
    dynamicASN: p.dynamicASN,
    localASN: p.localASN,
    address: ipText(p.address),
    interface: p.interface,
    port: p.port,
    holdTimeMs: p.holdTimeMs,
    keepaliveTimeMs: p.keepaliveTimeMs,
    connectTimeMs: p.connectTimeMs,
    routerID: ipText(p.routerID),
    sourceAddress: ipText(p.sourceAddress),
    password: p.password === "" ? null : p.passwordSecretName !== null ? { secret: p.passwordSecretName } : { bgpPeer: p.name },
    bfdProfile: p.bfdProfile,
    enableGracefulRestart: p.enableGracefulRestart,
    ebgpMultiHop: p.ebgpMultiHop,
    vrf: p.vrf,
    dualStackAddressFamily: p.dualStackAddressFamily,
  };
}

const groupKey = (peers: readonly PeerAdvertisement[]): string =>
  JSON.stringify(peers.map((p) => [p.peer, p.localPref, p.communities.map(formatCommunity)]));

export function encodeNodeBgp(plan: NodeBgpPlan, bfdProfiles: readonly BFDProfile[]): NodeBgpSpec {
  const groups = new Map<string, AdvertisementGroupSpec>();
  for (const a of plan.announcements) {
    const key = groupKey(a.peers);
    let g = groups.get(key);
    if (g === undefined) {
      g = { peers: a.peers.map((p) => ({ peer: p.peer, localPref: p.localPref, communities: p.communities.map(formatCommunity) })), prefixes: [] };
      groups.set(key, g);
    }
    g.prefixes.push({ prefix: formatCidr(a.prefix), services: [...a.services], advertisements: [...a.advertisements] });
  }
  return {
    sessions: plan.sessions.map(sessionSpec),
    // Every profile, used or not: FRR's configuration carries them all (as MetalLB renders them).
    bfdProfiles: bfdProfiles.map((b) => ({ ...b })),
    groups: [...groups.values()],
    prefixCount: plan.announcements.length,
    services: plan.services.flatMap((s) => (s.announced ? [{ service: s.service, peers: [...s.peers] }] : [])),
  };
}

// ---- decoding (untrusted JSON) ----------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === "string");
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const strOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);

function ipOrNull(v: unknown, what: string): IPAddress | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "string") throw new Error(`${what}: not a string`);
  const r = parseIP(v);
  if (!r.ok) throw new Error(`${what}: ${r.error}`);
  return r.value;
}

function decodeSession(v: unknown, i: number): Peer {
  if (!isObj(v) || typeof v.name !== "string") throw new Error(`sessions[${i}]: not a session`);
  const pw = v.password;
  const passwordSecretName = isObj(pw) && typeof pw.secret === "string" ? pw.secret : null;
  const hasPassword = isObj(pw) && (typeof pw.secret === "string" || typeof pw.bgpPeer === "string");
  const dyn = v.dynamicASN === "internal" || v.dynamicASN === "external" ? v.dynamicASN : null;
  return {
    name: v.name,
    myASN: numOrNull(v.myASN) ?? 0,
    peerASN: numOrNull(v.peerASN) ?? 0,
    dynamicASN: dyn,
    localASN: numOrNull(v.localASN),
    address: ipOrNull(v.address, `sessions[${i}].address`),
    interface: strOrNull(v.interface),
    port: numOrNull(v.port) ?? 179,
    holdTimeMs: numOrNull(v.holdTimeMs),
    keepaliveTimeMs: numOrNull(v.keepaliveTimeMs),
    connectTimeMs: numOrNull(v.connectTimeMs),
    routerID: ipOrNull(v.routerID, `sessions[${i}].routerID`),
    sourceAddress: ipOrNull(v.sourceAddress, `sessions[${i}].sourceAddress`),
    nodeSelectors: [],
    nodes: [],
    password: hasPassword ? PASSWORD_INJECTED_BY_SPEAKER : "",
    passwordSecretName,
    bfdProfile: strOrNull(v.bfdProfile),
    enableGracefulRestart: v.enableGracefulRestart === true,
    ebgpMultiHop: v.ebgpMultiHop === true,
    vrf: typeof v.vrf === "string" ? v.vrf : "",
    disableMP: false,
    dualStackAddressFamily: v.dualStackAddressFamily === true,
  };
}

function decodeBfd(v: unknown, i: number): BFDProfile {
  if (!isObj(v) || typeof v.name !== "string") throw new Error(`bfdProfiles[${i}]: not a BFD profile`);
  return {
    name: v.name,
    receiveIntervalMs: numOrNull(v.receiveIntervalMs),
    transmitIntervalMs: numOrNull(v.transmitIntervalMs),
    detectMultiplier: numOrNull(v.detectMultiplier),
    echoIntervalMs: numOrNull(v.echoIntervalMs),
    echoMode: v.echoMode === true,
    passiveMode: v.passiveMode === true,
    minimumTtl: numOrNull(v.minimumTtl),
  };
}

function decodeCommunity(text: string, where: string): Community {
  const r = parseCommunity(text);
  if (!r.ok) throw new Error(`${where}: ${r.error.message}`);
  return r.value;
}

function decodeGroups(v: unknown): PrefixAnnouncement[] {
  const out: PrefixAnnouncement[] = [];
  arr(v).forEach((g, gi) => {
    if (!isObj(g)) throw new Error(`groups[${gi}]: not a group`);
    const peers: PeerAdvertisement[] = arr(g.peers).map((p, pi) => {
      if (!isObj(p) || typeof p.peer !== "string") throw new Error(`groups[${gi}].peers[${pi}]: not a peer`);
      return { peer: p.peer, localPref: numOrNull(p.localPref) ?? 0, communities: strs(p.communities).map((c) => decodeCommunity(c, `groups[${gi}].peers[${pi}]`)) };
    });
    arr(g.prefixes).forEach((p, pi) => {
      if (!isObj(p) || typeof p.prefix !== "string") throw new Error(`groups[${gi}].prefixes[${pi}]: not a prefix`);
      const c = parseCidr(p.prefix);
      if (!c.ok) throw new Error(`groups[${gi}].prefixes[${pi}]: ${c.error}`);
      out.push({ prefix: c.value, services: strs(p.services), advertisements: strs(p.advertisements), peers });
    });
  });
  return out.sort((a, b) => compareCidrs(a.prefix, b.prefix));
}

function compareCidrs(a: Cidr, b: Cidr): number {
  if (a.family !== b.family) return a.family === "IPv4" ? -1 : 1;
  if (a.first !== b.first) return a.first < b.first ? -1 : 1;
  return a.prefixLength - b.prefixLength;
}

export interface DecodedNodeBgp {
  plan: NodeBgpPlan;
  bfdProfiles: BFDProfile[];
  /** Session (BGPPeer) name → where its password is. */
  passwords: Map<string, PasswordRef>;
}

/** Decodes NodeConfig.spec.bgp for a node; a missing spec decodes to an empty plan. */
export function decodeNodeBgp(node: string, v: unknown): Result<DecodedNodeBgp, string> {
  try {
    const o = isObj(v) ? v : {};
    const sessions = arr(o.sessions).map(decodeSession);
    const passwords = new Map<string, PasswordRef>();
    arr(o.sessions).forEach((s) => {
      if (!isObj(s) || typeof s.name !== "string" || !isObj(s.password)) return;
      if (typeof s.password.secret === "string") passwords.set(s.name, { secret: s.password.secret });
      else if (typeof s.password.bgpPeer === "string") passwords.set(s.name, { bgpPeer: s.password.bgpPeer });
    });
    const services = arr(o.services).flatMap((s) =>
      isObj(s) && typeof s.service === "string" ? [{ service: s.service, announced: true as const, peers: strs(s.peers), advertisements: [] as string[] }] : [],
    );
    return ok({ plan: { node, sessions, announcements: decodeGroups(o.groups), services }, bfdProfiles: arr(o.bfdProfiles).map(decodeBfd), passwords });
  } catch (e) {
    return err(e instanceof Error ? e.message : String(e));
  }
}
