import type { Pool } from "../config/types.js";
import { formatCidr } from "../net/cidr.js";
import { formatIP, type IPAddress, type IPFamily } from "../net/ip.js";
import { err, ok, type Result } from "../result.js";
import { ALL_ADDRESSES, IntervalSet, NON_BUGGY_IPV4 } from "./interval-set.js";
import { familyPlans, generalPools, isPoolCompatible, pinnableOrder } from "./pool-select.js";
import { sharerOf, sharingProblem, type IPUse, type Sharer } from "./sharing.js";
import type {
  AllocationError,
  AllocationErrorCode,
  AllocationView,
  Assignment,
  PoolCounters,
  ServiceKey,
  ServicePort,
  ServiceView,
  SetPoolsResult,
} from "./types.js";

/** One pool with its free-address indexes (one per family) and its sharing-key index. */
interface PoolState {
  readonly pool: Pool;
  readonly free: Readonly<Record<IPFamily, IntervalSet>>;
  readonly total: Readonly<Record<IPFamily, bigint>>;
  /** Sharing key → the IPs of this pool in use under that key. */
  readonly shared: Map<string, Set<IPUse>>;
}

interface CidrEntry {
  readonly family: IPFamily;
  readonly first: bigint;
  readonly last: bigint;
  readonly state: PoolState;
}

interface Allocation {
  readonly key: ServiceKey;
  readonly pool: string;
  readonly ips: readonly IPAddress[];
  readonly ports: readonly ServicePort[];
  readonly sharer: Sharer;
}

type Outcome = Result<Assignment, AllocationError>;

const fail = (code: AllocationErrorCode, message: string): { ok: false; error: AllocationError } => err({ code, message });
const q = (text: string): string => JSON.stringify(text);
const byKey = <T extends { readonly key: string }>(a: T, b: T): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

function invariant(what: string): never {
  throw new Error(`allocator: broken invariant: ${what}`);
}

function compareEntry(a: CidrEntry, b: { family: IPFamily; first: bigint }): number {
  if (a.family !== b.family) return a.family === "IPv4" ? -1 : 1;
  return a.first < b.first ? -1 : a.first > b.first ? 1 : 0;
}

function buildPoolState(pool: Pool): PoolState {
  const v4 = IntervalSet.fromRanges(
    pool.avoidBuggyIPs ? NON_BUGGY_IPV4 : ALL_ADDRESSES,
    pool.ipv4.map((c) => ({ lo: c.first, hi: c.last })),
  );
  const v6 = IntervalSet.fromRanges(
    ALL_ADDRESSES,
    pool.ipv6.map((c) => ({ lo: c.first, hi: c.last })),
  );
  return { pool, free: { IPv4: v4, IPv6: v6 }, total: { IPv4: v4.size, IPv6: v6.size }, shared: new Map() };
}

/** Sorted CIDR index of all pools; throws on duplicate names or CIDRs of different pools that overlap. */
function buildCidrIndex(states: readonly PoolState[]): CidrEntry[] {
  const names = new Set<string>();
  for (const s of states) {
    if (names.has(s.pool.name)) throw new Error(`allocator: duplicate pool name ${q(s.pool.name)}`);
    names.add(s.pool.name);
  }
  const entries = states
    .flatMap((state) => [...state.pool.ipv4, ...state.pool.ipv6].map((c) => ({ family: c.family, first: c.first, last: c.last, state, cidr: c })))
    .sort((a, b) => compareEntry(a, b));
  const index: CidrEntry[] = [];
  for (const e of entries) {
    const prev = index[index.length - 1];
    if (prev !== undefined && prev.family === e.family && prev.last >= e.first) {
      if (prev.state !== e.state) {
        throw new Error(`allocator: CIDR ${formatCidr(e.cidr)} of pool ${q(e.state.pool.name)} overlaps pool ${q(prev.state.pool.name)}`);
      }
      // Overlap inside one pool: keep a single covering entry.
      if (e.last > prev.last) index[index.length - 1] = { ...prev, last: e.last };
      continue;
    }
    index.push({ family: e.family, first: e.first, last: e.last, state: e.state });
  }
  return index;
}

/**
 * MetalLB's IP allocator (reference §3.3), stateful but pure: no I/O, no clock, deterministic.
 *
 * State is rebuilt from Service status after a restart by calling {@link assign} for every service that has ingress
 * IPs, before any {@link allocate}. Expected failures are returned as `Result`s; incoherent internal state throws.
 * Every mutating method is transactional: on error nothing changes.
 */
export class Allocator {
  private states = new Map<string, PoolState>();
  private cidrIndex: CidrEntry[] = [];
  private pinnable: PoolState[] = [];
  private general: PoolState[] = [];
  private byService = new Map<ServiceKey, Allocation>();
  /** IPs in use, per family, keyed by address value (bigint keys compare by value). */
  private uses: Record<IPFamily, Map<bigint, IPUse>> = { IPv4: new Map(), IPv6: new Map() };

  /**
   * Replaces the pools and re-homes every allocation: it stays with its pool while that pool still contains all its
   * IPs (buggy IPs of an avoidBuggyIPs pool do not count as contained), moves to the pool that now contains them
   * (rename, split), or is unassigned and reported. IPs never change here. Throws on duplicate pool names or
   * overlapping pools (the config parser rejects both).
   */
  setPools(pools: readonly Pool[]): SetPoolsResult {
    const states = [...pools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(buildPoolState);
    const cidrIndex = buildCidrIndex(states);
    const previous = [...this.byService.values()].sort(byKey);
    this.states = new Map(states.map((s) => [s.pool.name, s]));
    this.cidrIndex = cidrIndex;
    this.pinnable = pinnableOrder(pools).map((p) => this.states.get(p.name) ?? invariant("pinnable pool vanished"));
    this.general = generalPools(pools).map((p) => this.states.get(p.name) ?? invariant("general pool vanished"));
    this.byService = new Map();
    this.uses = { IPv4: new Map(), IPv6: new Map() };
    const invalidated: ServiceKey[] = [];
    for (const a of previous) {
      const target = this.poolFor(a.ips);
      if (!target.ok) {
        invalidated.push(a.key);
        continue;
      }
      this.register(a.sharer, target.value, a.ips, a.ports);
    }
    return { invalidated };
  }

  /**
   * Assigns explicit IPs: `spec.loadBalancerIP` / `metallb.io/loadBalancerIPs`, or re-registration of
   * `status.loadBalancer.ingress`. Idempotent for the same service; replaces any previous allocation of the service.
   */
  assign(svc: ServiceView, ips: readonly IPAddress[]): Outcome {
    const shape = this.checkExplicitIPs(svc, ips);
    if (shape !== null) return err(shape);
    const pool = this.poolFor(ips);
    if (!pool.ok) return pool;
    if (!isPoolCompatible(pool.value.pool, svc)) {
      return fail("IncompatiblePool", `pool ${q(pool.value.pool.name)} not compatible for ip assignment of ${q(svc.key)}`);
    }
    const sharer = sharerOf(svc);
    for (const ip of ips) {
      const use = this.uses[ip.family].get(ip.value);
      const problem = use === undefined ? null : sharingProblem(use, sharer);
      if (problem !== null) return err(problem);
    }
    return ok(this.commit(sharer, pool.value, ips, svc.ports));
  }

  /**
   * Automatic allocation. An allocated service keeps its IPs (re-checked like {@link assign}). Otherwise the pools
   * pinned to the service by `serviceAllocation` are tried in priority-then-name order, then the pools without a
   * serviceAllocation by name; only autoAssign pools take part.
   */
  allocate(svc: ServiceView): Outcome {
    const current = this.byService.get(svc.key);
    if (current !== undefined) return this.assign(svc, current.ips);
    const plans = familyPlans(svc);
    if (plans === null) return fail("FamilyMismatch", this.familyMessage(svc));
    const pinned = this.pinnable.filter((s) => isPoolCompatible(s.pool, svc));
    const sharer = sharerOf(svc);
    for (const tier of [pinned, this.general]) {
      const found = this.pickFromPools(sharer, tier, plans);
      if (found !== null) return ok(this.commit(sharer, found.state, found.ips, svc.ports));
    }
    return fail("PoolExhausted", "no available IPs");
  }

  /**
   * Allocation from one named pool (`metallb.io/address-pool`), autoAssign or not. A service already in that pool
   * keeps its IPs; one in another pool moves only if the new pool has room.
   */
  allocateFromPool(svc: ServiceView, poolName: string): Outcome {
    const state = this.states.get(poolName);
    if (state === undefined) return fail("UnknownPool", `unknown pool ${q(poolName)}`);
    const current = this.byService.get(svc.key);
    if (current?.pool === poolName) return this.assign(svc, current.ips);
    if (!isPoolCompatible(state.pool, svc)) {
      return fail("IncompatiblePool", `pool ${q(poolName)} not compatible for ip assignment of ${q(svc.key)}`);
    }
    const plans = familyPlans(svc);
    if (plans === null) return fail("FamilyMismatch", this.familyMessage(svc));
    const sharer = sharerOf(svc);
    const found = this.pickFromPools(sharer, [state], plans);
    if (found === null) return fail("PoolExhausted", `no available IPs in pool ${q(poolName)}`);
    return ok(this.commit(sharer, state, found.ips, svc.ports));
  }

  /**
   * For a PreferDualStack service holding one IP: adds an IP of the missing family from the same pool (never from
   * another one). A service that needs nothing more is re-checked with its current IPs, like {@link allocate}.
   */
  addMissingFamily(svc: ServiceView): Outcome {
    const current = this.byService.get(svc.key);
    if (current === undefined) return fail("NotAllocated", `service ${q(svc.key)} has no IP to add a family to`);
    const held = current.ips[0];
    const missing = svc.families.find((f) => f !== held?.family);
    if (svc.ipFamilyPolicy !== "PreferDualStack" || current.ips.length !== 1 || held === undefined || missing === undefined) {
      return this.assign(svc, current.ips);
    }
    const state = this.states.get(current.pool) ?? invariant(`allocation of ${svc.key} in unknown pool ${current.pool}`);
    const value = this.pickIP(sharerOf(svc), state, missing);
    if (value === null) return fail("PoolExhausted", `no available ${missing} IPs in pool ${q(current.pool)}`);
    const extra: IPAddress = { family: missing, value };
    return this.assign(svc, svc.families[0] === missing ? [extra, held] : [held, extra]);
  }

  /** Releases the service's IPs; false if it had none. */
  unassign(key: ServiceKey): boolean {
    const current = this.byService.get(key);
    if (current === undefined) return false;
    this.release(current);
    return true;
  }

  ipsOf(key: ServiceKey): readonly IPAddress[] {
    return this.byService.get(key)?.ips ?? [];
  }

  poolOf(key: ServiceKey): string | null {
    return this.byService.get(key)?.pool ?? null;
  }

  isAllocated(key: ServiceKey): boolean {
    return this.byService.has(key);
  }

  /** The sharing and backend keys the service was allocated with (MetalLB's allocation key), or null. */
  sharingOf(key: ServiceKey): { readonly sharingKey: string; readonly backendKey: string } | null {
    const a = this.byService.get(key);
    return a === undefined ? null : { sharingKey: a.sharer.sharingKey, backendKey: a.sharer.backendKey };
  }

  /** The services holding the IP, sorted. */
  servicesOn(ip: IPAddress): ServiceKey[] {
    return (this.uses[ip.family].get(ip.value)?.owners ?? []).map((o) => o.key).sort();
  }

  /** Every allocation, sorted by service key. */
  allocations(): AllocationView[] {
    return [...this.byService.values()].sort(byKey).map((a) => ({
      ...this.toAssignment(a),
      ports: a.ports,
      sharingKey: a.sharer.sharingKey,
      backendKey: a.sharer.backendKey,
    }));
  }

  /** Per-pool totals and distinct IPs in use, by pool name. */
  counters(): PoolCounters[] {
    return [...this.states.values()].map((s) => ({
      pool: s.pool.name,
      ipv4Total: s.total.IPv4,
      ipv6Total: s.total.IPv6,
      ipv4InUse: s.total.IPv4 - s.free.IPv4.size,
      ipv6InUse: s.total.IPv6 - s.free.IPv6.size,
    }));
  }

  private toAssignment(a: Allocation): Assignment {
    return { key: a.key, pool: a.pool, ips: a.ips };
  }

  private familyMessage(svc: ServiceView): string {
    if (svc.families.length === 0) return `service ${q(svc.key)} has no cluster IP families`;
    return `${svc.ipFamilyPolicy} service ${q(svc.key)} needs IPv4 and IPv6 cluster IPs, has ${svc.families.join(",")}`;
  }

  /** Shape checks of explicitly requested IPs against each other and the service's families/policy. */
  private checkExplicitIPs(svc: ServiceView, ips: readonly IPAddress[]): AllocationError | null {
    const text = ips.map((ip) => q(formatIP(ip))).join(", ");
    if (ips.length === 0) return { code: "FamilyMismatch", message: `no IPs to assign to ${q(svc.key)}` };
    if (ips.length > 2) return { code: "TooManyIPs", message: `more than two IPs requested: ${text}` };
    const [a, b] = ips;
    if (a !== undefined && b !== undefined && a.family === b.family) {
      return { code: "FamilyMismatch", message: `IPs ${text} are of the same family ${a.family}` };
    }
    for (const ip of ips) {
      if (!svc.families.includes(ip.family)) {
        return { code: "FamilyMismatch", message: `${q(formatIP(ip))} is ${ip.family} but service ${q(svc.key)} has families [${svc.families.join(",")}]` };
      }
    }
    if (svc.ipFamilyPolicy === "SingleStack" && ips.length === 2) {
      return { code: "FamilyMismatch", message: `SingleStack service ${q(svc.key)} can't have two IPs (${text})` };
    }
    if (svc.ipFamilyPolicy === "RequireDualStack" && ips.length !== 2) {
      return { code: "FamilyMismatch", message: `RequireDualStack service ${q(svc.key)} needs one IPv4 and one IPv6 IP, got ${text}` };
    }
    return null;
  }

  /** The pool containing the address (honouring avoidBuggyIPs), by binary search over the CIDR index. */
  private poolContaining(ip: IPAddress): PoolState | null {
    let lo = 0;
    let hi = this.cidrIndex.length - 1;
    let found: CidrEntry | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const e = this.cidrIndex[mid] ?? invariant("cidr index out of range");
      if (compareEntry(e, { family: ip.family, first: ip.value }) <= 0) {
        found = e;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found === null || found.family !== ip.family || ip.value > found.last) return null;
    return found.state.free[ip.family].domain.isValid(ip.value) ? found.state : null;
  }

  /** The one pool containing all the IPs. */
  private poolFor(ips: readonly IPAddress[]): Result<PoolState, AllocationError> {
    let state: PoolState | null = null;
    for (const ip of ips) {
      const s = this.poolContaining(ip);
      if (s === null) return fail("NotAllowedByConfig", `${q(formatIP(ip))} is not allowed in config`);
      if (state !== null && s !== state) {
        return fail("NotAllowedByConfig", `${ips.map((i) => q(formatIP(i))).join(" and ")} are not in the same pool`);
      }
      state = s;
    }
    return state === null ? fail("NotAllowedByConfig", "no IPs given") : ok(state);
  }

  /**
   * An address of the family for the service in the pool, without taking it: with a sharing key, the lowest IP
   * already shared under that key that accepts the service; else the lowest free address, CIDRs in spec order.
   */
  private pickIP(sharer: Sharer, state: PoolState, family: IPFamily): bigint | null {
    if (sharer.sharingKey !== "") {
      const shared = [...(state.shared.get(sharer.sharingKey) ?? [])]
        .filter((u) => u.ip.family === family)
        .sort((a, b) => (a.ip.value < b.ip.value ? -1 : a.ip.value > b.ip.value ? 1 : 0));
      const fit = shared.find((u) => sharingProblem(u, sharer) === null);
      if (fit !== undefined) return fit.ip.value;
    }
    const free = state.free[family];
    for (const cidr of family === "IPv4" ? state.pool.ipv4 : state.pool.ipv6) {
      const candidate = free.lowestAtLeast(cidr.first);
      if (candidate !== null && candidate <= cidr.last) return candidate;
    }
    return null;
  }

  /** The first (plan, pool) that yields one IP of every family of the plan; plans are tried in order. */
  private pickFromPools(sharer: Sharer, pools: readonly PoolState[], plans: readonly IPFamily[][]): { state: PoolState; ips: IPAddress[] } | null {
    for (const plan of plans) {
      for (const state of pools) {
        const ips: IPAddress[] = [];
        for (const family of plan) {
          const value = this.pickIP(sharer, state, family);
          if (value === null) break;
          ips.push({ family, value });
        }
        if (ips.length === plan.length) return { state, ips };
      }
    }
    return null;
  }

  /** Replaces the service's allocation with `ips` in `state`; every check has passed already. */
  private commit(sharer: Sharer, state: PoolState, ips: readonly IPAddress[], ports: readonly ServicePort[]): Assignment {
    const current = this.byService.get(sharer.key);
    if (current !== undefined) this.release(current);
    return this.toAssignment(this.register(sharer, state, ips, ports));
  }

  private register(sharer: Sharer, state: PoolState, ips: readonly IPAddress[], ports: readonly ServicePort[]): Allocation {
    for (const ip of ips) {
      let use = this.uses[ip.family].get(ip.value);
      if (use === undefined) {
        if (!state.free[ip.family].take(ip.value)) invariant(`${formatIP(ip)} is neither free nor in use in pool ${state.pool.name}`);
        use = { ip, pool: state.pool.name, sharingKey: sharer.sharingKey, backendKey: sharer.backendKey, owners: [] };
        this.uses[ip.family].set(ip.value, use);
        if (use.sharingKey !== "") {
          const set = state.shared.get(use.sharingKey) ?? new Set<IPUse>();
          set.add(use);
          state.shared.set(use.sharingKey, set);
        }
      } else if (use.pool !== state.pool.name || sharingProblem(use, sharer) !== null) {
        invariant(`${sharer.key} registered on ${formatIP(ip)} against the sharing rules`);
      }
      if (use.owners.some((o) => o.key === sharer.key)) invariant(`${sharer.key} registered twice on ${formatIP(ip)}`);
      use.owners.push({ key: sharer.key, ports: sharer.ports });
    }
    const allocation: Allocation = { key: sharer.key, pool: state.pool.name, ips: Object.freeze([...ips]), ports: Object.freeze([...ports]), sharer };
    this.byService.set(sharer.key, allocation);
    return allocation;
  }

  private release(a: Allocation): void {
    for (const ip of a.ips) {
      const use = this.uses[ip.family].get(ip.value) ?? invariant(`${a.key} holds ${formatIP(ip)}, which is not in use`);
      const index = use.owners.findIndex((o) => o.key === a.key);
      if (index < 0) invariant(`${a.key} is not an owner of ${formatIP(ip)}`);
      use.owners.splice(index, 1);
      if (use.owners.length > 0) continue;
      this.uses[ip.family].delete(ip.value);
      const state = this.states.get(use.pool) ?? invariant(`${formatIP(ip)} in use in unknown pool ${use.pool}`);
      const set = state.shared.get(use.sharingKey);
      if (set !== undefined) {
        set.delete(use);
        if (set.size === 0) state.shared.delete(use.sharingKey);
      }
      if (!state.free[ip.family].give(ip.value)) invariant(`${formatIP(ip)} released twice`);
    }
    this.byService.delete(a.key);
  }
}
