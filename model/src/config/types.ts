import type { Community } from "../bgp/community.js";
import type { LabelSelector, Labels } from "../labels/selector.js";
import type { Cidr } from "../net/cidr.js";
import type { IPAddress } from "../net/ip.js";

/** Everything the parser looks at, as read from the API server or from YAML. Items are untrusted raw objects. */
export interface ClusterResources {
  readonly pools: readonly unknown[];
  readonly l2Advertisements: readonly unknown[];
  readonly bgpAdvertisements: readonly unknown[];
  readonly bgpPeers: readonly unknown[];
  readonly bfdProfiles: readonly unknown[];
  readonly communities: readonly unknown[];
  readonly secrets: readonly unknown[];
  readonly nodes: readonly unknown[];
  readonly namespaces: readonly unknown[];
}

/** Kinds a problem can be attached to. */
export type ResourceKind = "IPAddressPool" | "L2Advertisement" | "BGPAdvertisement" | "BGPPeer" | "BFDProfile" | "Community" | "Secret" | "Node" | "Namespace";

/**
 * One reason the configuration is invalid. `field` is a JSON-path-like location inside the object
 * (`spec.addresses[1]`, empty for the whole object); `index` is the object's position in its
 * `ClusterResources` array. `transient` problems are dangling references that may resolve once the
 * referenced object is created (MetalLB's TransientError); all others need a user fix.
 */
export interface ConfigProblem {
  readonly kind: ResourceKind;
  readonly name: string;
  readonly index: number;
  readonly field: string;
  readonly message: string;
  readonly transient: boolean;
}

export interface ParseConfigOptions {
  /**
   * The MetalLB namespace. When set, MetalLB objects that name another namespace are rejected ("resource must be
   * created in <ns> namespace") and only Secrets of this namespace are used for BGP passwords.
   */
  readonly namespace?: string | undefined;
  /**
   * Leave the BGPPeers' node-level problems to the speakers (the operator's parse; default false). MetalLB's controller
   * never validates peers: each speaker validates only the peers selecting its node and reports in its own
   * ConfigurationState (model/src/config/speaker-problems.ts). With this set, a peer's missing BFDProfile, its
   * password Secret being missing, of the wrong type or without a password, and FRR side-by-side conflicts between
   * peers are not problems: the peer is kept with its references (bfdProfile name, Secret name, empty password) and
   * the speakers of the nodes it selects decide.
   */
  readonly leaveNodeProblemsToSpeakers?: boolean | undefined;
}

/** `IPAddressPool.spec.serviceAllocation`, resolved. */
export interface ServiceAllocation {
  /** Lower is preferred; 0 (unset) is the lowest priority. */
  readonly priority: number;
  /** `namespaces` ∪ names of the Namespaces matched by `namespaceSelectors`, sorted. */
  readonly namespaces: readonly string[];
  /** As given; already applied to the known Namespaces to compute `namespaces`. */
  readonly namespaceSelectors: readonly LabelSelector[];
  /** Service selectors; a serviceAllocation with neither namespaces nor selectors gets `[EVERYTHING]`. */
  readonly serviceSelectors: readonly LabelSelector[];
}

/** One `spec.addresses` entry and the CIDRs it summarizes to. */
export interface PoolAddress {
  readonly text: string;
  readonly cidrs: readonly Cidr[];
}

export interface Pool {
  readonly name: string;
  readonly labels: Labels;
  readonly addresses: readonly PoolAddress[];
  /** All CIDRs in spec order (ranges summarized). */
  readonly cidrs: readonly Cidr[];
  readonly ipv4: readonly Cidr[];
  readonly ipv6: readonly Cidr[];
  readonly autoAssign: boolean;
  readonly avoidBuggyIPs: boolean;
  readonly serviceAllocation: ServiceAllocation | null;
}

export type DynamicASN = "internal" | "external";

export interface Peer {
  readonly name: string;
  readonly myASN: number;
  /** 0 when `dynamicASN` is used. */
  readonly peerASN: number;
  readonly dynamicASN: DynamicASN | null;
  readonly localASN: number | null;
  readonly address: IPAddress | null;
  readonly interface: string | null;
  readonly port: number;
  /** Hold time and keepalive after MetalLB's derivation (hold = 3 × keepalive, keepalive = hold / 3); null = FRR default. */
  readonly holdTimeMs: number | null;
  readonly keepaliveTimeMs: number | null;
  readonly connectTimeMs: number | null;
  readonly routerID: IPAddress | null;
  readonly sourceAddress: IPAddress | null;
  /** Empty = all nodes. */
  readonly nodeSelectors: readonly LabelSelector[];
  /** Names of the given Nodes that the selectors match, sorted. */
  readonly nodes: readonly string[];
  /** `spec.password`, or the `password` key of the referenced basic-auth Secret; "" when none. Never log it. */
  readonly password: string;
  readonly passwordSecretName: string | null;
  readonly bfdProfile: string | null;
  readonly enableGracefulRestart: boolean;
  readonly ebgpMultiHop: boolean;
  readonly vrf: string;
  readonly disableMP: boolean;
  readonly dualStackAddressFamily: boolean;
}

export interface BFDProfile {
  readonly name: string;
  readonly receiveIntervalMs: number | null;
  readonly transmitIntervalMs: number | null;
  readonly detectMultiplier: number | null;
  readonly echoIntervalMs: number | null;
  readonly echoMode: boolean;
  readonly passiveMode: boolean;
  readonly minimumTtl: number | null;
}

export interface PreferredNodeSelector {
  readonly weight: number;
  readonly preference: LabelSelector;
}

export interface L2Advertisement {
  readonly name: string;
  /** Names of the selected pools, sorted. */
  readonly pools: readonly string[];
  readonly nodeSelectors: readonly LabelSelector[];
  readonly nodes: readonly string[];
  /** Empty = all interfaces. */
  readonly interfaces: readonly string[];
  readonly serviceSelectors: readonly LabelSelector[];
  readonly preferredNodeSelectors: readonly PreferredNodeSelector[];
}

export interface BGPAdvertisement {
  readonly name: string;
  readonly pools: readonly string[];
  readonly aggregationLength: number;
  readonly aggregationLengthV6: number;
  /** 0 = unset. */
  readonly localPref: number;
  /** Aliases resolved, deduplicated, sorted by text form. */
  readonly communities: readonly Community[];
  readonly nodeSelectors: readonly LabelSelector[];
  readonly nodes: readonly string[];
  /** Empty = all peers. */
  readonly peers: readonly string[];
  readonly serviceSelectors: readonly LabelSelector[];
}

/** One `status.addresses` entry of a Node, as given (`InternalIP`, `ExternalIP`, `Hostname`, …). */
export interface NodeAddress {
  readonly type: string;
  readonly address: string;
}

/** What the configuration keeps of a Node besides the labels its selectors matched. */
export interface NodeInfo {
  readonly name: string;
  /** `status.addresses` in the Node's order (entries without a string type and address left out). */
  readonly addresses: readonly NodeAddress[];
}

/** The validated internal configuration. All lists are sorted by name. */
export interface Config {
  readonly pools: readonly Pool[];
  readonly peers: readonly Peer[];
  readonly bfdProfiles: readonly BFDProfile[];
  /** Community alias name → value, from all Community objects. */
  readonly communities: ReadonlyMap<string, Community>;
  readonly l2Advertisements: readonly L2Advertisement[];
  readonly bgpAdvertisements: readonly BGPAdvertisement[];
  /** The given Nodes' addresses, for the plan (a node's default BGP router ID). */
  readonly nodes: readonly NodeInfo[];
}
