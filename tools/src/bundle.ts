// The OLM bundle (operator-sdk's registry+v1 layout), generated from the manifests in config/ (pure: the caller
// passes a reader). `npm run gen:bundle` writes it; tools/src/bundle.test.ts fails when the committed files differ.
//   bundle/manifests/metallb-ts.clusterserviceversion.yaml   the CSV (operator Deployment, RBAC, webhooks, owned CRDs)
//   bundle/manifests/<group>_<plural>.yaml                    every CRD of config/crd/bases and config/crd/metallb-ts
//   bundle/manifests/<name>_v1_service.yaml                   the operator's metrics Service
//   bundle/metadata/annotations.yaml, bundle.Dockerfile       package, channels, media type
//
// What changes on the way from config/ to the CSV, and why:
// - OLM owns the webhook certificates: it creates a Service for the Deployment, a CA, mounts the serving
//   certificate at /tmp/k8s-webhook-server/serving-certs (the operator's --cert-dir) and injects the CA into the
//   webhook configurations it creates from `webhookdefinitions`. So the operator runs with
//   --disable-cert-rotation, the emptyDir it writes its own certificate into is dropped, and so are the RBAC rules
//   that exist only for its CA injection (validatingwebhookconfigurations, customresourcedefinitions).
// - The webhook Service and ValidatingWebhookConfiguration of config/ are not shipped: OLM makes its own.
// - Install modes: AllNamespaces only, as MetalLB's own operator bundle: OLM accepts a conversion webhook only from a
//   CSV whose single install mode is AllNamespaces (operator-framework/api: "only AllNamespaces InstallModeType is
//   supported when conversionCRDs is present"), and BGPPeer needs its v1beta1<->v1beta2 conversion webhook. OLM then
//   creates the CSV's namespaced `permissions` as ClusterRoles; the metallb.io objects still live in the operator's
//   own namespace (the one the Subscription is in, normally metallb-system). `allNamespaces: false` writes the older
//   OwnNamespace/SingleNamespace variant, where BGPPeer keeps the CRD's own `strategy: None`.
// - The speaker is a DaemonSet, which a CSV cannot install: the CSV carries its ServiceAccount's RBAC (OLM creates
//   the ServiceAccount from it) and the operator's leader applies the DaemonSet itself (--speaker-workload, the FRR
//   variant of config/speaker as shipped in the operator image; SPEAKER_IMAGE = the speaker image). See bundle/README.md.
import yaml from "js-yaml";
import { loadManifestDocs, readConversion, type CrdConversion, type ManifestDoc, type ServiceRef } from "./manifest-files.js";

/** Reads a file, and lists a directory's file names, by paths relative to the repository root. */
export interface RepoReader {
  read(path: string): string;
  list(dir: string): string[];
}

export interface BundleOptions {
  /** Default true: AllNamespaces as the only install mode, with the BGPPeer conversion webhook. false: the
   *  OwnNamespace/SingleNamespace variant without it. */
  allNamespaces?: boolean;
  /** The CSV this version upgrades (spec.replaces), e.g. "metallb-ts.v0.1.0". */
  replaces?: string;
}

// Project metadata shown by OperatorHub / the console. Nothing in config/ says these, so they are set here.
const PACKAGE = "metallb-ts";
const CHANNEL = "candidate";
const PROJECT = {
  displayName: "metallb-ts",
  provider: "metallb-ts",
  repository: "https://github.com/metallb-ts/metallb-ts",
  maintainer: { name: "metallb-ts maintainers", email: "maintainers@metallb-ts.dev" },
  // CRD validation rules (x-kubernetes-validations, used by the BGPPeer and status CRDs) are GA from 1.29.
  minKubeVersion: "1.29.0",
  keywords: ["load-balancer", "loadbalancer", "metallb", "bgp", "layer2", "arp", "ndp", "bare-metal", "networking"],
};

const CRD_DIRS = ["config/crd/bases", "config/crd/metallb-ts"];
const RBAC_DIR = "config/rbac";
const OPERATOR = "config/manager/operator.yaml";
const WEBHOOKS = "config/webhook/manifests.yaml";
const SPEAKERS = ["config/speaker/speaker-frr.yaml", "config/speaker/speaker-native.yaml"];
/** The speaker workload the operator applies in an OLM install: SPEAKERS[0] inside the operator image (WORKDIR /app). */
const SPEAKER_WORKLOAD_IN_IMAGE = "/app/config/speaker/speaker-frr.yaml";
const SAMPLES_DIR = "config/samples";
const NAMESPACE = "config/namespace/namespace.yaml";

/** Objects metallb-ts writes itself (status and per-node plans): the console hides them (internal-objects). */
const INTERNAL_OBJECTS = ["configurationstates.metallb.io", "servicebgpstatuses.metallb.io", "servicel2statuses.metallb.io", "nodeconfigs.metallb-ts.dev"];

/** The OperatorHub icon: a load balancer fanning out to three nodes. */
const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64"><rect width="64" height="64" rx="12" fill="#1f4e79"/><circle cx="32" cy="16" r="7" fill="#fff"/><path d="M32 23v10M32 33L14 44M32 33v11M32 33l18 11" stroke="#fff" stroke-width="3" fill="none"/><rect x="7" y="44" width="14" height="10" rx="2" fill="#9fd3ff"/><rect x="25" y="44" width="14" height="10" rx="2" fill="#9fd3ff"/><rect x="43" y="44" width="14" height="10" rx="2" fill="#9fd3ff"/></svg>`;

/** Used only when a CRD version's schema has no description of its own. */
const FALLBACK_DESCRIPTIONS: Readonly<Record<string, string>> = {
  "nodeconfigs.metallb-ts.dev/v1alpha1":
    "NodeConfig is one node's half of the announcement plan (its sessions and the advertisements selecting it), published by the operator and applied by that node's speaker, which reports back in status.",
};

type Obj = Record<string, unknown>;
type Doc = ManifestDoc;
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
  verbs: string[];
}
interface Container extends Obj {
  name: string;
  image?: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec extends Obj {
  serviceAccountName?: string;
  containers: Container[];
  initContainers?: Container[];
  volumes?: (Obj & { name: string })[];
}
interface WorkloadSpec extends Obj {
  selector: { matchLabels?: Record<string, string> };
  template: Obj & { metadata?: { labels?: Record<string, string> }; spec: PodSpec };
}
interface CrdVersion extends Obj {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: { openAPIV3Schema?: { description?: string } };
}
interface CrdSpec extends Obj {
  group: string;
  names: { kind: string; plural: string };
  versions: CrdVersion[];
}

const fail = (msg: string): never => {
  throw new Error(`bundle: ${msg}`);
};

const docs = loadManifestDocs;

const yamlFiles = (repo: RepoReader, dir: string): string[] =>
  repo
    .list(dir)
    .filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"))
    .sort()
    .map((f) => `${dir}/${f}`);

const dump = (d: unknown): string => yaml.dump(d, { lineWidth: -1, noRefs: true, quotingType: '"' });
const clone = <T>(v: T): T => structuredClone(v);
const groupOf = (apiVersion: string): string => (apiVersion.includes("/") ? (apiVersion.split("/")[0] ?? "") : "");

/** "IPAddressPool" -> "IP Address Pool", "ServiceL2Status" -> "Service L2 Status". */
export function displayNameOf(kind: string): string {
  return kind.replace(/([a-z0-9])(?=[A-Z])/g, "$1 ").replace(/([A-Z])(?=[A-Z][a-z])/g, "$1 ");
}

interface Crd {
  doc: Doc;
  spec: CrdSpec;
  file: string;
}

function readCrds(repo: RepoReader): Crd[] {
  const out: Crd[] = [];
  for (const dir of CRD_DIRS) {
    for (const file of yamlFiles(repo, dir)) {
      for (const doc of docs(repo.read(file), file)) {
        if (doc.kind !== "CustomResourceDefinition") continue;
        out.push({ doc, spec: doc["spec"] as CrdSpec, file });
      }
    }
  }
  if (out.length === 0) fail(`no CustomResourceDefinition in ${CRD_DIRS.join(", ")}`);
  return out;
}

function ownedCrds(crds: readonly Crd[]): Obj[] {
  return crds.flatMap(({ doc, spec }) =>
    spec.versions.map((v) => {
      const key = `${doc.metadata.name}/${v.name}`;
      const description = v.schema?.openAPIV3Schema?.description ?? FALLBACK_DESCRIPTIONS[key] ?? fail(`${key}: the schema has no description`);
      return { name: doc.metadata.name, version: v.name, kind: spec.names.kind, displayName: displayNameOf(spec.names.kind), description };
    }),
  );
}

/** Rules that exist only so the operator can inject its CA; OLM does that in a bundle install. */
function isCaInjectionRule(r: Rule): boolean {
  const groups = r.apiGroups ?? [];
  const injection = groups.includes("admissionregistration.k8s.io") || groups.includes("apiextensions.k8s.io");
  if (injection && (r.resourceNames === undefined || r.resourceNames.length === 0)) {
    fail(`an RBAC rule on ${groups.join(",")} without resourceNames is more than CA injection: review tools/src/bundle.ts`);
  }
  return injection;
}

interface Permission {
  serviceAccountName: string;
  rules: Rule[];
}

/** permissions (Role + RoleBinding) and clusterPermissions (ClusterRole + ClusterRoleBinding) per ServiceAccount. */
function readPermissions(repo: RepoReader): { permissions: Permission[]; clusterPermissions: Permission[]; serviceAccounts: string[] } {
  const all = yamlFiles(repo, RBAC_DIR).flatMap((f) => docs(repo.read(f), f));
  const rolesOf = (kind: string): Map<string, Rule[]> =>
    new Map(all.filter((d) => d.kind === kind).map((d) => [d.metadata.name, (d["rules"] as Rule[] | undefined) ?? []]));
  const roles = rolesOf("Role");
  const clusterRoles = rolesOf("ClusterRole");
  const serviceAccounts = all.filter((d) => d.kind === "ServiceAccount").map((d) => d.metadata.name);
  const collect = (bindingKind: string, roleKind: string, byName: Map<string, Rule[]>): Permission[] => {
    const perSa = new Map<string, Rule[]>();
    for (const b of all.filter((d) => d.kind === bindingKind)) {
      const ref = b["roleRef"] as { kind: string; name: string };
      if (ref.kind !== roleKind) fail(`${bindingKind} ${b.metadata.name} refers to a ${ref.kind}; only ${roleKind} is supported here`);
      const rules = byName.get(ref.name) ?? fail(`${bindingKind} ${b.metadata.name}: ${roleKind} ${ref.name} is not in ${RBAC_DIR}`);
      for (const s of (b["subjects"] as { kind: string; name: string }[] | undefined) ?? []) {
        if (s.kind !== "ServiceAccount") fail(`${bindingKind} ${b.metadata.name}: only ServiceAccount subjects can go into a CSV`);
        if (!serviceAccounts.includes(s.name)) fail(`${bindingKind} ${b.metadata.name}: ServiceAccount ${s.name} is not in ${RBAC_DIR}`);
        perSa.set(s.name, [...(perSa.get(s.name) ?? []), ...clone(rules).filter((r) => !isCaInjectionRule(r))]);
      }
    }
    return [...perSa].map(([serviceAccountName, rules]) => ({ serviceAccountName, rules }));
  };
  return {
    permissions: collect("RoleBinding", "Role", roles),
    clusterPermissions: collect("ClusterRoleBinding", "ClusterRole", clusterRoles),
    serviceAccounts,
  };
}

const flagValue = (args: readonly string[], flag: string): string | undefined => {
  const eq = args.find((a) => a.startsWith(`${flag}=`));
  if (eq !== undefined) return eq.slice(flag.length + 1);
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};

interface EnvVar {
  name: string;
  value?: string;
  [k: string]: unknown;
}

/**
 * The operator Deployment as OLM must install it: OLM-managed certificates instead of its own, and the speaker
 * DaemonSet applied by the operator (with the speaker image as an env var, where OLM tooling expects images).
 */
function csvDeployment(d: Doc, speakerImage: string): Obj {
  const spec = clone(d["spec"] as WorkloadSpec);
  const pod = spec.template.spec;
  const usedVolumes = new Set<string>();
  for (const c of pod.containers) {
    if (c.name === "operator") {
      if (flagValue(c.args ?? [], "--speaker-workload") === undefined) c.args = [...(c.args ?? []), `--speaker-workload=${SPEAKER_WORKLOAD_IN_IMAGE}`];
      // The speaker objects belong to this Deployment: deleting the CSV (which deletes it) removes them too.
      const withWorkload = c.args ?? [];
      if (flagValue(withWorkload, "--speaker-workload-owner") === undefined) c.args = [...withWorkload, `--speaker-workload-owner=${d.metadata.name}`];
      const env = ((c["env"] as EnvVar[] | undefined) ?? []).filter((e) => e.name !== "SPEAKER_IMAGE");
      c["env"] = [...env, { name: "SPEAKER_IMAGE", value: speakerImage }];
    }
    const args = c.args ?? [];
    if (flagValue(args, "--webhook-mode") !== "disabled") {
      const certDir = flagValue(args, "--cert-dir") ?? "/tmp/k8s-webhook-server/serving-certs";
      if (!args.includes("--disable-cert-rotation")) c.args = [...args, "--disable-cert-rotation"];
      if (c.volumeMounts !== undefined) {
        c.volumeMounts = c.volumeMounts.filter((m) => m.mountPath.replace(/\/$/, "") !== certDir.replace(/\/$/, ""));
        if (c.volumeMounts.length === 0) delete c.volumeMounts;
      }
    }
  }
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) for (const m of c.volumeMounts ?? []) usedVolumes.add(m.name);
  if (pod.volumes !== undefined) {
    pod.volumes = pod.volumes.filter((v) => usedVolumes.has(v.name));
    if (pod.volumes.length === 0) delete pod.volumes;
  }
  return { name: d.metadata.name, ...(d.metadata.labels !== undefined ? { label: clone(d.metadata.labels) } : {}), spec };
}

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

interface WebhookTarget {
  deploymentName: string;
  containerPort: number;
  targetPort: number;
}

/** Which Deployment (and ports) a Service of config/manager fronts. */
function webhookTarget(serviceName: string, port: number | undefined, operatorDocs: readonly Doc[]): WebhookTarget {
  const svc = operatorDocs.find((d) => d.kind === "Service" && d.metadata.name === serviceName) ?? fail(`webhook Service ${serviceName} is not in ${OPERATOR}`);
  const svcSpec = svc["spec"] as { selector?: Record<string, string>; ports: { port: number; targetPort?: number | string }[] };
  const sp = (port === undefined ? svcSpec.ports[0] : svcSpec.ports.find((p) => p.port === port)) ?? fail(`Service ${serviceName} has no port ${port ?? ""}`);
  const deployments = operatorDocs.filter((d) => d.kind === "Deployment" && selects(svcSpec.selector, (d["spec"] as WorkloadSpec).template.metadata?.labels));
  if (deployments.length !== 1) fail(`Service ${serviceName} must select exactly one Deployment of ${OPERATOR}, selects ${deployments.length}`);
  const dep = deployments[0] as Doc;
  let targetPort: number;
  if (typeof sp.targetPort === "number") targetPort = sp.targetPort;
  else if (sp.targetPort === undefined) targetPort = sp.port;
  else {
    const named = (dep["spec"] as WorkloadSpec).template.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === sp.targetPort);
    targetPort = named?.containerPort ?? fail(`Service ${serviceName}: no container port named ${sp.targetPort} in Deployment ${dep.metadata.name}`);
  }
  return { deploymentName: dep.metadata.name, containerPort: sp.port, targetPort };
}

function webhookDefinitions(repo: RepoReader, operatorDocs: readonly Doc[], conversionCrds: readonly Crd[], conversion: CrdConversion): Obj[] {
  const out: Obj[] = [];
  for (const vwc of docs(repo.read(WEBHOOKS), WEBHOOKS)) {
    if (vwc.kind !== "ValidatingWebhookConfiguration") fail(`${WEBHOOKS}: ${vwc.kind} ${vwc.metadata.name} is not supported in a CSV`);
    for (const w of (vwc["webhooks"] as (Obj & { name: string; clientConfig: { service?: ServiceRef } })[] | undefined) ?? []) {
      const svc = w.clientConfig.service ?? fail(`webhook ${w.name}: only Service client configs can go into a CSV`);
      const { name, clientConfig: _cc, namespaceSelector: _ns, ...rest } = w;
      out.push({
        type: "ValidatingAdmissionWebhook",
        generateName: name,
        ...webhookTarget(svc.name, svc.port, operatorDocs),
        webhookPath: svc.path ?? "/",
        ...rest,
      });
    }
  }
  if (conversionCrds.length > 0) {
    const hook = conversion.webhook;
    out.push({
      type: "ConversionWebhook",
      generateName: "bgppeersconversionwebhook.metallb.io",
      ...webhookTarget(hook.clientConfig.service.name, hook.clientConfig.service.port, operatorDocs),
      webhookPath: hook.clientConfig.service.path ?? "/",
      admissionReviewVersions: hook.conversionReviewVersions,
      sideEffects: "None",
      conversionCRDs: conversionCrds.map((c) => c.doc.metadata.name),
    });
  }
  return out;
}

/** The objects of config/samples that are instances of an owned CRD, without namespace (OLM's install namespace). */
function almExamples(repo: RepoReader, crds: readonly Crd[]): Obj[] {
  const owned = new Set(crds.map((c) => `${c.spec.group}/${c.spec.names.kind}`));
  return yamlFiles(repo, SAMPLES_DIR)
    .flatMap((f) => docs(repo.read(f), f))
    .filter((d) => owned.has(`${groupOf(d.apiVersion)}/${d.kind}`))
    .map((d) => {
      const { namespace: _ns, ...metadata } = d.metadata;
      return { ...d, metadata };
    });
}

function imagesOf(spec: WorkloadSpec): string[] {
  return [...(spec.template.spec.initContainers ?? []), ...spec.template.spec.containers].map((c) => c.image ?? fail(`container ${c.name} has no image`));
}

/** relatedImages: every image of the operator and of the speaker (for disconnected mirroring). */
function relatedImages(images: readonly string[]): Obj[] {
  const unique = [...new Set(images)];
  return unique.map((image) => {
    const repoPart = image.split("@")[0]?.replace(/:[^/:]*$/, "") ?? image;
    return { name: repoPart.split("/").pop() ?? image, image };
  });
}

const DESCRIPTION = `metallb-ts gives \`type: LoadBalancer\` Services external IPs on bare-metal clusters and announces them to the
network, by BGP (through a co-located FRRouting) or in Layer 2 mode (ARP/NDP). It is a TypeScript re-implementation of
MetalLB and reads MetalLB's configuration unchanged: \`IPAddressPool\`, \`L2Advertisement\`, \`BGPAdvertisement\`,
\`BGPPeer\` (v1beta1 and v1beta2), \`BFDProfile\`, \`Community\`, and the \`metallb.io/*\` Service annotations. Metric names
are MetalLB's.

### Installing with OLM
- Install mode AllNamespaces (an OperatorGroup without target namespaces), into its own namespace, normally
  \`metallb-system\`; the MetalLB objects live in that namespace. The namespace must allow privileged pods
  (\`pod-security.kubernetes.io/enforce: privileged\`): the speaker uses host networking, NET_RAW and
  NET_ADMIN (the Layer 2 hand-over forwarding's nftables table; FRR's container needs it too).
- OLM installs the operator Deployment (two replicas, leader election), the RBAC of the operator and of the speaker,
  the validating webhooks, the BGPPeer conversion webhook (v1beta1 and v1beta2) and the CRDs; OLM makes and
  rotates the webhooks' certificates.
- A CSV installs Deployments only, so the operator's leader applies the speaker DaemonSet (BGP through FRR, and
  Layer 2) with its FRR ConfigMap and metrics Service into the same namespace, and re-applies it every minute.
`;

/**
 * A CRD whose conversion webhook OLM manages (the CSV's ConversionWebhook) ships without spec.conversion: OLM applies
 * bundle CRDs verbatim in the InstallPlan (also on upgrades, over the live CRD), and a conversion block here would
 * point the apiserver at a Service that does not exist under OLM, with no caBundle, until OLM rewrites it.
 */
function withoutConversion<T extends Record<string, unknown>>(crd: T): T {
  const { conversion: _c, ...spec } = crd["spec"] as Record<string, unknown>;
  return { ...crd, spec };
}

const generatedFrom = (sources: string): string => `# GENERATED by \`npm run gen:bundle\` (tools/src/bundle.ts) from ${sources}. Do not edit.\n`;
const GENERATED = generatedFrom("config/");

/** Every generated file: path relative to the repository root -> content. */
export function generateBundle(repo: RepoReader, version: string, opts: BundleOptions = {}): Map<string, string> {
  const crds = readCrds(repo);
  const operatorDocs = docs(repo.read(OPERATOR), OPERATOR);
  const deployments = operatorDocs.filter((d) => d.kind === "Deployment");
  if (deployments.length === 0) fail(`no Deployment in ${OPERATOR}`);
  const { permissions, clusterPermissions, serviceAccounts } = readPermissions(repo);
  const withRbac = new Set([...permissions, ...clusterPermissions].map((p) => p.serviceAccountName));

  // Every workload's ServiceAccount must get its RBAC from the CSV: the operator Deployment and the speaker DaemonSets.
  const speakerDocs = SPEAKERS.flatMap((f) => docs(repo.read(f), f)).filter((d) => d.kind === "DaemonSet");
  if (speakerDocs.length === 0) fail(`no speaker DaemonSet in ${SPEAKERS.join(", ")}`);
  for (const w of [...deployments, ...speakerDocs]) {
    const sa = (w["spec"] as WorkloadSpec).template.spec.serviceAccountName ?? "default";
    if (!withRbac.has(sa) || !serviceAccounts.includes(sa)) fail(`${w.kind} ${w.metadata.name}: ServiceAccount ${sa} has no RBAC in ${RBAC_DIR}`);
  }

  const conversion = readConversion((p) => repo.read(p));
  const allNamespaces = opts.allNamespaces !== false;
  const conversionCrds = allNamespaces ? crds.filter((c) => c.doc.metadata.name === "bgppeers.metallb.io") : [];
  const operatorImage = imagesOf(deployments[0]?.["spec"] as WorkloadSpec)[0] ?? fail("the operator Deployment has no image");
  const speakerImages = [...new Set(speakerDocs.flatMap((d) => imagesOf(d["spec"] as WorkloadSpec)))];
  if (speakerImages.length !== 1)
    fail(`the speaker DaemonSets must use one image (the operator sets it with SPEAKER_IMAGE), found ${speakerImages.join(", ")}`);
  const speakerImage = speakerImages[0] as string;
  if (!deployments.some((d) => (d["spec"] as WorkloadSpec).template.spec.containers.some((c) => c.name === "operator")))
    fail(`no container named operator in ${OPERATOR}`);
  const namespaceDoc = docs(repo.read(NAMESPACE), NAMESPACE).find((d) => d.kind === "Namespace") ?? fail(`no Namespace in ${NAMESPACE}`);

  const installModes = allNamespaces
    ? [
        ["OwnNamespace", false],
        ["SingleNamespace", false],
        ["MultiNamespace", false],
        ["AllNamespaces", true],
      ]
    : [
        ["OwnNamespace", true],
        ["SingleNamespace", true],
        ["MultiNamespace", false],
        ["AllNamespaces", false],
      ];

  const csvName = `${PACKAGE}.v${version}`;
  const csv = {
    apiVersion: "operators.coreos.com/v1alpha1",
    kind: "ClusterServiceVersion",
    metadata: {
      name: csvName,
      annotations: {
        "alm-examples": JSON.stringify(almExamples(repo, crds), null, 2),
        capabilities: "Basic Install",
        categories: "Networking",
        containerImage: operatorImage,
        description: "Load balancer IPs for bare-metal Kubernetes, by BGP or Layer 2; MetalLB-compatible configuration.",
        repository: PROJECT.repository,
        support: PROJECT.provider,
        "operators.operatorframework.io/internal-objects": JSON.stringify(
          INTERNAL_OBJECTS.map((n) => crds.find((c) => c.doc.metadata.name === n)?.doc.metadata.name ?? fail(`internal object ${n} is not an owned CRD`)),
        ),
        "operators.operatorframework.io/suggested-namespace-template": JSON.stringify({
          apiVersion: namespaceDoc.apiVersion,
          kind: namespaceDoc.kind,
          metadata: { name: namespaceDoc.metadata.name, labels: namespaceDoc.metadata.labels ?? {} },
        }),
      },
    },
    spec: {
      displayName: PROJECT.displayName,
      description: DESCRIPTION,
      version,
      ...(opts.replaces !== undefined ? { replaces: opts.replaces } : {}),
      maturity: "alpha",
      minKubeVersion: PROJECT.minKubeVersion,
      provider: { name: PROJECT.provider },
      icon: [{ base64data: Buffer.from(ICON_SVG).toString("base64"), mediatype: "image/svg+xml" }],
      maintainers: [PROJECT.maintainer],
      links: [
        { name: "Source", url: PROJECT.repository },
        { name: "MetalLB (configuration reference)", url: "https://metallb.universe.tf/configuration/" },
      ],
      keywords: PROJECT.keywords,
      customresourcedefinitions: { owned: ownedCrds(crds) },
      install: {
        strategy: "deployment",
        spec: {
          clusterPermissions,
          permissions,
          deployments: deployments.map((d) => csvDeployment(d, speakerImage)),
        },
      },
      installModes: installModes.map(([type, supported]) => ({ type, supported })),
      webhookdefinitions: webhookDefinitions(repo, operatorDocs, conversionCrds, conversion),
      relatedImages: relatedImages([...deployments, ...speakerDocs].flatMap((d) => imagesOf(d["spec"] as WorkloadSpec))),
    },
  };

  const files = new Map<string, string>();
  files.set(`bundle/manifests/${PACKAGE}.clusterserviceversion.yaml`, GENERATED + dump(csv));
  for (const c of crds) {
    const doc = conversionCrds.includes(c) ? withoutConversion(clone(c.doc)) : clone(c.doc);
    files.set(`bundle/manifests/${c.spec.group}_${c.spec.names.plural}.yaml`, generatedFrom(c.file) + dump(doc));
  }
  // The operator's other Services (metrics); the webhook Services are OLM's own.
  const webhookServices = new Set<string>([
    ...docs(repo.read(WEBHOOKS), WEBHOOKS).flatMap((v) =>
      ((v["webhooks"] as { clientConfig: { service?: ServiceRef } }[] | undefined) ?? []).map((w) => w.clientConfig.service?.name ?? ""),
    ),
    conversion.webhook.clientConfig.service.name,
  ]);
  for (const svc of operatorDocs.filter((d) => d.kind === "Service" && !webhookServices.has(d.metadata.name))) {
    const { namespace: _ns, ...metadata } = svc.metadata;
    files.set(`bundle/manifests/${svc.metadata.name}_v1_service.yaml`, generatedFrom(OPERATOR) + dump({ ...svc, metadata }));
  }
  for (const d of operatorDocs) {
    if (d.kind !== "Deployment" && d.kind !== "Service") fail(`${OPERATOR}: ${d.kind} ${d.metadata.name} has no place in the bundle`);
  }

  const annotations: [string, string][] = [
    ["operators.operatorframework.io.bundle.mediatype.v1", "registry+v1"],
    ["operators.operatorframework.io.bundle.manifests.v1", "manifests/"],
    ["operators.operatorframework.io.bundle.metadata.v1", "metadata/"],
    ["operators.operatorframework.io.bundle.package.v1", PACKAGE],
    ["operators.operatorframework.io.bundle.channels.v1", CHANNEL],
    ["operators.operatorframework.io.bundle.channel.default.v1", CHANNEL],
  ];
  files.set("bundle/metadata/annotations.yaml", GENERATED + dump({ annotations: Object.fromEntries(annotations) }));
  files.set(
    "bundle.Dockerfile",
    [
      GENERATED.trimEnd(),
      "# The bundle image: docker build -f bundle.Dockerfile -t <registry>/metallb-ts-bundle:v" + version + " .",
      "FROM scratch",
      "",
      ...annotations.map(([k, v]) => `LABEL ${k}=${v}`),
      "",
      "COPY bundle/manifests /manifests/",
      "COPY bundle/metadata /metadata/",
      "",
    ].join("\n"),
  );
  return files;
}

/** The files generateBundle owns: everything under these directories, plus bundle.Dockerfile. */
export const GENERATED_DIRS = ["bundle/manifests", "bundle/metadata"] as const;
