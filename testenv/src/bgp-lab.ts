// A whole BGP-mode installation on one machine, for e2e tests, benchmarks and the demo: the real control plane,
// a network lab (an upstream FRR router and N nodes with their own FRR), the operator and one speaker per node,
// all as in production but in this process. The router peers with every node (eBGP, password, BFD 100 ms × 3) and
// acts on RFC 8326's GRACEFUL_SHUTDOWN community as the RFC asks of receivers (LOCAL_PREF 0 on paths carrying it).
import type * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { Operator } from "../../operator/src/operator.js";
import { apply, applyMetallb, ensureNamespace, METALLB_NS, passwordSecret } from "./objects.js";
import { installComponentRbac } from "./rbac.js";
import { FrrApplier } from "../../speaker/src/frr/applier.js";
import { Speaker } from "../../speaker/src/speaker.js";
import { jsonLogger, type Logger } from "../../shell/src/logger.js";
import type { ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { addExitHook } from "./exit-hooks.js";
import { freePort, isAlive, spawnLogged, terminate } from "./proc.js";
import { kubeRequest } from "../../shell/src/kube-raw.js";
import { ControlPlane, type ApiServerHandle } from "./control-plane.js";
import { ApiBridge } from "./api-bridge.js";
import { confinementPrefix, FrrContainer, speakerPod } from "./frr-container.js";
import { buildSpeaker, SpeakerProcess } from "./speaker-process.js";
import { NetLab } from "./netlab.js";
import { startRouter, type RouterKind, type UpstreamRouter } from "./routers.js";

export const BGP_LAB_PASSWORD = "bgp-lab-secret";
export const ROUTER_ASN = 64500;
export const NODE_ASN = 64512;

export interface BgpLabOptions {
  nodes?: readonly string[];
  /** The router's AS (default ROUTER_ASN, eBGP); NODE_ASN makes the sessions iBGP. */
  routerAsn?: number;
  /** Extra lab hosts (e.g. a client). */
  extraHosts?: ReadonlyArray<{ name: string; index: number }>;
  /**
   * Run each speaker as its own process inside its node's namespace (as in production, BGP and Layer 2 together,
   * the apiserver reached through a unix-socket bridge) instead of in this process (BGP only).
   */
  speakerProcesses?: boolean;
  /**
   * How each node's FRR runs. "testenv" (default): testenv/src/frr.ts (daemonized, one directory, listening on 179).
   * "frr-start" (needs speakerProcesses): the speaker Pod's FRR container as config/speaker/speaker-frr.yaml wires
   * it, from the real speaker image (testcontainers over podman): frr-start with the startup ConfigMap (bgpd -p 0:
   * the node connects out), directories bind-mounted as the emptyDirs shared with the speaker process, both
   * confined as the manifest says (FrrContainer in frr-container.ts).
   */
  nodeFrr?: "testenv" | "frr-start";
  /**
   * The upstream router. "frr-process" (default): FRR started by testenv/src/frr.ts in the router's namespace
   * (lab.frr("router")). "frr", "bird", "gobgp": a lab-router container in that namespace (routers.ts; BgpLab.router),
   * peering with every node over IPv4 and IPv6 (the IPv6 sessions need a BGPPeer for the router's IPv6 address).
   */
  router?: "frr-process" | RouterKind;
  /** Extra flags of every speaker process (e.g. ["--drain-settle", "1"]). */
  speakerArgs?: readonly string[];
  /** Flags of node itself for the operator and speaker processes (e.g. --cpu-prof). */
  nodeArgs?: readonly string[];
  /** Use this control plane instead of starting one. */
  controlPlane?: ApiServerHandle;
  log?: Logger;
}

export interface BgpLab {
  cp: ApiServerHandle;
  kc: k8s.KubeConfig;
  lab: NetLab;
  /** The in-process operator (undefined with speakerProcesses: the operator then runs as a process too). */
  operator: Operator | undefined;
  /** With speakerProcesses: the operator process's pid and the loopback port of its /metrics. */
  operatorProcess: { pid: number; metricsPort: number } | undefined;
  speakers: Map<string, Speaker>;
  /** Each in-process speaker's metrics registry (what its /metrics serves). */
  registries: Map<string, Registry>;
  /** The speaker processes (with speakerProcesses). */
  processes: Map<string, SpeakerProcess>;
  /** Each node's FRR container (with nodeFrr "frr-start"; the nodes then have no lab.frr(node)). */
  frrContainers: Map<string, FrrContainer>;
  /** The router container (with a container router kind). */
  router: UpstreamRouter | undefined;
  nodes: readonly string[];
  stop(): Promise<void>;
}

function routerConfig(lab: NetLab, nodes: readonly string[], routerAsn: number): string {
  const lines = [
    "frr defaults traditional",
    `log file ${lab.dir}/frr-router/frr.log`,
    "bfd",
    " profile fast",
    "  receive-interval 100",
    "  transmit-interval 100",
    " exit",
    "exit",
    // RFC 8326 section 4.2: a receiver lowers LOCAL_PREF of paths tagged GRACEFUL_SHUTDOWN, so it prefers any other
    // path while the sender drains (for eBGP the sender cannot set LOCAL_PREF itself).
    "bgp community-list standard GSHUT seq 5 permit graceful-shutdown",
    "route-map gshut-in permit 10",
    " match community GSHUT",
    " set local-preference 0",
    "exit",
    "route-map gshut-in permit 20",
    "exit",
    `router bgp ${routerAsn}`,
    ` bgp router-id ${lab.host("router").ipv4}`,
    " no bgp ebgp-requires-policy",
  ];
  for (const n of nodes) {
    const ip = lab.host(n).ipv4;
    lines.push(
      ` neighbor ${ip} remote-as ${NODE_ASN}`,
      ` neighbor ${ip} password ${BGP_LAB_PASSWORD}`,
      ` neighbor ${ip} timers 3 9`,
      ` neighbor ${ip} timers connect 1`,
      ` neighbor ${ip} bfd profile fast`,
    );
  }
  const multipath = routerAsn === NODE_ASN ? "  maximum-paths ibgp 8" : "  maximum-paths 8";
  lines.push(
    " address-family ipv4 unicast",
    multipath,
    ...nodes.map((n) => `  neighbor ${lab.host(n).ipv4} route-map gshut-in in`),
    " exit-address-family",
    "exit",
    "",
  );
  return lines.join("\n");
}

/** The metallb.io objects of the lab's BGP setup: the router peer with its password Secret and BFD profile. */
async function applyPeerConfig(kc: k8s.KubeConfig, lab: NetLab, nodes: readonly string[], routerAsn: number): Promise<void> {
  await ensureNamespace(kc, METALLB_NS);
  for (const n of nodes) {
    await apply(kc, { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { "kubernetes.io/hostname": n } } }, "nodes");
    // No kubelet here: the node's address (speakers exchange heartbeats on it) is set as a kubelet would.
    await kubeRequest(
      kc,
      "PATCH",
      `/api/v1/nodes/${n}/status`,
      {
        status: {
          addresses: [
            { type: "InternalIP", address: lab.host(n).ipv4 },
            { type: "Hostname", address: n },
          ],
        },
      },
      "application/merge-patch+json",
    );
  }
  await passwordSecret(kc, "router-pw", BGP_LAB_PASSWORD);
  await applyMetallb(kc, "BFDProfile", "fast", { receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3 });
  await applyMetallb(kc, "BGPPeer", "router", {
    myASN: NODE_ASN,
    peerASN: routerAsn,
    peerAddress: lab.host("router").ipv4,
    holdTime: "9s",
    keepaliveTime: "3s",
    connectTime: "1s",
    passwordSecret: { name: "router-pw" },
    bfdProfile: "fast",
  });
}

export async function startBgpLab(opts: BgpLabOptions = {}): Promise<BgpLab> {
  const nodes = opts.nodes ?? ["node1", "node2"];
  const frrStart = opts.nodeFrr === "frr-start";
  if (frrStart && opts.speakerProcesses !== true) throw new Error('startBgpLab: nodeFrr "frr-start" needs speakerProcesses');
  const log = opts.log ?? jsonLogger({ write: () => undefined, level: "error" });
  const ours = opts.controlPlane === undefined ? await ControlPlane.start() : undefined;
  const cp: ApiServerHandle = opts.controlPlane ?? (ours as ControlPlane);
  const kc = cp.kubeConfig();
  const lab = await NetLab.create([{ name: "router", index: 1 }, ...nodes.map((name, i) => ({ name, index: 11 + i })), ...(opts.extraHosts ?? [])]);
  const speakers = new Map<string, Speaker>();
  const registries = new Map<string, Registry>();
  const processes = new Map<string, SpeakerProcess>();
  const frrContainers = new Map<string, FrrContainer>();
  let operator: Operator | undefined;
  let router: UpstreamRouter | undefined;
  let bridge: ApiBridge | undefined;
  let operatorProcess: ChildProcess | undefined;
  let removeOperatorHook = (): void => undefined;
  const stop = async (): Promise<void> => {
    for (const s of speakers.values()) await s.stop();
    for (const p of processes.values()) await p.stop();
    for (const f of frrContainers.values()) await f.stop();
    await bridge?.stop();
    await operator?.stop();
    if (operatorProcess?.pid !== undefined) await terminate(operatorProcess.pid, 5_000);
    removeOperatorHook();
    await router?.stop();
    await lab.destroy();
    await ours?.stop();
  };
  try {
    await lab.enableForwarding("router");
    const routerAsn = opts.routerAsn ?? ROUTER_ASN;
    const routerKind = opts.router ?? "frr-process";
    if (routerKind === "frr-process") await lab.startFrr("router", routerConfig(lab, nodes, routerAsn));
    else {
      const peers = nodes.flatMap((n) => [lab.host(n).ipv4, lab.host(n).ipv6].map((address) => ({ address, asn: NODE_ASN })));
      router = await startRouter({ kind: routerKind, lab, host: "router", asn: routerAsn, peers, password: BGP_LAB_PASSWORD });
    }
    if (!frrStart) for (const n of nodes) await lab.startFrr(n, `frr defaults traditional\nlog file ${lab.dir}/frr-${n}/frr.log\n`);
    await applyPeerConfig(kc, lab, nodes, routerAsn);
    if (opts.speakerProcesses === true) {
      // As in production: the operator and one speaker per node are processes (the speakers in their nodes'
      // namespaces, reaching the apiserver through a unix-socket bridge).
      // Both run with their ServiceAccounts' tokens and the manifests' RBAC (config/rbac), as in a cluster.
      const rbac = await installComponentRbac(kc, { namespace: METALLB_NS, dir: cp.dir });
      const mainJs = await buildSpeaker();
      const operatorJs = join(dirname(dirname(dirname(mainJs))), "operator", "src", "main.js");
      const operatorMetricsPort = await freePort();
      const opProc = spawnLogged(
        process.execPath,
        [
          ...(opts.nodeArgs ?? []),
          operatorJs,
          "--leader-elect=false",
          "--webhook-mode=disabled",
          `--metrics-addr=127.0.0.1:${operatorMetricsPort}`,
          "--identity=lab",
        ],
        join(cp.dir, "operator.log"),
        {
          env: { ...process.env, KUBECONFIG: rbac.operator.kubeconfigPath, METALLB_TS_STATE_DIR: cp.dir },
        },
      );
      operatorProcess = opProc;
      removeOperatorHook = addExitHook(() => {
        if (opProc.pid !== undefined && isAlive(opProc.pid)) process.kill(opProc.pid, "SIGKILL");
      });
      bridge = await ApiBridge.start(join(cp.dir, "api.sock"), Number(new URL(cp.server).port));
      const pod = frrStart ? speakerPod() : undefined;
      for (const n of nodes) {
        await bridge.enter(lab, n, join(cp.dir, `bridge-${n}.log`));
        if (pod === undefined) {
          const sp = new SpeakerProcess({
            lab,
            host: n,
            kubeconfigPath: rbac.speaker.kubeconfigPath,
            mainJs,
            logFile: join(cp.dir, `speaker-${n}.log`),
            frrDir: lab.frr(n).dir,
            ...(opts.speakerArgs !== undefined ? { args: opts.speakerArgs } : {}),
            ...(opts.nodeArgs !== undefined ? { nodeArgs: opts.nodeArgs } : {}),
          });
          await sp.start();
          processes.set(n, sp);
          continue;
        }
        // The Pod's containers in the manifest's order (the kubelet does not wait for one before the next): the
        // speaker comes up before FRR and notices it through the pid files.
        const fc = new FrrContainer({ lab, host: n, dir: join(lab.dir, `pod-${n}`), pod });
        frrContainers.set(n, fc);
        const sp = new SpeakerProcess({
          lab,
          host: n,
          kubeconfigPath: rbac.speaker.kubeconfigPath,
          mainJs,
          logFile: join(cp.dir, `speaker-${n}.log`),
          frrDir: fc.runDir,
          frrConfig: join(fc.confDir, "frr.conf"),
          wrap: confinementPrefix(pod.speaker),
        });
        await sp.start();
        processes.set(n, sp);
        await fc.start();
      }
      const operatorProc = { pid: opProc.pid ?? 0, metricsPort: operatorMetricsPort };
      return { cp, kc, lab, operator: undefined, operatorProcess: operatorProc, speakers, registries, processes, frrContainers, router, nodes, stop };
    }
    operator = new Operator({
      kc,
      settings: {
        namespace: METALLB_NS,
        lbClass: null,
        defaultLbClass: false,
        identity: "lab",
        leaderElection: { enabled: false, leaseName: "x", leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      },
      log: log.child({ component: "operator" }),
      registry: new Registry(),
    });
    await operator.start();
    for (const n of nodes) {
      const frr = lab.frr(n);
      const vtyshArgs = ["--vty_socket", frr.dir, "--config_dir", frr.dir];
      const registry = new Registry();
      registries.set(n, registry);
      const sp = new Speaker({
        kc,
        settings: { nodeName: n, namespace: METALLB_NS, frrLogLevel: "info", stateIntervalMs: 500, frrSocketDir: frr.dir },
        log: log.child({ component: "speaker", node: n }),
        registry,
        frr: new FrrApplier({ vtyshArgs, configPath: `${frr.dir}/frr.conf`, log: log.child({ component: "frr", node: n }) }),
        vtysh: (c) => frr.vtysh(c),
      });
      await sp.start();
      speakers.set(n, sp);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { cp, kc, lab, operator, operatorProcess: undefined, speakers, registries, processes, frrContainers, router, nodes, stop };
}
