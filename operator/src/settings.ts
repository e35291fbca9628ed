// Operator settings from flags (--name=value or --name value; node:util.parseArgs, strict) over environment variables
// over defaults. Pure: main.ts passes argv and env in.
import { parseFlags, type FlagSpec } from "../../shell/src/flags.js";
import type { LogLevel } from "../../shell/src/logger.js";
import type { OperatorSettings } from "./operator.js";
import type { WebhookCertSource } from "./webhook/server.js";

export interface OperatorProcessSettings extends OperatorSettings {
  webhook: { enabled: boolean; port: number; certDir: string; serviceName: string; certSource: WebhookCertSource };
  metricsHost: string;
  metricsPort: number;
  logLevel: LogLevel;
  startupTimeoutMs: number;
  /** OLM installs: the leader keeps this file's speaker workload applied (with speakerImage, when set). */
  speakerWorkload: { file: string; image: string | undefined; owner?: string | undefined } | undefined;
}

export type SettingsResult = { ok: true; settings: OperatorProcessSettings } | { ok: false; error: string };

export const OPERATOR_USAGE = `usage: metallb-ts-operator [flags]
  --namespace NS            namespace of the metallb.io objects (env METALLB_NAMESPACE; default metallb-system)
  --lb-class CLASS          handle only Services of this loadBalancerClass (env METALLB_LB_CLASS)
  --default-lb-class        with --lb-class: also handle Services without a class
  --identity ID             leader election identity (env POD_NAME; default hostname-pid)
  --leader-elect=false      run without leader election (single replica)
  --lease-duration S        lease duration in seconds (default 15)
  --renew-deadline MS       step down when not renewed within this (default 10000)
  --retry-period MS         election round period (default 2000)
  --metrics-addr HOST:PORT  /metrics, /healthz, /readyz (default 0.0.0.0:7472; port 0 picks one)
  --webhook-mode MODE       enabled|disabled: serve the validating and conversion webhooks (default enabled)
  --webhook-port PORT       HTTPS port of the webhooks (default 9443)
  --cert-dir DIR            serving certificate directory (default /tmp/k8s-webhook-server/serving-certs)
  --cert-service-name NAME  webhook Service, for the certificate's names (default metallb-webhook-service)
  --webhook-cert-source SRC generated|mounted (default generated): generated = each replica makes its own CA and
                            serving certificate in memory and adds its CA to the webhook configuration's and the
                            BGPPeer CRD's caBundle; mounted = serve the certificate in --cert-dir as it is (OLM,
                            cert-manager: they inject the CA)
  --disable-cert-rotation   the same as --webhook-cert-source=mounted
  --log-level LEVEL         debug|info|warn|error (default info)
  --speaker-workload FILE   keep the speaker DaemonSet of this YAML file applied in the namespace (OLM installs)
  --speaker-image IMAGE     with --speaker-workload: the speaker image to run (env SPEAKER_IMAGE)
  --speaker-workload-owner DEPLOYMENT
                            with --speaker-workload: owner (ownerReference) of the applied objects, so deleting this
                            Deployment of the namespace (OLM: deleting the CSV) garbage-collects them`;

const FLAGS: FlagSpec = {
  "webhook-mode": "string",
  "speaker-workload-owner": "string",
  "webhook-port": "string",
  "cert-dir": "string",
  "cert-service-name": "string",
  "disable-cert-rotation": "boolean",
  "webhook-cert-source": "string",
  namespace: "string",
  "lb-class": "string",
  "default-lb-class": "boolean",
  identity: "string",
  "leader-elect": "boolean",
  "lease-duration": "string",
  "renew-deadline": "string",
  "retry-period": "string",
  "metrics-addr": "string",
  "log-level": "string",
  "startup-timeout": "string",
  "speaker-workload": "string",
  "speaker-image": "string",
};

export function parseOperatorSettings(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  hostname: string,
  pid: number,
): SettingsResult {
  const parsed = parseFlags(argv, FLAGS);
  if (!parsed.ok) return parsed;
  const given = parsed.flags.values;
  const flags = {
    get: (name: string): string | undefined => {
      const v = given.get(name);
      return typeof v === "string" ? v : undefined;
    },
    has: (name: string): boolean => given.has(name),
  };
  const num = (name: string, dflt: number): number | string => {
    const v = flags.get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 ? n : `--${name} must be a non-negative integer, got ${JSON.stringify(v)}`;
  };
  const bool = (name: string, dflt: boolean): boolean => {
    const v = given.get(name);
    return typeof v === "boolean" ? v : dflt;
  };
  const leaseDuration = num("lease-duration", 15);
  const renewDeadline = num("renew-deadline", 10_000);
  const retryPeriod = num("retry-period", 2_000);
  const startup = num("startup-timeout", 120_000);
  const leaderElect = bool("leader-elect", true);
  const webhookPort = num("webhook-port", 9443);
  const certSource = flags.get("webhook-cert-source") ?? (bool("disable-cert-rotation", false) ? "mounted" : "generated");
  if (certSource !== "generated" && certSource !== "mounted") return { ok: false, error: "--webhook-cert-source must be generated or mounted" };
  if (certSource === "generated" && bool("disable-cert-rotation", false))
    return { ok: false, error: "--disable-cert-rotation contradicts --webhook-cert-source=generated" };
  const webhookMode = flags.get("webhook-mode") ?? "enabled";
  if (webhookMode !== "enabled" && webhookMode !== "disabled") return { ok: false, error: "--webhook-mode must be enabled or disabled" };
  if (typeof webhookPort === "string") return { ok: false, error: webhookPort };
  const defaultClass = bool("default-lb-class", false);
  for (const v of [leaseDuration, renewDeadline, retryPeriod, startup]) if (typeof v === "string") return { ok: false, error: v };
  const addr = flags.get("metrics-addr") ?? "0.0.0.0:7472";
  const m = /^(.*):(\d+)$/.exec(addr);
  if (m === null) return { ok: false, error: `--metrics-addr must be HOST:PORT, got ${JSON.stringify(addr)}` };
  const level = flags.get("log-level") ?? "info";
  if (level !== "debug" && level !== "info" && level !== "warn" && level !== "error")
    return { ok: false, error: `--log-level must be debug, info, warn or error` };
  const lbClass = flags.get("lb-class") ?? env.METALLB_LB_CLASS ?? "";
  const workloadFile = flags.get("speaker-workload");
  const speakerImage = flags.get("speaker-image") ?? env.SPEAKER_IMAGE;
  if (speakerImage !== undefined && workloadFile === undefined && flags.has("speaker-image"))
    return { ok: false, error: "--speaker-image needs --speaker-workload" };
  return {
    ok: true,
    settings: {
      namespace: flags.get("namespace") ?? env.METALLB_NAMESPACE ?? "metallb-system",
      lbClass: lbClass === "" ? null : lbClass,
      defaultLbClass: defaultClass,
      identity: flags.get("identity") ?? env.POD_NAME ?? `${hostname}-${pid}`,
      leaderElection: {
        enabled: leaderElect,
        leaseName: "metallb-ts-operator",
        leaseDurationSeconds: leaseDuration as number,
        renewDeadlineMs: renewDeadline as number,
        retryPeriodMs: retryPeriod as number,
      },
      webhook: {
        enabled: webhookMode === "enabled",
        port: webhookPort,
        certDir: flags.get("cert-dir") ?? "/tmp/k8s-webhook-server/serving-certs",
        serviceName: flags.get("cert-service-name") ?? "metallb-webhook-service",
        certSource,
      },
      metricsHost: m[1] ?? "0.0.0.0",
      metricsPort: Number(m[2]),
      logLevel: level,
      startupTimeoutMs: startup as number,
      speakerWorkload:
        workloadFile === undefined || workloadFile === ""
          ? undefined
          : {
              file: workloadFile,
              image: speakerImage === "" ? undefined : speakerImage,
              owner: flags.get("speaker-workload-owner") === "" ? undefined : flags.get("speaker-workload-owner"),
            },
    },
  };
}
