// Operator Lifecycle Manager on the lab cluster (issue 14), for e2e/cluster/olm.cluster.test.ts. Everything is
// local: OLM's binaries, opm, grpc_health_probe and the distribution registry come from scripts/build-olm.sh
// (Go modules), OLM's CRDs from the same module (~/.cache/metallb-ts/olm/crds).
//   - the OLM image: olm, catalog, cpb, copy-content, opm and grpc_health_probe on the project's base image (the
//     bundle-unpack Job runs `/bin/cp` from it), imported into containerd with the project's images;
//   - a registry (distribution, `registry serve`) on 127.0.0.1:5000 in the node's network namespace, where
//     containerd pulls from it over plain http (a hosts.toml in the cluster's registry config dir);
//   - the bundle image of a version (FROM scratch + manifests/ + metadata/, OLM's labels: bundle.Dockerfile as
//     `npm run gen:bundle` writes it) and a file-based catalog image (`opm render` of the pushed bundles + a package
//     and a channel, checked by `opm validate`, served by `opm serve`), both pushed to that registry;
//   - OLM itself: its CRDs, then the olm-operator and catalog-operator Deployments in namespace "olm".
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { homedir } from "node:os";
import yaml from "js-yaml";
import { generateBundle } from "../../tools/src/bundle.js";
import type { LabCluster } from "./cluster.js";
import { addExitHook } from "./exit-hooks.js";
import { isAlive, run, spawnLogged, terminate, waitFor } from "./proc.js";
import { repoRoot } from "./repo-root.js";
import type { ChildProcess } from "node:child_process";

export const OLM_VERSION = "v0.36.0";
export const OLM_IMAGE = `localhost/metallb-ts/olm:${OLM_VERSION}`;
export const OLM_NAMESPACE = "olm";
/** The lab registry, as containerd and the tools in the node's namespace name it. */
export const REGISTRY = "localhost:5000";
const OLM_BINARIES = ["olm", "catalog", "cpb", "copy-content", "opm", "grpc_health_probe"];
/** The project's base image (scripts/build-images.sh; same variable and default). */
const BASE_IMAGE = process.env["METALLB_TS_BASE_IMAGE"] ?? "localhost/metallb-ts/node:20.20.2-bookworm-slim";

export const olmCrdDir = (): string => join(process.env["METALLB_TS_CACHE"] ?? join(homedir(), ".cache", "metallb-ts"), "olm", "crds");

/** What is missing for the OLM test, or undefined. */
export function missingOlmPrerequisites(binDir: string): string | undefined {
  const problems: string[] = [];
  for (const b of [...OLM_BINARIES, "registry"]) if (!existsSync(join(binDir, b))) problems.push(`${join(binDir, b)} missing (bash scripts/build-olm.sh)`);
  if (!existsSync(olmCrdDir())) problems.push(`${olmCrdDir()} missing (bash scripts/build-olm.sh)`);
  return problems.length === 0 ? undefined : problems.join("\n  - ");
}

/** The OLM image in podman's storage, rebuilt only when its binaries or the base image changed (a label says). */
export async function buildOlmImage(binDir: string, workDir: string, log: (line: string) => void): Promise<void> {
  const baseId = (await run("podman", ["image", "inspect", "--format", "{{.Id}}", BASE_IMAGE])).stdout.trim();
  const hash = createHash("sha256").update(baseId);
  for (const b of OLM_BINARIES) hash.update(readFileSync(join(binDir, b)));
  const inputs = hash.digest("hex").slice(0, 16);
  const have = await run("podman", ["image", "inspect", "--format", '{{index .Config.Labels "dev.metallb-ts.olm-inputs"}}', OLM_IMAGE], { allowFail: true });
  if (have.code === 0 && have.stdout.trim() === inputs) {
    log(`${OLM_IMAGE} up to date (inputs ${inputs})`);
    return;
  }
  const ctx = join(workDir, "olm-image");
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(join(ctx, "bin"), { recursive: true });
  for (const b of OLM_BINARIES) copyFileSync(join(binDir, b), join(ctx, "bin", b));
  writeFileSync(
    join(ctx, "Containerfile"),
    [
      `FROM ${BASE_IMAGE}`,
      // /bin is /usr/bin here (merged /usr): the unpack Job runs /bin/cp and /bin/cpb, the catalog pods /bin/opm.
      "COPY bin/ /usr/bin/",
      `LABEL dev.metallb-ts.olm-inputs=${inputs}`,
      "USER 1001",
      'ENTRYPOINT ["/usr/bin/olm"]',
      "",
    ].join("\n"),
  );
  const t0 = Date.now();
  await run("podman", ["build", "--pull=never", "-f", join(ctx, "Containerfile"), "-t", OLM_IMAGE, ctx], { timeoutMs: 600_000 });
  rmSync(ctx, { recursive: true, force: true });
  log(`${OLM_IMAGE} built in ${Date.now() - t0} ms`);
}

/** The distribution registry on 127.0.0.1:5000 inside the node's network namespace, storage in the run dir. */
export class LabRegistry {
  private readonly removeExitHook: () => void;

  private constructor(
    readonly cluster: LabCluster,
    private readonly proc: ChildProcess,
  ) {
    this.removeExitHook = addExitHook(() => {
      if (proc.pid !== undefined && isAlive(proc.pid)) process.kill(proc.pid, "SIGKILL");
    });
  }

  static async start(cluster: LabCluster, binDir: string, log: (line: string) => void): Promise<LabRegistry> {
    const dir = join(cluster.dir, "registry");
    mkdirSync(join(dir, "data"), { recursive: true });
    writeFileSync(
      join(dir, "config.yml"),
      yaml.dump({
        version: 0.1,
        log: { level: "warn" },
        storage: { filesystem: { rootdirectory: join(dir, "data") }, delete: { enabled: true } },
        http: { addr: "127.0.0.1:5000", debug: { addr: "" } },
      }),
    );
    // containerd (in the node's namespace) pulls from it over plain http.
    const hostDir = join(cluster.registryConfigDir, REGISTRY);
    mkdirSync(hostDir, { recursive: true });
    writeFileSync(
      join(hostDir, "hosts.toml"),
      [`server = "http://${REGISTRY}"`, "", `[host."http://${REGISTRY}"]`, '  capabilities = ["pull", "resolve"]', "  skip_verify = true", ""].join("\n"),
    );
    const proc = spawnLogged(
      "ip",
      ["netns", "exec", cluster.lab.host("node").netns, join(binDir, "registry"), "serve", join(dir, "config.yml")],
      join(dir, "registry.log"),
    );
    // Where cleanupStaleClusters finds it if this process dies without stopping it.
    writeFileSync(join(cluster.dir, "registry.pid"), `${proc.pid ?? ""}\n`);
    const reg = new LabRegistry(cluster, proc);
    await waitFor(
      "registry /v2/",
      async () => ((await cluster.lab.exec("node", "curl", ["-sf", `http://${REGISTRY}/v2/`], { allowFail: true })).code === 0 ? true : undefined),
      30_000,
      200,
    );
    log(`registry listening on ${REGISTRY} in the node's namespace`);
    return reg;
  }

  /** podman push of a local image to REGISTRY/<name> (from the node's namespace, plain http). */
  async push(localImage: string, ref: string): Promise<void> {
    await this.cluster.lab.exec("node", "podman", ["push", "--quiet", "--tls-verify=false", localImage, ref], { timeoutMs: 300_000 });
  }

  async stop(): Promise<void> {
    await terminate(this.proc.pid ?? 0, 5_000);
    this.removeExitHook();
  }
}

export interface BundleRef {
  version: string;
  csvName: string;
  image: string;
  replaces?: string;
}

/** Builds the bundle image of `version` from the generator (what `npm run gen:bundle -- --version V --replaces R`
 *  writes) with its bundle.Dockerfile, and pushes it. */
export async function publishBundle(registry: LabRegistry, workDir: string, version: string, replaces?: string): Promise<BundleRef> {
  const root = repoRoot();
  const ctx = join(workDir, `bundle-${version}`);
  rmSync(ctx, { recursive: true, force: true });
  const files = generateBundle({ read: (p) => readFileSync(join(root, p), "utf8"), list: (d) => readdirSync(join(root, d)) }, version, {
    ...(replaces !== undefined ? { replaces } : {}),
  });
  for (const [p, text] of files) {
    mkdirSync(dirname(join(ctx, p)), { recursive: true });
    writeFileSync(join(ctx, p), text);
  }
  const image = `${REGISTRY}/metallb-ts/metallb-ts-bundle:v${version}`;
  await run("podman", ["build", "--pull=never", "-f", join(ctx, "bundle.Dockerfile"), "-t", image, ctx], { timeoutMs: 300_000 });
  await registry.push(image, image);
  return { version, csvName: `metallb-ts.v${version}`, image, ...(replaces !== undefined ? { replaces } : {}) };
}

/**
 * A file-based catalog of the given bundles (one package metallb-ts, channel candidate, each entry replacing the one
 * its CSV names), rendered with `opm render` from the registry and checked with `opm validate`; served by `opm serve`
 * in an image FROM scratch (opm and grpc_health_probe are static); pushed as REGISTRY/metallb-ts/metallb-ts-catalog:TAG.
 */
export async function publishCatalog(
  registry: LabRegistry,
  o: { binDir: string; workDir: string; bundles: readonly BundleRef[]; tag: string },
): Promise<string> {
  const { binDir, workDir, bundles, tag } = o;
  const ctx = join(workDir, `catalog-${tag}`);
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(join(ctx, "configs", "metallb-ts"), { recursive: true });
  mkdirSync(join(ctx, "bin"), { recursive: true });
  mkdirSync(join(ctx, "tmp"), { recursive: true });
  const opm = join(binDir, "opm");
  const rendered: string[] = [];
  for (const b of bundles)
    rendered.push((await registry.cluster.lab.exec("node", opm, ["render", "--use-http", "-o", "yaml", b.image], { timeoutMs: 120_000 })).stdout);
  const head = [
    { schema: "olm.package", name: "metallb-ts", defaultChannel: "candidate" },
    {
      schema: "olm.channel",
      package: "metallb-ts",
      name: "candidate",
      entries: bundles.map((b) => ({ name: b.csvName, ...(b.replaces !== undefined ? { replaces: b.replaces } : {}) })),
    },
  ];
  writeFileSync(join(ctx, "configs", "metallb-ts", "catalog.yaml"), [...head.map((o) => yaml.dump(o)), ...rendered].map((t) => `---\n${t}`).join(""));
  await run(opm, ["validate", join(ctx, "configs")]);
  for (const b of ["opm", "grpc_health_probe"]) copyFileSync(join(binDir, b), join(ctx, "bin", b));
  // The serving cache, made now (as upstream catalog images do at build time): the Pod's user cannot write the
  // image's /tmp, and a pre-built cache makes the catalog Pod ready sooner.
  await run(opm, ["serve", join(ctx, "configs"), `--cache-dir=${join(ctx, "tmp", "cache")}`, "--cache-only"], { timeoutMs: 120_000 });
  writeFileSync(
    join(ctx, "Containerfile"),
    [
      "FROM scratch",
      "COPY bin/ /bin/",
      "COPY tmp/ /tmp/",
      "COPY configs/ /configs/",
      "ENV PATH=/bin",
      "LABEL operators.operatorframework.io.index.configs.v1=/configs",
      "EXPOSE 50051",
      "USER 1001",
      'ENTRYPOINT ["/bin/opm"]',
      'CMD ["serve", "/configs", "--cache-dir=/tmp/cache"]',
      "",
    ].join("\n"),
  );
  const image = `${REGISTRY}/metallb-ts/metallb-ts-catalog:${tag}`;
  await run("podman", ["build", "--pull=never", "-f", join(ctx, "Containerfile"), "-t", image, ctx], { timeoutMs: 300_000 });
  await registry.push(image, image);
  return image;
}

type Obj = Record<string, unknown>;

/** OLM's own objects (what its Helm chart installs, minus packageserver, cert-manager and monitoring). */
export function olmObjects(image: string = OLM_IMAGE): Obj[] {
  const sa = "olm-operator-serviceaccount";
  const deployment = (name: string, command: string[]): Obj => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: OLM_NAMESPACE, labels: { app: name } },
    spec: {
      replicas: 1,
      strategy: { type: "Recreate" },
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          serviceAccountName: sa,
          securityContext: { runAsNonRoot: true, runAsUser: 1001, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name,
              image,
              imagePullPolicy: "IfNotPresent",
              command,
              env: [
                { name: "OPERATOR_NAMESPACE", valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } } },
                { name: "OPERATOR_NAME", value: name },
              ],
              ports: [{ containerPort: 8080, name: "metrics" }],
              readinessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 2 },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
              volumeMounts: [{ name: "tmpfs", mountPath: "/tmp" }],
              terminationMessagePolicy: "FallbackToLogsOnError",
            },
          ],
          volumes: [{ name: "tmpfs", emptyDir: {} }],
        },
      },
    },
  });
  return [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: OLM_NAMESPACE } },
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: sa, namespace: OLM_NAMESPACE } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "system:controller:operator-lifecycle-manager" },
      rules: [
        { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
        { nonResourceURLs: ["*"], verbs: ["*"] },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "olm-operator-binding-olm" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:controller:operator-lifecycle-manager" },
      subjects: [{ kind: "ServiceAccount", name: sa, namespace: OLM_NAMESPACE }],
    },
    deployment("olm-operator", ["/usr/bin/olm", "--namespace", OLM_NAMESPACE, "--writeStatusName", "", "--writePackageServerStatusName", ""]),
    deployment("catalog-operator", [
      "/usr/bin/catalog",
      "--namespace",
      OLM_NAMESPACE,
      `--configmapServerImage=${image}`,
      `--opmImage=${image}`,
      `--util-image=${image}`,
      "--set-workload-user-id=true",
      "--writeStatusName",
      "",
    ]),
  ];
}

/** OLM's CRDs (server-side: some are large), then its operators; waits until both Deployments are available. */
export async function installOlm(cluster: LabCluster, log: (line: string) => void): Promise<void> {
  const t0 = Date.now();
  await cluster.kubectl(["apply", "--server-side", "-f", olmCrdDir()]);
  await cluster.kubectl(["wait", "--for=condition=Established", "crd", "--all", "--timeout=120s"], { timeoutMs: 130_000 });
  await cluster.kubectl(["apply", "--server-side", "-f", "-"], {
    input: olmObjects()
      .map((o) => JSON.stringify(o))
      .join("\n"),
  });
  for (const d of ["olm-operator", "catalog-operator"])
    await cluster.kubectl(["-n", OLM_NAMESPACE, "rollout", "status", `deploy/${d}`, "--timeout=300s"], { timeoutMs: 320_000 });
  log(`OLM ${OLM_VERSION} running (${Date.now() - t0} ms)`);
}

/**
 * The lab cluster has no cluster DNS, and the catalog operator dials a CatalogSource at `<name>.<namespace>.svc`:
 * once OLM has made the catalog's Service, its ClusterIP goes into the catalog operator's /etc/hosts (hostAliases;
 * the Deployment rolls once). A cluster with DNS needs none of this.
 */
export async function resolveCatalogInLab(cluster: LabCluster, name: string, log: (line: string) => void): Promise<void> {
  const ip = await waitFor(
    `Service ${OLM_NAMESPACE}/${name} of the CatalogSource`,
    async () => {
      const r = await cluster.kubectl(["-n", OLM_NAMESPACE, "get", "svc", name, "-o", "jsonpath={.spec.clusterIP}"], { allowFail: true });
      return r.code === 0 && r.stdout !== "" ? r.stdout : undefined;
    },
    120_000,
    1_000,
  );
  const patch = { spec: { template: { spec: { hostAliases: [{ ip, hostnames: [`${name}.${OLM_NAMESPACE}.svc`] }] } } } };
  await cluster.kubectl(["-n", OLM_NAMESPACE, "patch", "deploy", "catalog-operator", "--type=strategic", "-p", JSON.stringify(patch)]);
  await cluster.kubectl(["-n", OLM_NAMESPACE, "rollout", "status", "deploy/catalog-operator", "--timeout=300s"], { timeoutMs: 320_000 });
  log(`catalog operator resolves ${name}.${OLM_NAMESPACE}.svc to ${ip} (no cluster DNS in the lab)`);
}
