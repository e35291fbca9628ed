// The Helm chart charts/metallb-ts, GENERATED from the same pieces of config/ as the all-in-one files (pure: the
// caller passes a reader), so the two install paths never drift. `npm run gen:manifests` writes it;
// tools/src/manifests.test.ts fails when a committed file differs, and tools/src/chart.int.test.ts renders it with
// helm and compares it with the all-in-one files.
//
// How: each object of config/ is taken as is; the values users override (namespace, images, log level, replicas,
// resources, nodeSelector, tolerations) are replaced by placeholder strings in the objects, the objects are dumped
// to YAML, and the placeholders are replaced by Helm expressions. The defaults in values.yaml are read from the
// same objects, so rendering with default values gives back the all-in-one files (plus Helm's labels).
import yaml from "js-yaml";
import { allInOneDocs, nativeSpeakerDocs, type ReadRepoFile } from "./manifests.js";
import { loadManifestDocs, type ManifestDoc } from "./manifest-files.js";

type Doc = ManifestDoc;
type Json = Record<string, unknown>;

export const CHART_DIR = "charts/metallb-ts";
const NAMESPACE = "metallb-system";
const SPEAKER_FRR = "config/speaker/speaker-frr.yaml";
const PROMETHEUS = { serviceMonitor: "config/prometheus/service-monitors.yaml", prometheusRule: "config/prometheus/prometheus-rules.yaml" } as const;

interface Container extends Json {
  name: string;
  image: string;
  args?: string[];
}
interface PodSpec extends Json {
  containers: Container[];
}

const podSpecOf = (d: Doc): PodSpec => (d["spec"] as { template: { spec: PodSpec } }).template.spec;
const clone = <T>(v: T): T => structuredClone(v);

/** Placeholders: a scalar (`__S:path__`), a block (`__B:path__`, toYaml of the value) or the release namespace. */
const scalar = (path: string): string => `__S:${path}__`;
const block = (path: string): string => `__B:${path}__`;
const NS = "__NS__";
const HELM_LABELS = "__helm_labels__";

/** Every string equal to the install namespace becomes the release namespace (metadata, subjects, webhook services). */
function withReleaseNamespace(v: unknown): unknown {
  if (v === NAMESPACE) return NS;
  if (Array.isArray(v)) return v.map(withReleaseNamespace);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withReleaseNamespace(x)]));
  return v;
}

function splitImage(image: string): { repository: string; tag: string } {
  const at = image.lastIndexOf(":");
  if (at <= image.lastIndexOf("/")) throw new Error(`image ${image} has no tag`);
  return { repository: image.slice(0, at), tag: image.slice(at + 1) };
}

function logLevelOf(c: Container): string {
  const arg = (c.args ?? []).find((a) => a.startsWith("--log-level="));
  if (arg === undefined) throw new Error(`container ${c.name} has no --log-level`);
  return arg.slice("--log-level=".length);
}

function container(spec: PodSpec, name: string, where: string): Container {
  const c = spec.containers.find((x) => x.name === name);
  if (c === undefined) throw new Error(`${where}: no container ${name}`);
  return c;
}

function findDoc(docs: readonly Doc[], kind: string, where: string): Doc {
  const d = docs.find((x) => x.kind === kind);
  if (d === undefined) throw new Error(`${where}: no ${kind}`);
  return d;
}

/** The chart's default values, read from config/ (what the all-in-one files hold). */
export function chartDefaultValues(read: ReadRepoFile): Json {
  const operator = podSpecOf(findDoc(loadManifestDocs(read("config/manager/operator.yaml"), "operator"), "Deployment", "config/manager/operator.yaml"));
  const deployment = findDoc(loadManifestDocs(read("config/manager/operator.yaml"), "operator"), "Deployment", "config/manager/operator.yaml");
  const speaker = podSpecOf(findDoc(loadManifestDocs(read(SPEAKER_FRR), SPEAKER_FRR), "DaemonSet", SPEAKER_FRR));
  const op = container(operator, "operator", "operator Deployment");
  const sp = container(speaker, "speaker", "speaker DaemonSet");
  const frr = container(speaker, "frr", "speaker DaemonSet");
  if (logLevelOf(op) !== logLevelOf(sp)) throw new Error("operator and speaker log levels differ in config/");
  return {
    crds: { enabled: true },
    frr: { enabled: true },
    logLevel: logLevelOf(op),
    operator: {
      image: { ...splitImage(op.image), pullPolicy: op["imagePullPolicy"] },
      replicas: (deployment["spec"] as { replicas: number }).replicas,
      resources: op["resources"] ?? {},
      nodeSelector: operator["nodeSelector"] ?? {},
      tolerations: operator["tolerations"] ?? [],
    },
    speaker: {
      image: { ...splitImage(sp.image), pullPolicy: sp["imagePullPolicy"] },
      resources: sp["resources"] ?? {},
      nodeSelector: speaker["nodeSelector"] ?? {},
      tolerations: speaker["tolerations"] ?? [],
      frr: { resources: frr["resources"] ?? {} },
    },
    prometheus: { serviceMonitor: { enabled: false }, prometheusRule: { enabled: false } },
  };
}

/** The overridable fields of a container: image, pull policy, log level, resources. */
function templateContainer(c: Container, values: "operator" | "speaker", resources: string): Container {
  const args = c.args?.map((a) => (a.startsWith("--log-level=") ? `--log-level=${scalar("logLevel")}` : a));
  return {
    ...c,
    image: `${scalar(`${values}.image.repository`)}:${scalar(`${values}.image.tag`)}`,
    imagePullPolicy: scalar(`${values}.image.pullPolicy`),
    ...(args !== undefined ? { args } : {}),
    resources: block(resources),
  };
}

function templatePod(d: Doc, values: "operator" | "speaker"): Doc {
  const out = clone(d);
  const spec = podSpecOf(out);
  spec.containers = spec.containers.map((c) => templateContainer(c, values, c.name === "frr" ? "speaker.frr.resources" : `${values}.resources`));
  spec["nodeSelector"] = block(`${values}.nodeSelector`);
  spec["tolerations"] = block(`${values}.tolerations`);
  if (values === "operator") (out["spec"] as Json)["replicas"] = scalar("operator.replicas");
  return out;
}

/** Objects → template text: namespace, Helm's labels, then the placeholders replaced by Helm expressions. */
function templateText(docs: readonly Doc[]): string {
  const text = docs
    .map((d) => {
      const labeled = { ...d, metadata: { ...d.metadata, labels: { ...(d.metadata.labels ?? {}), [HELM_LABELS]: "x" } } };
      return yaml.dump(withReleaseNamespace(labeled), { lineWidth: -1, noRefs: true, quotingType: '"' });
    })
    .join("---\n")
    // Go template text already in config/ (the alerts' {{ $labels.x }}) is printed literally by Helm.
    .replace(/\{\{(.*?)\}\}/g, (_m, inner: string) => `{{\`{{${inner}}}\`}}`)
    .replace(/^( *)__helm_labels__: x$/gm, (_m, ind: string) => `${ind}{{- include "metallb-ts.labels" . | nindent ${ind.length} }}`)
    // An empty value leaves the key out, as config/ does (`with`).
    .replace(
      /^( *)([\w.-]+): __B:([\w.]+)__$/gm,
      (_m, ind: string, key: string, path: string) =>
        `${ind}{{- with .Values.${path} }}\n${ind}${key}: {{- toYaml . | nindent ${ind.length + 2} }}\n${ind}{{- end }}`,
    )
    .replace(/__S:([\w.]+)__/g, (_m, path: string) => `{{ .Values.${path} }}`)
    .replace(/__NS__/g, "{{ .Release.Namespace }}")
    .replace(/^(\s*)image: (\{\{[^\n]*)$/gm, (_m, ind: string, v: string) => `${ind}image: "${v}"`);
  const left = /__(S|B):[\w.]+__|__NS__|__helm_labels__/.exec(text);
  if (left !== null) throw new Error(`chart template: placeholder ${left[0]} not replaced`);
  return text;
}

const HEADER = (sources: string): string => `# GENERATED by \`npm run gen:manifests\` (tools/src/chart.ts) from ${sources}. Do not edit.\n`;

function gated(condition: string, body: string): string {
  return `{{- if ${condition} }}\n---\n${body}{{- end }}\n`;
}

/** Every generated file of the chart (path relative to the repository root → content); the chart's version is the package's. */
export function generatedChart(read: ReadRepoFile): Map<string, string> {
  const version = (JSON.parse(read("package.json")) as { version: string }).version;
  const all = allInOneDocs("frr", read);
  const speakerFrr = loadManifestDocs(read(SPEAKER_FRR), SPEAKER_FRR);
  const id = (d: Doc): string => `${d.kind}/${d.metadata.name}`;
  const speakerIds = new Set(speakerFrr.map(id));
  const crds = all.filter((d) => d.kind === "CustomResourceDefinition");
  const common = all.filter((d) => d.kind !== "Namespace" && d.kind !== "CustomResourceDefinition" && !speakerIds.has(id(d)));
  const speakerNative = nativeSpeakerDocs(read(SPEAKER_FRR));
  const tmplPods = (docs: readonly Doc[]): Doc[] =>
    docs.map((d) => (d.kind === "Deployment" ? templatePod(d, "operator") : d.kind === "DaemonSet" ? templatePod(d, "speaker") : d));
  const values = chartDefaultValues(read);
  const prom = (key: keyof typeof PROMETHEUS): string =>
    gated(`.Values.prometheus.${key}.enabled`, templateText(loadManifestDocs(read(PROMETHEUS[key]), PROMETHEUS[key])));
  const op = (values["operator"] as { image: { tag: string } }).image.tag;
  return new Map([
    [
      `${CHART_DIR}/Chart.yaml`,
      HEADER("package.json and config/manager") +
        yaml.dump({
          apiVersion: "v2",
          name: "metallb-ts",
          description: "LoadBalancer Services for bare-metal Kubernetes, in TypeScript (MetalLB-compatible): operator and speaker",
          type: "application",
          version,
          appVersion: op,
          keywords: ["metallb", "loadbalancer", "bgp", "arp", "ndp", "bare-metal"],
        }),
    ],
    [
      `${CHART_DIR}/values.yaml`,
      `${HEADER("config/ (the defaults are what the all-in-one files hold)")}` +
        "# crds.enabled: install the CRDs with the release (BGPPeer's conversion webhook points at the release namespace).\n" +
        "# frr.enabled: BGP through an FRR container in the speaker Pod (metallb-ts-frr.yaml); false = Layer 2 only\n" +
        "#   (metallb-ts-native.yaml). logLevel: debug, info, warn or error, for both components.\n" +
        "# prometheus.*: the Prometheus Operator's ServiceMonitors and PrometheusRule (metallb-ts-prometheus.yaml).\n" +
        yaml.dump(values, { lineWidth: -1, noRefs: true }),
    ],
    [`${CHART_DIR}/templates/crds.yaml`, HEADER("config/crd and config/webhook") + gated(".Values.crds.enabled", templateText(crds))],
    [`${CHART_DIR}/templates/metallb-ts.yaml`, HEADER("config/{rbac,manager,webhook}") + templateText(tmplPods(common))],
    [
      `${CHART_DIR}/templates/speaker.yaml`,
      `${HEADER(SPEAKER_FRR)}{{- if .Values.frr.enabled }}\n${templateText(tmplPods(speakerFrr))}{{- else }}\n${templateText(tmplPods(speakerNative))}{{- end }}\n`,
    ],
    [`${CHART_DIR}/templates/prometheus.yaml`, HEADER("config/prometheus") + prom("serviceMonitor") + prom("prometheusRule")],
  ]);
}
