// metallb-ts speaker entry point: reads flags and env, wires the speaker to the co-located FRR (BGP) and to the
// node's interfaces (Layer 2), handles signals.
import * as k8s from "@kubernetes/client-node";
import { dirname } from "node:path";
import { Registry, collectDefaultMetrics } from "prom-client";
import { startHttpServer } from "../../shell/src/http-server.js";
import { jsonLogger } from "../../shell/src/logger.js";
import { parseSpeakerSettings, SPEAKER_USAGE } from "./settings.js";
import { Speaker, type FrrConfigApplier } from "./speaker.js";
import { vtyshShow } from "./vtysh.js";

/** FRR is loaded only in BGP mode, so a Layer 2-only speaker needs none of it. */
async function frrApplier(vtyshArgs: string[], configPath: string, log: ReturnType<typeof jsonLogger>): Promise<FrrConfigApplier> {
  const { FrrApplier } = await import("./frr/applier.js");
  return new FrrApplier({ vtyshArgs, configPath, log: log.child({ component: "frr" }) });
}

async function main(): Promise<void> {
  const parsed = parseSpeakerSettings(process.argv.slice(2), process.env);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n${SPEAKER_USAGE}\n`);
    process.exit(2);
  }
  const { nodeName, logLevel: level, frrDir, frrConfig, l2, bgp } = parsed.settings;
  const log = jsonLogger({ write: (l) => process.stdout.write(l), level, base: { component: "speaker", node: nodeName } });
  process.on("unhandledRejection", (e) => {
    log.error({ err: e }, "unhandled rejection");
    process.exit(1);
  });
  // vtysh reads its vtysh.conf next to frr.conf (integrated configuration).
  const vtyshArgs = ["--vty_socket", frrDir, "--config_dir", dirname(frrConfig)];
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const speaker = new Speaker({
    kc,
    settings: { nodeName, namespace: parsed.settings.namespace, frrLogLevel: "info", stateIntervalMs: 2_000, frrSocketDir: frrDir },
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
  const shutdown = (): void => {
    speaker
      .stop()
      .then(() => server.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

main().catch((e: unknown) => {
  process.stderr.write(`speaker failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
