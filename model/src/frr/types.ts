// The FRR view model: a plain, fully precomputed description of frr.conf. Templates only iterate over it and test
// its booleans; every value is already in FRR 8.4's canonical text form. Every key is always present (`strict`
// Handlebars): absent values are `false`, `""`, `0` or `[]` next to a `has…` flag.

/** `--log-level` of the speaker (MetalLB's values). */
export type LogLevel = "all" | "debug" | "info" | "warn" | "error" | "none";

export interface FrrLogging {
  /** `log stdout <level>`; FRR prints the default level (debugging) as a bare `log stdout`. */
  readonly hasLevel: boolean;
  readonly level: string;
  /** Emit the debug lines (zebra, bgp, bfd) in the order `show running-config` prints them. */
  readonly debug: boolean;
}

export interface FrrNeighbor {
  /** Comment naming the BGPPeer, e.g. `BGPPeer metallb-system/peer-a`. */
  readonly comment: string;
  /** Address or interface name as FRR prints it. */
  readonly id: string;
  /** Unnumbered BGP: `neighbor <if> interface remote-as …`. */
  readonly unnumbered: boolean;
  /** ASN, `internal` or `external`. */
  readonly remoteAs: string;
  readonly hasLocalAs: boolean;
  readonly localAs: number;
  /** `neighbor X bfd` and, with a profile, `neighbor X bfd profile P`. */
  readonly bfd: boolean;
  readonly hasBfdProfile: boolean;
  readonly bfdProfile: string;
  /**
   * `neighbor X bfd check-control-plane-failure`: with graceful restart and BFD, a control plane restart (bgpd down,
   * BFD's C bit clear) is not taken as a forwarding failure, so the peer keeps the routes through the restart.
   */
  readonly bfdCheckControlPlaneFailure: boolean;
  /** The password itself is never in the model: the renderer takes it from the secrets map by `passwordKey`. */
  readonly hasPassword: boolean;
  readonly passwordKey: string;
  /** Only when not FRR's default 179. */
  readonly hasPort: boolean;
  readonly port: number;
  /** FRR prints `ebgp-multihop` as `ebgp-multihop 255`. */
  readonly ebgpMultihop: boolean;
  readonly disableConnectedCheck: boolean;
  readonly hasUpdateSource: boolean;
  readonly updateSource: string;
  /** `timers <keepalive> <hold>` in seconds. */
  readonly hasTimers: boolean;
  readonly keepaliveSeconds: number;
  readonly holdSeconds: number;
  readonly hasConnectTime: boolean;
  readonly connectSeconds: number;
  readonly gracefulRestart: boolean;
}

/** A neighbor's lines inside an address family. */
export interface FrrAddressFamilyNeighbor {
  readonly comment: string;
  readonly id: string;
  readonly routeMapIn: string;
  readonly routeMapOut: string;
}

export interface FrrNetwork {
  readonly comment: string;
  readonly prefix: string;
  /** The route-map of the prefix's class (`network <prefix> route-map <routeMap>`): it sets the class's route tag. */
  readonly routeMap: string;
}

export interface FrrAddressFamily {
  /** `ipv4 unicast` or `ipv6 unicast`. */
  readonly name: string;
  readonly networks: readonly FrrNetwork[];
  readonly neighbors: readonly FrrAddressFamilyNeighbor[];
}

export interface FrrRouter {
  readonly comment: string;
  readonly asn: number;
  readonly hasVrf: boolean;
  readonly vrf: string;
  readonly hasRouterId: boolean;
  readonly routerId: string;
  /** `bgp graceful-shutdown` (RFC 8326): every update carries GRACEFUL_SHUTDOWN, and LOCAL_PREF 0 to iBGP peers. */
  readonly gracefulShutdown: boolean;
  readonly neighbors: readonly FrrNeighbor[];
  readonly addressFamilies: readonly FrrAddressFamily[];
}

/** One entry of a route-map. Entries of one route-map are adjacent and in sequence order, as FRR prints them. */
export interface FrrRouteMapEntry {
  readonly comment: string;
  readonly name: string;
  readonly action: "permit" | "deny";
  readonly seq: number;
  /** `match tag <matchTag>`. */
  readonly hasMatchTag: boolean;
  readonly matchTag: number;
  /** What follows each `set `, in FRR's order: `community … additive`, `large-community … additive`, `local-preference N`, `tag N`. */
  readonly sets: readonly string[];
}

export interface FrrBfdProfile {
  readonly comment: string;
  readonly name: string;
  readonly hasDetectMultiplier: boolean;
  readonly detectMultiplier: number;
  readonly hasTransmitInterval: boolean;
  readonly transmitInterval: number;
  readonly hasReceiveInterval: boolean;
  readonly receiveInterval: number;
  readonly passiveMode: boolean;
  readonly echoMode: boolean;
  /** Rendered as both `echo transmit-interval` and `echo receive-interval`. */
  readonly hasEchoInterval: boolean;
  readonly echoInterval: number;
  readonly hasMinimumTtl: boolean;
  readonly minimumTtl: number;
}

export interface FrrConfig {
  /** Leading comment lines (without the `! `). */
  readonly header: readonly string[];
  readonly log: FrrLogging;
  /** Default VRF first, then VRFs by name. */
  readonly routers: readonly FrrRouter[];
  /** The class route-maps (by class id), then each neighbor's `-in` and `-out` route-maps (in neighbor order). */
  readonly routeMaps: readonly FrrRouteMapEntry[];
  readonly hasBfdProfiles: boolean;
  readonly bfdProfiles: readonly FrrBfdProfile[];
}
