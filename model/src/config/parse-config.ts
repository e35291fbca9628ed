import type { Community } from "../bgp/community.js";
import { err, ok, type Result } from "../result.js";
import { bgpAdvertisementFromResource, l2AdvertisementFromResource, type AdvertisementContext } from "./advertisements.js";
import { bfdProfileFromResource } from "./bfd.js";
import { communityAliasesFromResources } from "./communities.js";
import { reportAggregationLengths, reportBfdEchoWithIPv6, reportFrrPeerConflicts, reportLocalPrefConflicts, type Parsed } from "./cross-checks.js";
import { dropDuplicateNames, readEntries, type Entry, type ReadEntriesContext } from "./entries.js";
import { nodeInfosFromEntries } from "./nodes.js";
import { peerFromResource, secretViewFromResource, type SecretView } from "./peers.js";
import { poolFromResource, reportOverlappingCidrs } from "./pools.js";
import { isRawObject } from "./raw.js";
import type { Labelled } from "./selectors.js";
import type { BFDProfile, ClusterResources, Config, ConfigProblem, ParseConfigOptions, Pool, ResourceKind } from "./types.js";

/** Converts each entry, keeping the ones without problems. */
function convertAll<T>(entries: readonly Entry[], convert: (e: Entry) => T | null): Parsed<T>[] {
  const result: Parsed<T>[] = [];
  for (const entry of entries) {
    const value = convert(entry);
    if (value !== null) result.push({ entry, value });
  }
  return result;
}

const named = (entries: readonly Entry[]): Labelled[] => entries.filter((e) => e.name !== "").map((e) => ({ name: e.name, labels: e.labels }));

function secretsByName(entries: readonly Entry[], namespace: string | undefined): Map<string, SecretView> {
  const secrets = new Map<string, SecretView>();
  for (const e of entries) {
    if (e.name === "" || secrets.has(e.name)) continue;
    if (namespace !== undefined && e.namespace !== undefined && e.namespace !== namespace) continue;
    secrets.set(e.name, secretViewFromResource(e));
  }
  return secrets;
}

interface Inputs {
  readonly read: (items: readonly unknown[], kind: ResourceKind, metallbKind: boolean) => Entry[];
}

function inputsFor(problems: ConfigProblem[], options: ParseConfigOptions): Inputs {
  return {
    read: (items, kind, metallbKind) => {
      const ctx: ReadEntriesContext = { problems, options, metallbKind };
      return readEntries(Array.isArray(items) ? items : [], kind, ctx);
    },
  };
}

/**
 * Parses and validates the MetalLB configuration (MetalLB's `config.For` in FRR mode), collecting every problem
 * instead of stopping at the first. Never throws on malformed input. Problems are deterministic: objects are
 * visited sorted by name.
 */
export function parseConfig(resources: ClusterResources, options: ParseConfigOptions = {}): Result<Config, ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  const { read } = inputsFor(problems, options);
  const nodeEntries = read(resources.nodes, "Node", false);
  const nodes = named(nodeEntries);
  const namespaces = named(read(resources.namespaces, "Namespace", false));
  const secrets = secretsByName(read(resources.secrets, "Secret", false), options.namespace);

  const bfdEntries = dropDuplicateNames(read(resources.bfdProfiles, "BFDProfile", true), "bfd profile");
  const bfdList = convertAll(bfdEntries, bfdProfileFromResource);
  const bfdProfiles = new Map<string, BFDProfile>(bfdList.map((b) => [b.value.name, b.value]));

  const communityEntries = dropDuplicateNames(read(resources.communities, "Community", true), "Community");
  const communities: Map<string, Community> = communityAliasesFromResources(communityEntries);

  const peerEntries = dropDuplicateNames(read(resources.bgpPeers, "BGPPeer", true), "peer");
  const leave = options.leaveNodeProblemsToSpeakers === true;
  const peers = convertAll(peerEntries, (e) => peerFromResource(e, { bfdProfiles, secrets, nodes, leaveNodeProblemsToSpeakers: leave }));
  if (!leave) reportFrrPeerConflicts(peers, nodes.length > 0);

  const poolEntries = dropDuplicateNames(read(resources.pools, "IPAddressPool", true), "pool");
  const parsedPools = poolEntries.map((e) => poolFromResource(e, namespaces));
  const overlapping = reportOverlappingCidrs(parsedPools);
  const pools = new Map<string, Pool>();
  for (const p of parsedPools) if (p.pool !== null && !overlapping.has(p.pool.name)) pools.set(p.pool.name, p.pool);

  const advContext: AdvertisementContext = { pools: named(poolEntries), nodes, communities };
  const l2Entries = dropDuplicateNames(read(resources.l2Advertisements, "L2Advertisement", true), "l2advertisement");
  const l2Advertisements = convertAll(l2Entries, (e) => l2AdvertisementFromResource(e, advContext));
  const bgpEntries = dropDuplicateNames(read(resources.bgpAdvertisements, "BGPAdvertisement", true), "bgpadvertisement");
  const bgpAdvertisements = convertAll(bgpEntries, (e) => bgpAdvertisementFromResource(e, advContext));
  reportAggregationLengths(bgpAdvertisements, pools);
  reportLocalPrefConflicts(bgpAdvertisements, pools, nodes.length > 0);
  reportBfdEchoWithIPv6(
    bgpAdvertisements,
    pools,
    peers.map((p) => p.value),
    bfdProfiles,
  );

  if (problems.length > 0) return err(problems);
  return ok({
    pools: [...pools.values()],
    peers: peers.map((p) => p.value),
    bfdProfiles: bfdList.map((b) => b.value),
    communities,
    l2Advertisements: l2Advertisements.map((a) => a.value),
    bgpAdvertisements: bgpAdvertisements.map((a) => a.value),
    nodes: nodeInfosFromEntries(nodeEntries),
  });
}

function withSpec(item: unknown, update: (spec: Record<string, unknown>) => void): unknown {
  if (!isRawObject(item) || !isRawObject(item["spec"])) return item;
  const spec: Record<string, unknown> = { ...item["spec"] };
  update(spec);
  return { ...item, spec };
}

/**
 * A copy of the resources with the references that can cause transient problems removed (peer `bfdProfile` and
 * `passwordSecret`, and BGPAdvertisement communities without ':' i.e. aliases), as MetalLB's webhooks do so that
 * objects can be created in any order. The input is not modified.
 */
export function blankTransientReferences(resources: ClusterResources): ClusterResources {
  const peers = Array.isArray(resources.bgpPeers) ? resources.bgpPeers : [];
  const advs = Array.isArray(resources.bgpAdvertisements) ? resources.bgpAdvertisements : [];
  return {
    ...resources,
    bgpPeers: peers.map((p) =>
      withSpec(p, (spec) => {
        delete spec["bfdProfile"];
        delete spec["passwordSecret"];
      }),
    ),
    bgpAdvertisements: advs.map((a) =>
      withSpec(a, (spec) => {
        const communities = spec["communities"];
        if (Array.isArray(communities)) spec["communities"] = communities.filter((c) => typeof c !== "string" || c.includes(":"));
      }),
    ),
  };
}
