import { loadAll } from "js-yaml";
import { parseConfig } from "../../model/src/config/parse-config.js";
import { formatProblem } from "../../model/src/config/problems.js";
import { parseFlags } from "../../shell/src/flags.js";
import type { ClusterResources, ResourceKind } from "../../model/src/config/types.js";
import { emptyClusterResources } from "../../model/src/config/resources.js";

/** The I/O `runValidate` needs, injected so that it can be unit-tested without a file system. */
export interface ValidateIO {
  readFile(path: string): Promise<string>;
  /** Names (not paths) of the entries of a directory. */
  listDir(path: string): Promise<string[]>;
  isDirectory(path: string): Promise<boolean>;
  stdout(line: string): void;
  stderr(line: string): void;
}

type ResourceList = keyof ClusterResources;

/** Which ClusterResources list each kind goes to, and the API versions we accept for it. */
const KINDS: Readonly<Record<string, { list: ResourceList; kind: ResourceKind; apiVersions: readonly string[] }>> = {
  IPAddressPool: { list: "pools", kind: "IPAddressPool", apiVersions: ["metallb.io/v1beta1"] },
  L2Advertisement: { list: "l2Advertisements", kind: "L2Advertisement", apiVersions: ["metallb.io/v1beta1"] },
  BGPAdvertisement: { list: "bgpAdvertisements", kind: "BGPAdvertisement", apiVersions: ["metallb.io/v1beta1"] },
  BGPPeer: { list: "bgpPeers", kind: "BGPPeer", apiVersions: ["metallb.io/v1beta1", "metallb.io/v1beta2"] },
  BFDProfile: { list: "bfdProfiles", kind: "BFDProfile", apiVersions: ["metallb.io/v1beta1"] },
  Community: { list: "communities", kind: "Community", apiVersions: ["metallb.io/v1beta1"] },
  Secret: { list: "secrets", kind: "Secret", apiVersions: ["v1"] },
  Node: { list: "nodes", kind: "Node", apiVersions: ["v1"] },
  Namespace: { list: "namespaces", kind: "Namespace", apiVersions: ["v1"] },
};

/** MetalLB kinds that are written by MetalLB itself; they may appear in dumps and are not configuration. */
const STATUS_KINDS: readonly string[] = ["ServiceL2Status", "ServiceBGPStatus", "ConfigurationState"];

const YAML_FILE = /\.ya?ml$/;

interface Collected {
  readonly lists: Record<ResourceList, unknown[]>;
  /** Per list, the `file:doc` location of each item. */
  readonly locations: Record<ResourceList, string[]>;
  readonly errors: string[];
  documents: number;
}

const joinPath = (dir: string, name: string): string => (dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`);

/** All *.yaml / *.yml files under a directory, recursively, in sorted order. */
async function yamlFilesUnder(dir: string, io: ValidateIO): Promise<string[]> {
  const files: string[] = [];
  for (const name of [...(await io.listDir(dir))].sort()) {
    const path = joinPath(dir, name);
    if (await io.isDirectory(path)) files.push(...(await yamlFilesUnder(path, io)));
    else if (YAML_FILE.test(name)) files.push(path);
  }
  return files;
}

/** Expands directories into their YAML files; files named explicitly are read whatever their extension. */
export async function expandPaths(paths: readonly string[], io: ValidateIO, errors: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    try {
      if (await io.isDirectory(path)) files.push(...(await yamlFilesUnder(path, io)));
      else files.push(path);
    } catch (e: unknown) {
      errors.push(`${path}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return files;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function addDocument(doc: unknown, location: string, into: Collected): void {
  if (doc === null || doc === undefined) return;
  into.documents++;
  if (!isObject(doc)) {
    into.errors.push(`${location}: document is not an object`);
    return;
  }
  const kind = typeof doc["kind"] === "string" ? doc["kind"] : "";
  const apiVersion = typeof doc["apiVersion"] === "string" ? doc["apiVersion"] : "";
  if (kind === "List" && apiVersion === "v1" && Array.isArray(doc["items"])) {
    doc["items"].forEach((item: unknown, i) => addDocument(item, `${location}[${i}]`, into));
    into.documents--;
    return;
  }
  const group = apiVersion.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : "";
  const known = KINDS[kind];
  if (known === undefined || !known.apiVersions.includes(apiVersion)) {
    if (group === "metallb.io" && !STATUS_KINDS.includes(kind)) {
      const why = known === undefined ? `unknown kind ${JSON.stringify(kind)}` : `unsupported apiVersion for ${kind}`;
      into.errors.push(`${location}: ${why} (apiVersion ${JSON.stringify(apiVersion)})`);
    }
    return; // not MetalLB configuration: ignored
  }
  into.lists[known.list].push(doc);
  into.locations[known.list].push(location);
}

async function collectFile(file: string, io: ValidateIO, into: Collected): Promise<void> {
  let text: string;
  try {
    text = await io.readFile(file);
  } catch (e: unknown) {
    into.errors.push(`${file}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  let docs: unknown[];
  try {
    docs = loadAll(text);
  } catch (e: unknown) {
    into.errors.push(`${file}: YAML syntax error: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  docs.forEach((doc, i) => addDocument(doc, `${file}:${i + 1}`, into));
}

function summary(collected: Collected, files: number): string {
  const counts = Object.entries(KINDS)
    .map(([kind, { list }]) => [kind, collected.lists[list].length] as const)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`);
  return `${files} file(s), ${collected.documents} document(s)${counts.length > 0 ? `: ${counts.join(", ")}` : ""}`;
}

/**
 * `metallb-ts validate`: reads multi-document YAML files (or directories of *.yaml / *.yml, recursively), validates the
 * MetalLB configuration they hold exactly as the operator would, and prints every problem as
 * `file:doc Kind/name field: message` (doc is the 1-based document number in the file). Returns the exit code:
 * 0 when valid, 1 on any problem, YAML error, unreadable file or unknown metallb.io kind, 2 on an unknown flag.
 */
export async function runValidate(argv: readonly string[], io: ValidateIO): Promise<number> {
  const parsed = parseFlags(argv, {}, { allowPositionals: true });
  if (!parsed.ok) {
    io.stderr(`validate: ${parsed.error}`);
    return 2;
  }
  const paths = parsed.flags.positionals;
  if (paths.length === 0) {
    io.stderr("validate: no files or directories given");
    return 1;
  }
  const collected: Collected = { lists: emptyClusterResources(), locations: emptyClusterResources<string>(), errors: [], documents: 0 };
  const files = await expandPaths(paths, io, collected.errors);
  for (const file of files) await collectFile(file, io, collected);
  const result = parseConfig(collected.lists);
  const problems = result.ok ? [] : result.error;
  for (const p of problems) {
    const list = Object.values(KINDS).find((k) => k.kind === p.kind)?.list;
    const location = list === undefined ? undefined : collected.locations[list][p.index];
    io.stderr(`${location ?? "?"} ${formatProblem(p)}`);
  }
  for (const e of collected.errors) io.stderr(e);
  const total = problems.length + collected.errors.length;
  if (total > 0) {
    io.stderr(`INVALID: ${total} problem(s) in ${summary(collected, files.length)}`);
    return 1;
  }
  io.stdout(`OK: ${summary(collected, files.length)}`);
  return 0;
}
