// `metallb-ts explain service NAMESPACE/NAME`: why a Service is pending or not announced, from the same pure parser,
// allocator and planners as the operator (model/src/explain). Offline over YAML files and directories (MetalLB objects,
// Nodes, Namespaces, Services, EndpointSlices, like `render`), or against a cluster through --kubeconfig (one list of
// each kind). Human output, or the structured explanation with `-o json`.
import { loadAll } from "js-yaml";
import { LIST_OF_KIND, emptyClusterResources, type ResourceList } from "../../model/src/config/resources.js";
import { explainService } from "../../model/src/explain/explain.js";
import { formatExplanation } from "../../model/src/explain/format.js";
import { explainInputFromObjects, type ExplainObjects } from "../../model/src/explain/inputs.js";
import { parseFlags } from "../../shell/src/flags.js";
import { expandPaths, type ValidateIO } from "./validate.js";

export const EXPLAIN_USAGE =
  "usage: metallb-ts explain service NAMESPACE/NAME (--kubeconfig PATH [--namespace metallb-system] | <file or directory>...) [-o text|json] [--lb-class NAME]";

/** Reads what explain needs from a cluster, once (cli/src/cluster.ts; injected so tests can run without one). */
export type ClusterReader = (kubeconfig: string, namespace: string) => Promise<ExplainObjects>;

export interface ExplainIO extends ValidateIO {
  readCluster: ClusterReader;
}

interface Args {
  key: string;
  output: "text" | "json";
  kubeconfig: string | null;
  namespace: string;
  lbClass: string | null;
  paths: string[];
}

const DEFAULT_NAMESPACE = "metallb-system";

function parseExplainArgs(argv: readonly string[]): Args | string {
  // kubectl's short `-o json` / `-ojson` is `--output`.
  const long = argv.map((a) => (a === "-o" ? "--output" : a.startsWith("-o") ? `--output=${a.slice(2)}` : a));
  const parsed = parseFlags(long, { kubeconfig: "string", namespace: "string", output: "string", "lb-class": "string" }, { allowPositionals: true });
  if (!parsed.ok) return parsed.error;
  const [what, key, ...paths] = parsed.flags.positionals;
  if (what !== "service") return "explain what? only `explain service NAMESPACE/NAME` is supported";
  if (key === undefined || !/^[^/]+\/[^/]+$/.test(key)) return "give the Service as NAMESPACE/NAME";
  const v = parsed.flags.values;
  const output = v.get("output") ?? "text";
  if (output !== "text" && output !== "json") return `-o must be text or json, got ${String(output)}`;
  const kubeconfig = v.get("kubeconfig");
  const hasKubeconfig = typeof kubeconfig === "string" && kubeconfig !== "";
  if (hasKubeconfig === paths.length > 0) return "give either --kubeconfig or files and directories";
  const ns = v.get("namespace");
  const lbClass = v.get("lb-class");
  return {
    key,
    output,
    kubeconfig: hasKubeconfig ? kubeconfig : null,
    namespace: typeof ns === "string" && ns !== "" ? ns : DEFAULT_NAMESPACE,
    lbClass: typeof lbClass === "string" && lbClass !== "" ? lbClass : null,
    paths: [...paths],
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** MetalLB objects, Nodes, Namespaces, Services and EndpointSlices from YAML files and directories. */
async function readFiles(paths: readonly string[], io: ValidateIO, errors: string[]): Promise<ExplainObjects> {
  const resources = emptyClusterResources();
  const services: unknown[] = [];
  const endpointSlices: unknown[] = [];
  for (const file of await expandPaths(paths, io, errors)) {
    try {
      for (const doc of loadAll(await io.readFile(file))) {
        if (!isObj(doc) || typeof doc.kind !== "string") continue;
        const list = (LIST_OF_KIND as Readonly<Record<string, ResourceList | undefined>>)[doc.kind];
        if (list !== undefined) resources[list].push(doc);
        else if (doc.kind === "Service") services.push(doc);
        else if (doc.kind === "EndpointSlice") endpointSlices.push(doc);
      }
    } catch (e) {
      errors.push(`${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return { resources, services, endpointSlices };
}

export async function runExplain(argv: readonly string[], io: ExplainIO): Promise<number> {
  const args = parseExplainArgs(argv);
  if (typeof args === "string") {
    io.stderr(`explain: ${args}\n${EXPLAIN_USAGE}`);
    return 2;
  }
  const errors: string[] = [];
  let objects: ExplainObjects;
  try {
    objects = args.kubeconfig !== null ? await io.readCluster(args.kubeconfig, args.namespace) : await readFiles(args.paths, io, errors);
  } catch (e) {
    io.stderr(`explain: reading the cluster: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  const input = explainInputFromObjects(objects, {
    namespace: args.kubeconfig !== null ? args.namespace : undefined,
    lbClass: args.lbClass,
    assumeServedEverywhere: args.kubeconfig === null && objects.endpointSlices.length === 0,
  });
  if (!input.ok) errors.push(...input.error.map((p) => `invalid configuration: ${p}`));
  if (errors.length > 0 || !input.ok) {
    for (const e of errors) io.stderr(e);
    return 1;
  }
  const r = explainService(input.value, args.key);
  if (!r.ok) {
    io.stderr(`explain: ${r.error}`);
    return 1;
  }
  if (args.output === "json") {
    io.stdout(JSON.stringify(r.value, null, 2));
    return 0;
  }
  for (const line of formatExplanation(r.value)) io.stdout(line);
  if (args.kubeconfig === null && objects.endpointSlices.length === 0)
    io.stdout("(no EndpointSlice in the input: every Service is taken as served on every node)");
  if (objects.resources.nodes.length === 0) io.stdout("(no Node in the input: no advertisement selects any node)");
  return 0;
}
