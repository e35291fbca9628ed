import type { Labels } from "../labels/selector.js";
import type { IPAddress, IPFamily } from "../net/ip.js";

/** `namespace/name` of a Service. */
export type ServiceKey = string;

export type Protocol = "TCP" | "UDP" | "SCTP";

export interface ServicePort {
  readonly protocol: Protocol;
  readonly port: number;
}

/** `spec.ipFamilyPolicy`; the shell maps a missing policy to SingleStack. */
export type IPFamilyPolicy = "SingleStack" | "PreferDualStack" | "RequireDualStack";

/** What the allocator needs to know about a Service; built by the shell from a V1Service. */
export interface ServiceView {
  readonly key: ServiceKey;
  readonly namespace: string;
  readonly labels: Labels;
  /** Current labels of the Service's Namespace, when known: matched against a pool's `namespaceSelectors`. */
  readonly namespaceLabels?: Labels | undefined;
  /** Families of the ClusterIPs, primary first (`spec.ipFamilies`). */
  readonly families: readonly IPFamily[];
  readonly ipFamilyPolicy: IPFamilyPolicy;
  readonly ports: readonly ServicePort[];
  /** `metallb.io/allow-shared-ip`; "" = no sharing. */
  readonly sharingKey: string;
  /** "" for externalTrafficPolicy Cluster, the pod selector string for Local. */
  readonly backendKey: string;
}

export type AllocationErrorCode =
  | "NotAllowedByConfig"
  | "PoolExhausted"
  | "UnknownPool"
  | "InUse"
  | "PortConflict"
  | "SharingKeyMismatch"
  | "BackendMismatch"
  | "FamilyMismatch"
  | "IncompatiblePool"
  | "TooManyIPs"
  | "NotAllocated";

/** An expected allocation failure: a stable code (for events, metrics, logs) and a MetalLB-like message. */
export interface AllocationError {
  readonly code: AllocationErrorCode;
  readonly message: string;
}

/** The IPs a service holds and the pool they belong to. IPs are ordered like the service's families when allocated. */
export interface Assignment {
  readonly key: ServiceKey;
  readonly pool: string;
  readonly ips: readonly IPAddress[];
}

/** A full allocation record, as the allocator stores it. */
export interface AllocationView extends Assignment {
  readonly ports: readonly ServicePort[];
  readonly sharingKey: string;
  readonly backendKey: string;
}

/** Per-pool address counters (buggy IPs of avoidBuggyIPs pools are not counted; "in use" counts distinct IPs). */
export interface PoolCounters {
  readonly pool: string;
  readonly ipv4Total: bigint;
  readonly ipv6Total: bigint;
  readonly ipv4InUse: bigint;
  readonly ipv6InUse: bigint;
}

export interface SetPoolsResult {
  /** Services whose IPs are no longer inside any pool, sorted; they have been unassigned. */
  readonly invalidated: ServiceKey[];
}
