// Speaker settings from flags (--name=value or --name value; node:util.parseArgs, strict) over environment variables
// over defaults. Pure: main.ts passes argv and env in. Unknown flags and bad values are refused, as the operator does.
import { parseFlags, type FlagSpec } from "../../shell/src/flags.js";
import type { LogLevel } from "../../shell/src/logger.js";
import { DEFAULT_HANDOVER_FORWARD_MS, DEFAULT_L2_PORT, DEFAULT_L2_SECRET } from "./layer2/l2-speaker.js";
import type { DrainSettings, SpeakerL2Settings } from "./speaker.js";

export interface SpeakerProcessSettings {
  nodeName: string;
  namespace: string;
  /** FRR's vty socket directory. */
  frrDir: string;
  /** Where frr.conf is written. */
  frrConfig: string;
  metricsHost: string;
  metricsPort: number;
  logLevel: LogLevel;
  /** The BGP path (FRR on this node); false with --disable-bgp. */
  bgp: boolean;
  /** The Layer 2 path; undefined with --disable-l2. */
  l2: SpeakerL2Settings | undefined;
  /** BGP drain on SIGTERM (make before break). */
  drain: DrainSettings;
}

export type SpeakerSettingsResult = { ok: true; settings: SpeakerProcessSettings } | { ok: false; error: string };

export const SPEAKER_USAGE = `usage: metallb-ts-speaker --node-name NODE [flags]
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
  --l2-interfaces A,B       only ever announce Layer 2 IPs on these interfaces (default: any usable one)
  --l2-handover-forward-seconds S
                            after taking a Layer 2 IP over from a live owner (it left, is cordoned or is preempted),
                            pass the TCP packets of connections this node did not start back to it for S seconds
                            (nftables, needs CAP_NET_ADMIN; default ${DEFAULT_HANDOVER_FORWARD_MS / 1000}; 0 = off)
  --drain-timeout SECONDS   on SIGTERM, bound on the BGP drain: GRACEFUL_SHUTDOWN (RFC 8326), then withdraw (default 10; 0 = none)
  --drain-settle SECONDS    time the routers get to prefer other nodes before the withdrawal (default 2)`;

const FLAGS: FlagSpec = {
  "node-name": "string",
  namespace: "string",
  "frr-dir": "string",
  "frr-config": "string",
  "metrics-addr": "string",
  "log-level": "string",
  "disable-bgp": "boolean",
  "disable-l2": "boolean",
  "l2-port": "string",
  "l2-secret": "string",
  "l2-interfaces": "string",
  "l2-handover-forward-seconds": "string",
  "drain-timeout": "string",
  "drain-settle": "string",
};

/** Seconds (`10`, `2.5`, `10s`) as milliseconds; undefined when not a non-negative number. */
const secondsOf = (v: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)s?$/.exec(v);
  return m === null ? undefined : Math.round(Number(m[1]) * 1000);
};

const isLogLevel = (v: string): v is LogLevel => v === "debug" || v === "info" || v === "warn" || v === "error";

const portOf = (v: string): number | undefined => {
  const n = Number(v);
  return /^\d+$/.test(v) && n <= 65535 ? n : undefined;
};

export function parseSpeakerSettings(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): SpeakerSettingsResult {
  const parsed = parseFlags(argv, FLAGS);
  if (!parsed.ok) return parsed;
  const given = parsed.flags.values;
  const str = (name: string): string | undefined => {
    const v = given.get(name);
    return typeof v === "string" ? v : undefined;
  };
  const nodeName = str("node-name") ?? env.METALLB_NODE_NAME;
  if (nodeName === undefined || nodeName === "") return { ok: false, error: "--node-name (or METALLB_NODE_NAME) is required" };
  const logLevel = str("log-level") ?? "info";
  if (!isLogLevel(logLevel)) return { ok: false, error: `--log-level must be debug, info, warn or error, got ${JSON.stringify(logLevel)}` };
  const addrText = str("metrics-addr") ?? "0.0.0.0:7473";
  const addr = /^(.*):(\d+)$/.exec(addrText);
  const metricsPort = addr === null ? undefined : portOf(addr[2] ?? "");
  if (addr === null || metricsPort === undefined) return { ok: false, error: `--metrics-addr must be HOST:PORT, got ${JSON.stringify(addrText)}` };
  const timeoutMs = secondsOf(str("drain-timeout") ?? "10");
  if (timeoutMs === undefined) return { ok: false, error: "--drain-timeout must be a number of seconds" };
  const settleMs = secondsOf(str("drain-settle") ?? "2");
  if (settleMs === undefined) return { ok: false, error: "--drain-settle must be a number of seconds" };
  let l2: SpeakerL2Settings | undefined;
  if (given.get("disable-l2") !== true) {
    const port = portOf(str("l2-port") ?? String(DEFAULT_L2_PORT));
    if (port === undefined || port === 0) return { ok: false, error: "--l2-port must be a port number" };
    const ifaces = str("l2-interfaces");
    const handoverForwardMs = secondsOf(str("l2-handover-forward-seconds") ?? String(DEFAULT_HANDOVER_FORWARD_MS / 1000));
    if (handoverForwardMs === undefined) return { ok: false, error: "--l2-handover-forward-seconds must be a number of seconds" };
    l2 = {
      port,
      handoverForwardMs,
      secretName: str("l2-secret") ?? DEFAULT_L2_SECRET,
      allowInterfaces:
        ifaces === undefined || ifaces === ""
          ? null
          : ifaces
              .split(",")
              .map((s) => s.trim())
              .filter((s) => s !== ""),
    };
  }
  return {
    ok: true,
    settings: {
      nodeName,
      namespace: str("namespace") ?? env.METALLB_NAMESPACE ?? "metallb-system",
      frrDir: str("frr-dir") ?? "/var/run/frr",
      frrConfig: str("frr-config") ?? "/etc/frr/frr.conf",
      metricsHost: addr[1] ?? "0.0.0.0",
      metricsPort,
      logLevel,
      bgp: given.get("disable-bgp") !== true,
      l2,
      drain: { timeoutMs, settleMs },
    },
  };
}
