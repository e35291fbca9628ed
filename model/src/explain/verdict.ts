// Whether a Service with IPs is announced anywhere, and if not the one reason a user most likely needs to fix (pure).
// Shared by the operator (the `NotAnnounced` Event) and `metallb-ts explain`: it reads the Service's half
// (announce/plan.ts planServiceAnnouncement) and the configuration's resolved node lists, and asks the caller about a
// node only for the nodes the Service's advertisements select, stopping at the first node that announces it, so a
// Service event never walks every node of a large cluster.
import type { ServiceAnnouncement } from "../announce/plan.js";
import type { BGPAdvertisement, Config, L2Advertisement } from "../config/types.js";

/** Why a Service that holds IPs is announced nowhere. */
export type NotAnnouncedReason =
  /** No L2Advertisement or BGPAdvertisement selects the Service's pool. */
  | "noAdvertisementForPool"
  /** Advertisements select the pool, but none of their serviceSelectors matches the Service. */
  | "serviceSelectorsDoNotMatch"
  /** Only L2Advertisements with serviceSelectors select the Service, and it shares its IP (MetalLB's rule). */
  | "sharedIPWithServiceSelector"
  /** externalTrafficPolicy Cluster and no serving endpoint on any node. */
  | "noServingEndpoints"
  /** externalTrafficPolicy Local and no node that may announce it hosts a serving endpoint. */
  | "noLocalEndpoints"
  /** The advertisements' nodeSelectors select no node. */
  | "noSelectedNodes"
  /** Every selected node is excluded from load balancers or has NetworkUnavailable. */
  | "noEligibleNodes"
  /** BGP only: no BGPPeer (of the advertisements' peers) has a session on any node that would announce it. */
  | "noPeerSession";

/** What the verdict needs to know about a node. `undefined` from the lookup = an unknown, available node. */
export interface NodeAvailability {
  readonly excludedFromLoadBalancers: boolean;
  readonly networkUnavailable: boolean;
}

export type AnnounceVerdict =
  | { readonly announced: true; readonly l2: readonly string[]; readonly bgp: readonly string[] }
  | { readonly announced: false; readonly reason: NotAnnouncedReason; readonly message: string };

const q = (s: string): string => JSON.stringify(s);
const list = (kind: string, names: readonly string[]): string[] => names.map((n) => `${kind} ${q(n)}`);
const sample = (names: readonly string[], max = 5): string =>
  names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;

function no(reason: NotAnnouncedReason, message: string): AnnounceVerdict {
  return { announced: false, reason, message };
}

/** Why no advertisement selects the Service, or null when some does. */
function selectionProblem(config: Config, half: ServiceAnnouncement, pool: string): AnnounceVerdict | null {
  if (half.l2.length > 0 || half.bgp.length > 0) return null;
  const l2 = config.l2Advertisements.filter((a) => a.pools.includes(pool)).map((a) => a.name);
  const bgp = config.bgpAdvertisements.filter((a) => a.pools.includes(pool)).map((a) => a.name);
  if (l2.length === 0 && bgp.length === 0) return no("noAdvertisementForPool", `no L2Advertisement or BGPAdvertisement selects pool ${q(pool)}`);
  if (half.l2Skip === "sharedIPWithServiceSelector") {
    return no(
      "sharedIPWithServiceSelector",
      `the Service shares its IP (allow-shared-ip ${q(half.sharingKey)}) and the L2Advertisements selecting it have serviceSelectors, which MetalLB does not announce`,
    );
  }
  const names = [...list("L2Advertisement", l2), ...list("BGPAdvertisement", bgp)].join(", ");
  return no(
    "serviceSelectorsDoNotMatch",
    `${names} select${l2.length + bgp.length === 1 ? "s" : ""} pool ${q(pool)} but no serviceSelector matches the Service's labels`,
  );
}

/** How the nodes of one advertisement fail, for the message. */
interface NodeTally {
  selected: number;
  eligible: number;
  withLocalEndpoint: number;
  bgpNodesWithoutSession: string[];
}

interface NodeContext {
  readonly config: Config;
  readonly half: ServiceAnnouncement;
  readonly node: (name: string) => NodeAvailability | undefined;
}

function available(ctx: NodeContext, name: string): boolean {
  const n = ctx.node(name);
  return n === undefined || (!n.excludedFromLoadBalancers && !n.networkUnavailable);
}

const servesLocally = (half: ServiceAnnouncement, name: string): boolean => half.localNodes === null || half.localNodes.includes(name);

/** True when some node the advertisement selects would announce the Service; counts what failed otherwise. */
function advertisementAnnounces(ctx: NodeContext, adv: L2Advertisement | BGPAdvertisement, bgp: boolean, tally: NodeTally): boolean {
  for (const name of adv.nodes) {
    tally.selected++;
    if (!available(ctx, name)) continue;
    tally.eligible++;
    if (!servesLocally(ctx.half, name)) continue;
    tally.withLocalEndpoint++;
    if (!bgp) return true;
    const peers = (adv as BGPAdvertisement).peers;
    if (ctx.config.peers.some((p) => p.nodes.includes(name) && (peers.length === 0 || peers.includes(p.name)))) return true;
    tally.bgpNodesWithoutSession.push(name);
  }
  return false;
}

function nodeProblem(ctx: NodeContext, l2: readonly L2Advertisement[], bgp: readonly BGPAdvertisement[]): AnnounceVerdict {
  const tally: NodeTally = { selected: 0, eligible: 0, withLocalEndpoint: 0, bgpNodesWithoutSession: [] };
  const l2Ok = l2.filter((a) => advertisementAnnounces(ctx, a, false, tally)).map((a) => a.name);
  const bgpOk = bgp.filter((a) => advertisementAnnounces(ctx, a, true, tally)).map((a) => a.name);
  if (l2Ok.length > 0 || bgpOk.length > 0) return { announced: true, l2: l2Ok, bgp: bgpOk };
  const names = [
    ...list(
      "L2Advertisement",
      l2.map((a) => a.name),
    ),
    ...list(
      "BGPAdvertisement",
      bgp.map((a) => a.name),
    ),
  ].join(", ");
  if (tally.selected === 0) return no("noSelectedNodes", `the nodeSelectors of ${names} select no node`);
  if (tally.eligible === 0) return no("noEligibleNodes", `every node selected by ${names} is excluded from load balancers or has NetworkUnavailable`);
  if (tally.withLocalEndpoint === 0) {
    const local = ctx.half.localNodes ?? [];
    return no("noLocalEndpoints", `externalTrafficPolicy Local: the serving endpoints are on ${sample(local)}, which ${names} may not announce from`);
  }
  const nodes = [...new Set(tally.bgpNodesWithoutSession)].sort();
  return no("noPeerSession", `no BGPPeer selected by ${names} has a session on ${sample(nodes)}`);
}

/**
 * Is the Service (its half, allocated from `pool`, holding IPs) announced by some node? `node` looks a node up by
 * name (its exclusion label and NetworkUnavailable condition). Checks follow MetalLB's order: advertisements for the
 * pool, serviceSelectors, endpoints, then the nodes.
 */
export function announceVerdict(
  config: Config,
  half: ServiceAnnouncement,
  pool: string,
  node: (name: string) => NodeAvailability | undefined,
): AnnounceVerdict {
  const selection = selectionProblem(config, half, pool);
  if (selection !== null) return selection;
  if (half.localNodes === null && !half.hasEndpoints) return no("noServingEndpoints", "no serving endpoint on any node (externalTrafficPolicy Cluster)");
  if (half.localNodes !== null && half.localNodes.length === 0) return no("noLocalEndpoints", "externalTrafficPolicy Local and no node has a serving endpoint");
  const l2 = config.l2Advertisements.filter((a) => half.l2.includes(a.name));
  const bgp = config.bgpAdvertisements.filter((a) => half.bgp.includes(a.name));
  return nodeProblem({ config, half, node }, l2, bgp);
}

/** The one-line Event message for a verdict. */
export function verdictMessage(v: AnnounceVerdict): string {
  if (!v.announced) return v.message;
  const via = [...list("L2Advertisement", v.l2), ...list("BGPAdvertisement", v.bgp)].join(", ");
  return `announced through ${via}`;
}
