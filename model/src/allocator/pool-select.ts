import type { Pool } from "../config/types.js";
import { anySelectorMatches } from "../labels/selector.js";
import type { IPFamily } from "../net/ip.js";
import type { ServiceView } from "./types.js";

/**
 * True if the pool's `serviceAllocation` admits the service. A pool without one admits everybody.
 *
 * Namespace constraint: present when the pool lists namespaces or has namespaceSelectors; the service's namespace must
 * be in the resolved list, or (when the shell passes them) its current labels must match a namespaceSelector.
 * Service constraint: present when serviceSelectors is non-empty; one must match the service labels.
 */
export function isPoolCompatible(pool: Pool, svc: ServiceView): boolean {
  const sa = pool.serviceAllocation;
  if (sa === null) return true;
  const nsConstrained = sa.namespaces.length > 0 || sa.namespaceSelectors.length > 0;
  if (nsConstrained) {
    const listed = sa.namespaces.includes(svc.namespace);
    const selected = svc.namespaceLabels !== undefined && sa.namespaceSelectors.length > 0 && anySelectorMatches(sa.namespaceSelectors, svc.namespaceLabels);
    if (!listed && !selected) return false;
  }
  if (sa.serviceSelectors.length > 0 && !anySelectorMatches(sa.serviceSelectors, svc.labels)) return false;
  return true;
}

const byName = (a: Pool, b: Pool): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Priority order: priority > 0 ascending first, priority 0 last; ties by name (MetalLB leaves ties random). */
function byPriorityThenName(a: Pool, b: Pool): number {
  const pa = Math.max(0, a.serviceAllocation?.priority ?? 0);
  const pb = Math.max(0, b.serviceAllocation?.priority ?? 0);
  if (pa !== pb) {
    if (pa <= 0) return 1;
    if (pb <= 0) return -1;
    return pa - pb;
  }
  return byName(a, b);
}

/** Pools that may be pinned to some service (serviceAllocation and autoAssign), in priority-then-name order. */
export function pinnableOrder(pools: readonly Pool[]): Pool[] {
  return pools.filter((p) => p.autoAssign && p.serviceAllocation !== null).sort(byPriorityThenName);
}

/** Pools pinned to the service: with a compatible serviceAllocation and autoAssign, in priority-then-name order. */
export function pinnedPools(pools: readonly Pool[], svc: ServiceView): Pool[] {
  return pinnableOrder(pools).filter((p) => isPoolCompatible(p, svc));
}

/** Pools anybody may get an automatic IP from: autoAssign and no serviceAllocation, by name. */
export function generalPools(pools: readonly Pool[]): Pool[] {
  return pools.filter((p) => p.autoAssign && p.serviceAllocation === null).sort(byName);
}

/**
 * Family plans to try, in order, for automatic allocation (reference §2.4): each plan is the list of families to take
 * one IP of, all from the same pool. Null if the service cannot get an IP at all (no ClusterIP family, or
 * RequireDualStack without both families).
 */
export function familyPlans(svc: ServiceView): IPFamily[][] | null {
  const [primary, secondary] = svc.families;
  if (primary === undefined) return null;
  const dual = secondary !== undefined && secondary !== primary;
  switch (svc.ipFamilyPolicy) {
    case "SingleStack":
      return [[primary]];
    case "RequireDualStack":
      return dual ? [[primary, secondary]] : null;
    case "PreferDualStack":
      return dual ? [[primary, secondary], [primary], [secondary]] : [[primary]];
  }
}
