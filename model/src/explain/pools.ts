// Why each IPAddressPool was taken or refused for one Service (pure). The verdicts come from the real allocator: the
// caller replays every Service on it (convergeAll, as the operator does), and each pool is then probed for the
// Service on that same state, so "exhausted" and "sharing conflict" mean exactly what the operator would find.
import type { Allocator } from "../allocator/allocator.js";
import { familyPlans, generalPools, pinnableOrder } from "../allocator/pool-select.js";
import { sharerOf, sharingProblem, type IPUse } from "../allocator/sharing.js";
import type { AllocationError, AllocationView, ServiceView } from "../allocator/types.js";
import type { Pool } from "../config/types.js";
import { anySelectorMatches, formatLabelSelector } from "../labels/selector.js";
import { cidrContainsIP } from "../net/cidr.js";
import { formatIP, type IPAddress } from "../net/ip.js";
import type { ServiceSnapshot } from "../service/snapshot.js";

/** Why a pool was or was not used for the Service. */
export type PoolReason =
  /** The Service's IPs come from this pool. */
  | "taken"
  /** autoAssign: false and the Service names no pool (metallb.io/address-pool) nor IP in it. */
  | "autoAssignDisabled"
  /** serviceAllocation namespaces/namespaceSelectors do not admit the Service's namespace. */
  | "namespaceNotSelected"
  /** serviceAllocation serviceSelectors do not match the Service's labels. */
  | "serviceNotSelected"
  /** The Service names another pool (metallb.io/address-pool). */
  | "otherPoolRequested"
  /** The Service requests IPs (metallb.io/loadBalancerIPs, spec.loadBalancerIP) that are not in this pool. */
  | "requestedIPNotInPool"
  /** The pool has no address of the families the Service needs. */
  | "noAddressOfFamily"
  /** No free address of the needed families (and none shared under the Service's sharing key that accepts it). */
  | "exhausted"
  /** The requested IP, or every IP shared under the Service's key, is held by a Service it may not share with. */
  | "sharingConflict"
  /** The pool would fit, but another pool comes first or the Service keeps the IPs it holds elsewhere. */
  | "notNeeded";

export interface PoolVerdict {
  readonly pool: string;
  readonly reason: PoolReason;
  /** Human detail: which selector, which Service holds the IP, … */
  readonly detail: string;
  /** Services named by a sharing conflict. */
  readonly conflictsWith: readonly string[];
}

const q = (s: string): string => JSON.stringify(s);
const SHARING_CODES: ReadonlySet<AllocationError["code"]> = new Set(["InUse", "PortConflict", "SharingKeyMismatch", "BackendMismatch"]);

/** Pools in the order the allocator tries them: pinned pools by priority, then general pools, then the others. */
export function poolsInAllocatorOrder(pools: readonly Pool[]): Pool[] {
  const first = [...pinnableOrder(pools), ...generalPools(pools)];
  const seen = new Set(first.map((p) => p.name));
  return [...first, ...pools.filter((p) => !seen.has(p.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))];
}

/** The serviceAllocation check of pool-select.ts isPoolCompatible, split by what refused. */
function allocationRefusal(pool: Pool, svc: ServiceView): { reason: PoolReason; detail: string } | null {
  const sa = pool.serviceAllocation;
  if (sa === null) return null;
  if (sa.namespaces.length > 0 || sa.namespaceSelectors.length > 0) {
    const listed = sa.namespaces.includes(svc.namespace);
    const selected = svc.namespaceLabels !== undefined && sa.namespaceSelectors.length > 0 && anySelectorMatches(sa.namespaceSelectors, svc.namespaceLabels);
    if (!listed && !selected) {
      const what = [
        ...(sa.namespaces.length > 0 ? [`namespaces [${sa.namespaces.join(", ")}]`] : []),
        ...sa.namespaceSelectors.map((s) => `namespaceSelector {${formatLabelSelector(s)}}`),
      ].join(", ");
      return { reason: "namespaceNotSelected", detail: `serviceAllocation admits ${what}, not namespace ${q(svc.namespace)}` };
    }
  }
  if (sa.serviceSelectors.length > 0 && !anySelectorMatches(sa.serviceSelectors, svc.labels)) {
    const what = sa.serviceSelectors.map((s) => `{${formatLabelSelector(s)}}`).join(", ");
    return { reason: "serviceNotSelected", detail: `serviceAllocation serviceSelectors ${what} do not match the Service's labels` };
  }
  return null;
}

function familyFits(pool: Pool, svc: ServiceView): boolean {
  const plans = familyPlans(svc);
  if (plans === null) return false;
  return plans.some((plan) => plan.every((f) => (f === "IPv4" ? pool.ipv4.length > 0 : pool.ipv6.length > 0)));
}

const contains = (pool: Pool, ip: IPAddress): boolean => pool.cidrs.some((c) => cidrContainsIP(c, ip));

/** The IPs in use in a pool under a sharing key, as the allocator's sharing rules see them. */
function usesUnderKey(allocations: readonly AllocationView[], pool: string, sharingKey: string): IPUse[] {
  const byIP = new Map<string, IPUse>();
  for (const a of allocations) {
    if (a.pool !== pool) continue;
    for (const ip of a.ips) {
      const k = formatIP(ip);
      const use = byIP.get(k) ?? { ip, pool, sharingKey: a.sharingKey, backendKey: a.backendKey, owners: [] };
      use.owners.push({ key: a.key, ports: [...new Set(a.ports.map((p) => `${p.protocol}/${p.port}`))] });
      byIP.set(k, use);
    }
  }
  return [...byIP.values()].filter((u) => u.sharingKey === sharingKey);
}

interface Probe {
  readonly alloc: Allocator;
  readonly snap: ServiceSnapshot;
  /** Every allocation, the Service's own left out. */
  readonly others: readonly AllocationView[];
}

function sharingDetail(probe: Probe, pool: Pool): PoolVerdict {
  const sharer = sharerOf(probe.snap.view);
  const uses = probe.snap.view.sharingKey === "" ? [] : usesUnderKey(probe.others, pool.name, probe.snap.view.sharingKey);
  const problems = uses.flatMap((u) => {
    const p = sharingProblem(u, sharer);
    return p === null ? [] : [{ holders: u.owners.map((o) => o.key), message: p.message }];
  });
  if (problems.length === 0) return { pool: pool.name, reason: "exhausted", detail: "no free address of the Service's families", conflictsWith: [] };
  const holders = [...new Set(problems.flatMap((p) => p.holders))].sort();
  const detail = `no free address, and the IPs shared under key ${q(probe.snap.view.sharingKey)} refuse it: ${problems.map((p) => `${p.message} (held by ${p.holders.join(", ")})`).join("; ")}`;
  return { pool: pool.name, reason: "sharingConflict", detail, conflictsWith: holders };
}

/** Tries the pool on the allocator (then gives the IPs back): does it have room for the Service? */
function probePool(probe: Probe, pool: Pool): PoolVerdict | null {
  const { alloc, snap } = probe;
  const requested = snap.requested.ok ? snap.requested.ips : [];
  const r = requested.length > 0 ? alloc.assign(snap.view, requested) : alloc.allocateFromPool(snap.view, pool.name);
  if (r.ok) {
    alloc.unassign(snap.view.key);
    return null;
  }
  if (SHARING_CODES.has(r.error.code)) {
    const holders = requested.flatMap((ip) => alloc.servicesOn(ip)).filter((k) => k !== snap.view.key);
    return { pool: pool.name, reason: "sharingConflict", detail: r.error.message, conflictsWith: [...new Set(holders)].sort() };
  }
  if (r.error.code === "PoolExhausted") return sharingDetail(probe, pool);
  return { pool: pool.name, reason: "exhausted", detail: r.error.message, conflictsWith: [] };
}

const verdict = (pool: Pool, reason: PoolReason, detail: string): PoolVerdict => ({ pool: pool.name, reason, detail, conflictsWith: [] });

/** The checks that need no allocator state, in the allocator's order. */
function staticRefusal(pool: Pool, snap: ServiceSnapshot): PoolVerdict | null {
  const requested = snap.requested.ok ? snap.requested.ips : [];
  if (requested.length > 0 && !requested.every((ip) => contains(pool, ip))) {
    return verdict(pool, "requestedIPNotInPool", `requested ${requested.map(formatIP).join(", ")} not in ${pool.addresses.map((a) => a.text).join(", ")}`);
  }
  if (snap.poolAnnotation !== null && snap.poolAnnotation !== pool.name)
    return verdict(pool, "otherPoolRequested", `the Service asks for pool ${q(snap.poolAnnotation)}`);
  if (requested.length === 0 && snap.poolAnnotation === null && !pool.autoAssign) {
    return verdict(
      pool,
      "autoAssignDisabled",
      "autoAssign is false: only Services naming the pool (metallb.io/address-pool) or one of its IPs get its addresses",
    );
  }
  const refusal = allocationRefusal(pool, snap.view);
  if (refusal !== null) return verdict(pool, refusal.reason, refusal.detail);
  if (!familyFits(pool, snap.view)) {
    const families = pool.ipv4.length > 0 && pool.ipv6.length > 0 ? "IPv4 and IPv6" : pool.ipv4.length > 0 ? "IPv4" : "IPv6";
    const needs = snap.view.families.length === 0 ? "has no ClusterIP family" : `(${snap.view.ipFamilyPolicy}) needs ${snap.view.families.join(", ")}`;
    return verdict(pool, "noAddressOfFamily", `pool has ${families} addresses; the Service ${needs}`);
  }
  return null;
}

/**
 * One verdict per pool, in the allocator's order. `alloc` holds every Service's allocation (after convergeAll);
 * `taken` is the pool the Service holds IPs from (null when pending). The allocator is left as it was.
 */
export function explainPools(pools: readonly Pool[], alloc: Allocator, snap: ServiceSnapshot, taken: string | null): PoolVerdict[] {
  const key = snap.view.key;
  const held = alloc.ipsOf(key);
  const all = alloc.allocations();
  const probe: Probe = { alloc, snap, others: all.filter((a) => a.key !== key) };
  if (held.length > 0) alloc.unassign(key);
  const order = poolsInAllocatorOrder(pools);
  const takenIndex = order.findIndex((p) => p.name === taken);
  const verdicts = order.map((pool, i) => {
    const refused = staticRefusal(pool, snap);
    if (refused !== null) return refused;
    if (pool.name === taken) return verdict(pool, "taken", `the Service holds ${held.map(formatIP).join(", ")}`);
    const probed = probePool(probe, pool);
    if (probed !== null) return probed;
    if (taken === null) return verdict(pool, "notNeeded", "the pool has room for the Service");
    const why = i < takenIndex ? `the Service keeps the IPs it holds in pool ${q(taken)}` : `pool ${q(taken)} comes first (priority, then name)`;
    return verdict(pool, "notNeeded", why);
  });
  if (held.length > 0) {
    const back = alloc.assign(snap.view, held);
    if (!back.ok) throw new Error(`explain: could not give ${key} its IPs back: ${back.error.message}`);
  }
  return verdicts;
}
