// generated from config/crd/bases by codegen.ts; do not edit

import type { V1ObjectMeta } from "@kubernetes/client-node";

/** Every kind declared by the CRDs: names, served versions and the storage version. */
export const API_KINDS = [
  {
    group: "metallb.io",
    kind: "BFDProfile",
    listKind: "BFDProfileList",
    plural: "bfdprofiles",
    singular: "bfdprofile",
    namespaced: true,
    versions: ["v1beta1"],
    deprecatedVersions: [],
    storageVersion: "v1beta1",
    statusSubresource: true,
  },
  {
    group: "metallb.io",
    kind: "BGPAdvertisement",
    listKind: "BGPAdvertisementList",
    plural: "bgpadvertisements",
    singular: "bgpadvertisement",
    namespaced: true,
    versions: ["v1beta1"],
    deprecatedVersions: [],
    storageVersion: "v1beta1",
    statusSubresource: true,
  },
  {
    group: "metallb.io",
    kind: "BGPPeer",
    listKind: "BGPPeerList",
    plural: "bgppeers",
    singular: "bgppeer",
    namespaced: true,
    versions: ["v1beta1", "v1beta2"],
    deprecatedVersions: ["v1beta1"],
    storageVersion: "v1beta2",
    statusSubresource: true,
  },
  {
    group: "metallb.io",
    kind: "Community",
    listKind: "CommunityList",
    plural: "communities",
    singular: "community",
    namespaced: true,
    versions: ["v1beta1"],
    deprecatedVersions: [],
    storageVersion: "v1beta1",
    statusSubresource: true,
  },
  {
    group: "metallb.io",
    kind: "ConfigurationState",
    listKind: "ConfigurationStateList",
    plural: "configurationstates",
    singular: "configurationstate",
    namespaced: true,
    versions: ["v1beta1"],
    deprecatedVersions: [],
    storageVersion: "v1beta1",
    statusSubresource: true,
  },
  {
    group: "metallb.io",
    kind: "IPAddressPool",
    listKind: "IPAddressPoolList",
    plural: "ipaddresspools",
    singular: "ipaddresspool",
    namespaced: true,
    versions: ["v1beta1"],
    deprecatedVersions: [],
    storageVersion: "v1beta1",
    statusSubresource: true,
  },
  {
    group: "metallb.io",
    kind: "L2Advertisement",
    listKind: "L2AdvertisementList",
    plural: "l2advertisements",
    singular: "l2advertisement",
    namespaced: true,
    versions: ["v1beta1"],
    deprecatedVersions: [],
    storageVersion: "v1beta1",
    statusSubresource: true,
  },
  {
    group: "metallb.io",
    kind: "ServiceBGPStatus",
    listKind: "ServiceBGPStatusList",
    plural: "servicebgpstatuses",
    singular: "servicebgpstatus",
    namespaced: true,
    versions: ["v1beta1"],
    deprecatedVersions: [],
    storageVersion: "v1beta1",
    statusSubresource: true,
  },
  {
    group: "metallb.io",
    kind: "ServiceL2Status",
    listKind: "ServiceL2StatusList",
    plural: "servicel2statuses",
    singular: "servicel2status",
    namespaced: true,
    versions: ["v1beta1"],
    deprecatedVersions: [],
    storageVersion: "v1beta1",
    statusSubresource: true,
  },
] as const;

/** Kubernetes label selector (metav1.LabelSelector). */
export interface LabelSelector {
  /** List of label selector requirements, ANDed. */
  matchExpressions?: LabelSelectorRequirement[];
  /** Map of label key to value; each entry is an In requirement with a single value. */
  matchLabels?: Record<string, string>;
}

/** One requirement of a label selector (metav1.LabelSelectorRequirement). */
export interface LabelSelectorRequirement {
  /** The label key the requirement applies to. */
  key: string;
  /** One of In, NotIn, Exists, DoesNotExist. */
  operator: string;
  /** Values for In and NotIn; must be empty for Exists and DoesNotExist. */
  values?: string[];
}

/** Reference to a Secret (core/v1 SecretReference). */
export interface SecretReference {
  /** Name of the Secret. */
  name?: string;
  /** Namespace of the Secret; defaults to the namespace of the referring object. */
  namespace?: string;
}

/** Standard Kubernetes condition (metav1.Condition). */
export interface Condition {
  /**
   * When the condition last changed status (RFC 3339).
   * @format date-time
   */
  lastTransitionTime: string;
  /**
   * Human readable details about the last transition.
   * @maxLength 32768
   */
  message: string;
  /**
   * The metadata.generation the condition was computed from.
   * @format int64
   * @minimum 0
   */
  observedGeneration?: number;
  /**
   * Machine readable CamelCase reason for the last transition.
   * @minLength 1
   * @maxLength 1024
   */
  reason: string;
  /** Status of the condition. */
  status: "True" | "False" | "Unknown";
  /**
   * Type of the condition, CamelCase or domain-prefixed.
   * @maxLength 316
   */
  type: string;
}

/** BFDProfile holds the parameters of the BFD sessions of the BGP peers that reference it. */
export interface BFDProfileV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "BFDProfile";
  metadata?: V1ObjectMeta;
  /** BFD session parameters. Unset fields use the routing daemon's defaults. */
  spec?: BFDProfileSpec;
  /** Currently empty. */
  status?: BFDProfileStatus;
}

/** BFD session parameters. Unset fields use the routing daemon's defaults. */
export interface BFDProfileSpec {
  /**
   * Number of missed packets after which the session is declared down.
   * @format int32
   * @minimum 2
   * @maximum 255
   */
  detectMultiplier?: number;
  /**
   * Minimum interval, in milliseconds, between echo packets (transmit and receive).
   * @format int32
   * @minimum 10
   * @maximum 60000
   */
  echoInterval?: number;
  /** Enable echo mode. Not usable with multi-hop sessions or IPv6. */
  echoMode?: boolean;
  /**
   * Minimum TTL accepted on incoming packets; only for multi-hop sessions.
   * @format int32
   * @minimum 1
   * @maximum 254
   */
  minimumTtl?: number;
  /** Do not send control packets until the peer does. */
  passiveMode?: boolean;
  /**
   * Minimum interval, in milliseconds, this system can receive control packets at.
   * @format int32
   * @minimum 10
   * @maximum 60000
   */
  receiveInterval?: number;
  /**
   * Minimum interval, in milliseconds, this system wants to send control packets at.
   * @format int32
   * @minimum 10
   * @maximum 60000
   */
  transmitInterval?: number;
}

/** Currently empty. */
export type BFDProfileStatus = Record<string, never>;

/** BGPAdvertisement announces the addresses of the selected pools to BGP peers, with optional aggregation and BGP attributes. */
export interface BGPAdvertisementV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "BGPAdvertisement";
  metadata?: V1ObjectMeta;
  /** What to advertise, from which nodes, to which peers and with which attributes. */
  spec?: BGPAdvertisementSpec;
  /** Currently empty. */
  status?: BGPAdvertisementStatus;
}

/** What to advertise, from which nodes, to which peers and with which attributes. */
export interface BGPAdvertisementSpec {
  /**
   * Prefix length applied to each IPv4 address before it is advertised (roll-up). 32 means no aggregation.
   * @default 32
   * @format int32
   * @minimum 1
   */
  aggregationLength?: number;
  /**
   * Prefix length applied to each IPv6 address before it is advertised. 128 means no aggregation.
   * @default 128
   * @format int32
   */
  aggregationLengthV6?: number;
  /** BGP communities attached to the advertised prefixes: "AA:NN" (two 16-bit values), "large:A:B:C" (three 32-bit values) or the name of an alias defined in a Community object. */
  communities?: string[];
  /** Pools whose labels match any of these selectors. If both this and ipAddressPools are empty, all pools are selected. */
  ipAddressPoolSelectors?: LabelSelector[];
  /** Pools selected by name. If both this and ipAddressPoolSelectors are empty, all pools are selected. */
  ipAddressPools?: string[];
  /**
   * BGP LOCAL_PREF attribute of the advertised prefixes; 0 means not set.
   * @format int64
   * @minimum 0
   * @maximum 4294967295
   */
  localPref?: number;
  /** Nodes that advertise (and become next hops), any selector matching. Empty means all nodes. */
  nodeSelectors?: LabelSelector[];
  /** Names of the BGPPeer objects to advertise to. Empty means all peers. */
  peers?: string[];
  /** Only Services matching any of these selectors are advertised. Empty means all Services. */
  serviceSelectors?: LabelSelector[];
}

/** Currently empty. */
export type BGPAdvertisementStatus = Record<string, never>;

/** BGPPeer describes a BGP session (deprecated version, use v1beta2). */
export interface BGPPeerV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "BGPPeer";
  metadata?: V1ObjectMeta;
  /** Session parameters. */
  spec?: BGPPeerV1beta1Spec;
  /** Currently empty. */
  status?: BGPPeerV1beta1Status;
}

/** Session parameters. */
export interface BGPPeerV1beta1Spec {
  /** Name of the BFDProfile used for the BFD session with this peer. Unset means no BFD. */
  bfdProfile?: string;
  /** The peer is more than one hop away (eBGP multi-hop). */
  ebgpMultiHop?: boolean;
  /**
   * Requested BGP hold time (RFC 4271), a duration such as "90s". Must be 0 or at least 3s.
   * @maxLength 64
   */
  holdTime?: string;
  /**
   * Requested BGP keepalive time, a duration such as "30s". Must not exceed holdTime.
   * @maxLength 64
   */
  keepaliveTime?: string;
  /**
   * AS number used on the local end of the session.
   * @format int64
   * @minimum 0
   * @maximum 4294967295
   */
  myASN: number;
  /** Only nodes matching any of these selectors open a session with this peer. Empty means all nodes. */
  nodeSelectors?: LabelSelector[];
  /** TCP MD5 password for the session. Mutually exclusive with passwordSecret. */
  password?: string;
  /**
   * AS number expected from the remote end of the session.
   * @format int64
   * @minimum 0
   * @maximum 4294967295
   */
  peerASN: number;
  /** IP address of the peer. */
  peerAddress: string;
  /**
   * TCP port to connect to on the peer.
   * @default 179
   * @format int32
   * @minimum 1
   * @maximum 16384
   */
  peerPort?: number;
  /** BGP router ID (an IPv4 address) to advertise to the peer. */
  routerID?: string;
  /** Local address the session is opened from. */
  sourceAddress?: string;
  /** Name of the host VRF the session is opened from. Empty means the default VRF. */
  vrf?: string;
}

/** Currently empty. */
export type BGPPeerV1beta1Status = Record<string, never>;

/** BGPPeer describes a BGP session that the selected nodes open with a router. */
export interface BGPPeerV1beta2 {
  apiVersion: "metallb.io/v1beta2";
  kind: "BGPPeer";
  metadata?: V1ObjectMeta;
  /** Session parameters. Exactly one of peerASN and dynamicASN, and exactly one of peerAddress and interface, must be set (checked by the configuration validator, not by this schema). */
  spec?: BGPPeerV1beta2Spec;
  /** Currently empty. */
  status?: BGPPeerV1beta2Status;
}

/** Session parameters. Exactly one of peerASN and dynamicASN, and exactly one of peerAddress and interface, must be set (checked by the configuration validator, not by this schema). */
export interface BGPPeerV1beta2Spec {
  /** Name of the BFDProfile used for the BFD session with this peer. Unset means no BFD. */
  bfdProfile?: string;
  /**
   * Time to wait between connection attempts to the peer, a whole number of seconds from 1s to 65535s.
   * @maxLength 64
   */
  connectTime?: string;
  /**
   * Deprecated, has no effect.
   * @default false
   */
  disableMP?: boolean;
  /**
   * Activate both the IPv4 and the IPv6 address family on the session.
   * @default false
   */
  dualStackAddressFamily?: boolean;
  /** Accept the peer's AS number if it is the local one (internal) or any other one (external). Mutually exclusive with peerASN. */
  dynamicASN?: "internal" | "external";
  /** The peer is more than one hop away (eBGP multi-hop). */
  ebgpMultiHop?: boolean;
  /** Enable BGP graceful restart for the session. Cannot be changed after creation. */
  enableGracefulRestart?: boolean;
  /**
   * Requested BGP hold time (RFC 4271), a duration such as "90s". Must be 0 or at least 3s.
   * @maxLength 64
   */
  holdTime?: string;
  /** Node interface to open an unnumbered BGP session on. Mutually exclusive with peerAddress. */
  interface?: string;
  /**
   * Requested BGP keepalive time, a duration such as "30s". Must not exceed holdTime.
   * @maxLength 64
   */
  keepaliveTime?: string;
  /**
   * AS number presented to the peer instead of myASN (local-as).
   * @format int64
   * @minimum 1
   * @maximum 4294967295
   */
  localASN?: number;
  /**
   * AS number used on the local end of the session.
   * @format int64
   * @minimum 0
   * @maximum 4294967295
   */
  myASN: number;
  /** Only nodes matching any of these selectors open a session with this peer. Empty means all nodes. */
  nodeSelectors?: LabelSelector[];
  /** TCP MD5 password for the session. Mutually exclusive with passwordSecret. */
  password?: string;
  /** Secret of type kubernetes.io/basic-auth holding the TCP MD5 password under the key "password". Must be in the same namespace. Mutually exclusive with password. */
  passwordSecret?: SecretReference;
  /**
   * AS number expected from the remote end of the session.
   * @format int64
   * @minimum 0
   * @maximum 4294967295
   */
  peerASN?: number;
  /** IP address of the peer. */
  peerAddress?: string;
  /**
   * TCP port to connect to on the peer.
   * @default 179
   * @format int32
   * @minimum 1
   * @maximum 16384
   */
  peerPort?: number;
  /** BGP router ID (an IPv4 address) to advertise to the peer. */
  routerID?: string;
  /** Local address the session is opened from. */
  sourceAddress?: string;
  /** Name of the host VRF the session is opened from. Empty means the default VRF. */
  vrf?: string;
}

/** Currently empty. */
export type BGPPeerV1beta2Status = Record<string, never>;

/** Community defines named aliases for BGP community values. Alias names are unique across all Community objects. */
export interface CommunityV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "Community";
  metadata?: V1ObjectMeta;
  /** The aliases defined by this object. */
  spec?: CommunitySpec;
  /** Currently empty. */
  status?: CommunityStatus;
}

/** The aliases defined by this object. */
export interface CommunitySpec {
  /** List of aliases. */
  communities?: CommunitySpecCommunity[];
}

/** One alias. */
export interface CommunitySpecCommunity {
  /** Alias name, used in place of a value in BGPAdvertisement.spec.communities. */
  name?: string;
  /** Community value, "AA:NN" or "large:A:B:C". */
  value?: string;
}

/** Currently empty. */
export type CommunityStatus = Record<string, never>;

/** ConfigurationState reports whether one component (the controller or one node's speaker) accepted the current configuration. */
export interface ConfigurationStateV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "ConfigurationState";
  metadata?: V1ObjectMeta;
  /** Result of the component's last configuration reconciliation. */
  status?: ConfigurationStateStatus;
}

/** Result of the component's last configuration reconciliation. */
export interface ConfigurationStateStatus {
  /** Per-reconciler conditions, keyed by type. */
  conditions?: Condition[];
  /** Messages of all failed conditions, one per line. */
  errorSummary?: string;
  /** Valid when every condition is true, Invalid when any is false, Unknown before the first report. */
  result?: "Valid" | "Invalid" | "Unknown";
}

/** IPAddressPool is a named set of IP addresses (CIDRs or ranges) that can be assigned to LoadBalancer Services. */
export interface IPAddressPoolV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "IPAddressPool";
  metadata?: V1ObjectMeta;
  /** Desired state of the pool. */
  spec?: IPAddressPoolSpec;
  /** Address usage counters, maintained by the controller. */
  status?: IPAddressPoolStatus;
}

/** Desired state of the pool. */
export interface IPAddressPoolSpec {
  /** Addresses of the pool. Each entry is a CIDR (for example 192.168.10.0/24 or fc00:f853:ccd:e799::/124) or an inclusive range "first-last" (for example 192.168.9.1-192.168.9.5). IPv4 and IPv6 may be mixed. */
  addresses: string[];
  /**
   * Whether the controller may assign addresses from this pool automatically. When false the pool is only used when a Service requests it explicitly (by annotation or by a specific IP).
   * @default true
   */
  autoAssign?: boolean;
  /**
   * Never assign IPv4 addresses ending in .0 or .255.
   * @default false
   */
  avoidBuggyIPs?: boolean;
  /** Restricts which Services may receive addresses from this pool and sets the pool's priority among the pools that match a Service. */
  serviceAllocation?: IPAddressPoolSpecServiceAllocation;
}

/** Restricts which Services may receive addresses from this pool and sets the pool's priority among the pools that match a Service. */
export interface IPAddressPoolSpecServiceAllocation {
  /** Services in namespaces matching any of these selectors may use the pool. */
  namespaceSelectors?: LabelSelector[];
  /** Services in these namespaces may use the pool. */
  namespaces?: string[];
  /** Priority of the pool; a lower value is a higher priority. Unset or 0 is the lowest priority. */
  priority?: number;
  /** Services matching any of these selectors may use the pool. */
  serviceSelectors?: LabelSelector[];
}

/** Address usage counters, maintained by the controller. */
export interface IPAddressPoolStatus {
  /**
   * Number of IPv4 addresses of the pool currently assigned to Services.
   * @format int64
   */
  assignedIPv4: number;
  /**
   * Number of IPv6 addresses of the pool currently assigned to Services.
   * @format int64
   */
  assignedIPv6: number;
  /**
   * Number of IPv4 addresses of the pool still free.
   * @format int64
   */
  availableIPv4: number;
  /**
   * Number of IPv6 addresses of the pool still free (saturates at 9223372036854775807).
   * @format int64
   */
  availableIPv6: number;
}

/** L2Advertisement makes the addresses of the selected pools reachable on the local network by answering ARP and NDP requests from one elected node. */
export interface L2AdvertisementV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "L2Advertisement";
  metadata?: V1ObjectMeta;
  /** Which pools, nodes, interfaces and Services the advertisement applies to. */
  spec?: L2AdvertisementSpec;
  /** Currently empty. */
  status?: L2AdvertisementStatus;
}

/** Which pools, nodes, interfaces and Services the advertisement applies to. */
export interface L2AdvertisementSpec {
  /** Announce only on these network interfaces. Empty means all interfaces. */
  interfaces?: string[];
  /** Pools whose labels match any of these selectors. If both this and ipAddressPools are empty, all pools are selected. */
  ipAddressPoolSelectors?: LabelSelector[];
  /** Pools selected by name. If both this and ipAddressPoolSelectors are empty, all pools are selected. */
  ipAddressPools?: string[];
  /** Nodes allowed to announce, any selector matching. Empty means all nodes. */
  nodeSelectors?: LabelSelector[];
  /** Soft preferences for the announcing node. A node's score is the sum of the weights of the preferences it matches; only nodes allowed by nodeSelectors are considered. */
  preferredNodeSelectors?: L2AdvertisementSpecPreferredNodeSelector[];
  /** Only Services matching any of these selectors are announced. Empty means all Services. */
  serviceSelectors?: LabelSelector[];
}

/** A weighted node preference. */
export interface L2AdvertisementSpecPreferredNodeSelector {
  /** A label query over a set of resources. matchLabels and matchExpressions are ANDed; an empty selector matches everything. */
  preference: LabelSelector;
  /**
   * Weight added to the score of nodes matching the preference, 1 to 100.
   * @format int32
   * @minimum 1
   * @maximum 100
   */
  weight: number;
}

/** Currently empty. */
export type L2AdvertisementStatus = Record<string, never>;

/** ServiceBGPStatus reports that a node advertises a Service's prefixes and to which BGP peers. */
export interface ServiceBGPStatusV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "ServiceBGPStatus";
  metadata?: V1ObjectMeta;
  /** Currently empty. */
  spec?: ServiceBGPStatusSpec;
  /** The advertisement as configured by the speaker of the node. */
  status?: ServiceBGPStatusStatus;
}

/** Currently empty. */
export type ServiceBGPStatusSpec = Record<string, never>;

/** The advertisement as configured by the speaker of the node. */
export interface ServiceBGPStatusStatus {
  /**
   * Name of the node advertising the Service.
   * @maxLength 253
   */
  node?: string;
  /** Sorted names of the BGPPeer objects the Service's prefixes are configured to be advertised to. */
  peers?: string[];
  /**
   * Name of the advertised Service.
   * @maxLength 253
   */
  serviceName?: string;
  /**
   * Namespace of the advertised Service.
   * @maxLength 253
   */
  serviceNamespace?: string;
}

/** ServiceL2Status reports which node announces a Service in layer 2 mode and on which interfaces. */
export interface ServiceL2StatusV1beta1 {
  apiVersion: "metallb.io/v1beta1";
  kind: "ServiceL2Status";
  metadata?: V1ObjectMeta;
  /** Currently empty. */
  spec?: ServiceL2StatusSpec;
  /** The announcement as seen by the announcing speaker. */
  status?: ServiceL2StatusStatus;
}

/** Currently empty. */
export type ServiceL2StatusSpec = Record<string, never>;

/** The announcement as seen by the announcing speaker. */
export interface ServiceL2StatusStatus {
  /** Interfaces the Service is announced on. Empty means all interfaces of the node. */
  interfaces?: ServiceL2StatusStatusInterface[];
  /**
   * Name of the node announcing the Service.
   * @maxLength 253
   */
  node?: string;
  /**
   * Name of the announced Service.
   * @maxLength 253
   */
  serviceName?: string;
  /**
   * Namespace of the announced Service.
   * @maxLength 253
   */
  serviceNamespace?: string;
}

/** One network interface. */
export interface ServiceL2StatusStatusInterface {
  /** Interface name. */
  name: string;
}

/** Any object of the API, at any served version. */
export type ApiObject =
  | BFDProfileV1beta1
  | BGPAdvertisementV1beta1
  | BGPPeerV1beta1
  | BGPPeerV1beta2
  | CommunityV1beta1
  | ConfigurationStateV1beta1
  | IPAddressPoolV1beta1
  | L2AdvertisementV1beta1
  | ServiceBGPStatusV1beta1
  | ServiceL2StatusV1beta1;
