// metallb-ts operator entry point: the composition root. Reads flags and env, wires the operator, handles signals
// and exit codes. Nothing else in the operator reads the environment or exits.
import * as k8s from "@kubernetes/client-node";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { Registry, collectDefaultMetrics } from "prom-client";
import { startHttpServer } from "../../shell/src/http-server.js";
import { kubeClientFor, registerKubeClientMetrics } from "../../shell/src/kube-client.js";
import { jsonLogger } from "../../shell/src/logger.js";
import { Operator } from "./operator.js";
import { startOperatorWebhook, type RunningWebhook } from "./webhook/server.js";
import { OPERATOR_USAGE, parseOperatorSettings } from "./settings.js";
import { parseSpeakerWorkload, type WorkloadObject } from "./speaker-workload.js";

async function main(): Promise<void> {
  const parsed = parseOperatorSettings(process.argv.slice(2), process.env, hostname(), process.pid);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n${OPERATOR_USAGE}\n`);
    process.exit(2);
  }
  const s = parsed.settings;
  const log = jsonLogger({ write: (l) => process.stdout.write(l), level: s.logLevel, base: { component: "operator", identity: s.identity } });
  process.on("unhandledRejection", (e) => {
    log.error({ err: e }, "unhandled rejection");
    process.exit(1);
  });
  process.on("uncaughtException", (e) => {
    log.error({ err: e }, "uncaught exception");
    process.exit(1);
  });

  let speakerWorkload: WorkloadObject[] | undefined;
  if (s.speakerWorkload !== undefined) {
    const parsedWorkload = parseSpeakerWorkload(readFileSync(s.speakerWorkload.file, "utf8"), s.speakerWorkload.file, {
      namespace: s.namespace,
      ...(s.speakerWorkload.image !== undefined ? { speakerImage: s.speakerWorkload.image } : {}),
    });
    if (typeof parsedWorkload === "string") {
      log.error({ err: parsedWorkload }, "invalid --speaker-workload");
      process.exit(2);
    }
    speakerWorkload = parsedWorkload;
  }

  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // One pooled client per process for every API call through kc; writes logged at debug; counters in /metrics.
  registerKubeClientMetrics(registry, kubeClientFor(kc, { log: log.child({ component: "kube-client" }) }));
  const operator = new Operator({
    kc,
    settings: s,
    log,
    registry,
    ...(speakerWorkload !== undefined ? { speakerWorkload } : {}),
    onLostLeadership: () => {
      log.error({}, "lost leadership, exiting so a fresh process campaigns again");
      process.exit(1);
    },
  });
  const server = await startHttpServer({ host: s.metricsHost, port: s.metricsPort, registry, ready: () => operator.ready, log });
  log.info({ port: server.port, namespace: s.namespace, lbClass: s.lbClass }, "operator starting");

  // Every replica serves the webhooks (not only the leader), so a restarting pod blocks nothing.
  let webhook: RunningWebhook | undefined;
  if (s.webhook.enabled) {
    webhook = await startOperatorWebhook({ kc, namespace: s.namespace, log, port: s.webhook.port, certDir: s.webhook.certDir, serviceName: s.webhook.serviceName, rotateCerts: s.webhook.rotateCerts });
  }

  const startup = setTimeout(() => {
    log.error({ timeoutMs: s.startupTimeoutMs }, "caches did not sync in time");
    process.exit(1);
  }, s.startupTimeoutMs);
  await operator.start();
  clearTimeout(startup);

  let stopping = false;
  const shutdown = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal: sig }, "shutting down");
    operator
      .stop()
      .then(() => webhook?.stop())
      .then(() => server.close())
      .then(
        () => process.exit(0),
        (e: unknown) => {
          log.error({ err: e }, "shutdown failed");
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((e: unknown) => {
  process.stderr.write(`operator failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
