// Configuration problems that belong to one speaker (issue 18 item 1): MetalLB's speakers validate only the BGPPeers
// that select their node (internal/k8s/controllers/config_controller.go filterBGPPeersByNode), so a peer referencing
// a missing BFDProfile, a password Secret that is missing or not of type kubernetes.io/basic-auth, or two peers
// selecting the same node that FRR cannot run side by side (internal/config/validation.go checkFRRPeersCompatible)
// make the speakers of the selected nodes Invalid while the controller stays Valid. This lists those problems for one
// node, in MetalLB's words (internal/config/config.go peersFor, passwordFromSecretForPeer), for the speaker's
// ConfigurationState. Pure; it reads the raw objects (a peer with other problems is still placed on its nodes).
import { anySelectorMatches, parseLabelSelector, type LabelSelector, type Labels } from "../labels/selector.js";
import type { ConfigProblem } from "./types.js";

/** The node a speaker runs on. */
export interface SpeakerNodeView {
  readonly name: string;
  readonly labels: Labels;
}

/** A BGPPeer (v1beta2) as read from the API. */
export interface BGPPeerObject {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: Readonly<Record<string, unknown>>;
}

/** A Secret as read from the API (only its type and whether it has a password matter here). */
export interface SecretObject {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly type?: string;
  readonly data?: Readonly<Record<string, unknown>>;
  readonly stringData?: Readonly<Record<string, unknown>>;
}

export interface SpeakerConfigInput {
  readonly node: SpeakerNodeView;
  /** Every BGPPeer of the MetalLB namespace, in list order. */
  readonly peers: readonly BGPPeerObject[];
  /** Names of the BFDProfiles of the MetalLB namespace. */
  readonly bfdProfiles: ReadonlySet<string>;
  /** Secrets of the MetalLB namespace by name. */
  readonly secrets: ReadonlyMap<string, SecretObject>;
}

export const BASIC_AUTH_SECRET_TYPE = "kubernetes.io/basic-auth";

/** Go's %q for the names and addresses used here. */
const q = (s: string): string => JSON.stringify(s);

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** MetalLB's PeerIdentifier: the address (or the interface for unnumbered peers), with "-<vrf>" when in a VRF. */
export function peerIdentifier(spec: Readonly<Record<string, unknown>>): string {
  const id = str(spec.peerAddress) !== "" ? str(spec.peerAddress) : str(spec.interface);
  const vrf = str(spec.vrf);
  return vrf === "" ? id : `${id}-${vrf}`;
}

/** The peer's node selectors; null when one is invalid (the operator reports that; the peer is placed nowhere). */
function nodeSelectors(spec: Readonly<Record<string, unknown>>): LabelSelector[] | null {
  const raw = spec.nodeSelectors;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return null;
  const out: LabelSelector[] = [];
  for (const s of raw as unknown[]) {
    const parsed = parseLabelSelector(s);
    if (!parsed.ok) return null;
    out.push(parsed.value);
  }
  return out;
}

interface MyPeer {
  readonly name: string;
  readonly namespace: string;
  readonly index: number;
  readonly spec: Readonly<Record<string, unknown>>;
}

/** The BGPPeers that select this node (no nodeSelectors: every node), with their index in the list. */
export function peersSelectingNode(node: SpeakerNodeView, peers: readonly BGPPeerObject[]): MyPeer[] {
  const out: MyPeer[] = [];
  peers.forEach((p, index) => {
    const spec = p.spec ?? {};
    const selectors = nodeSelectors(spec);
    if (selectors === null || !anySelectorMatches(selectors, node.labels)) return;
    out.push({ name: p.metadata?.name ?? "", namespace: p.metadata?.namespace ?? "", index, spec });
  });
  return out;
}

function hasPassword(s: SecretObject): boolean {
  return (s.data !== undefined && s.data.password !== undefined && s.data.password !== null) || typeof s.stringData?.password === "string";
}

function referenceProblems(p: MyPeer, input: SpeakerConfigInput, add: (field: string, message: string, transient: boolean) => void): void {
  const bfd = str(p.spec.bfdProfile);
  if (bfd !== "" && !input.bfdProfiles.has(bfd)) add("spec.bfdProfile", `peer ${p.name} referencing non existing bfd profile ${bfd}`, true);
  const ref = p.spec.passwordSecret;
  const secretName = typeof ref === "object" && ref !== null ? str((ref as Record<string, unknown>).name) : "";
  if (secretName === "" || str(p.spec.password) !== "") return;
  const secret = input.secrets.get(secretName);
  if (secret === undefined) {
    add("spec.passwordSecret.name", `secret ref not found for peer config ${q(p.namespace)}/${q(p.name)}`, true);
    return;
  }
  const secretNs = secret.metadata?.namespace ?? p.namespace;
  if (secret.type !== BASIC_AUTH_SECRET_TYPE) {
    add("spec.passwordSecret.name", `secret type mismatch on ${q(secretNs)}/${q(secretName)}, type ${q(BASIC_AUTH_SECRET_TYPE)} is expected`, false);
  } else if (!hasPassword(secret)) {
    add("spec.passwordSecret.name", `password not specified in the secret ${q(secretNs)}/${q(secretName)}`, false);
  }
}

/** MetalLB's peersCanRunOnSameNode for two peers that both select this node; the problem is reported on `p`. */
function sameNodeProblem(p: MyPeer, other: MyPeer): { field: string; message: string } | null {
  const rid = (x: MyPeer): string => str(x.spec.routerID);
  if (rid(p) !== rid(other)) {
    return {
      field: "spec.routerID",
      message: `peer ${rid(p)} has RouterID different from ${rid(other)}, in FRR mode peers selecting the same node must all have the same RouterID`,
    };
  }
  const id = peerIdentifier(p.spec);
  if (id === peerIdentifier(other.spec)) {
    return {
      field: str(p.spec.peerAddress) !== "" ? "spec.peerAddress" : "spec.interface",
      message: `peer ${id} already exists, FRR mode doesn't support duplicate BGPPeers selecting the same node`,
    };
  }
  if (p.spec.myASN !== other.spec.myASN && str(p.spec.vrf) === str(other.spec.vrf)) {
    return {
      field: "spec.myASN",
      message: `peer ${id} has myAsn different from ${peerIdentifier(other.spec)}, in FRR mode peers selecting the same node must have the same myAsn within the same VRF`,
    };
  }
  return null;
}

/**
 * The problems of the configuration as the speaker on `input.node` sees it: each BGPPeer selecting the node checked
 * for its BFDProfile and password Secret, and every pair of them for running side by side in one FRR (each pair
 * reported once, on the later peer). Sorted by peer order; BGPPeers that do not select the node are not looked at.
 */
export function speakerConfigProblems(input: SpeakerConfigInput): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const mine = peersSelectingNode(input.node, input.peers);
  mine.forEach((p, i) => {
    const add = (field: string, message: string, transient: boolean): void => {
      problems.push({ kind: "BGPPeer", name: p.name, index: p.index, field, message, transient });
    };
    referenceProblems(p, input, add);
    for (const other of mine.slice(0, i)) {
      const clash = sameNodeProblem(p, other);
      if (clash !== null) add(clash.field, clash.message, false);
    }
  });
  return problems;
}
