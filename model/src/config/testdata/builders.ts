import { parseConfig } from "../parse-config.js";
import { formatProblem } from "../problems.js";
import { emptyClusterResources } from "../resources.js";
import type { ClusterResources, Config } from "../types.js";

/** Small fixture builders for parser tests: each returns a raw object as it would come from YAML or the API. */
type Spec = Record<string, unknown>;
type LabelMap = Record<string, string>;

const NAMESPACE = "metallb-system";

const metallbObject = (kind: string, name: string, spec: Spec, labels?: LabelMap): Spec => ({
  apiVersion: kind === "BGPPeer" ? "metallb.io/v1beta2" : "metallb.io/v1beta1",
  kind,
  metadata: labels === undefined ? { name, namespace: NAMESPACE } : { name, namespace: NAMESPACE, labels },
  spec,
});

export const aPool = (name: string, addresses: unknown, spec: Spec = {}, labels?: LabelMap): Spec =>
  metallbObject("IPAddressPool", name, { addresses, ...spec }, labels);

export const aPeer = (name: string, spec: Spec = {}): Spec =>
  metallbObject("BGPPeer", name, { myASN: 64500, peerASN: 64501, peerAddress: "192.0.2.1", ...spec });

export const anL2Advertisement = (name: string, spec: Spec = {}): Spec => metallbObject("L2Advertisement", name, spec);

export const aBGPAdvertisement = (name: string, spec: Spec = {}): Spec => metallbObject("BGPAdvertisement", name, spec);

export const aBFDProfile = (name: string, spec: Spec = {}): Spec => metallbObject("BFDProfile", name, spec);

export const aCommunity = (name: string, aliases: Record<string, string>): Spec =>
  metallbObject("Community", name, { communities: Object.entries(aliases).map(([n, value]) => ({ name: n, value })) });

export const aSecret = (name: string, type: string, data: Record<string, string>): Spec => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: NAMESPACE },
  type,
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, btoa(v)])),
});

/** A Node; `addresses` become its `status.addresses` (`[type, address]` pairs). */
export const aNode = (name: string, labels: LabelMap = {}, addresses?: ReadonlyArray<readonly [string, string]>): Spec => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels },
  ...(addresses === undefined ? {} : { status: { addresses: addresses.map(([type, address]) => ({ type, address })) } }),
});

export const aNamespace = (name: string, labels: LabelMap = {}): Spec => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels } });

/** Recursively freezes a value so that any mutation by the code under test throws. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** A deep-frozen ClusterResources with empty lists for everything not given. */
export function clusterResources(parts: Partial<ClusterResources> = {}): ClusterResources {
  return deepFreeze({ ...emptyClusterResources(), ...parts });
}

/** The deep-frozen Config of these resources (clusterResources), which must be valid: problems are thrown. */
export function validConfig(parts: Partial<ClusterResources> = {}): Config {
  const result = parseConfig(clusterResources(parts));
  if (!result.ok) throw new Error(result.error.map(formatProblem).join("\n"));
  return deepFreeze(result.value);
}
