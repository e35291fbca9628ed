// A whole Layer 2 installation: control plane, lab (client + nodes), operator in-process, speakers as processes
// (their ServiceAccounts' RBAC from config/rbac), the apiserver bridged into each node namespace.
import { join } from "node:path";
import { decodeNodeConfigSpec, decodeServiceEntry } from "../../model/src/announce/contract.js";
import { joinL2 } from "../../model/src/layer2/plan.js";
import { formatIP } from "../../model/src/net/ip.js";
import type * as k8s from "@kubernetes/client-node";
import { Registry } from "prom-client";
import { Operator } from "../../operator/src/operator.js";
import { kubeRequest, statusMessage } from "../../shell/src/kube-raw.js";
import { silentLogger } from "../../shell/src/logger.js";
import { ApiBridge } from "./api-bridge.js";
import { ControlPlane } from "./control-plane.js";
import { NetLab } from "./netlab.js";
import { apply, applyMetallb, createService, ensureNamespace, METALLB_NS, pool, waitForIPs } from "./objects.js";
import { installComponentRbac } from "./rbac.js";
import { buildSpeaker, SpeakerProcess } from "./speaker-process.js";

export interface L2LabOptions {
  nodes?: readonly string[];
  /** Per node extra speaker flags. */
  speakerArgs?: (node: string) => readonly string[];
  /** Called for each node namespace before its speaker starts (e.g. to add interfaces). */
  prepareNode?: (lab: NetLab, node: string) => Promise<void>;
  log?: (line: string) => void;
}

export interface L2Lab {
  cp: ControlPlane;
  kc: k8s.KubeConfig;
  lab: NetLab;
  operator: Operator;
  bridge: ApiBridge;
  speakers: Map<string, SpeakerProcess>;
  nodes: readonly string[];
  dir: string;
  /** The node order of the plan for an IP (joined from the published NodeConfigs and AnnouncementShards). */
  candidates(ip: string): Promise<string[]>;
  stop(): Promise<void>;
}

export const L2_LAB_KEY = "l2-lab-shared-heartbeat-key-0123456789";

export async function startL2Lab(opts: L2LabOptions = {}): Promise<L2Lab> {
  const nodes = opts.nodes ?? ["node1", "node2"];
  const log = opts.log ?? ((): void => undefined);
  const mainJs = await buildSpeaker(log);
  const cp = await ControlPlane.start();
  const kc = cp.kubeConfig();
  const speakers = new Map<string, SpeakerProcess>();
  let lab: NetLab | undefined;
  let bridge: ApiBridge | undefined;
  let operator: Operator | undefined;
  const stop = async (): Promise<void> => {
    for (const s of speakers.values()) await s.stop();
    await operator?.stop();
    await bridge?.stop();
    await lab?.destroy();
    await cp.stop();
  };
  try {
    lab = await NetLab.create([{ name: "client", index: 5 }, ...nodes.map((name, i) => ({ name, index: 11 + i }))]);
    const apiPort = Number(new URL(cp.server).port);
    bridge = await ApiBridge.start(join(cp.info.dir, "api.sock"), apiPort);
    for (const n of nodes) await bridge.enter(lab, n, join(cp.info.dir, `bridge-${n}.log`));
    await ensureNamespace(kc, METALLB_NS);
    for (const n of nodes) {
      await apply(kc, { apiVersion: "v1", kind: "Node", metadata: { name: n, labels: { "kubernetes.io/hostname": n } } }, "nodes");
      const res = await kubeRequest(
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
      if (res.status >= 300) throw new Error(`node ${n} status: ${statusMessage(res)}`);
    }
    await apply(
      kc,
      { apiVersion: "v1", kind: "Secret", metadata: { name: "metallb-ts-l2-key", namespace: METALLB_NS }, stringData: { secretkey: L2_LAB_KEY } },
      "secrets",
    );
    // The operator and the speakers run with their ServiceAccounts' tokens and the manifests' RBAC (config/rbac).
    const rbac = await installComponentRbac(kc, { namespace: METALLB_NS, dir: cp.info.dir });
    operator = new Operator({
      kc: rbac.operator.kubeConfig(),
      settings: {
        namespace: METALLB_NS,
        lbClass: null,
        defaultLbClass: false,
        identity: "l2-lab",
        leaderElection: { enabled: false, leaseName: "x", leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      },
      log: silentLogger,
      registry: new Registry(),
    });
    await operator.start();
    for (const n of nodes) {
      await opts.prepareNode?.(lab, n);
      const sp = new SpeakerProcess({
        lab,
        host: n,
        kubeconfigPath: rbac.speaker.kubeconfigPath,
        mainJs,
        logFile: join(cp.info.dir, `speaker-${n}.log`),
        args: opts.speakerArgs?.(n) ?? [],
      });
      await sp.start();
      speakers.set(n, sp);
    }
  } catch (e) {
    await stop();
    throw e;
  }
  const candidates = async (ip: string): Promise<string[]> => {
    // What every speaker reads: all NodeConfigs and AnnouncementShards, joined by the same pure planner.
    const api = `/apis/metallb-ts.dev/v1alpha1/namespaces/${METALLB_NS}`;
    const items = async (what: string): Promise<Array<{ spec?: unknown }>> =>
      ((await kubeRequest(kc, "GET", `${api}/${what}`)).body as { items?: Array<{ spec?: unknown }> }).items ?? [];
    const halves = (await items("nodeconfigs")).flatMap((o) => {
      const d = decodeNodeConfigSpec(o.spec);
      return d.ok ? [d.value.node] : [];
    });
    const entries = (await items("announcementshards")).flatMap((o) =>
      Object.entries((o.spec as { services?: Record<string, unknown> } | undefined)?.services ?? {}).flatMap(([key, v]) => {
        const d = decodeServiceEntry(key, v);
        return d.ok ? [d.value] : [];
      }),
    );
    return (
      joinL2(entries, halves)
        .ips.find((p) => formatIP(p.ip) === ip)
        ?.candidates.map((c) => c.node) ?? []
    );
  };
  return { cp, kc, lab, operator, bridge, speakers, nodes, dir: cp.info.dir, candidates, stop };
}

/**
 * The Layer 2 Service most tests start from: Service apps/web in pool "lan" (10.111.0.200-209, selected by the
 * L2Advertisement "lan"), with a ready endpoint on every node of the lab. Returns its IP once assigned.
 */
export async function serveWebOverL2(l2: L2Lab): Promise<string> {
  const kc = l2.kc;
  await ensureNamespace(kc, "apps");
  await pool(kc, "lan", { addresses: ["10.111.0.200-10.111.0.209"] });
  await applyMetallb(kc, "L2Advertisement", "lan", { ipAddressPools: ["lan"] });
  await createService(kc, "apps", "web", { annotations: { "metallb.io/address-pool": "lan" } });
  await apply(
    kc,
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "web-1", namespace: "apps", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      endpoints: l2.nodes.map((n, i) => ({ addresses: [`10.244.${i}.10`], nodeName: n, conditions: { ready: true } })),
      ports: [{ port: 80, protocol: "TCP" }],
    },
    "endpointslices",
  );
  const ip = (await waitForIPs(kc, "apps", "web")).ips[0];
  if (ip === undefined) throw new Error("Service apps/web got no IP");
  return ip;
}
