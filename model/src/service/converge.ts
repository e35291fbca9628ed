// Per-Service convergence (MetalLB's convergeBalancer), pure over the allocator's in-memory state: given a Service
// snapshot, decide which IPs it holds and which Events to emit. The shell writes the result and rolls the allocator
// back if that write fails.
import type { Allocator } from "../allocator/allocator.js";
import type { AllocationError } from "../allocator/types.js";
import { formatIP, type IPAddress, type IPFamily } from "../net/ip.js";
import type { ServiceSnapshot } from "./snapshot.js";

export type EventReason =
  | "IPAllocated"
  | "AllocationFailed"
  | "ClearAssignment"
  | "LoadBalancerFailed"
  | "AdditionalAssignFailed"
  | "NotEnoughClusterIPs"
  | "NoClusterIPs"
  | "deprecatedAnnotation";

export interface ServiceEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: EventReason;
  readonly message: string;
}

export interface ConvergeResult {
  /** The IPs status.loadBalancer.ingress should list (formatted), in allocation order. */
  readonly ingress: readonly string[];
  /** Value of metallb.io/ip-allocated-from-pool, or null to remove it. */
  readonly pool: string | null;
  readonly events: readonly ServiceEvent[];
  /** The Service could not get what it needs; it waits for a change elsewhere (no retry). */
  readonly failed: boolean;
  /** Something changed that may unblock other Services (IPs freed, sharing key changed): reprocess them all. */
  readonly reprocessAll: boolean;
}

interface Prior {
  readonly ips: readonly IPAddress[];
  readonly sharingKey: string | null;
  readonly backendKey: string | null;
}

const warning = (reason: EventReason, message: string): ServiceEvent => ({ type: "Warning", reason, message });
const normal = (reason: EventReason, message: string): ServiceEvent => ({ type: "Normal", reason, message });
const sameIPs = (a: readonly IPAddress[], b: readonly IPAddress[]): boolean => {
  const key = (ips: readonly IPAddress[]): string => ips.map(formatIP).sort().join(",");
  return key(a) === key(b);
};

/** Do the held IPs fit the Service's families and policy (else they are cleared and reallocated)? */
export function ipsFitFamilies(ips: readonly IPAddress[], families: readonly IPFamily[], policy: ServiceSnapshot["view"]["ipFamilyPolicy"]): boolean {
  const got = ips.map((ip) => ip.family);
  if (new Set(got).size !== got.length) return false;
  if (got.some((f) => !families.includes(f))) return false;
  if (policy === "SingleStack") return got.length === 1 && got[0] === families[0];
  if (policy === "RequireDualStack") return got.length === 2;
  return got.length >= 1;
}

function priorOf(alloc: Allocator, key: string): Prior {
  const sharing = alloc.sharingOf(key);
  return { ips: alloc.ipsOf(key), sharingKey: sharing?.sharingKey ?? null, backendKey: sharing?.backendKey ?? null };
}

function finish(alloc: Allocator, snap: ServiceSnapshot, prior: Prior, events: ServiceEvent[], failed: boolean): ConvergeResult {
  const key = snap.view.key;
  const ips = alloc.ipsOf(key);
  const sharing = alloc.sharingOf(key);
  const freed = prior.ips.some((p) => !ips.some((i) => i.family === p.family && i.value === p.value));
  const keyChanged = sharing !== null && prior.sharingKey !== null && (sharing.sharingKey !== prior.sharingKey || sharing.backendKey !== prior.backendKey);
  return { ingress: ips.map(formatIP), pool: alloc.poolOf(key), events, failed, reprocessAll: freed || keyChanged };
}

const describeError = (e: AllocationError): string => e.message;

/**
 * Converges one LoadBalancer Service. Mutates the allocator (assign/unassign); returns what to write.
 * `poolsLoaded` false means no valid configuration was ever loaded: nothing is touched.
 */
export function convergeService(alloc: Allocator, snap: ServiceSnapshot, poolsLoaded: boolean): ConvergeResult | null {
  const key = snap.view.key;
  const prior = priorOf(alloc, key);
  const events: ServiceEvent[] = [];
  const clear = (): void => {
    alloc.unassign(key);
  };

  if (!snap.isLoadBalancer) {
    clear();
    return finish(alloc, snap, prior, events, false);
  }
  if (!poolsLoaded) return null;
  if (snap.clusterIPs.length === 0) {
    clear();
    events.push(warning("NoClusterIPs", "service has no ClusterIPs"));
    return finish(alloc, snap, prior, events, true);
  }
  if (snap.view.ipFamilyPolicy === "RequireDualStack" && snap.clusterIPs.length < 2) {
    clear();
    events.push(warning("NotEnoughClusterIPs", "RequireDualStack service needs two ClusterIPs"));
    return finish(alloc, snap, prior, events, true);
  }

  // 1. Re-register (or re-check) the IPs the Service already shows. When its status shows none but the allocator
  //    holds some for it (our status write is in flight, or the cache is behind), those are kept: IPs never move
  //    because of a stale read.
  const fits = (ips: readonly IPAddress[]): boolean => ips.length > 0 && ipsFitFamilies(ips, snap.view.families, snap.view.ipFamilyPolicy);
  let held = fits(snap.ingressIPs) ? [...snap.ingressIPs] : snap.ingressIPs.length === 0 && fits(prior.ips) ? [...prior.ips] : [];
  if (held.length > 0) {
    const r = alloc.assign(snap.view, held);
    if (!r.ok) {
      events.push(
        normal("ClearAssignment", `current IP for ${JSON.stringify(key)} not allowed by config, will attempt for new IP assignment: ${describeError(r.error)}`),
      );
      clear();
      held = [];
    } else if (snap.poolAnnotation !== null && r.value.pool !== snap.poolAnnotation) {
      clear();
      held = [];
    } else if (snap.requested.ok && snap.requested.ips.length > 0 && !sameIPs(snap.requested.ips, held)) {
      clear();
      held = [];
    }
  } else {
    // The status holds IPs that do not fit the Service's families: release and allocate anew.
    clear();
  }

  // 2. A PreferDualStack Service holding one IP tries to get the other family from the same pool.
  if (held.length === 1 && snap.view.ipFamilyPolicy === "PreferDualStack" && snap.view.families.length === 2) {
    const r = alloc.addMissingFamily(snap.view);
    if (r.ok && r.value.ips.length === 2) events.push(normal("IPAllocated", `Assigned additional IP ${r.value.ips.map(formatIP).join(", ")}`));
    else if (!r.ok) events.push(normal("AdditionalAssignFailed", `Failed to assign an additional IP: ${describeError(r.error)}`));
  }
  if (held.length > 0) return finish(alloc, snap, prior, events, false);

  // 3. Allocate: requested IPs, else the requested pool, else any suitable pool.
  if (!snap.requested.ok) {
    events.push(warning("LoadBalancerFailed", snap.requested.reason));
    return finish(alloc, snap, prior, events, true);
  }
  let r;
  if (snap.requested.ips.length > 0) {
    r = alloc.assign(snap.view, snap.requested.ips);
    if (r.ok && snap.poolAnnotation !== null && r.value.pool !== snap.poolAnnotation) {
      clear();
      r = {
        ok: false as const,
        error: {
          code: "IncompatiblePool" as const,
          message: `requested IP ${snap.requested.ips.map(formatIP).join(", ")} is not compatible with requested address pool ${JSON.stringify(snap.poolAnnotation)}`,
        },
      };
    }
  } else if (snap.poolAnnotation !== null) {
    r = alloc.allocateFromPool(snap.view, snap.poolAnnotation);
  } else {
    r = alloc.allocate(snap.view);
  }
  if (!r.ok) {
    events.push(warning("AllocationFailed", `Failed to allocate IP for ${JSON.stringify(key)}: ${describeError(r.error)}`));
    return finish(alloc, snap, prior, events, true);
  }
  events.push(normal("IPAllocated", `Assigned IP ${JSON.stringify(r.value.ips.map(formatIP))}`));
  return finish(alloc, snap, prior, events, false);
}

/**
 * Re-registers exactly the IPs a Service's status shows, when they are still valid for it; allocates nothing and
 * emits nothing. False (and nothing held) when they are not.
 */
export function reclaimHeldIPs(alloc: Allocator, snap: ServiceSnapshot): boolean {
  const key = snap.view.key;
  if (!snap.isLoadBalancer || snap.clusterIPs.length === 0 || snap.ingressIPs.length === 0) return false;
  if (!ipsFitFamilies(snap.ingressIPs, snap.view.families, snap.view.ipFamilyPolicy)) return false;
  if (snap.requested.ok && snap.requested.ips.length > 0 && !sameIPs(snap.requested.ips, snap.ingressIPs)) return false;
  const r = alloc.assign(snap.view, snap.ingressIPs);
  if (!r.ok) return false;
  if (snap.poolAnnotation !== null && r.value.pool !== snap.poolAnnotation) {
    alloc.unassign(key);
    return false;
  }
  return true;
}

/**
 * Converges every Service at once (a new leadership term, a configuration change) without moving a valid assignment:
 * first every Service re-registers the IPs it still validly holds, allocating nothing; only then are the others
 * converged (allocating), so a Service whose IPs became invalid never takes the IP of a Service that comes later.
 */
export function convergeAll(
  alloc: Allocator,
  snaps: readonly ServiceSnapshot[],
  poolsLoaded: boolean,
): Array<{ snap: ServiceSnapshot; result: ConvergeResult | null }> {
  if (poolsLoaded) for (const snap of snaps) reclaimHeldIPs(alloc, snap);
  const holdersFirst = [...snaps].sort((a, b) => Number(alloc.ipsOf(b.view.key).length > 0) - Number(alloc.ipsOf(a.view.key).length > 0));
  return holdersFirst.map((snap) => ({ snap, result: convergeService(alloc, snap, poolsLoaded) }));
}
