// metallb-ts speaker entry point: reads flags and env, wires the speaker to the co-located FRR (BGP) and to the
// node's interfaces (Layer 2), handles signals.
import * as k8s from "@kubernetes/client-node";
import { dirname } from "node:path";
import { Registry, collectDefaultMetrics } from "prom-client";
import { installExitReasons, type ExitReasons } from "../../shell/src/exit-reasons.js";
import { startHttpServer } from "../../shell/src/http-server.js";
import { kubeClientFor, registerKubeClientMetrics } from "../../shell/src/kube-client.js";
import { jsonLogger, type LogLevel } from "../../shell/src/logger.js";
import { DEFAULT_L2_PORT, DEFAULT_L2_SECRET } from "./layer2/l2-speaker.js";
import { Speaker, type FrrConfigApplier, type SpeakerL2Settings } from "./speaker.js";
import { vtyshShow } from "./vtysh.js";

const USAGE = `usage: metallb-ts-speaker --node-name NODE [flags]
  --node-name NODE          this node (env METALLB_NODE_NAME)
  --namespace NS            namespace of the metallb.io objects (env METALLB_NAMESPACE; default metallb-system)
  --frr-dir DIR             FRR's vty socket directory (default /var/run/frr)
  --frr-config FILE         where frr.conf is written (default /etc/frr/frr.conf)
  --metrics-addr HOST:PORT  /metrics, /healthz, /readyz (default 0.0.0.0:7473)
  --log-level LEVEL         debug|info|warn|error (default info)
  --disable-bgp             no BGP path (no FRR on this node)
  --disable-l2              no Layer 2 path
  --l2-port PORT            UDP port of the Layer 2 heartbeats between speakers (default ${DEFAULT_L2_PORT})
  --l2-secret NAME          Secret (key "secretkey") authenticating the heartbeats (default ${DEFAULT_L2_SECRET})
  --l2-interfaces A,B       only ever announce Layer 2 IPs on these interfaces (default: any usable one)`;

function flag(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

const hasFlag = (args: readonly string[], name: string): boolean => args.includes(`--${name}`) || args.includes(`--${name}=true`);

function l2Settings(args: readonly string[]): SpeakerL2Settings | string {
  const port = Number(flag(args, "l2-port") ?? DEFAULT_L2_PORT);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return "--l2-port must be a port number";
  const ifaces = flag(args, "l2-interfaces");
  return {
    port,
    secretName: flag(args, "l2-secret") ?? DEFAULT_L2_SECRET,
    allowInterfaces: ifaces === undefined || ifaces === "" ? null : ifaces.split(",").map((s) => s.trim()).filter((s) => s !== ""),
  };
}

/** FRR is loaded only in BGP mode, so a Layer 2-only speaker needs none of it. */
async function frrApplier(vtyshArgs: string[], configPath: string, log: ReturnType<typeof jsonLogger>): Promise<FrrConfigApplier> {
  const { FrrApplier } = await import("./frr/applier.js");
  return new FrrApplier({ vtyshArgs, configPath, log: log.child({ component: "frr" }) });
}

async function main(started: { exits?: ExitReasons }): Promise<void> {
  const args = process.argv.slice(2);
  const nodeName = flag(args, "node-name") ?? process.env.METALLB_NODE_NAME;
  if (nodeName === undefined || nodeName === "") {
    process.stderr.write(`--node-name (or METALLB_NODE_NAME) is required\n${USAGE}\n`);
    process.exit(2);
  }
  const podName = process.env.METALLB_POD_NAME;
  const podUid = process.env.METALLB_POD_UID;
  const level = (flag(args, "log-level") ?? "info") as LogLevel;
  const log = jsonLogger({ write: (l) => process.stdout.write(l), level, base: { component: "speaker", node: nodeName } });
  // Every exit logged with its cause, restarts counted (shell/src/exit-reasons.ts); the Pod's /tmp is an emptyDir.
  const exits: ExitReasons = installExitReasons({ log, proc: process, component: "speaker", instance: nodeName, stateDir: process.env.METALLB_TS_STATE_DIR ?? "/tmp" });
  started.exits = exits;
  // A signal during startup exits at once (the cause is logged); once running, the speaker stops gracefully.
  const running: { stop?: () => Promise<void> } = {};
  exits.onSignal(() => {
    (running.stop ?? (() => Promise.resolve()))().then(
      () => process.exit(0),
      (e: unknown) => exits.fail(1, "shutdown failed", { err: e }),
    );
  });
  const frrDir = flag(args, "frr-dir") ?? "/var/run/frr";
  const frrConfig = flag(args, "frr-config") ?? "/etc/frr/frr.conf";
  // vtysh reads its vtysh.conf next to frr.conf (integrated configuration).
  const vtyshArgs = ["--vty_socket", frrDir, "--config_dir", dirname(frrConfig)];
  const addr = /^(.*):(\d+)$/.exec(flag(args, "metrics-addr") ?? "0.0.0.0:7473");
  if (addr === null) {
    process.stderr.write(`--metrics-addr must be HOST:PORT\n${USAGE}\n`);
    process.exit(2);
  }
  const l2 = hasFlag(args, "disable-l2") ? undefined : l2Settings(args);
  if (typeof l2 === "string") {
    process.stderr.write(`${l2}\n${USAGE}\n`);
    process.exit(2);
  }
  const bgp = !hasFlag(args, "disable-bgp");
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One pooled client per process for every API call through kc; writes logged at debug; counters in /metrics.
  registerKubeClientMetrics(registry, kubeClientFor(kc, { log: log.child({ component: "kube-client" }) }));
  const speaker = new Speaker({
    kc,
    settings: {
      nodeName,
      namespace: flag(args, "namespace") ?? process.env.METALLB_NAMESPACE ?? "metallb-system",
      frrLogLevel: "info",
      stateIntervalMs: 2_000,
      frrSocketDir: frrDir,
      // Owner of its ConfigurationState (downward API); outside a Pod the object has no owner.
      pod: podName !== undefined && podName !== "" && podUid !== undefined && podUid !== "" ? { name: podName, uid: podUid } : undefined,
    },
    log,
    registry,
    ...(bgp ? { frr: await frrApplier(vtyshArgs, frrConfig, log), vtysh: vtyshShow(vtyshArgs) } : {}),
    ...(l2 !== undefined ? { l2 } : {}),
  });
  let ready = false;
  const server = await startHttpServer({ host: addr[1] ?? "0.0.0.0", port: Number(addr[2]), registry, ready: () => ready, log });
  await speaker.start();
  ready = true;
  log.info({ port: server.port }, "speaker started");
  running.stop = () => speaker.stop().then(() => server.close());
}

const started: { exits?: ExitReasons } = {};
main(started).catch((e: unknown) => {
  started.exits?.record("startup failed");
  process.stderr.write(`speaker failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
