// A golden case: small raw MetalLB objects + services + nodes + the node to render for. Each case goes through the
// whole pure pipeline parseConfig → planBgpAnnouncements → buildFrrConfig → renderFrrConfig.
import { planBgpAnnouncements, type BgpServiceView, type NodeBgpPlan, type NodeView } from "../../model/src/bgp/plan.js";
import { parseConfig } from "../../model/src/config/parse-config.js";
import { formatProblem } from "../../model/src/config/problems.js";
import type { ClusterResources, Config, NodeAddress } from "../../model/src/config/types.js";
import { emptyClusterResources } from "../../model/src/config/resources.js";
import { buildFrrConfig } from "../../model/src/frr/build.js";
import type { FrrConfig, LogLevel } from "../../model/src/frr/types.js";
import { parseIP } from "../../model/src/net/ip.js";
import { renderFrrConfig } from "../src/render.js";

export interface GoldenCase {
  readonly description: string;
  readonly node: string;
  readonly logLevel?: LogLevel;
  /** Raw objects, each with `kind` (IPAddressPool, BGPPeer, BGPAdvertisement, BFDProfile, Community, Secret). */
  readonly resources: readonly Record<string, unknown>[];
  /** Nodes as the planner sees them, plus their `status.addresses` (a node's default BGP router ID: its InternalIP). */
  readonly nodes: readonly (Partial<NodeView> & { addresses?: readonly NodeAddress[] })[];
  readonly services?: readonly (Partial<Omit<BgpServiceView, "ips">> & { key: string; ips: readonly string[]; pool: string })[];
  /** Render the peers' resolved passwords in, as the speaker does at write time. */
  readonly renderPasswords?: boolean;
}

const KINDS: Readonly<Record<string, keyof ClusterResources>> = {
  IPAddressPool: "pools",
  BGPPeer: "bgpPeers",
  BGPAdvertisement: "bgpAdvertisements",
  BFDProfile: "bfdProfiles",
  Community: "communities",
  Secret: "secrets",
};

function resourcesOf(c: GoldenCase): ClusterResources {
  const parts = emptyClusterResources();
  for (const r of c.resources) {
    const key = KINDS[String(r["kind"])];
    if (key === undefined) throw new Error(`case resource of unknown kind ${String(r["kind"])}`);
    parts[key].push({ apiVersion: r["kind"] === "BGPPeer" ? "metallb.io/v1beta2" : "metallb.io/v1beta1", ...r });
  }
  parts.nodes = c.nodes.map((n) => ({
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: n.name ?? "", labels: n.labels ?? {} },
    status: { addresses: n.addresses ?? [] },
  }));
  return parts;
}

function nodeViews(c: GoldenCase): NodeView[] {
  return c.nodes.map((n) => ({
    name: n.name ?? "",
    labels: n.labels ?? {},
    networkUnavailable: n.networkUnavailable ?? false,
    excludedFromLoadBalancers: n.excludedFromLoadBalancers ?? false,
    ...(n.draining === true ? { draining: true } : {}),
  }));
}

function serviceViews(c: GoldenCase): BgpServiceView[] {
  return (c.services ?? []).map((s) => ({
    key: s.key,
    ips: s.ips.map((text) => {
      const ip = parseIP(text);
      if (!ip.ok) throw new Error(`service ${s.key}: ${ip.error}`);
      return ip.value;
    }),
    pool: s.pool,
    labels: s.labels ?? {},
    sharingKey: s.sharingKey ?? "",
    externalTrafficPolicy: s.externalTrafficPolicy ?? "Cluster",
    nodesWithServingEndpoints: s.nodesWithServingEndpoints ?? [c.node],
  }));
}

function configOf(c: GoldenCase): Config {
  const parsed = parseConfig(resourcesOf(c));
  if (!parsed.ok) throw new Error(`invalid case config:\n${parsed.error.map(formatProblem).join("\n")}`);
  return parsed.value;
}

/** A case's parsed configuration, Services and Nodes as the planners take them. */
export function caseInputs(c: GoldenCase): { config: Config; services: BgpServiceView[]; nodes: NodeView[] } {
  return { config: configOf(c), services: serviceViews(c), nodes: nodeViews(c) };
}

/** A case's parsed configuration and the node's plan. */
export function planCase(c: GoldenCase): { config: Config; plan: NodeBgpPlan } {
  const nodes = nodeViews(c);
  const config = configOf(c);
  return { config, plan: planBgpAnnouncements(config, serviceViews(c), nodes, c.node) };
}

/** A case's parsed configuration and FRR view model. Throws if the case's configuration is invalid. */
export function buildCase(c: GoldenCase): { config: Config; frr: FrrConfig } {
  const { config, plan } = planCase(c);
  return { config, frr: buildFrrConfig(plan, config.bfdProfiles, { logLevel: c.logLevel ?? "info" }) };
}

/** Renders a case to frr.conf text. Throws if the case's configuration is invalid. */
export function renderCase(c: GoldenCase): string {
  const { config, frr } = buildCase(c);
  const secrets =
    c.renderPasswords === true ? new Map(config.peers.filter((p) => p.password !== "").map((p) => [p.name, p.password])) : new Map<string, string>();
  return renderFrrConfig(frr, secrets);
}
