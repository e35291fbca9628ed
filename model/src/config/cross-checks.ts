import { formatIP } from "../net/ip.js";
import type { Entry } from "./entries.js";
import { peerIdentifier } from "./peers.js";
import type { BFDProfile, BGPAdvertisement, Peer, Pool } from "./types.js";

/** A converted object together with the entry it came from (for reporting). */
export interface Parsed<T> {
  readonly entry: Entry;
  readonly value: T;
}

/** True when the two node lists intersect; with no Nodes known at all, objects are assumed to share nodes. */
function shareNodes(a: readonly string[], b: readonly string[], nodesKnown: boolean): boolean {
  if (!nodesKnown) return true;
  const set = new Set(a);
  return b.some((n) => set.has(n));
}

/**
 * Rule C.6: the aggregation length of every family must not be shorter than the widest CIDR of each address entry of
 * every selected pool ("prefix N in this pool is more specific than the aggregation length").
 */
export function reportAggregationLengths(advs: readonly Parsed<BGPAdvertisement>[], pools: ReadonlyMap<string, Pool>): void {
  for (const { entry, value: adv } of advs) {
    for (const poolName of adv.pools) {
      const pool = pools.get(poolName);
      if (pool === undefined) continue;
      for (const address of pool.addresses) {
        const first = address.cidrs[0];
        if (first === undefined) continue;
        const v6 = first.family === "IPv6";
        const length = v6 ? adv.aggregationLengthV6 : adv.aggregationLength;
        const lowest = Math.min(...address.cidrs.map((c) => c.prefixLength));
        if (length < lowest) {
          entry.reporter.permanent(
            v6 ? "spec.aggregationLengthV6" : "spec.aggregationLength",
            `invalid aggregation length ${length}: prefix ${lowest} in this pool is more specific than the aggregation ` +
              `length for addresses ${address.text} (pool ${JSON.stringify(pool.name)})`,
          );
        }
      }
    }
  }
}

function sameUpdateType(a: BGPAdvertisement, b: BGPAdvertisement, pool: Pool, nodesKnown: boolean): boolean {
  const v4Same = pool.ipv4.length > 0 && a.aggregationLength === b.aggregationLength;
  const v6Same = pool.ipv6.length > 0 && a.aggregationLengthV6 === b.aggregationLengthV6;
  if (!v4Same && !v6Same) return false;
  if (a.peers.length > 0 && b.peers.length > 0 && !a.peers.some((p) => b.peers.includes(p))) return false;
  return shareNodes(a.nodes, b.nodes, nodesKnown);
}

/**
 * Rule C.7: two advertisements without serviceSelectors that announce the same pool with the same aggregation length
 * to common peers from common nodes must agree on localPref.
 */
export function reportLocalPrefConflicts(advs: readonly Parsed<BGPAdvertisement>[], pools: ReadonlyMap<string, Pool>, nodesKnown: boolean): void {
  const attached = new Map<string, BGPAdvertisement[]>();
  for (const { entry, value: adv } of advs) {
    const reported = new Set<string>();
    for (const poolName of adv.pools) {
      const pool = pools.get(poolName);
      if (pool === undefined) continue;
      const earlier = attached.get(poolName) ?? [];
      const conflict =
        adv.serviceSelectors.length > 0
          ? undefined
          : earlier.find((o) => o.serviceSelectors.length === 0 && o.localPref !== adv.localPref && sameUpdateType(adv, o, pool, nodesKnown));
      if (conflict !== undefined && !reported.has(conflict.name)) {
        reported.add(conflict.name);
        entry.reporter.permanent(
          "spec.localPref",
          `invalid local preference ${adv.localPref}: local preference ${conflict.localPref} was already set for the same type ` +
            `of BGP update by BGPAdvertisement ${JSON.stringify(conflict.name)} on pool ${JSON.stringify(poolName)}. ` +
            "Check existing BGP advertisements with common pools and aggregation lengths",
        );
      }
      attached.set(poolName, [...earlier, adv]);
    }
  }
}

/**
 * Rule C.13 (FRR modes): peers that select a common node must share the routerID, must not be the same neighbor
 * (address or interface, per VRF), and must use one myASN per VRF. Each peer is reported against the first earlier
 * peer it conflicts with, once per rule.
 */
export function reportFrrPeerConflicts(peers: readonly Parsed<Peer>[], nodesKnown: boolean): void {
  peers.forEach(({ entry, value: p }, j) => {
    const earlier = peers
      .slice(0, j)
      .filter((o) => shareNodes(o.value.nodes, p.nodes, nodesKnown))
      .map((o) => o.value);
    const routerIDText = (x: Peer): string => (x.routerID === null ? "" : formatIP(x.routerID));
    const otherRouterID = earlier.find((o) => routerIDText(o) !== routerIDText(p));
    if (otherRouterID !== undefined) {
      entry.reporter.permanent(
        "spec.routerID",
        `peer ${p.name} has RouterID ${JSON.stringify(routerIDText(p))} different from ${JSON.stringify(routerIDText(otherRouterID))} ` +
          `of peer ${otherRouterID.name}, in FRR mode all RouterID must be equal for BGPPeers selecting the same node`,
      );
    }
    const duplicate = earlier.find((o) => peerIdentifier(o) === peerIdentifier(p));
    if (duplicate !== undefined) {
      entry.reporter.permanent(
        p.address !== null ? "spec.peerAddress" : "spec.interface",
        `peer ${p.name} already exists as peer ${duplicate.name} (${peerIdentifier(p)}), ` +
          "FRR mode doesn't support duplicate BGPPeers selecting the same node",
      );
    }
    const otherASN = earlier.find((o) => o.vrf === p.vrf && o.myASN !== p.myASN);
    if (otherASN !== undefined) {
      entry.reporter.permanent(
        "spec.myASN",
        `peer ${p.name} has myAsn ${p.myASN} different from ${otherASN.myASN} of peer ${otherASN.name}, ` +
          `in FRR mode all myAsn must be equal for the same VRF${p.vrf === "" ? "" : ` (${p.vrf})`}`,
      );
    }
  });
}

/** Rule C.14: BFD echo mode is not supported for IPv6; no pool with IPv6 may be advertised to a peer using an echo profile. */
export function reportBfdEchoWithIPv6(
  advs: readonly Parsed<BGPAdvertisement>[],
  pools: ReadonlyMap<string, Pool>,
  peers: readonly Peer[],
  bfdProfiles: ReadonlyMap<string, BFDProfile>,
): void {
  const echoPeers = peers.filter((p) => p.bfdProfile !== null && bfdProfiles.get(p.bfdProfile)?.echoMode === true);
  for (const { entry, value: adv } of advs) {
    for (const poolName of adv.pools) {
      if ((pools.get(poolName)?.ipv6.length ?? 0) === 0) continue;
      for (const peer of echoPeers) {
        if (adv.peers.length > 0 && !adv.peers.includes(peer.name)) continue;
        entry.reporter.permanent(
          adv.peers.length > 0 ? "spec.peers" : "spec",
          `pool ${poolName} has bgpadvertisement ${adv.name} which references peer ${peer.name} which has bfd echo enabled ` +
            `(BFD profile ${JSON.stringify(peer.bfdProfile)}), which is not possible with IPv6 addresses`,
        );
      }
    }
  }
}
