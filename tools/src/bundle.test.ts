// The committed OLM bundle (bundle/manifests, bundle/metadata, bundle.Dockerfile) must be what tools/src/bundle.ts
// generates from config/. `UPDATE_GOLDEN=1 npm run test:unit -- tools/src/bundle` (or `npm run gen:bundle`) rewrites it.
import { describe, expect, test } from "@jest/globals";
import yaml from "js-yaml";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { GENERATED_DIRS, displayNameOf, generateBundle, type RepoReader } from "./bundle.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const repo: RepoReader = { read: (p) => readFileSync(join(root, p), "utf8"), list: (d) => readdirSync(join(root, d)) };
const version = (JSON.parse(repo.read("package.json")) as { version: string }).version;
const CSV = "bundle/manifests/metallb-ts.clusterserviceversion.yaml";

interface Rule {
  apiGroups: string[];
}
interface Permission {
  serviceAccountName: string;
  rules: Rule[];
}
interface Container {
  name: string;
  image: string;
  args: string[];
  env: unknown[];
  volumeMounts?: { mountPath: string }[];
}
interface PodSpec {
  serviceAccountName: string;
  containers: Container[];
}
interface WebhookDefinition {
  type: string;
  generateName: string;
  webhookPath: string;
  [k: string]: unknown;
}
interface Csv {
  metadata: { name: string; annotations: Record<string, string> };
  spec: {
    version: string;
    replaces?: string;
    installModes: { type: string; supported: boolean }[];
    customresourcedefinitions: { owned: { name: string; version: string; kind: string; displayName: string; description: string }[] };
    install: {
      strategy: string;
      spec: { permissions: Permission[]; clusterPermissions: Permission[]; deployments: { name: string; spec: { template: { spec: PodSpec } } }[] };
    };
    webhookdefinitions: WebhookDefinition[];
    relatedImages: { name: string; image: string }[];
  };
}
interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: {
    group: string;
    names: { kind: string; plural: string };
    versions: { name: string }[];
    conversion?: { strategy: string };
    template: { spec: PodSpec };
  };
  webhooks?: { name: string; clientConfig: { service: { path: string } } }[];
}
const csvOf = (files: Map<string, string>): Csv => yaml.load(files.get(CSV) ?? "") as Csv;
const docsIn = (path: string): Doc[] => yaml.loadAll(repo.read(path)).filter((d) => d !== null && d !== undefined) as Doc[];
const docOf = (files: Map<string, string>, path: string): Doc => yaml.load(files.get(path) ?? "") as Doc;
const modesOf = (c: Csv): Record<string, boolean> => Object.fromEntries(c.spec.installModes.map((m) => [m.type, m.supported]));

describe("OLM bundle", () => {
  const files = generateBundle(repo, version);
  const csv = csvOf(files);

  test("the committed bundle is the generator's output (no stale files)", () => {
    if (process.env["UPDATE_GOLDEN"] === "1") {
      for (const dir of GENERATED_DIRS) if (existsSync(join(root, dir))) rmSync(join(root, dir), { recursive: true });
      for (const [p, text] of files) {
        mkdirSync(dirname(join(root, p)), { recursive: true });
        writeFileSync(join(root, p), text);
      }
    }
    for (const [p, text] of files) {
      expect({ file: p, text: existsSync(join(root, p)) ? repo.read(p) : "<missing: run npm run gen:bundle>" }).toEqual({ file: p, text });
    }
    const committed = GENERATED_DIRS.flatMap((d) => (existsSync(join(root, d)) ? readdirSync(join(root, d)).map((f) => `${d}/${f}`) : []));
    expect(committed.sort()).toEqual([...files.keys()].filter((p) => p.startsWith("bundle/")).sort());
  });

  test("CSV name, version and install modes (AllNamespaces only), no replaces unless asked", () => {
    expect(csv.metadata.name).toBe(`metallb-ts.v${version}`);
    expect(csv.spec.version).toBe(version);
    expect(modesOf(csv)).toEqual({ OwnNamespace: false, SingleNamespace: false, MultiNamespace: false, AllNamespaces: true });
    expect(csv.spec.replaces).toBeUndefined();
    const next = csvOf(generateBundle(repo, "0.1.1", { replaces: csv.metadata.name }));
    expect([next.metadata.name, next.spec.version, next.spec.replaces]).toEqual(["metallb-ts.v0.1.1", "0.1.1", csv.metadata.name]);
  });

  test("every version of every CRD in config/crd is owned, with a display name and a description, and shipped", () => {
    const crds = ["config/crd/bases", "config/crd/metallb-ts"].flatMap((d) =>
      repo
        .list(d)
        .filter((f) => f.endsWith(".yaml"))
        .flatMap((f) => docsIn(`${d}/${f}`)),
    );
    const want = crds.flatMap((c) => c.spec.versions.map((v) => `${c.metadata.name}/${v.name}/${c.spec.names.kind}`));
    const owned = csv.spec.customresourcedefinitions.owned;
    expect(owned.map((o) => `${o.name}/${o.version}/${o.kind}`).sort()).toEqual(want.sort());
    expect(want).toContain("bgppeers.metallb.io/v1beta1/BGPPeer");
    expect(want).toContain("bgppeers.metallb.io/v1beta2/BGPPeer");
    for (const o of owned) {
      expect(o.displayName).toMatch(/\S/);
      expect(o.description).toMatch(/\S/);
    }
    for (const c of crds) expect(files.has(`bundle/manifests/${c.spec.group}_${c.spec.names.plural}.yaml`)).toBe(true);
  });

  test("RBAC of both ServiceAccounts; the operator Deployment with OLM-managed certificates and the speaker workload", () => {
    const strategy = csv.spec.install;
    expect(strategy.strategy).toBe("deployment");
    const sas = (ps: Permission[]): string[] => ps.map((p) => p.serviceAccountName).sort();
    expect(sas(strategy.spec.permissions)).toEqual(["metallb-ts-operator", "metallb-ts-speaker"]);
    expect(sas(strategy.spec.clusterPermissions)).toEqual(["metallb-ts-operator", "metallb-ts-speaker"]);
    // CA injection is OLM's job in a bundle install: no rights on webhook configurations or CRDs.
    const groups = [...strategy.spec.permissions, ...strategy.spec.clusterPermissions].flatMap((p) => p.rules.flatMap((r) => r.apiGroups));
    expect(groups).not.toContain("admissionregistration.k8s.io");
    expect(groups).not.toContain("apiextensions.k8s.io");

    expect(strategy.spec.deployments.map((d) => d.name)).toEqual(["metallb-ts-operator"]);
    const pod = strategy.spec.deployments[0]?.spec.template.spec;
    expect(pod?.serviceAccountName).toBe("metallb-ts-operator");
    const operator = pod?.containers.find((c) => c.name === "operator");
    expect(operator?.args).toContain("--disable-cert-rotation");
    expect(operator?.args).toContain("--speaker-workload=/app/config/speaker/speaker-frr.yaml");
    const speakerImage = docsIn("config/speaker/speaker-frr.yaml").find((d) => d.kind === "DaemonSet")?.spec.template.spec.containers[0]?.image;
    expect(operator?.env).toContainEqual({ name: "SPEAKER_IMAGE", value: speakerImage });
    // OLM mounts its serving certificate at the --cert-dir; the operator's own emptyDir there is gone.
    expect((operator?.volumeMounts ?? []).map((m) => m.mountPath)).not.toContain("/tmp/k8s-webhook-server/serving-certs");
    expect(csv.spec.relatedImages.map((i) => i.image)).toEqual([operator?.image, speakerImage]);
    expect(csv.metadata.annotations["containerImage"]).toBe(operator?.image);
  });

  test("one webhook definition per validating webhook of config/webhook, served by the operator Deployment", () => {
    const vwc = docsIn("config/webhook/manifests.yaml")[0];
    const defs = csv.spec.webhookdefinitions.filter((d) => d.type !== "ConversionWebhook");
    expect(defs.map((d) => [d.type, d.generateName, d.webhookPath])).toEqual(
      (vwc?.webhooks ?? []).map((w) => ["ValidatingAdmissionWebhook", w.name, w.clientConfig.service.path]),
    );
    expect(defs.length).toBeGreaterThan(0);
    for (const d of defs) {
      expect(d).toMatchObject({ deploymentName: "metallb-ts-operator", containerPort: 443, targetPort: 9443, sideEffects: "None", failurePolicy: "Fail" });
    }
  });

  test("the committed bundle declares the BGPPeer conversion webhook; the OwnNamespace variant does not", () => {
    const conversion = csv.spec.webhookdefinitions.filter((d) => d.type === "ConversionWebhook");
    expect(conversion).toEqual([
      expect.objectContaining({ conversionCRDs: ["bgppeers.metallb.io"], webhookPath: "/convert", deploymentName: "metallb-ts-operator" }),
    ]);
    // OLM writes the CRD's conversion (Service, caBundle) from the CSV; the bundle's CRD carries none, since OLM
    // applies bundle CRDs verbatim, on upgrades over the live one.
    expect(docOf(files, "bundle/manifests/metallb.io_bgppeers.yaml").spec.conversion).toBeUndefined();
    const own = generateBundle(repo, version, { allNamespaces: false });
    const ownCsv = csvOf(own);
    expect(modesOf(ownCsv)).toEqual({ OwnNamespace: true, SingleNamespace: true, MultiNamespace: false, AllNamespaces: false });
    expect(ownCsv.spec.webhookdefinitions.filter((d) => d.type === "ConversionWebhook")).toEqual([]);
    expect(docOf(own, "bundle/manifests/metallb.io_bgppeers.yaml").spec.conversion?.strategy).toBe("None");
  });

  test("alm-examples: the owned objects of config/samples, without namespace", () => {
    const examples = JSON.parse(csv.metadata.annotations["alm-examples"] ?? "[]") as Doc[];
    const samples = repo
      .list("config/samples")
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    const sampleKinds = samples
      .flatMap((f) => docsIn(`config/samples/${f}`))
      .filter((d) => d.apiVersion.startsWith("metallb.io/"))
      .map((d) => d.kind);
    expect(examples.map((e) => e.kind)).toEqual(sampleKinds);
    expect(sampleKinds.length).toBeGreaterThan(0);
    for (const e of examples) expect(e.metadata.namespace).toBeUndefined();
    expect(examples.map((e) => e.kind)).not.toContain("Secret");
  });

  test("annotations.yaml and bundle.Dockerfile agree", () => {
    const annotations = (yaml.load(files.get("bundle/metadata/annotations.yaml") ?? "") as { annotations: Record<string, string> }).annotations;
    expect(annotations["operators.operatorframework.io.bundle.package.v1"]).toBe("metallb-ts");
    const dockerfile = files.get("bundle.Dockerfile") ?? "";
    for (const [k, v] of Object.entries(annotations)) expect(dockerfile).toContain(`LABEL ${k}=${v}\n`);
  });

  test("display names of kinds", () => {
    expect(
      ["IPAddressPool", "BGPPeer", "L2Advertisement", "ServiceL2Status", "ServiceBGPStatus", "BFDProfile", "NodeConfig", "Community"].map(displayNameOf),
    ).toEqual(["IP Address Pool", "BGP Peer", "L2 Advertisement", "Service L2 Status", "Service BGP Status", "BFD Profile", "Node Config", "Community"]);
  });
});
