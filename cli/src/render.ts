// `metallb-ts render --node NAME <files or dirs>`: the FRR configuration a node would get, offline, from YAML
// (MetalLB objects, Nodes, Services, EndpointSlices). Same pure pipeline as the operator and the speaker:
// parseConfig → planBgpAnnouncements → buildFrrConfig → renderFrrConfig.
import { loadAll } from "js-yaml";
import { planBgpAnnouncements, type BgpServiceView, type NodeView } from "../../model/src/bgp/plan.js";
import { parseConfig } from "../../model/src/config/parse-config.js";
import { formatProblem } from "../../model/src/config/problems.js";
import { emptyClusterResources, LIST_OF_KIND, type ResourceList } from "../../model/src/config/resources.js";
import type { Pool } from "../../model/src/config/types.js";
import { buildFrrConfig } from "../../model/src/frr/build.js";
import { cidrContainsIP } from "../../model/src/net/cidr.js";
import type { IPAddress } from "../../model/src/net/ip.js";
import { nodeViewFromObject, servingNodesByService } from "../../model/src/node-config/views.js";
import { serviceSnapshotFromObject } from "../../model/src/service/snapshot.js";
import { renderFrrConfig } from "../../frr-templates/src/render.js";
import { parseFlags } from "../../shell/src/flags.js";
import { expandPaths, type ValidateIO } from "./validate.js";

export const RENDER_USAGE = "usage: metallb-ts render --node NAME [--show-passwords] <file or directory>...";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function poolOf(pools: readonly Pool[], ips: readonly IPAddress[]): string | undefined {
  return pools.find((p) => ips.length > 0 && ips.every((ip) => p.cidrs.some((c) => cidrContainsIP(c, ip))))?.name;
}

interface Args {
  node: string;
  showPasswords: boolean;
  paths: string[];
}

function parseRenderArgs(argv: readonly string[]): Args | string {
  const parsed = parseFlags(argv, { node: "string", "show-passwords": "boolean" }, { allowPositionals: true });
  if (!parsed.ok) return parsed.error;
  const node = parsed.flags.values.get("node");
  if (typeof node !== "string" || node === "") return "--node is required";
  if (parsed.flags.positionals.length === 0) return "no files or directories given";
  return { node, showPasswords: parsed.flags.values.get("show-passwords") === true, paths: [...parsed.flags.positionals] };
}

export async function runRender(argv: readonly string[], io: ValidateIO): Promise<number> {
  const args = parseRenderArgs(argv);
  if (typeof args === "string") {
    io.stderr(`render: ${args}\n${RENDER_USAGE}`);
    return 2;
  }
  const errors: string[] = [];
  const lists = emptyClusterResources();
  const services: unknown[] = [];
  const slices: unknown[] = [];
  for (const file of await expandPaths(args.paths, io, errors)) {
    try {
      for (const doc of loadAll(await io.readFile(file))) {
        if (!isObj(doc) || typeof doc.kind !== "string") continue;
        const list = (LIST_OF_KIND as Readonly<Record<string, ResourceList | undefined>>)[doc.kind];
        if (list !== undefined) lists[list].push(doc);
        else if (doc.kind === "Service") services.push(doc);
        else if (doc.kind === "EndpointSlice") slices.push(doc);
      }
    } catch (e) {
      errors.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const parsed = parseConfig(lists);
  if (!parsed.ok) errors.push(...parsed.error.map(formatProblem));
  if (errors.length > 0 || !parsed.ok) {
    for (const e of errors) io.stderr(e);
    return 1;
  }
  const config = parsed.value;
  const nodes: NodeView[] = lists.nodes.map((n) => nodeViewFromObject(n)).filter((n): n is NodeView => n !== null);
  if (!nodes.some((n) => n.name === args.node)) nodes.push({ name: args.node, labels: {}, networkUnavailable: false, excludedFromLoadBalancers: false });
  const serving = servingNodesByService(slices);
  const views: BgpServiceView[] = [];
  for (const raw of services) {
    const snap = serviceSnapshotFromObject(raw);
    if (snap === null || !snap.isLoadBalancer) continue;
    const ips = snap.ingressIPs.length > 0 ? [...snap.ingressIPs] : snap.requested.ok ? snap.requested.ips : [];
    const pool = snap.allocatedFromPool ?? poolOf(config.pools, ips);
    if (pool === undefined) continue;
    const local = isObj(raw) && isObj(raw.spec) && raw.spec.externalTrafficPolicy === "Local";
    const servedBy = serving.get(snap.view.key);
    views.push({
      key: snap.view.key,
      ips,
      pool,
      labels: snap.view.labels,
      sharingKey: snap.view.sharingKey,
      externalTrafficPolicy: local ? "Local" : "Cluster",
      nodesWithServingEndpoints: servedBy === undefined ? nodes.map((n) => n.name) : [...servedBy],
    });
  }
  const plan = planBgpAnnouncements(config, views, nodes, args.node);
  const secrets = new Map(config.peers.filter((p) => p.password !== "").map((p) => [p.name, args.showPasswords ? p.password : "<redacted>"]));
  io.stdout(`! metallb-ts render --node ${args.node}: Services without an EndpointSlice in the input are taken as served on every node`);
  io.stdout(renderFrrConfig(buildFrrConfig(plan, config.bfdProfiles, { logLevel: "info" }), secrets).trimEnd());
  for (const s of plan.services) if (!s.announced) io.stderr(`${s.service}: not announced from ${args.node}: ${s.reason}`);
  return 0;
}
