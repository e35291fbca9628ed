// Human-readable text of a ServiceExplanation (pure): the lines `metallb-ts explain service` prints without `-o json`.
import type { NodeExplanation, ServiceExplanation } from "./explain.js";

const L2_TEXT: Readonly<Record<NodeExplanation["l2"]["state"], string>> = {
  owner: "owner",
  standby: "standby",
  notApplicable: "-",
  notSelected: "not selected by the L2Advertisements' nodeSelectors",
  excluded: "excluded (node.kubernetes.io/exclude-from-external-load-balancers)",
  networkUnavailable: "NetworkUnavailable",
  noLocalEndpoint: "no serving endpoint here (externalTrafficPolicy Local)",
  noEndpoints: "no serving endpoint anywhere",
};

const BGP_TEXT: Readonly<Record<NodeExplanation["bgp"]["state"], string>> = {
  announced: "announced",
  noPeerSession: "no BGPPeer session on this node",
  notApplicable: "-",
  notSelected: "not selected by the BGPAdvertisements' nodeSelectors",
  excluded: "excluded (node.kubernetes.io/exclude-from-external-load-balancers)",
  networkUnavailable: "NetworkUnavailable",
  noLocalEndpoint: "no serving endpoint here (externalTrafficPolicy Local)",
  noEndpoints: "no serving endpoint anywhere",
  conflictingLocalPref: "advertisements give one prefix different LOCAL_PREFs",
};

function l2Text(n: NodeExplanation): string {
  const base = L2_TEXT[n.l2.state];
  if (n.l2.rank === null) return base;
  const ifaces = n.l2.interfaces.length > 0 ? ` interfaces ${n.l2.interfaces.join(",")}` : "";
  return `${base} (rank ${n.l2.rank}, preference ${n.l2.score ?? 0}, hash ${n.l2.hash ?? "?"}${ifaces})`;
}

function bgpText(n: NodeExplanation): string {
  const base = BGP_TEXT[n.bgp.state];
  return n.bgp.state === "announced" ? `${base} to ${n.bgp.peers.join(", ")} via ${n.bgp.advertisements.join(", ")}` : base;
}

function poolLines(e: ServiceExplanation): string[] {
  const a = e.allocation;
  const wanted = [
    ...(a.requestedIPs.length > 0 ? [`requested IPs ${a.requestedIPs.join(", ")}`] : []),
    ...(a.requestedPool !== null ? [`requested pool "${a.requestedPool}"`] : []),
    ...(a.sharingKey !== "" ? [`sharing key "${a.sharingKey}"`] : []),
  ];
  const lines = [`Pools (in the allocator's order)${wanted.length > 0 ? `, ${wanted.join(", ")}` : ""}:`];
  if (a.pools.length === 0) lines.push("  (none)");
  for (const p of a.pools) lines.push(`  ${p.reason === "taken" ? "✓" : "✗"} ${p.pool}: ${p.reason} — ${p.detail}`);
  return lines;
}

function advertisementLines(e: ServiceExplanation): string[] {
  const lines = ["Advertisements:"];
  if (e.advertisements.length === 0) lines.push("  (none)");
  for (const a of e.advertisements) {
    const sel = a.serviceSelectors.length > 0 ? ` serviceSelectors ${a.serviceSelectors.join(" ")}` : "";
    const nodeSel = a.nodeSelectors.length > 0 ? a.nodeSelectors.join(" ") : "all nodes";
    const peers = a.kind === "BGPAdvertisement" ? ` peers ${a.peers.length > 0 ? a.peers.join(",") : "all"}` : "";
    lines.push(`  ${a.kind}/${a.name}: ${a.selection}; pools [${a.pools.join(", ")}]${sel}; nodeSelectors ${nodeSel} → [${a.nodes.join(", ")}]${peers}`);
  }
  for (const p of e.peers)
    lines.push(`  BGPPeer/${p.name}: nodeSelectors ${p.nodeSelectors.length > 0 ? p.nodeSelectors.join(" ") : "all nodes"} → [${p.nodes.join(", ")}]`);
  return lines;
}

function nodeLines(e: ServiceExplanation): string[] {
  if (e.nodes.length === 0) return [];
  const lines = ["Nodes:"];
  for (const n of e.nodes) {
    const flags = [
      n.servingEndpoint ? "serving endpoint" : "no serving endpoint",
      ...(n.excludedFromLoadBalancers ? ["excluded"] : []),
      ...(n.networkUnavailable ? ["NetworkUnavailable"] : []),
    ];
    lines.push(`  ${n.node} (${flags.join(", ")}): L2 ${l2Text(n)}; BGP ${bgpText(n)}`);
  }
  return lines;
}

/** The explanation as lines of text. */
export function formatExplanation(e: ServiceExplanation): string[] {
  const a = e.allocation;
  const lines = [
    `Service ${e.service}: ${e.summary}`,
    ...(e.fix !== null ? [`Fix: ${e.fix}`] : []),
    `IPs: ${a.ips.length > 0 ? `${a.ips.join(", ")} from pool "${a.pool ?? ""}"` : "none"}; externalTrafficPolicy ${e.externalTrafficPolicy}`,
  ];
  if (a.failure !== null) lines.push(`Allocation: ${a.failure.reason}: ${a.failure.message}`);
  if (e.state === "notHandled") return lines;
  lines.push(...poolLines(e), ...advertisementLines(e));
  for (const l of e.l2)
    lines.push(`Layer 2 ${l.ip}: candidates ${l.candidates.join(" > ") || "(none)"}; owner ${l.owner ?? "none"} while its speaker is alive`);
  lines.push(...nodeLines(e));
  return lines;
}
