// A real one-node Kubernetes cluster inside a network lab, for the cluster test layer (issue 13): etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, and a node of containerd + kubelet + kube-proxy, all in
// the lab host "node"'s network namespace. hostNetwork Pods (the speaker) share that namespace, so BGP, ARP and NDP
// never reach the machine's own interfaces; a "router" and a "client" host sit on the same lab LAN.
//
// The node (containerd, kubelet, kube-proxy) runs in a private mount namespace of its own, where the kernel
// tunables kubelet insists on (vm.overcommit_memory, kernel.panic, kernel.panic_on_oops, vm.panic_on_oom) are files
// bind-mounted over /proc/sys with the values kubelet wants: it reads them as set and never writes the host's.
// kube-proxy is configured to leave conntrack tunables alone; its other sysctls are per network namespace (ours).
// Pods live under a cgroup root of this run (cgroupRoot), removed at stop; containerd keeps its images, state and
// socket in the run directory; CNI (bridge + host-local) keeps its leases there too.
//
// Binaries: ~/.cache/metallb-ts/bin (npm run build:control-plane, npm run build:node). Images: the project's images
// from podman's storage (npm run build:images), exported with `podman save` and imported into containerd; the
// sandbox ("pause") image is made here from the static pause binary as an OCI archive (no registry needed).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execFileSync, type ChildProcess } from "node:child_process";
import yaml from "js-yaml";
import { makeCA, makeServiceAccountKeys, signCert, type CertFiles } from "./certs.js";
import { defaultBinDir } from "./control-plane.js";
import { addExitHook, runSyncQuiet } from "./exit-hooks.js";
import { WEB_GREETING, webUrl } from "./http-prober.js";
import type { FrrInstance } from "./frr.js";
import { NetLab } from "./netlab.js";
import { exited, isAlive, listDir, ownerPidOf, readPidFile, run, runId, spawnLogged, terminate, waitFor, type RunResult } from "./proc.js";

export const CLUSTER_PREFIX = "metallb-ts-cluster";
/** The Kubernetes node's name (lower case: it is the CN of the kubelet's certificate). */
export const NODE_NAME = "mlt-node";
export const PAUSE_IMAGE = "localhost/metallb-ts/pause:v1.34.11";
const POD_CIDR = "10.244.0.0/24";
const POD_CIDR6 = "fd00:10:244::/64";
const SERVICE_CIDRS = "10.96.0.0/16,fd00:10:96::/112";
// The v1 hierarchies, and the v2 one of a hybrid layout (runc makes its cgroups there too).
const CGROUP_CONTROLLERS = ["cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"];
const NODE_BINARIES = ["etcd", "kube-apiserver", "kubectl", "kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy", "pause"];

export interface LabClusterOptions {
  /** Images to copy from podman's storage into containerd (the names the manifests use). */
  images: readonly string[];
  binDir?: string;
  log?: (line: string) => void;
}

/** What is missing to start a cluster, or undefined. */
export function missingClusterPrerequisites(binDir: string = defaultBinDir()): string | undefined {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push("must run as root (network and mount namespaces, containerd, kubelet)");
  for (const b of NODE_BINARIES)
    if (!existsSync(join(binDir, b))) problems.push(`${join(binDir, b)} missing (npm run build:control-plane, npm run build:node)`);
  for (const [path, pkg] of [
    ["/usr/bin/containerd", "containerd"],
    ["/usr/bin/ctr", "containerd"],
    ["/usr/sbin/runc", "runc"],
    ["/usr/lib/cni/bridge", "containernetworking-plugins"],
    ["/usr/bin/podman", "podman"],
    ["/usr/bin/nsenter", "util-linux"],
    ["/usr/sbin/iptables", "iptables"],
  ])
    if (!existsSync(path as string)) problems.push(`${path} missing (Debian package ${pkg})`);
  return problems.length === 0 ? undefined : problems.join("\n  - ");
}

interface Pki {
  ca: CertFiles;
  sa: { publicKey: string; privateKey: string };
  files: Record<string, CertFiles>;
}

export class LabCluster {
  private stopped = false;
  private readonly removeExitHook: () => void;

  private constructor(
    readonly lab: NetLab,
    readonly dir: string,
    readonly binDir: string,
    private readonly procs: ChildProcess[],
    /** What the node makes outside its namespaces: its cgroup root, and the /run/netns files there before it. */
    private readonly host: { cgroupRoot: string; netnsFilesBefore: ReadonlySet<string> },
  ) {
    this.removeExitHook = addExitHook(() => this.killNow());
  }

  get nodeIp(): string {
    return this.lab.host("node").ipv4;
  }

  get kubeconfigPath(): string {
    return join(this.dir, "admin.kubeconfig");
  }

  /** containerd's registry config_path: a directory per registry host, each with a hosts.toml (read at every pull). */
  get registryConfigDir(): string {
    return join(this.dir, "containerd", "certs.d");
  }

  get containerdSocket(): string {
    return join(this.dir, "containerd", "containerd.sock");
  }

  /** kubectl as cluster admin, run in the node's network namespace (where the apiserver listens). */
  kubectl(args: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
    return run("ip", ["netns", "exec", this.lab.host("node").netns, join(this.binDir, "kubectl"), "--kubeconfig", this.kubeconfigPath, ...args], {
      timeoutMs: 300_000,
      ...opts,
    });
  }

  /** helm as cluster admin, from the node's network namespace. */
  helm(args: readonly string[], opts: { allowFail?: boolean; timeoutMs?: number } = {}): Promise<RunResult> {
    return run("ip", ["netns", "exec", this.lab.host("node").netns, join(this.binDir, "helm"), "--kubeconfig", this.kubeconfigPath, ...args], {
      timeoutMs: 600_000,
      ...opts,
    });
  }

  async kubectlJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse((await this.kubectl([...args, "-o", "json"])).stdout) as T;
  }

  /** The lab's upstream FRR router ("router"): eBGP to the node (3 s keepalive, 9 s hold, 2 s connect retry). */
  startRouter(routerAsn: number, nodeAsn: number): Promise<FrrInstance> {
    return this.lab.startFrr(
      "router",
      [
        "frr defaults traditional",
        "hostname router",
        `router bgp ${routerAsn}`,
        ` bgp router-id ${this.lab.host("router").ipv4}`,
        " no bgp ebgp-requires-policy",
        ` neighbor ${this.nodeIp} remote-as ${nodeAsn}`,
        ` neighbor ${this.nodeIp} timers 3 9`,
        ` neighbor ${this.nodeIp} timers connect 2`,
        "",
      ].join("\n"),
      ["zebra", "bgpd"],
    );
  }

  /** kubectl apply of the objects, as one multi-document input. */
  async apply(objects: readonly object[]): Promise<void> {
    await this.kubectl(["apply", "-f", "-"], { input: objects.map((o) => JSON.stringify(o)).join("\n") });
  }

  /** Waits until the Service (default namespace) shows at least `want` ingress IPs, and returns them. */
  async ingressIPs(name: string, want = 1, timeoutMs = 180_000): Promise<string[]> {
    return waitFor(
      `Service ${name} gets ${want} IP(s)`,
      async () => {
        const svc = await this.kubectlJson<{ status: { loadBalancer?: { ingress?: Array<{ ip: string }> } } }>(["get", "svc", name]);
        const ips = (svc.status.loadBalancer?.ingress ?? []).map((i) => i.ip);
        return ips.length >= want ? ips : undefined;
      },
      timeoutMs,
      1_000,
    );
  }

  /** Waits until `http://ip/` answers the lab web page from the lab host, and returns the page. */
  async httpFrom(host: string, ip: string, timeoutMs = 120_000): Promise<string> {
    const url = webUrl(ip);
    return waitFor(
      `HTTP ${url} from ${host}`,
      async () => {
        const r = await this.lab.exec(host, "curl", ["-s", "-m", "3", url], { allowFail: true });
        return r.code === 0 && r.stdout.startsWith(WEB_GREETING) ? r.stdout.trim() : undefined;
      },
      timeoutMs,
      1_000,
    );
  }

  static async start(opts: LabClusterOptions): Promise<LabCluster> {
    const log = opts.log ?? ((): void => undefined);
    const binDir = opts.binDir ?? defaultBinDir();
    const missing = missingClusterPrerequisites(binDir);
    if (missing !== undefined) throw new Error(`cluster cannot start:\n  - ${missing}`);
    cleanupStaleClusters(tmpdir(), log);
    const id = runId();
    const dir = join(tmpdir(), `${CLUSTER_PREFIX}-${id}`);
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const t0 = Date.now();
    const lab = await NetLab.create(
      [
        { name: "router", index: 1 },
        { name: "node", index: 10 },
        { name: "client", index: 20 },
      ],
      { log },
    );
    const cgroupRoot = `/${CLUSTER_PREFIX}-${id}`;
    writeFileSync(join(dir, "cgroup-root"), `${cgroupRoot}\n`);
    const netnsFilesBefore = new Set(listDir("/run/netns"));
    const cluster = new LabCluster(lab, dir, binDir, [], { cgroupRoot, netnsFilesBefore });
    try {
      await cluster.boot(opts, log, t0);
    } catch (e) {
      await cluster.stop({ keepDir: true });
      throw new Error(`cluster failed to start (logs kept in ${dir})`, { cause: e });
    }
    return cluster;
  }

  private async boot(opts: LabClusterOptions, log: (line: string) => void, t0: number): Promise<void> {
    const node = this.lab.host("node");
    // The node routes between its LAN and its Pods (a router of the LAN reaches Service IPs through it).
    await this.lab.enableForwarding("node");
    // A node has a default route (here: the lab router): hostNetwork Pods reach ClusterIPs (the apiserver's
    // 10.96.0.1) only with a route to look up before kube-proxy's DNAT.
    const routerHost = this.lab.host("router");
    await run("ip", ["-n", node.netns, "route", "add", "default", "via", routerHost.ipv4]);
    await run("ip", ["-n", node.netns, "-6", "route", "add", "default", "via", routerHost.ipv6]);
    const pki = await makePki(join(this.dir, "pki"), node.ipv4);
    for (const user of ["admin", "kubelet", "kube-proxy", "kube-controller-manager", "kube-scheduler"]) {
      writeFileSync(join(this.dir, `${user}.kubeconfig`), kubeconfigYaml(`https://${node.ipv4}:6443`, pki.ca.cert, pki.files[user] as CertFiles), {
        mode: 0o600,
      });
    }
    const inNode = (name: string, bin: string, args: readonly string[]): ChildProcess => {
      const p = spawnLogged("ip", ["netns", "exec", node.netns, join(this.binDir, bin), ...args], join(this.dir, `${name}.log`));
      writeFileSync(join(this.dir, `${name}.pid`), `${p.pid ?? ""}\n`);
      this.procs.push(p);
      return p;
    };
    inNode("etcd", "etcd", etcdArgs(join(this.dir, "etcd-data")));
    inNode("kube-apiserver", "kube-apiserver", apiserverArgs(pki, node.ipv4));
    await waitFor(
      "kube-apiserver /readyz",
      async () => ((await this.kubectl(["get", "--raw", "/readyz"], { allowFail: true })).stdout === "ok" ? true : undefined),
      120_000,
      500,
    );
    log(`control plane ready at https://${node.ipv4}:6443 (${Date.now() - t0} ms)`);
    inNode("kube-controller-manager", "kube-controller-manager", controllerManagerArgs(this.dir, pki));
    inNode("kube-scheduler", "kube-scheduler", schedulerArgs(this.dir));

    // The node: containerd + kubelet + kube-proxy in a private mount namespace inside the node's network namespace.
    prepareCgroupRoot(this.host.cgroupRoot);
    this.writeNodeConfig(node.ipv4);
    const nodeProc = spawnLogged(
      "nsenter",
      [`--net=/run/netns/${node.netns}`, "unshare", "--mount", "--propagation", "private", "bash", join(this.dir, "node.sh")],
      join(this.dir, "node.log"),
    );
    writeFileSync(join(this.dir, "node.pid"), `${nodeProc.pid ?? ""}\n`);
    this.procs.push(nodeProc);
    await waitFor("containerd socket", () => (existsSync(this.containerdSocket) ? true : undefined), 60_000, 200);
    await this.importImages(opts.images, log);
    log(`images imported into containerd (${Date.now() - t0} ms)`);
    await waitFor(
      `node ${NODE_NAME} Ready`,
      async () => {
        const r = await this.kubectl(["get", "node", NODE_NAME, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"], { allowFail: true });
        if (nodeProc.exitCode !== null) throw new Error(`node processes exited; see ${join(this.dir, "node.log")}`);
        return r.stdout === "True" ? true : undefined;
      },
      180_000,
      1_000,
    );
    await waitFor(
      "ServiceAccount default/default",
      async () => ((await this.kubectl(["get", "sa", "default"], { allowFail: true })).code === 0 ? true : undefined),
      120_000,
      1_000,
    );
    log(`node ${NODE_NAME} Ready (${Date.now() - t0} ms)`);
  }

  private writeNodeConfig(nodeIp: string): void {
    const d = this.dir;
    const cd = join(d, "containerd");
    mkdirSync(join(d, "cni", "net.d"), { recursive: true });
    mkdirSync(cd, { recursive: true });
    mkdirSync(this.registryConfigDir, { recursive: true });
    mkdirSync(join(d, "node-sysctl"), { recursive: true });
    writeFileSync(
      join(cd, "config.toml"),
      [
        "version = 2",
        `root = "${join(cd, "root")}"`,
        `state = "${join(cd, "state")}"`,
        "[grpc]",
        `  address = "${this.containerdSocket}"`,
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${PAUSE_IMAGE}"`,
        // Root here may lack CAP_SYS_RESOURCE: negative oom_score_adj values are refused.
        "  restrict_oom_score_adj = true",
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        "        SystemdCgroup = false",
        // Per-registry hosts.toml files (a test's own registry in the lab, e.g. testenv/src/olm.ts); empty otherwise.
        '  [plugins."io.containerd.grpc.v1.cri".registry]',
        `    config_path = "${this.registryConfigDir}"`,
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        '    bin_dir = "/usr/lib/cni"',
        `    conf_dir = "${join(d, "cni", "net.d")}"`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(d, "cni", "net.d", "10-lab.conflist"),
      JSON.stringify(
        {
          cniVersion: "1.0.0",
          name: "mlt-pods",
          plugins: [
            {
              type: "bridge",
              bridge: "cni0",
              isGateway: true,
              ipMasq: false,
              hairpinMode: true,
              ipam: {
                type: "host-local",
                dataDir: join(d, "cni", "ipam"),
                ranges: [[{ subnet: POD_CIDR }], [{ subnet: POD_CIDR6 }]],
                routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
              },
            },
            { type: "portmap", capabilities: { portMappings: true } },
            { type: "loopback" },
          ],
        },
        null,
        2,
      ),
    );
    const pki = join(d, "pki");
    writeFileSync(
      join(d, "kubelet.yaml"),
      yaml.dump({
        apiVersion: "kubelet.config.k8s.io/v1beta1",
        kind: "KubeletConfiguration",
        address: nodeIp,
        port: 10250,
        readOnlyPort: 0,
        healthzBindAddress: "127.0.0.1",
        healthzPort: 10248,
        tlsCertFile: join(pki, "kubelet-serving.crt"),
        tlsPrivateKeyFile: join(pki, "kubelet-serving.key"),
        authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: join(pki, "ca.crt") } },
        authorization: { mode: "Webhook" },
        containerRuntimeEndpoint: `unix://${this.containerdSocket}`,
        cgroupDriver: "cgroupfs",
        cgroupRoot: this.host.cgroupRoot,
        failCgroupV1: false,
        failSwapOn: false,
        // Read as kubelet wants them in the node's mount namespace (node.sh), so it writes none of them.
        protectKernelDefaults: false,
        clusterDomain: "cluster.local",
        resolvConf: "/etc/resolv.conf",
        rotateCertificates: false,
        serializeImagePulls: false,
        evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%" },
        imageGCHighThresholdPercent: 99,
        imageGCLowThresholdPercent: 98,
        maxPods: 30,
        // A busy 2-core machine: no eviction or restarts for slow status reports.
        nodeStatusUpdateFrequency: "10s",
      }),
    );
    writeFileSync(
      join(d, "kube-proxy.yaml"),
      yaml.dump({
        apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
        kind: "KubeProxyConfiguration",
        clientConnection: { kubeconfig: join(d, "kube-proxy.kubeconfig") },
        hostnameOverride: NODE_NAME,
        mode: "iptables",
        clusterCIDR: `${POD_CIDR},${POD_CIDR6}`,
        bindAddress: nodeIp,
        healthzBindAddress: "127.0.0.1:10256",
        metricsBindAddress: "127.0.0.1:10249",
        // No conntrack table or timeout tuning (global tunables), no route_localnet.
        conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
        iptables: { localhostNodePorts: false, masqueradeAll: false },
        nodePortAddresses: [`${nodeIp}/32`],
      }),
    );
    const sysctls = { "vm/overcommit_memory": "1", "vm/panic_on_oom": "0", "kernel/panic": "10", "kernel/panic_on_oops": "1" };
    const b = this.binDir;
    writeFileSync(
      join(d, "node.sh"),
      [
        "#!/usr/bin/env bash",
        "# Generated by testenv/src/cluster.ts: the node, in its own mount namespace (see there).",
        "set -euo pipefail",
        ...Object.entries(sysctls).flatMap(([k, v]) => {
          const f = join(d, "node-sysctl", k.replace("/", "."));
          return [`echo ${v} > ${f}`, `mount --bind ${f} /proc/sys/${k}`];
        }),
        `containerd --config ${join(cd, "config.toml")} > ${join(d, "containerd.log")} 2>&1 &`,
        `echo $! > ${join(d, "containerd.pid")}`,
        `for i in $(seq 300); do [[ -S ${this.containerdSocket} ]] && break; sleep 0.2; done`,
        `${b}/kubelet --config=${join(d, "kubelet.yaml")} --kubeconfig=${join(d, "kubelet.kubeconfig")} --root-dir=${join(d, "kubelet")} ` +
          `--hostname-override=${NODE_NAME} --node-ip=${nodeIp} --v=1 > ${join(d, "kubelet.log")} 2>&1 &`,
        `echo $! > ${join(d, "kubelet.pid")}`,
        `${b}/kube-proxy --config=${join(d, "kube-proxy.yaml")} --v=1 > ${join(d, "kube-proxy.log")} 2>&1 &`,
        `echo $! > ${join(d, "kube-proxy.pid")}`,
        "wait",
        "",
      ].join("\n"),
    );
  }

  private async ctr(args: readonly string[], timeoutMs = 600_000): Promise<RunResult> {
    return run("ctr", ["-a", this.containerdSocket, "-n", "k8s.io", ...args], { timeoutMs });
  }

  private async importImages(images: readonly string[], log: (line: string) => void): Promise<void> {
    const pauseTar = writePauseImage(join(this.dir, "pause-image"), join(this.binDir, "pause"));
    await this.ctr(["images", "import", pauseTar]);
    for (const image of images) {
      const has = await run("podman", ["image", "exists", image], { allowFail: true });
      if (has.code !== 0) throw new Error(`image ${image} is not in podman's storage: build the images first (npm run build:images)`);
    }
    const tar = join(this.dir, "images.tar");
    const t0 = Date.now();
    await run("podman", ["save", "--format", "docker-archive", "-m", "-o", tar, ...images], { timeoutMs: 600_000 });
    await this.ctr(["images", "import", tar]);
    rmSync(tar, { force: true });
    log(`podman save + ctr import of ${images.join(", ")}: ${Date.now() - t0} ms`);
  }

  /** Stops everything (kubelet first, then every container, containerd, kube-proxy, the control plane) and removes
   *  what the node made outside its namespaces: its cgroups, leftover network namespace files, the run directory. */
  async stop(opts: { keepDir?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const pid = (name: string): number => readPidFile(join(this.dir, `${name}.pid`)) ?? 0;
    await terminate(pid("kubelet"), 10_000);
    if (existsSync(this.containerdSocket)) {
      const tasks = await run("ctr", ["-a", this.containerdSocket, "-n", "k8s.io", "tasks", "ls", "-q"], { allowFail: true, timeoutMs: 30_000 });
      for (const t of tasks.stdout.split("\n").filter((x) => x !== "")) {
        await run("ctr", ["-a", this.containerdSocket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", t], { allowFail: true, timeoutMs: 30_000 });
      }
    }
    killCgroup(this.host.cgroupRoot);
    await terminate(pid("kube-proxy"), 5_000);
    await terminate(pid("containerd"), 10_000);
    for (const p of [...this.procs].reverse()) {
      await terminate(p.pid ?? 0, 5_000);
      await exited(p);
    }
    await this.lab.destroy();
    removeCgroup(this.host.cgroupRoot);
    for (const f of listDir("/run/netns")) if (f.startsWith("cni-") && !this.host.netnsFilesBefore.has(f)) removeStaleNetnsFile(join("/run/netns", f));
    if (opts.keepDir !== true) rmSync(this.dir, { recursive: true, force: true });
    this.removeExitHook();
  }

  /** What of this run still exists on the host (after stop(): nothing): processes, cgroups, namespaces, files. */
  leftovers(): string[] {
    const out: string[] = [];
    for (const p of this.procs) if (p.pid !== undefined && isAlive(p.pid)) out.push(`process ${p.pid}`);
    for (const pidFile of ["kubelet", "kube-proxy", "containerd"]) {
      const pid = readPidFile(join(this.dir, `${pidFile}.pid`));
      if (pid !== undefined && isAlive(pid)) out.push(`${pidFile} ${pid}`);
    }
    for (const d of cgroupDirs(this.host.cgroupRoot)) if (existsSync(d)) out.push(`cgroup ${d}`);
    for (const h of this.lab.hosts) if (existsSync(join("/run/netns", h.netns))) out.push(`netns ${h.netns}`);
    for (const f of listDir("/run/netns")) if (f.startsWith("cni-") && !this.host.netnsFilesBefore.has(f)) out.push(`/run/netns/${f}`);
    if (existsSync(this.dir)) out.push(`directory ${this.dir}`);
    for (const line of safeRead("/proc/self/mountinfo").split("\n")) if (line.includes(this.dir)) out.push(`mount ${line.split(" ")[4] ?? ""}`);
    return out;
  }

  private killNow(): void {
    for (const name of ["kubelet", "kube-proxy", "containerd"]) {
      const p = readPidFile(join(this.dir, `${name}.pid`));
      if (p !== undefined && isAlive(p)) process.kill(p, "SIGKILL");
    }
    killCgroup(this.host.cgroupRoot);
    for (const p of this.procs) if (p.pid !== undefined && isAlive(p.pid)) process.kill(p.pid, "SIGKILL");
  }
}

function etcdArgs(dataDir: string): string[] {
  return [
    "--name=default",
    `--data-dir=${dataDir}`,
    "--listen-client-urls=http://127.0.0.1:2379",
    "--advertise-client-urls=http://127.0.0.1:2379",
    "--listen-peer-urls=http://127.0.0.1:2380",
    "--initial-advertise-peer-urls=http://127.0.0.1:2380",
    "--initial-cluster=default=http://127.0.0.1:2380",
    "--listen-metrics-urls=",
    "--unsafe-no-fsync=true",
    "--log-level=warn",
  ];
}

async function makePki(dir: string, nodeIp: string): Promise<Pki> {
  mkdirSync(dir, { recursive: true });
  const ca = await makeCA(dir, "ca", "metallb-ts-cluster-ca");
  const files: Record<string, CertFiles> = {};
  const client = async (name: string, commonName: string, organizations: string[] = []): Promise<void> => {
    files[name] = await signCert(dir, ca, { name, commonName, organizations, usage: "client" });
  };
  files["apiserver"] = await signCert(dir, ca, {
    name: "apiserver",
    commonName: "kube-apiserver",
    ipSANs: ["127.0.0.1", nodeIp, "10.96.0.1"],
    dnsSANs: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
    usage: "server",
  });
  files["kubelet-serving"] = await signCert(dir, ca, {
    name: "kubelet-serving",
    commonName: NODE_NAME,
    ipSANs: [nodeIp],
    dnsSANs: [NODE_NAME],
    usage: "server",
  });
  await client("admin", "metallb-ts-admin", ["system:masters"]);
  await client("kubelet", `system:node:${NODE_NAME}`, ["system:nodes"]);
  await client("apiserver-kubelet-client", "kube-apiserver-kubelet-client", ["system:masters"]);
  await client("kube-proxy", "system:kube-proxy");
  await client("kube-controller-manager", "system:kube-controller-manager");
  await client("kube-scheduler", "system:kube-scheduler");
  return { ca, sa: makeServiceAccountKeys(dir), files };
}

function kubeconfigYaml(server: string, caFile: string, user: CertFiles): string {
  return yaml.dump({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "lab", cluster: { server, "certificate-authority": caFile } }],
    users: [{ name: "user", user: { "client-certificate": user.cert, "client-key": user.key } }],
    contexts: [{ name: "lab", context: { cluster: "lab", user: "user" } }],
    "current-context": "lab",
  });
}

function apiserverArgs(pki: Pki, nodeIp: string): string[] {
  const f = pki.files;
  return [
    "--etcd-servers=http://127.0.0.1:2379",
    "--bind-address=0.0.0.0",
    `--advertise-address=${nodeIp}`,
    "--secure-port=6443",
    `--tls-cert-file=${f["apiserver"]?.cert}`,
    `--tls-private-key-file=${f["apiserver"]?.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    `--kubelet-client-certificate=${f["apiserver-kubelet-client"]?.cert}`,
    `--kubelet-client-key=${f["apiserver-kubelet-client"]?.key}`,
    `--kubelet-certificate-authority=${pki.ca.cert}`,
    "--kubelet-preferred-address-types=InternalIP",
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    "--allow-privileged=true",
    `--service-cluster-ip-range=${SERVICE_CIDRS}`,
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki.sa.publicKey}`,
    `--service-account-signing-key-file=${pki.sa.privateKey}`,
    // Webhook calls go to the endpoints (Pod IPs, reachable from the node's namespace).
    "--enable-aggregator-routing=true",
    "--profiling=false",
    "--v=1",
  ];
}

function controllerManagerArgs(dir: string, pki: Pki): string[] {
  const kc = join(dir, "kube-controller-manager.kubeconfig");
  return [
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    "--bind-address=127.0.0.1",
    "--secure-port=10257",
    "--leader-elect=false",
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${pki.sa.privateKey}`,
    `--root-ca-file=${pki.ca.cert}`,
    `--cluster-signing-cert-file=${pki.ca.cert}`,
    `--cluster-signing-key-file=${pki.ca.key}`,
    "--allocate-node-cidrs=false",
    `--service-cluster-ip-range=${SERVICE_CIDRS}`,
    "--profiling=false",
    "--v=1",
  ];
}

function schedulerArgs(dir: string): string[] {
  const kc = join(dir, "kube-scheduler.kubeconfig");
  return [
    `--kubeconfig=${kc}`,
    `--authentication-kubeconfig=${kc}`,
    `--authorization-kubeconfig=${kc}`,
    "--bind-address=127.0.0.1",
    "--secure-port=10259",
    "--leader-elect=false",
    "--profiling=false",
    "--v=1",
  ];
}

// ---- cgroups (v1 hierarchies of this machine; kubelet's cgroupRoot of this run) ----

const cgroupDirs = (root: string): string[] => CGROUP_CONTROLLERS.map((c) => join("/sys/fs/cgroup", c, root)).filter((d) => existsSync(join(d, "..")));

/** kubelet wants its cgroup root to exist in every hierarchy; cpuset needs its cpus and mems before tasks join. */
function prepareCgroupRoot(root: string): void {
  for (const d of cgroupDirs(root)) {
    mkdirSync(d, { recursive: true });
    if (d.includes("/cpuset/")) {
      for (const f of ["cpuset.cpus", "cpuset.mems"]) writeFileSync(join(d, f), readFileSync(join(d, "..", f)));
    }
  }
}

/** SIGKILLs every process in the cgroup tree (Pods' containers outlive a killed containerd: their shims keep them). */
function killCgroup(root: string): void {
  for (const d of cgroupDirs(root)) {
    for (const procs of walk(d, "cgroup.procs")) {
      for (const p of safeRead(procs)
        .split("\n")
        .filter((x) => x !== "")) {
        try {
          process.kill(Number(p), "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
  }
}

/** Removes the cgroup tree, deepest first (a cgroup is removed with rmdir once it has no processes). */
function removeCgroup(root: string): void {
  for (let attempt = 0; attempt < 20; attempt++) {
    let left = 0;
    for (const d of cgroupDirs(root)) {
      if (!existsSync(d)) continue;
      for (const sub of walkDirs(d).reverse()) {
        try {
          rmdirSync(sub);
        } catch {
          left++;
        }
      }
    }
    if (left === 0) return;
    killCgroup(root);
    runSyncQuiet("sleep", ["0.25"]);
  }
}

function walkDirs(d: string): string[] {
  const out = [d];
  for (const e of listDir(d)) {
    const p = join(d, e);
    try {
      if (statSync(p).isDirectory()) out.push(...walkDirs(p));
    } catch {
      /* gone */
    }
  }
  return out;
}

function walk(d: string, file: string): string[] {
  return walkDirs(d)
    .map((x) => join(x, file))
    .filter((f) => existsSync(f));
}

function safeRead(f: string): string {
  try {
    return readFileSync(f, "utf8");
  } catch {
    return "";
  }
}

/** A /run/netns file containerd made for a Pod sandbox inside the node's mount namespace: on the host it is an
 *  empty file (the bind mount lived in the node's mount namespace), removed once nothing is mounted on it. */
function removeStaleNetnsFile(path: string): void {
  const mounted = safeRead("/proc/self/mountinfo")
    .split("\n")
    .some((l) => l.split(" ")[4] === path);
  if (!mounted) rmSync(path, { force: true });
}

/** Removes what crashed runs left: processes in their cgroups, the cgroups, their directories. */
export function cleanupStaleClusters(runRoot: string, log: (line: string) => void = () => undefined): void {
  for (const name of listDir(runRoot)) {
    const owner = ownerPidOf(name, CLUSTER_PREFIX);
    if (owner === undefined || isAlive(owner)) continue;
    const dir = join(runRoot, name);
    // "registry": a test's registry in the node's namespace (testenv/src/olm.ts) writes its pid file here too.
    for (const p of ["kubelet", "kube-proxy", "containerd", "node", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd", "registry"]) {
      const pid = readPidFile(join(dir, `${p}.pid`));
      if (pid !== undefined && isAlive(pid)) process.kill(pid, "SIGKILL");
    }
    const root = safeRead(join(dir, "cgroup-root")).trim();
    if (root.startsWith(`/${CLUSTER_PREFIX}-`)) {
      killCgroup(root);
      removeCgroup(root);
    }
    rmSync(dir, { recursive: true, force: true });
    // Sandbox namespace files of its Pods: on the host they are empty files nothing is mounted on.
    for (const f of listDir("/run/netns")) if (f.startsWith("cni-")) removeStaleNetnsFile(join("/run/netns", f));
    log(`removed the leftovers of cluster run ${name}`);
  }
}

// ---- the sandbox image, as an OCI archive made here (no registry, no image builder) ----

function writePauseImage(dir: string, pauseBinary: string): string {
  rmSync(dir, { recursive: true, force: true });
  const blobs = join(dir, "layout", "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  mkdirSync(join(dir, "rootfs"), { recursive: true });
  writeFileSync(join(dir, "rootfs", "pause"), readFileSync(pauseBinary), { mode: 0o755 });
  const layerTar = join(dir, "layer.tar");
  runSyncTar(["--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-C", join(dir, "rootfs"), "-cf", layerTar, "pause"]);
  const blob = (data: Buffer): { digest: string; size: number } => {
    const hex = createHash("sha256").update(data).digest("hex");
    writeFileSync(join(blobs, hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const layer = blob(readFileSync(layerTar));
  const config = blob(
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: { Entrypoint: ["/pause"], User: "65535:65535" },
        rootfs: { type: "layers", diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", ...layer }],
      }),
    ),
  );
  writeFileSync(join(dir, "layout", "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "layout", "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifest,
          annotations: { "io.containerd.image.name": PAUSE_IMAGE, "org.opencontainers.image.ref.name": PAUSE_IMAGE.split(":")[1] },
        },
      ],
    }),
  );
  const out = join(dir, "pause.oci.tar");
  runSyncTar(["-C", join(dir, "layout"), "-cf", out, "oci-layout", "index.json", "blobs"]);
  return out;
}

function runSyncTar(args: readonly string[]): void {
  execFileSync("tar", [...args], { stdio: ["ignore", "ignore", "pipe"] });
}

/** The images a manifest file names (image: lines), deduplicated. */
export function imagesOf(manifestText: string): string[] {
  return [...new Set([...manifestText.matchAll(/^\s*image:\s*"?([^"\s]+)"?\s*$/gm)].map((m) => m[1] as string))];
}
