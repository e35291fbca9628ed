// The contract between the operator and the speakers, as plain JSON (pure): what the operator publishes and each
// speaker reads back.
// - NodeConfig.spec (one small object per node): the node half of announce/plan.ts — its BGP sessions and BFD
//   profiles, the BGP and Layer 2 advertisements that select it, its address and exclusion. Its size depends on the
//   configuration, never on the Services.
// - AnnouncementShard.spec.services (a fixed number of shards, a Service in the shard its key hashes to): the Service
//   half, keyed by `namespace/name`, so one Service change is one small merge patch of one shard whatever the number
//   of nodes. Only Services some advertisement selects are published.
// Passwords never travel: a session says whether it has one and where the speaker reads it.
import { formatCommunity, parseCommunity, type Community } from "../bgp/community.js";
import type { BFDProfile, DynamicASN, Peer } from "../config/types.js";
import { formatIP, parseIP, type IPAddress } from "../net/ip.js";
import { err, ok, type Result } from "../result.js";
import type { NodeAnnouncement, NodeBgpAdvertisement, NodeL2Advertisement, ServiceAnnouncement } from "./plan.js";

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

/** Placeholder the decoded Peer carries while the real password stays with the speaker's secrets map. */
export const PASSWORD_INJECTED_BY_SPEAKER = "<injected by the speaker>";

const ipText = (ip: IPAddress | null): string | null => (ip === null ? null : formatIP(ip));

export function sessionSpec(p: Peer): SessionSpec {
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
    // A Secret reference is published even when the operator left its password unresolved (the speaker reads it).
    password: p.passwordSecretName !== null ? { secret: p.passwordSecretName } : p.password === "" ? null : { bgpPeer: p.name },
    bfdProfile: p.bfdProfile,
    enableGracefulRestart: p.enableGracefulRestart,
    ebgpMultiHop: p.ebgpMultiHop,
    vrf: p.vrf,
    dualStackAddressFamily: p.dualStackAddressFamily,
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

export function decodeSession(v: unknown, i: number): Peer {
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

export function decodeBfd(v: unknown, i: number): BFDProfile {
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

/** Where each session's password is (BGPPeer name → reference), from encoded sessions. */
export function passwordRefs(sessions: unknown): Map<string, PasswordRef> {
  const passwords = new Map<string, PasswordRef>();
  for (const s of arr(sessions)) {
    if (!isObj(s) || typeof s.name !== "string" || !isObj(s.password)) continue;
    if (typeof s.password.secret === "string") passwords.set(s.name, { secret: s.password.secret });
    else if (typeof s.password.bgpPeer === "string") passwords.set(s.name, { bgpPeer: s.password.bgpPeer });
  }
  return passwords;
}

// ---- NodeConfig.spec --------------------------------------------------------------------------------------------

export interface NodeConfigSpec {
  node: string;
  address: string | null;
  networkUnavailable: boolean;
  excludedFromLoadBalancers: boolean;
  /** Cordoned: announce with graceful shutdown. Left out when false (NodeConfigs published before it stay equal). */
  draining?: boolean;
  /** The Node is not Ready (announce/plan.ts). Left out when false, like `draining`. */
  notReady?: boolean;
  bgp: {
    sessions: SessionSpec[];
    bfdProfiles: BFDProfile[];
    advertisements: Array<{ name: string; aggregationLength: number; aggregationLengthV6: number; localPref: number; communities: string[]; peers: string[] }>;
  };
  l2: { advertisements: Array<{ name: string; weight: number; interfaces: string[] }> };
}

export function encodeNodeConfigSpec(n: NodeAnnouncement): NodeConfigSpec {
  return {
    node: n.node,
    address: n.address,
    networkUnavailable: n.networkUnavailable,
    excludedFromLoadBalancers: n.excludedFromLoadBalancers,
    ...(n.draining ? { draining: true } : {}),
    ...(n.notReady ? { notReady: true } : {}),
    bgp: {
      sessions: n.sessions.map(sessionSpec),
      bfdProfiles: n.bfdProfiles.map((b) => ({ ...b })),
      advertisements: n.bgpAdvertisements.map((a) => ({ ...a, communities: a.communities.map(formatCommunity), peers: [...a.peers] })),
    },
    l2: { advertisements: n.l2Advertisements.map((a) => ({ name: a.name, weight: a.weight, interfaces: [...a.interfaces] })) },
  };
}

function decodeCommunity(text: string, where: string): Community {
  const r = parseCommunity(text);
  if (!r.ok) throw new Error(`${where}: ${r.error.message}`);
  return r.value;
}

function decodeBgpAdvertisement(v: unknown, i: number): NodeBgpAdvertisement {
  if (!isObj(v) || typeof v.name !== "string") throw new Error(`bgp.advertisements[${i}]: not an advertisement`);
  return {
    name: v.name,
    aggregationLength: numOrNull(v.aggregationLength) ?? 32,
    aggregationLengthV6: numOrNull(v.aggregationLengthV6) ?? 128,
    localPref: numOrNull(v.localPref) ?? 0,
    communities: strs(v.communities).map((c) => decodeCommunity(c, `bgp.advertisements[${i}].communities`)),
    peers: strs(v.peers),
  };
}

function decodeL2Advertisement(v: unknown, i: number): NodeL2Advertisement {
  if (!isObj(v) || typeof v.name !== "string") throw new Error(`l2.advertisements[${i}]: not an advertisement`);
  return { name: v.name, weight: numOrNull(v.weight) ?? 0, interfaces: strs(v.interfaces) };
}

export interface DecodedNodeConfig {
  node: NodeAnnouncement;
  /** Session (BGPPeer) name → where its password is. */
  passwords: Map<string, PasswordRef>;
}

/** Decodes a NodeConfig spec (untrusted JSON). */
export function decodeNodeConfigSpec(v: unknown): Result<DecodedNodeConfig, string> {
  try {
    if (!isObj(v) || typeof v.node !== "string") throw new Error("spec.node: missing");
    const bgp = isObj(v.bgp) ? v.bgp : {};
    const l2 = isObj(v.l2) ? v.l2 : {};
    return ok({
      node: {
        node: v.node,
        address: strOrNull(v.address),
        networkUnavailable: v.networkUnavailable === true,
        excludedFromLoadBalancers: v.excludedFromLoadBalancers === true,
        draining: v.draining === true,
        notReady: v.notReady === true,
        sessions: arr(bgp.sessions).map(decodeSession),
        bfdProfiles: arr(bgp.bfdProfiles).map(decodeBfd),
        bgpAdvertisements: arr(bgp.advertisements).map(decodeBgpAdvertisement),
        l2Advertisements: arr(l2.advertisements).map(decodeL2Advertisement),
      },
      passwords: passwordRefs(bgp.sessions),
    });
  } catch (e) {
    return err(e instanceof Error ? e.message : String(e));
  }
}

// ---- AnnouncementShard.spec.services ----------------------------------------------------------------------------

/** One Service's entry in its shard; empty fields are left out (a shard holds thousands). */
export interface ServiceEntrySpec {
  ips: string[];
  sharingKey?: string;
  /** externalTrafficPolicy Local: nodes with a serving endpoint. Absent for Cluster. */
  local?: string[];
  /** Some node has a serving endpoint (Cluster). */
  endpoints?: boolean;
  bgp?: string[];
  l2?: string[];
  /**
   * When the operator changed this entry (RFC 3339, ms): set by the shard publisher only together with a change of the
   * entry (no write of its own), never compared. Speakers measure Service change → FRR applied from it
   * (metallb_ts_service_to_frr_applied_seconds).
   */
  changedAt?: string;
}

/** The entry without its change time: what decides whether an entry changed. */
export function entryContent(e: ServiceEntrySpec): ServiceEntrySpec {
  if (e.changedAt === undefined) return e;
  const { changedAt: _changedAt, ...rest } = e;
  return rest;
}

/** The change time of a raw shard entry in ms since the epoch, or null when it has none (or not a valid one). */
export function entryChangedAtMs(v: unknown): number | null {
  if (!isObj(v) || typeof v.changedAt !== "string") return null;
  const t = Date.parse(v.changedAt);
  return Number.isFinite(t) ? t : null;
}

export function encodeServiceEntry(s: ServiceAnnouncement): ServiceEntrySpec {
  return {
    ips: s.ips.map(formatIP),
    ...(s.sharingKey !== "" ? { sharingKey: s.sharingKey } : {}),
    ...(s.localNodes !== null ? { local: [...s.localNodes] } : {}),
    ...(s.hasEndpoints ? { endpoints: true } : {}),
    ...(s.bgp.length > 0 ? { bgp: [...s.bgp] } : {}),
    ...(s.l2.length > 0 ? { l2: [...s.l2] } : {}),
  };
}

/** Decodes one shard entry (untrusted JSON). */
export function decodeServiceEntry(key: string, v: unknown): Result<ServiceAnnouncement, string> {
  if (!isObj(v)) return err(`services[${key}]: not an entry`);
  const ips: IPAddress[] = [];
  for (const t of strs(v.ips)) {
    const r = parseIP(t);
    if (!r.ok) return err(`services[${key}].ips: ${r.error}`);
    ips.push(r.value);
  }
  const l2 = strs(v.l2);
  return ok({
    key,
    ips,
    sharingKey: typeof v.sharingKey === "string" ? v.sharingKey : "",
    localNodes: Array.isArray(v.local) ? strs(v.local) : null,
    hasEndpoints: v.endpoints === true || (Array.isArray(v.local) && v.local.length > 0),
    bgp: strs(v.bgp),
    l2,
    l2Skip: l2.length > 0 ? null : "noMatchingAdvertisement",
  });
}

/** The shard a Service's entry lives in: FNV-1a of its key, modulo the shard count (stable across restarts). */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

export const shardName = (index: number): string => `shard-${index.toString().padStart(3, "0")}`;
