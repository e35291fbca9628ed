// Which ClusterResources list each kind goes to, and an empty ClusterResources: shared by the CLI, the webhooks, the
// operator and the tests so the mapping exists once.
import type { ClusterResources, ResourceKind } from "./types.js";

export type ResourceList = keyof ClusterResources;

export const LIST_OF_KIND: Readonly<Record<ResourceKind, ResourceList>> = Object.freeze({
  IPAddressPool: "pools",
  L2Advertisement: "l2Advertisements",
  BGPAdvertisement: "bgpAdvertisements",
  BGPPeer: "bgpPeers",
  BFDProfile: "bfdProfiles",
  Community: "communities",
  Secret: "secrets",
  Node: "nodes",
  Namespace: "namespaces",
});

/** A ClusterResources with every list empty (fresh arrays, so callers may push into them). */
export function emptyClusterResources<T = unknown>(): Record<ResourceList, T[]> {
  return { pools: [], l2Advertisements: [], bgpAdvertisements: [], bgpPeers: [], bfdProfiles: [], communities: [], secrets: [], nodes: [], namespaces: [] };
}
