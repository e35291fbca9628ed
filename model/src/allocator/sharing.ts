import { formatIP, type IPAddress } from "../net/ip.js";
import type { AllocationError, ServiceKey, ServicePort } from "./types.js";

/** `TCP/80`: the identity of a port for sharing purposes (TCP/80 and UDP/80 are distinct). */
export const portKey = (p: ServicePort): string => `${p.protocol}/${p.port}`;

/** The sharing-relevant facts about a service that wants (or holds) an IP. */
export interface Sharer {
  readonly key: ServiceKey;
  /** Distinct port keys. */
  readonly ports: readonly string[];
  readonly sharingKey: string;
  readonly backendKey: string;
}

/** Everything known about one IP in use: the pool it belongs to and the services holding it. */
export interface IPUse {
  readonly ip: IPAddress;
  readonly pool: string;
  /** Same for every owner (an invariant); "" when the single owner does not allow sharing. */
  readonly sharingKey: string;
  readonly backendKey: string;
  /** The holders and their port keys, in registration order (usually one or a handful: a scan is cheapest). */
  readonly owners: { readonly key: ServiceKey; readonly ports: readonly string[] }[];
}

export function sharerOf(svc: {
  readonly key: ServiceKey;
  readonly ports: readonly ServicePort[];
  readonly sharingKey: string;
  readonly backendKey: string;
}): Sharer {
  return { key: svc.key, ports: [...new Set(svc.ports.map(portKey))], sharingKey: svc.sharingKey, backendKey: svc.backendKey };
}

const problem = (code: AllocationError["code"], message: string): AllocationError => ({ code, message });

/**
 * Why `s` may not hold `use.ip` next to its current owners, or null if it may (reference §2.5): all holders need the
 * same non-empty sharing key, the same backend key, and pairwise disjoint (protocol, port) sets. A service that is the
 * only holder may change its own keys freely; the service itself is never counted as a conflicting holder.
 */
export function sharingProblem(use: IPUse, s: Sharer): AllocationError | null {
  const others = use.owners.filter((o) => o.key !== s.key);
  if (others.length === 0) return null;
  const ip = JSON.stringify(formatIP(use.ip));
  const holders = others
    .map((o) => o.key)
    .sort()
    .join(",");
  if (others.length < use.owners.length && (use.sharingKey !== s.sharingKey || use.backendKey !== s.backendKey)) {
    const code = use.sharingKey !== s.sharingKey ? "SharingKeyMismatch" : "BackendMismatch";
    return problem(code, `can't change sharing key for ${JSON.stringify(s.key)}, address ${ip} also in use by ${holders}`);
  }
  if (use.sharingKey === "") {
    return problem("InUse", `${ip} is already in use by ${holders}: existing service does not allow sharing`);
  }
  if (s.sharingKey === "") {
    return problem("InUse", `${ip} is already in use by ${holders}: new service does not allow sharing`);
  }
  if (s.sharingKey !== use.sharingKey) {
    return problem(
      "SharingKeyMismatch",
      `can't share ${ip}: sharing key ${JSON.stringify(s.sharingKey)} does not match existing sharing key ${JSON.stringify(use.sharingKey)}`,
    );
  }
  if (s.backendKey !== use.backendKey) {
    return problem(
      "BackendMismatch",
      `can't share ${ip}: backend key ${JSON.stringify(s.backendKey)} does not match existing backend key ${JSON.stringify(use.backendKey)}`,
    );
  }
  for (const p of s.ports) {
    if (others.some((o) => o.ports.includes(p))) return problem("PortConflict", `port ${p} is already in use on ${ip}`);
  }
  return null;
}
