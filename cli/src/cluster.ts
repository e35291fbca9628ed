// One read of everything `metallb-ts explain` needs from a cluster: Services, EndpointSlices, Nodes, Namespaces and the
// metallb.io objects of the MetalLB namespace (no Secrets: BGP passwords do not change an explanation). Plain GETs
// through the shared raw client; nothing is written.
import { emptyClusterResources, type ResourceList } from "../../model/src/config/resources.js";
import type { ExplainObjects } from "../../model/src/explain/inputs.js";
import { kubeConfigFromFiles, type KubeConfigLike } from "../../shell/src/kubeconfig.js";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";

const METALLB: ReadonlyArray<readonly [ResourceList, string]> = [
  ["pools", "v1beta1/namespaces/NS/ipaddresspools"],
  ["l2Advertisements", "v1beta1/namespaces/NS/l2advertisements"],
  ["bgpAdvertisements", "v1beta1/namespaces/NS/bgpadvertisements"],
  ["bgpPeers", "v1beta2/namespaces/NS/bgppeers"],
  ["bfdProfiles", "v1beta1/namespaces/NS/bfdprofiles"],
  ["communities", "v1beta1/namespaces/NS/communities"],
];

async function list(kc: KubeConfigLike, path: string): Promise<unknown[]> {
  const res = await kubeRequest(kc, "GET", path);
  if (res.status >= 300) throw new Error(`GET ${path}: ${statusMessage(res)}`);
  const items = (res.body as { items?: unknown } | null)?.items;
  return Array.isArray(items) ? (items as unknown[]) : [];
}

export async function readClusterObjects(kubeconfig: string, namespace: string): Promise<ExplainObjects> {
  const kc = kubeConfigFromFiles([kubeconfig]);
  const resources = emptyClusterResources();
  const core = ["/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices", "/api/v1/nodes", "/api/v1/namespaces"];
  const paths = [...core, ...METALLB.map(([, path]) => `/apis/metallb.io/${path.replace("NS", namespace)}`)];
  const lists = await Promise.all(paths.map((p) => list(kc, p)));
  const [services = [], endpointSlices = [], nodes = [], namespaces = [], ...rest] = lists;
  METALLB.forEach(([key], i) => resources[key].push(...(rest[i] ?? [])));
  resources.nodes.push(...nodes);
  resources.namespaces.push(...namespaces);
  return { resources, services, endpointSlices };
}
