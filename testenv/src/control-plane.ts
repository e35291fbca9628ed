// A real kube-apiserver + etcd on loopback for integration tests and the demo.
//
// start(): generates a test PKI, starts etcd and kube-apiserver on free 127.0.0.1 ports, waits for /readyz, writes an
// admin kubeconfig, installs every CRD from config/crd/bases and waits until each is Established and served.
// stop(): SIGTERM then SIGKILL, removes the run directory. Children are also killed when the owning process exits,
// and leftovers of a crashed run (its owner pid is dead) are cleaned at the next start.
import * as k8s from "@kubernetes/client-node";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import yaml from "js-yaml";
import { addExitHook } from "./exit-hooks.js";
import { repoRoot } from "./repo-root.js";
import { makeCA, makeServiceAccountKeys, signCert, type CertFiles } from "./certs.js";
import { exited, freePort, isAlive, listDir, ownerPidOf, readPidFile, runId, spawnLogged, terminate, waitFor } from "./proc.js";

export const RUN_PREFIX = "metallb-ts-cp";

export interface ControlPlaneOptions {
  /** Where kube-apiserver and etcd are (default: $METALLB_TS_CACHE/bin or ~/.cache/metallb-ts/bin). */
  binDir?: string;
  /** Directory of CRD YAML files to install ([] to skip). Default: config/crd/bases of this repo. */
  crdDirs?: readonly string[];
  /** Parent of the run directory (default: the OS temp dir). */
  runRoot?: string;
  /** Budget for etcd + apiserver readiness. */
  startTimeoutMs?: number;
  /** Log progress lines here (default: silent). */
  log?: (line: string) => void;
  /** Extra kube-apiserver flags, appended after ours (a later flag overrides an earlier one). */
  extraApiserverArgs?: readonly string[];
  /**
   * Audit logging: the policy (audit.k8s.io/v1 Policy YAML) is written to the run directory and the log backend
   * writes JSON lines to `<dir>/audit.log` (ControlPlaneInfo.auditLogPath), synchronously (blocking mode), rotated
   * only past 100 GiB (lumberjack's default would rotate at 100 MB).
   */
  auditPolicy?: string;
}

export interface ControlPlaneInfo {
  dir: string;
  server: string;
  kubeconfigPath: string;
  etcdPid: number;
  apiserverPid: number;
  /** The audit log (JSON lines), when started with auditPolicy. */
  auditLogPath?: string;
}

export function defaultBinDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.METALLB_TS_BIN_DIR ?? join(env.METALLB_TS_CACHE ?? join(homedir(), ".cache", "metallb-ts"), "bin");
}

/** Explains what is missing, or returns undefined when both binaries are there. */
export function missingBinaries(binDir: string): string | undefined {
  const missing = ["etcd", "kube-apiserver", "kubectl"].filter((b) => !existsSync(join(binDir, b)));
  if (missing.length === 0) return undefined;
  return (
    `${missing.join(", ")} not found in ${binDir}. Build them once with \`npm run build:control-plane\` ` +
    "(needs Go >= 1.24 and the Go module proxy; takes minutes the first time, then is cached)."
  );
}

/** What the labs need of an apiserver: ours (ControlPlane) or one a kubeconfig points at. */
export interface ApiServerHandle {
  readonly server: string;
  readonly kubeconfigPath: string;
  /** A directory for sockets and logs of this run. */
  readonly dir: string;
  kubeConfig(): k8s.KubeConfig;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/**
 * An apiserver the user already runs, from a kubeconfig. The labs reach it from inside node namespaces through a
 * loopback bridge, so it must listen on loopback (this machine's only permitted network); the metallb-ts CRDs are
 * installed (or updated) on it.
 */
export async function externalApiServer(kubeconfigPath: string, runRoot: string = tmpdir()): Promise<ApiServerHandle> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const server = kc.getCurrentCluster()?.server ?? "";
  const host = server === "" ? "" : new URL(server).hostname;
  if (!LOOPBACK_HOSTS.has(host)) {
    throw new Error(
      `the apiserver in ${kubeconfigPath} is ${server || "not set"}: the labs reach it from their namespaces through a loopback bridge, so it must listen on 127.0.0.1`,
    );
  }
  const dir = join(runRoot, `${RUN_PREFIX}-${runId()}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await installCrds(kc, [join(repoRoot(), "config", "crd", "bases"), join(repoRoot(), "config", "crd", "metallb-ts")]);
  return { server, kubeconfigPath, dir, kubeConfig: () => kc };
}

export class ControlPlane implements ApiServerHandle {
  private stopped = false;
  private readonly removeExitHook: () => void;

  private constructor(
    readonly info: ControlPlaneInfo,
    private readonly etcd: ChildProcess,
    private apiserver: ChildProcess,
    private readonly apiserverControl: { spawn: () => ChildProcess; ready: (child: ChildProcess, timeoutMs: number) => Promise<void> },
  ) {
    this.removeExitHook = addExitHook(() => this.killNow());
  }

  get kubeconfigPath(): string {
    return this.info.kubeconfigPath;
  }

  get server(): string {
    return this.info.server;
  }

  get dir(): string {
    return this.info.dir;
  }

  kubeConfig(): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(this.info.kubeconfigPath);
    return kc;
  }

  static async start(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const log = opts.log ?? ((): void => undefined);
    const binDir = opts.binDir ?? defaultBinDir();
    const missing = missingBinaries(binDir);
    if (missing !== undefined) throw new Error(missing);
    const runRoot = opts.runRoot ?? tmpdir();
    cleanupStaleControlPlanes(runRoot, log);

    const dir = join(runRoot, `${RUN_PREFIX}-${runId()}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const timeoutMs = opts.startTimeoutMs ?? 120_000;
    const t0 = Date.now();

    const pki = await makePki(dir);
    const [etcdClient, etcdPeer] = [await freePort(), await freePort()];

    const etcd = spawnLogged(join(binDir, "etcd"), etcdArgs(dir, etcdClient, etcdPeer), join(dir, "etcd.log"));
    writeFileSync(join(dir, "etcd.pid"), `${etcd.pid ?? ""}\n`);
    let apiserver: ChildProcess | undefined;
    try {
      await waitFor("etcd /health", () => httpGetOk(`http://127.0.0.1:${etcdClient}/health`), timeoutMs);
      log(`etcd ready on 127.0.0.1:${etcdClient} (${Date.now() - t0} ms)`);
      const audit = opts.auditPolicy === undefined ? undefined : auditArgs(dir, opts.auditPolicy);
      let args: string[] = [];
      let server = "";
      const apiLog = join(dir, "kube-apiserver.log");
      const spawnApiServer = (): ChildProcess => {
        const child = spawnLogged(join(binDir, "kube-apiserver"), args, apiLog);
        writeFileSync(join(dir, "kube-apiserver.pid"), `${child.pid ?? ""}\n`);
        return child;
      };
      const ready = (child: ChildProcess, ms: number): Promise<void> => apiServerReady(child, server, pki, dir, ms);
      for (let attempt = 1; ; attempt++) {
        const apiPort = await freePort();
        args = [...apiserverArgs(dir, pki, etcdClient, apiPort), ...(audit?.args ?? []), ...(opts.extraApiserverArgs ?? [])];
        server = `https://127.0.0.1:${apiPort}`;
        apiserver = spawnApiServer();
        try {
          await ready(apiserver, timeoutMs);
          break;
        } catch (e) {
          // A port found free can be taken before the apiserver binds it (by any connection's ephemeral port on this
          // busy machine; seen in CI): pick another instead of failing the whole test file.
          const portTaken = apiserver.exitCode !== null && readFileSync(apiLog, "utf8").includes("address already in use");
          if (!portTaken || attempt >= 3) throw e;
          log(`kube-apiserver could not bind 127.0.0.1:${apiPort} (taken meanwhile); retrying on another port`);
        }
      }
      log(`kube-apiserver ready at ${server} (${Date.now() - t0} ms)`);
      const kubeconfigPath = join(dir, "admin.kubeconfig");
      writeFileSync(kubeconfigPath, kubeconfigYaml(server, pki), { mode: 0o600 });
      const cp = new ControlPlane(
        {
          dir,
          server,
          kubeconfigPath,
          etcdPid: etcd.pid ?? 0,
          apiserverPid: apiserver.pid ?? 0,
          ...(audit === undefined ? {} : { auditLogPath: audit.logPath }),
        },
        etcd,
        apiserver,
        { spawn: spawnApiServer, ready },
      );
      try {
        const crdDirs = opts.crdDirs ?? [join(repoRoot(), "config", "crd", "bases"), join(repoRoot(), "config", "crd", "metallb-ts")];
        const names = await installCrds(cp.kubeConfig(), crdDirs);
        log(`${names.length} CRDs established (${Date.now() - t0} ms)`);
      } catch (e) {
        await cp.stop({ keepDir: true });
        throw e;
      }
      return cp;
    } catch (e) {
      await terminate(apiserver?.pid ?? 0);
      await terminate(etcd.pid ?? 0);
      throw new Error(`control plane failed to start (logs kept in ${dir})`, { cause: e });
    }
  }

  /**
   * Stops kube-apiserver, then etcd; removes the run directory (with the logs of every process the lab put there)
   * unless keepDir, or METALLB_TS_KEEP_RUN_DIRS=1 for a post-mortem of a run that passed but looked wrong.
   */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.removeExitHook();
    await Promise.all([terminate(this.apiserver.pid ?? 0, 5_000), exited(this.apiserver)]);
    await Promise.all([terminate(this.etcd.pid ?? 0, 5_000), exited(this.etcd)]);
    if (opts.keepDir !== true && process.env["METALLB_TS_KEEP_RUN_DIRS"] !== "1") rmSync(this.info.dir, { recursive: true, force: true });
    else process.stderr.write(`[control-plane] run directory kept: ${this.info.dir}\n`);
  }

  /**
   * An apiserver outage: stops kube-apiserver alone (SIGTERM, SIGKILL after 5 s); etcd keeps running with the data.
   * Clients see connections reset and then refused until {@link startApiServer}.
   */
  async stopApiServer(): Promise<void> {
    await Promise.all([terminate(this.apiserver.pid ?? 0, 5_000), exited(this.apiserver)]);
  }

  /** Starts kube-apiserver again after {@link stopApiServer}, with the same flags, port and PKI, and waits for /readyz. */
  async startApiServer(timeoutMs = 120_000): Promise<void> {
    if (this.apiserver.exitCode === null && this.apiserver.signalCode === null) throw new Error("kube-apiserver is still running");
    this.apiserver = this.apiserverControl.spawn();
    this.info.apiserverPid = this.apiserver.pid ?? 0;
    await this.apiserverControl.ready(this.apiserver, timeoutMs);
  }

  /** Synchronous last-resort kill, for process exit. */
  private killNow(): void {
    for (const p of [this.apiserver, this.etcd]) {
      if (p.pid !== undefined && isAlive(p.pid)) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  }
}

function etcdArgs(dir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    "--name=default",
    `--data-dir=${join(dir, "etcd-data")}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    "--listen-metrics-urls=",
    "--unsafe-no-fsync=true",
    "--log-level=warn",
  ];
}

interface Pki {
  ca: CertFiles;
  serving: CertFiles;
  admin: CertFiles;
  sa: { publicKey: string; privateKey: string };
}

async function makePki(dir: string): Promise<Pki> {
  const ca = await makeCA(dir, "ca", "metallb-ts-test-ca");
  const serving = await signCert(dir, ca, {
    name: "apiserver",
    commonName: "kube-apiserver",
    ipSANs: ["127.0.0.1", "10.96.0.1"],
    dnsSANs: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
    usage: "server",
  });
  const admin = await signCert(dir, ca, { name: "admin", commonName: "metallb-ts-admin", organizations: ["system:masters"], usage: "client" });
  return { ca, serving, admin, sa: makeServiceAccountKeys(dir) };
}

function apiserverArgs(dir: string, pki: Pki, etcdPort: number, port: number): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--cert-dir=${dir}`,
    `--tls-cert-file=${pki.serving.cert}`,
    `--tls-private-key-file=${pki.serving.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    `--secure-port=${port}`,
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    "--authorization-mode=RBAC",
    // Dual-stack service CIDRs so dual-stack Services can be tested.
    "--service-cluster-ip-range=10.96.0.0/16,fd00:10:96::/112",
    "--allow-privileged=true",
    // No controller-manager creates default ServiceAccounts here.
    "--disable-admission-plugins=ServiceAccount",
    `--service-account-issuer=https://127.0.0.1:${port}`,
    `--service-account-key-file=${pki.sa.publicKey}`,
    `--service-account-signing-key-file=${pki.sa.privateKey}`,
    // The loopback advertise address is not valid for the "kubernetes" Endpoints; skip that reconciler.
    "--endpoint-reconciler-type=none",
    "--v=0",
  ];
}

/** Writes the audit policy into the run directory; the flags for a JSON log backend next to it. */
function auditArgs(dir: string, policy: string): { args: string[]; logPath: string } {
  const policyPath = join(dir, "audit-policy.yaml");
  const logPath = join(dir, "audit.log");
  writeFileSync(policyPath, policy);
  return {
    logPath,
    args: [
      `--audit-policy-file=${policyPath}`,
      `--audit-log-path=${logPath}`,
      "--audit-log-format=json",
      "--audit-log-mode=blocking",
      "--audit-log-maxsize=102400",
    ],
  };
}

function kubeconfigYaml(server: string, pki: Pki): string {
  const b64 = (f: string): string => readFileSync(f).toString("base64");
  return yaml.dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "metallb-ts-test", cluster: { server, "certificate-authority-data": b64(pki.ca.cert) } }],
    users: [{ name: "admin", user: { "client-certificate-data": b64(pki.admin.cert), "client-key-data": b64(pki.admin.key) } }],
    contexts: [{ name: "metallb-ts-test", context: { cluster: "metallb-ts-test", user: "admin" } }],
    "current-context": "metallb-ts-test",
  });
}

async function httpGetOk(url: string): Promise<true | undefined> {
  const res = await fetch(url);
  return res.ok ? true : undefined;
}

async function apiServerReady(child: ChildProcess, server: string, pki: Pki, dir: string, timeoutMs: number): Promise<void> {
  const exitedEarly = (): Error => new Error(`kube-apiserver exited ${child.exitCode}; see ${join(dir, "kube-apiserver.log")}`);
  if (child.exitCode !== null) throw exitedEarly();
  // An apiserver that exited will not become ready: fail at once rather than after the whole timeout.
  let onExit: (() => void) | undefined;
  const exit = new Promise<never>((_, reject) => {
    onExit = (): void => reject(exitedEarly());
    child.once("exit", onExit);
  });
  try {
    await Promise.race([
      exit,
      waitFor(
        "kube-apiserver /readyz",
        async () => (child.exitCode !== null || (await httpsGetOk(`${server}/readyz`, pki)) ? true : undefined),
        timeoutMs,
        200,
      ),
    ]);
  } finally {
    if (onExit !== undefined) child.off("exit", onExit);
    exit.catch(() => undefined);
  }
}

function httpsGetOk(url: string, pki: Pki): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { method: "GET", ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.admin.cert), key: readFileSync(pki.admin.key), timeout: 5_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Reads all CRDs from the directories (multi-document YAML). */
export function loadCrds(dirs: readonly string[]): k8s.V1CustomResourceDefinition[] {
  const crds: k8s.V1CustomResourceDefinition[] = [];
  for (const dir of dirs) {
    for (const file of readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()) {
      for (const doc of yaml.loadAll(readFileSync(join(dir, file), "utf8"))) {
        const o = doc as k8s.V1CustomResourceDefinition | null;
        if (o?.kind === "CustomResourceDefinition") crds.push(o);
      }
    }
  }
  return crds;
}

/** Raw JSON requests (re-exported for tests): client-node's typed serializer would drop `default` and
 * `x-kubernetes-validations` of a YAML-loaded CRD. */
export { kubeRequest as rawKubeRequest } from "../../shell/src/kube-raw.js";
import { kubeRequest as rawKubeRequest } from "../../shell/src/kube-raw.js";

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/** Creates (or replaces) the CRDs and waits until each is Established and every served version answers a list. */
export async function installCrds(kc: k8s.KubeConfig, dirs: readonly string[], timeoutMs = 60_000): Promise<string[]> {
  const crds = loadCrds(dirs);
  for (const crd of crds) {
    const name = crd.metadata?.name ?? "";
    const created = await rawKubeRequest(kc, "POST", CRD_PATH, crd);
    if (created.status === 409) {
      const current = await rawKubeRequest(kc, "GET", `${CRD_PATH}/${name}`);
      const resourceVersion = (current.body as k8s.V1CustomResourceDefinition).metadata?.resourceVersion ?? "";
      const replaced = await rawKubeRequest(kc, "PUT", `${CRD_PATH}/${name}`, { ...crd, metadata: { ...crd.metadata, resourceVersion } });
      if (replaced.status >= 300) throw new Error(`replacing CRD ${name}: HTTP ${replaced.status}: ${JSON.stringify(replaced.body)}`);
    } else if (created.status >= 300) {
      throw new Error(`creating CRD ${name}: HTTP ${created.status}: ${JSON.stringify(created.body)}`);
    }
  }
  for (const crd of crds) {
    const name = crd.metadata?.name ?? "";
    await waitFor(
      `CRD ${name} Established`,
      async () => {
        const got = (await rawKubeRequest(kc, "GET", `${CRD_PATH}/${name}`)).body as k8s.V1CustomResourceDefinition;
        const established = got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
        return established ? true : undefined;
      },
      timeoutMs,
      100,
    );
    for (const v of crd.spec.versions.filter((x) => x.served)) {
      const path = `/apis/${crd.spec.group}/${v.name}/${crd.spec.names.plural}`;
      await waitFor(`${path} served`, async () => ((await rawKubeRequest(kc, "GET", path)).status === 200 ? true : undefined), timeoutMs, 100);
    }
  }
  return crds.map((c) => c.metadata?.name ?? "");
}

/** Kills processes and removes run directories left by control planes whose owner process is gone. */
export function cleanupStaleControlPlanes(runRoot: string, log: (line: string) => void = () => undefined): void {
  for (const name of listDir(runRoot)) {
    const owner = ownerPidOf(name, RUN_PREFIX);
    if (owner === undefined || isAlive(owner)) continue;
    const dir = join(runRoot, name);
    for (const pidFile of ["kube-apiserver.pid", "etcd.pid"]) {
      const pid = readPidFile(join(dir, pidFile));
      if (pid !== undefined && isAlive(pid) && processCommand(pid).match(/kube-apiserver|etcd/) !== null) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
    log(`removed leftovers of a crashed control plane: ${dir}`);
  }
}

function processCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
  } catch {
    return "";
  }
}
