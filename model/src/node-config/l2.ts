// NodeConfig.spec.l2: the Layer 2 IPs a node is a candidate for, as plain JSON (pure). The operator encodes its
// planL2Announcements entries for the node plus every speaker's address (for heartbeats); the speaker decodes them
// and elects owners among the candidates it knows to be alive.
import type { L2NodeEntry } from "../layer2/plan.js";
import { formatIP, parseIP } from "../net/ip.js";
import { err, ok, type Result } from "../result.js";

export interface L2EntrySpec {
  ip: string;
  services: string[];
  candidates: string[];
  interfaces: string[];
}

export interface NodeL2Spec {
  entries: L2EntrySpec[];
  /** Every speaker node and the address its heartbeats come from and go to. */
  speakers: Array<{ node: string; address: string }>;
}

export function encodeNodeL2(entries: readonly L2NodeEntry[], speakers: ReadonlyArray<{ node: string; address: string }>): NodeL2Spec {
  return {
    entries: entries.map((e) => ({ ip: formatIP(e.ip), services: [...e.services], candidates: [...e.candidates], interfaces: [...e.interfaces] })),
    speakers: [...speakers].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)),
  };
}

export interface DecodedNodeL2 {
  entries: L2NodeEntry[];
  speakers: Array<{ node: string; address: string }>;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** Decodes NodeConfig.spec.l2 (untrusted JSON); a missing spec decodes to nothing to announce. */
export function decodeNodeL2(v: unknown): Result<DecodedNodeL2, string> {
  const o = isObj(v) ? v : {};
  const entries: L2NodeEntry[] = [];
  const rawEntries = Array.isArray(o.entries) ? o.entries : [];
  for (let i = 0; i < rawEntries.length; i++) {
    const e: unknown = rawEntries[i];
    if (!isObj(e) || typeof e.ip !== "string") return err(`entries[${i}]: not an entry`);
    const ip = parseIP(e.ip);
    if (!ip.ok) return err(`entries[${i}].ip: ${ip.error}`);
    entries.push({ ip: ip.value, services: strs(e.services), candidates: strs(e.candidates), interfaces: strs(e.interfaces) });
  }
  const speakers = (Array.isArray(o.speakers) ? o.speakers : []).flatMap((s) =>
    isObj(s) && typeof s.node === "string" && typeof s.address === "string" ? [{ node: s.node, address: s.address }] : [],
  );
  return ok({ entries, speakers });
}

/** A node's address for speaker heartbeats: its first InternalIP (raw Node object). */
export function nodeInternalAddress(raw: unknown): string | null {
  if (!isObj(raw) || !isObj(raw.status) || !Array.isArray(raw.status.addresses)) return null;
  for (const a of raw.status.addresses) if (isObj(a) && a.type === "InternalIP" && typeof a.address === "string") return a.address;
  return null;
}
