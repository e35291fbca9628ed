import { parseDuration } from "../duration.js";
import { formatIP, parseIP, type IPAddress } from "../net/ip.js";
import type { Entry } from "./entries.js";
import type { Reporter } from "./problems.js";
import { field, isRawObject, readBool, readInt, readObject, readString, UINT32, type RawObject } from "./raw.js";
import { readSelectorList, selectNames, type Labelled } from "./selectors.js";
import type { BFDProfile, DynamicASN, Peer } from "./types.js";

/** A Secret as needed for BGP passwords. */
export interface SecretView {
  readonly name: string;
  readonly namespace: string | undefined;
  readonly type: string | undefined;
  /** `data` (base64) and `stringData` (plain, from YAML files) as given. */
  readonly data: RawObject;
  readonly stringData: RawObject;
}

export interface PeerContext {
  readonly bfdProfiles: ReadonlyMap<string, BFDProfile>;
  readonly secrets: ReadonlyMap<string, SecretView>;
  readonly nodes: readonly Labelled[];
  /** ParseConfigOptions.leaveNodeProblemsToSpeakers. */
  readonly leaveNodeProblemsToSpeakers?: boolean | undefined;
}

const BASIC_AUTH = "kubernetes.io/basic-auth";
const DEFAULT_PORT = 179;

function decodeBase64(text: string): string | null {
  try {
    const binary = atob(text);
    return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

/** Resolves `spec.passwordSecret` (MetalLB's passwordFromSecretForPeer). The password never appears in messages. */
function passwordFromSecret(secretName: string, ctx: PeerContext, r: Reporter): string | null {
  const path = "spec.passwordSecret";
  const secret = ctx.secrets.get(secretName);
  if (secret === undefined) {
    r.transient(`${path}.name`, `secret ref not found for peer config: Secret ${JSON.stringify(secretName)} does not exist`);
    return null;
  }
  const qualified = JSON.stringify(`${secret.namespace ?? ""}/${secret.name}`);
  if (secret.type !== BASIC_AUTH) {
    r.permanent(`${path}.name`, `secret type mismatch on ${qualified}, type ${JSON.stringify(BASIC_AUTH)} is expected`);
    return null;
  }
  const plain = field(secret.stringData, "password");
  if (typeof plain === "string") return plain;
  const encoded = field(secret.data, "password");
  if (encoded === undefined || encoded === null) {
    r.permanent(`${path}.name`, `password not specified in the secret ${qualified}`);
    return null;
  }
  const decoded = typeof encoded === "string" ? decodeBase64(encoded) : null;
  if (decoded === null) {
    r.permanent(`${path}.name`, `the password in the secret ${qualified} is not valid base64 data`);
    return null;
  }
  return decoded;
}

function readIP(spec: RawObject, key: string, r: Reporter, what: string): IPAddress | null {
  const text = readString(spec, key, "spec", r);
  if (text === undefined || text === "") return null;
  const ip = parseIP(text);
  if (!ip.ok) {
    r.permanent(`spec.${key}`, `invalid ${what} ${JSON.stringify(text)}`);
    return null;
  }
  return ip.value;
}

function durationMs(text: string | undefined, key: string, r: Reporter): number | null {
  if (text === undefined) return null;
  const ms = parseDuration(text);
  if (!ms.ok) {
    r.permanent(`spec.${key}`, ms.error);
    return null;
  }
  return ms.value;
}

interface Timers {
  readonly holdTimeMs: number | null;
  readonly keepaliveTimeMs: number | null;
}

/** MetalLB's parseTimers: derive the missing timer (keepalive = hold/3, hold = 3×keepalive) and check them. */
function timersFromSpec(spec: RawObject, r: Reporter): Timers {
  const holdText = readString(spec, "holdTime", "spec", r);
  const keepaliveText = readString(spec, "keepaliveTime", "spec", r);
  const hold = durationMs(holdText, "holdTime", r);
  const keepalive = durationMs(keepaliveText, "keepaliveTime", r);
  if ((holdText !== undefined && hold === null) || (keepaliveText !== undefined && keepalive === null)) {
    return { holdTimeMs: null, keepaliveTimeMs: null };
  }
  if (hold === null && keepalive === null) return { holdTimeMs: null, keepaliveTimeMs: null };
  const holdTimeMs = hold ?? (keepalive ?? 0) * 3;
  const keepaliveTimeMs = keepalive ?? holdTimeMs / 3;
  const roundedSeconds = Math.trunc(holdTimeMs / 1000);
  if (roundedSeconds !== 0 && roundedSeconds < 3) {
    r.permanent("spec.holdTime", `invalid hold time ${JSON.stringify(holdText ?? `${holdTimeMs}ms`)}: must be 0 or >=3s`);
  } else if (keepaliveTimeMs > holdTimeMs) {
    const k = JSON.stringify(keepaliveText ?? `${keepaliveTimeMs}ms`);
    const h = JSON.stringify(holdText ?? `${holdTimeMs}ms`);
    r.permanent("spec.keepaliveTime", `invalid keepaliveTime ${k}, must be lower than holdTime ${h}`);
  }
  return { holdTimeMs, keepaliveTimeMs };
}

/** The CRD's CEL rule on connectTime: whole seconds in 1..65535. */
function connectTimeFromSpec(spec: RawObject, r: Reporter): number | null {
  const ms = durationMs(readString(spec, "connectTime", "spec", r), "connectTime", r);
  if (ms === null) return null;
  if (ms < 1000 || ms > 65535 * 1000) r.permanent("spec.connectTime", "connect time should be between 1 seconds to 65535");
  else if (ms % 1000 !== 0) r.permanent("spec.connectTime", "connect time should contain a whole number of seconds");
  return ms;
}

interface AsnFields {
  readonly myASN: number;
  readonly peerASN: number;
  readonly dynamicASN: DynamicASN | null;
  readonly localASN: number | null;
}

function asnsFromSpec(spec: RawObject, r: Reporter): AsnFields {
  const myASN = readInt(spec, "myASN", "spec", r, UINT32) ?? 0;
  const peerASN = readInt(spec, "peerASN", "spec", r, UINT32) ?? 0;
  const localASN = readInt(spec, "localASN", "spec", r, { min: 1, max: UINT32.max }) ?? null;
  const dynamicText = readString(spec, "dynamicASN", "spec", r) ?? "";
  const rawMyASN = field(spec, "myASN");
  if (rawMyASN === undefined || rawMyASN === null || rawMyASN === 0) r.permanent("spec.myASN", "missing local ASN");
  if (peerASN === 0 && dynamicText === "") r.permanent("spec.peerASN", "missing peer ASN and dynamicASN");
  if (peerASN !== 0 && dynamicText !== "") r.permanent("spec.dynamicASN", "both peer ASN and dynamicASN specified");
  let dynamicASN: DynamicASN | null = null;
  if (dynamicText === "internal" || dynamicText === "external") dynamicASN = dynamicText;
  else if (dynamicText !== "") r.permanent("spec.dynamicASN", `invalid dynamicASN ${dynamicText}: must be "internal" or "external"`);
  return { myASN, peerASN, dynamicASN, localASN };
}

function endpointFromSpec(spec: RawObject, r: Reporter): { address: IPAddress | null; iface: string | null } {
  const addressText = readString(spec, "peerAddress", "spec", r) ?? "";
  const iface = readString(spec, "interface", "spec", r) ?? "";
  if (addressText === "" && iface === "") r.permanent("spec.peerAddress", "peer has no Address or Interface specified");
  if (addressText !== "" && iface !== "") r.permanent("spec.interface", "peer has both Address and Interface specified");
  const address = readIP(spec, "peerAddress", r, "BGPPeer address");
  return { address, iface: iface === "" ? null : iface };
}

function passwordFromSpec(spec: RawObject, ctx: PeerContext, r: Reporter): { password: string; secretName: string | null } {
  const password = readString(spec, "password", "spec", r) ?? "";
  const ref = readObject(spec, "passwordSecret", "spec", r);
  const secretName = ref === undefined ? "" : (readString(ref, "name", "spec.passwordSecret", r) ?? "");
  if (secretName === "") return { password, secretName: null };
  if (password !== "") {
    r.permanent("spec.passwordSecret", "can not have both password and secret ref set in peer config");
    return { password, secretName };
  }
  // The speakers resolve the Secret themselves; only they report its problems (and only where the peer is used).
  if (ctx.leaveNodeProblemsToSpeakers === true) return { password: "", secretName };
  return { password: passwordFromSecret(secretName, ctx, r) ?? "", secretName };
}

/** Converts a BGPPeer (v1beta1 or v1beta2) following MetalLB's peerFromCR; null if it has problems. */
export function peerFromResource(e: Entry, ctx: PeerContext): Peer | null {
  const { spec, reporter: r } = e;
  const asns = asnsFromSpec(spec, r);
  const ebgpMultiHop = readBool(spec, "ebgpMultiHop", "spec", r) ?? false;
  const ibgp = (asns.peerASN !== 0 && asns.peerASN === asns.myASN) || asns.dynamicASN === "internal";
  if (ebgpMultiHop && ibgp) r.permanent("spec.ebgpMultiHop", "invalid ebgp-multihop parameter set for an ibgp peer");
  const { address, iface } = endpointFromSpec(spec, r);
  const timers = timersFromSpec(spec, r);
  const connectTimeMs = connectTimeFromSpec(spec, r);
  const routerID = readIP(spec, "routerID", r, "router ID");
  const sourceAddress = readIP(spec, "sourceAddress", r, "source IP");
  const port = readInt(spec, "peerPort", "spec", r, { min: 1, max: 16384 }) ?? DEFAULT_PORT;
  const nodeSelectors = readSelectorList(spec, "nodeSelectors", "spec", r) ?? [];
  const { password, secretName } = passwordFromSpec(spec, ctx, r);
  const bfdProfile = readString(spec, "bfdProfile", "spec", r) ?? "";
  if (bfdProfile !== "" && !ctx.bfdProfiles.has(bfdProfile) && ctx.leaveNodeProblemsToSpeakers !== true) {
    r.transient("spec.bfdProfile", `peer ${e.name} referencing non existing bfd profile ${bfdProfile}`);
  }
  const peer: Peer = {
    name: e.name,
    ...asns,
    address,
    interface: iface,
    port,
    ...timers,
    connectTimeMs,
    routerID,
    sourceAddress,
    nodeSelectors,
    nodes: selectNames(ctx.nodes, nodeSelectors),
    password,
    passwordSecretName: secretName,
    bfdProfile: bfdProfile === "" ? null : bfdProfile,
    enableGracefulRestart: readBool(spec, "enableGracefulRestart", "spec", r) ?? false,
    ebgpMultiHop,
    vrf: readString(spec, "vrf", "spec", r) ?? "",
    disableMP: readBool(spec, "disableMP", "spec", r) ?? false,
    dualStackAddressFamily: readBool(spec, "dualStackAddressFamily", "spec", r) ?? false,
  };
  return r.count() === 0 ? peer : null;
}

/** The FRR neighbor identity of a peer: address or interface, suffixed with the VRF. */
export function peerIdentifier(p: Peer): string {
  const id = p.address !== null ? formatIP(p.address) : (p.interface ?? "");
  return `${id}-${p.vrf}`;
}

/** Reads a Secret object's fields needed for password resolution. */
export function secretViewFromResource(e: Entry): SecretView {
  const type = field(e.object, "type");
  const data = field(e.object, "data");
  const stringData = field(e.object, "stringData");
  return {
    name: e.name,
    namespace: e.namespace,
    type: typeof type === "string" ? type : undefined,
    data: isRawObject(data) ? data : {},
    stringData: isRawObject(stringData) ? stringData : {},
  };
}
