// metallb-ts operator entry point: the composition root. Reads flags and env, wires the operator, handles signals
// and exit codes. Nothing else in the operator reads the environment or exits.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { Registry, collectDefaultMetrics } from "prom-client";
import { installExitReasons, type ExitReasons } from "../../shell/src/exit-reasons.js";
import { startHttpServer } from "../../shell/src/http-server.js";
import { kubeClientFor, registerKubeClientMetrics } from "../../shell/src/kube-client.js";
import { loadKubeConfig } from "../../shell/src/kubeconfig.js";
import { jsonLogger } from "../../shell/src/logger.js";
import { Operator } from "./operator.js";
import type { RunningWebhook } from "./webhook/server.js";
import { OPERATOR_USAGE, parseOperatorSettings } from "./settings.js";
import { parseSpeakerWorkload, type WorkloadObject } from "./speaker-workload.js";

async function main(started: { exits?: ExitReasons }): Promise<void> {
  const parsed = parseOperatorSettings(process.argv.slice(2), process.env, hostname(), process.pid);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n${OPERATOR_USAGE}\n`);
    process.exit(2);
  }
  const s = parsed.settings;
  const log = jsonLogger({ write: (l) => process.stdout.write(l), level: s.logLevel, base: { component: "operator", identity: s.identity } });
  // Every exit logged with its cause, restarts counted (shell/src/exit-reasons.ts); the Pod's /tmp is an emptyDir.
  const exits: ExitReasons = installExitReasons({
    log,
    proc: process,
    component: "operator",
    instance: s.identity,
    stateDir: process.env.METALLB_TS_STATE_DIR ?? "/tmp",
  });
  started.exits = exits;
  // A signal during startup exits at once (the cause is logged); once running, the operator stops gracefully.
  const running = exits.stopOnSignal();

  let speakerWorkload: WorkloadObject[] | undefined;
  if (s.speakerWorkload !== undefined) {
    const parsedWorkload = parseSpeakerWorkload(readFileSync(s.speakerWorkload.file, "utf8"), s.speakerWorkload.file, {
      namespace: s.namespace,
      ...(s.speakerWorkload.image !== undefined ? { speakerImage: s.speakerWorkload.image } : {}),
    });
    if (typeof parsedWorkload === "string") {
      exits.fail(2, "invalid --speaker-workload", { err: parsedWorkload });
    }
    speakerWorkload = parsedWorkload;
  }

  // $KUBECONFIG, ~/.kube/config or the in-cluster ServiceAccount (token re-read as it rotates); our own loader, so
  // the process never loads @kubernetes/client-node (~110 MiB of RSS).
  const kc = loadKubeConfig(process.env);
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
    ...(s.speakerWorkload?.owner !== undefined ? { speakerWorkloadOwner: s.speakerWorkload.owner } : {}),
    onLostLeadership: () => exits.fail(1, "lost leadership, exiting so a fresh process campaigns again"),
  });
  // Ready once the caches synced (and, leading, the first pass is done) and, with generated webhook certificates, this
  // replica's CA is in every caBundle: the webhook Service sends it admission requests only then.
  let webhook: RunningWebhook | undefined;
  const ready = (): boolean => operator.ready && (webhook === undefined || webhook.ready);
  const server = await startHttpServer({ host: s.metricsHost, port: s.metricsPort, registry, ready, log });
  log.info({ port: server.port, namespace: s.namespace, lbClass: s.lbClass }, "operator starting");

  // Every replica serves the webhooks (not only the leader), so a restarting pod blocks nothing.
  if (s.webhook.enabled) {
    // Loaded only when served (its TLS server, certificate rotation and file watcher).
    const { startOperatorWebhook } = await import("./webhook/server.js");
    webhook = await startOperatorWebhook({
      kc,
      namespace: s.namespace,
      log,
      port: s.webhook.port,
      certDir: s.webhook.certDir,
      serviceName: s.webhook.serviceName,
      certSource: s.webhook.certSource,
      identity: s.identity,
    });
  }

  const startup = setTimeout(() => exits.fail(1, "caches did not sync in time", { timeoutMs: s.startupTimeoutMs }), s.startupTimeoutMs);
  await operator.start();
  clearTimeout(startup);

  running.whenRunning(() =>
    operator
      .stop()
      .then(() => webhook?.stop())
      .then(() => server.close()),
  );
}

const started: { exits?: ExitReasons } = {};
main(started).catch((e: unknown) => {
  started.exits?.record("startup failed");
  process.stderr.write(`operator failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
