import type { Pool, ServiceAllocation } from "../../config/types.js";
import { parseLabelSelector, type LabelSelector, type Labels } from "../../labels/selector.js";
import { parsePoolAddress } from "../../net/cidr.js";
import { formatIP, type IPFamily } from "../../net/ip.js";
import type { Allocator } from "../allocator.js";
import type { AllocationError, Assignment, IPFamilyPolicy, Protocol, ServiceView } from "../types.js";
import type { Result } from "../../result.js";
import { deepFreeze } from "../../config/testdata/builders.js";
import { mustParseIP as ip } from "../../net/testdata/ip.js";

// The shared test helpers, under the names these fixtures' users import.
export { deepFreeze } from "../../config/testdata/builders.js";
export { mustParseIP as ip } from "../../net/testdata/ip.js";

function selector(matchLabels: Labels): LabelSelector {
  const parsed = parseLabelSelector({ matchLabels });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
}

export interface PoolOptions {
  readonly autoAssign?: boolean;
  readonly avoidBuggyIPs?: boolean;
  readonly serviceAllocation?: {
    readonly priority?: number;
    readonly namespaces?: readonly string[];
    readonly namespaceSelectors?: readonly Labels[];
    readonly serviceSelectors?: readonly Labels[];
  };
}

/** A deep-frozen model Pool, built like the config parser builds it. */
export function aPool(name: string, addresses: readonly string[], opts: PoolOptions = {}): Pool {
  const parsed = addresses.map((text) => {
    const cidrs = parsePoolAddress(text);
    if (!cidrs.ok) throw new Error(cidrs.error);
    return { text, cidrs: cidrs.value };
  });
  const cidrs = parsed.flatMap((a) => a.cidrs);
  const sa = opts.serviceAllocation;
  let serviceAllocation: ServiceAllocation | null = null;
  if (sa !== undefined) {
    const serviceSelectors = (sa.serviceSelectors ?? []).map(selector);
    const unconstrained = (sa.namespaces ?? []).length === 0 && (sa.namespaceSelectors ?? []).length === 0 && serviceSelectors.length === 0;
    serviceAllocation = {
      priority: sa.priority ?? 0,
      namespaces: [...(sa.namespaces ?? [])].sort(),
      namespaceSelectors: (sa.namespaceSelectors ?? []).map(selector),
      serviceSelectors: unconstrained ? [selector({})] : serviceSelectors,
    };
  }
  return deepFreeze({
    name,
    labels: {},
    addresses: parsed,
    cidrs,
    ipv4: cidrs.filter((c) => c.family === "IPv4"),
    ipv6: cidrs.filter((c) => c.family === "IPv6"),
    autoAssign: opts.autoAssign ?? true,
    avoidBuggyIPs: opts.avoidBuggyIPs ?? false,
    serviceAllocation,
  });
}

export interface ServiceOptions {
  readonly ns?: string;
  readonly labels?: Labels;
  readonly namespaceLabels?: Labels;
  readonly families?: readonly IPFamily[];
  readonly policy?: IPFamilyPolicy;
  /** `TCP/80` etc. */
  readonly ports?: readonly string[];
  readonly sharingKey?: string;
  readonly backendKey?: string;
}

/** A deep-frozen ServiceView `ns/name` (namespace "default" unless given), IPv4 SingleStack, TCP/80. */
export function aService(name: string, opts: ServiceOptions = {}): ServiceView {
  const ns = opts.ns ?? "default";
  return deepFreeze({
    key: `${ns}/${name}`,
    namespace: ns,
    labels: opts.labels ?? {},
    ...(opts.namespaceLabels === undefined ? {} : { namespaceLabels: opts.namespaceLabels }),
    families: opts.families ?? ["IPv4"],
    ipFamilyPolicy: opts.policy ?? "SingleStack",
    ports: (opts.ports ?? ["TCP/80"]).map((p) => {
      const [protocol = "", port = ""] = p.split("/");
      return { protocol: protocol as Protocol, port: Number(port) };
    }),
    sharingKey: opts.sharingKey ?? "",
    backendKey: opts.backendKey ?? "",
  });
}

/** `"pool ip,ip"` for a success, the error code for a failure. */
export type Want = string;

export type Step =
  | { readonly desc: string; readonly assign: ServiceView; readonly ips: readonly string[]; readonly want: Want }
  | { readonly desc: string; readonly allocate: ServiceView; readonly want: Want }
  | { readonly desc: string; readonly fromPool: ServiceView; readonly pool: string; readonly want: Want }
  | { readonly desc: string; readonly addFamily: ServiceView; readonly want: Want }
  | { readonly desc: string; readonly release: string; readonly want: boolean }
  | { readonly desc: string; readonly setPools: readonly Pool[]; readonly invalidated: readonly string[] }
  /** What each listed service holds: `"pool ip,ip"` or null. */
  | { readonly desc: string; readonly holds: Readonly<Record<string, string | null>> }
  | { readonly desc: string; readonly servicesOn: string; readonly want: readonly string[] }
  /** Every pool's counters: `"v4 inUse/total, v6 inUse/total"`. */
  | { readonly desc: string; readonly counters: Readonly<Record<string, string>> };

export const describeAssignment = (a: Assignment): string => `${a.pool} ${a.ips.map(formatIP).join(",")}`;

const outcome = (r: Result<Assignment, AllocationError>): string => (r.ok ? describeAssignment(r.value) : r.error.code);

/** Runs one step; returns what happened and what the step expected, in the same shape. */
export function runStep(alloc: Allocator, step: Step): { got: unknown; want: unknown } {
  if ("assign" in step) return { got: outcome(alloc.assign(step.assign, step.ips.map(ip))), want: step.want };
  if ("allocate" in step) return { got: outcome(alloc.allocate(step.allocate)), want: step.want };
  if ("fromPool" in step) return { got: outcome(alloc.allocateFromPool(step.fromPool, step.pool)), want: step.want };
  if ("addFamily" in step) return { got: outcome(alloc.addMissingFamily(step.addFamily)), want: step.want };
  if ("release" in step) return { got: alloc.unassign(step.release), want: step.want };
  if ("setPools" in step) return { got: alloc.setPools(step.setPools).invalidated, want: step.invalidated };
  if ("servicesOn" in step) return { got: alloc.servicesOn(ip(step.servicesOn)), want: step.want };
  if ("holds" in step) {
    const got = Object.fromEntries(
      Object.keys(step.holds).map((key) => {
        const pool = alloc.poolOf(key);
        return [key, pool === null ? null : `${pool} ${alloc.ipsOf(key).map(formatIP).join(",")}`];
      }),
    );
    return { got, want: step.holds };
  }
  const got = Object.fromEntries(
    alloc.counters().map((c) => [c.pool, `v4 ${c.ipv4InUse.toString()}/${c.ipv4Total.toString()}, v6 ${c.ipv6InUse.toString()}/${c.ipv6Total.toString()}`]),
  );
  return { got, want: step.counters };
}
