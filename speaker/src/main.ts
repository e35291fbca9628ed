// metallb-ts speaker entry point: reads flags and env, wires the speaker to the co-located FRR (BGP) and to the
// node's interfaces (Layer 2), handles signals.
import { dirname } from "node:path";
import { Registry, collectDefaultMetrics } from "prom-client";
import { installExitReasons, type ExitReasons } from "../../shell/src/exit-reasons.js";
import { startHttpServer } from "../../shell/src/http-server.js";
import { kubeClientFor, registerKubeClientMetrics } from "../../shell/src/kube-client.js";
import { loadKubeConfig } from "../../shell/src/kubeconfig.js";
import { jsonLogger } from "../../shell/src/logger.js";
import { parseSpeakerSettings, SPEAKER_USAGE } from "./settings.js";
import { Speaker, type FrrConfigApplier } from "./speaker.js";
import { vtyshShow } from "./vtysh.js";

/** FRR is loaded only in BGP mode, so a Layer 2-only speaker needs none of it. */
async function frrApplier(vtyshArgs: string[], configPath: string, log: ReturnType<typeof jsonLogger>): Promise<FrrConfigApplier> {
  const { FrrApplier } = await import("./frr/applier.js");
  return new FrrApplier({ vtyshArgs, configPath, log: log.child({ component: "frr" }) });
}

async function main(started: { exits?: ExitReasons }): Promise<void> {
  const parsed = parseSpeakerSettings(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n${SPEAKER_USAGE}\n`);
    process.exit(2);
  }
  const { nodeName, logLevel: level, frrDir, frrConfig, l2, bgp } = parsed.settings;
  const podName = process.env.METALLB_POD_NAME;
  const podUid = process.env.METALLB_POD_UID;
  const log = jsonLogger({ write: (l) => process.stdout.write(l), level, base: { component: "speaker", node: nodeName } });
  // Every exit logged with its cause, restarts counted (shell/src/exit-reasons.ts); the Pod's /tmp is an emptyDir.
  const exits: ExitReasons = installExitReasons({
    log,
    proc: process,
    component: "speaker",
    instance: nodeName,
    stateDir: process.env.METALLB_TS_STATE_DIR ?? "/tmp",
  });
  started.exits = exits;
  // A signal during startup exits at once (the cause is logged); once running, the speaker stops gracefully.
  const running = exits.stopOnSignal();
  // vtysh reads its vtysh.conf next to frr.conf (integrated configuration).
  const vtyshArgs = ["--vty_socket", frrDir, "--config_dir", dirname(frrConfig)];
  // $KUBECONFIG, ~/.kube/config or the in-cluster ServiceAccount (token re-read as it rotates); our own loader, so
  // the process never loads @kubernetes/client-node (~110 MiB of RSS).
  const kc = loadKubeConfig(process.env);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One pooled client per process for every API call through kc; writes logged at debug; counters in /metrics.
  registerKubeClientMetrics(registry, kubeClientFor(kc, { log: log.child({ component: "kube-client" }) }));
  const speaker = new Speaker({
    kc,
    settings: {
      nodeName,
      namespace: parsed.settings.namespace,
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
  const server = await startHttpServer({ host: parsed.settings.metricsHost, port: parsed.settings.metricsPort, registry, ready: () => ready, log });
  await speaker.start();
  ready = true;
  log.info({ port: server.port }, "speaker started");
  // SIGTERM: BGP make before break (GRACEFUL_SHUTDOWN, then withdraw; bounded), then stop.
  running.whenRunning(() =>
    speaker
      .drain(parsed.settings.drain)
      .then(() => speaker.stop())
      .then(() => server.close()),
  );
}

const started: { exits?: ExitReasons } = {};
main(started).catch((e: unknown) => {
  started.exits?.record("startup failed");
  process.stderr.write(`speaker failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
