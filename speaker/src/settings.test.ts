import { describe, expect, test } from "@jest/globals";
import { DEFAULT_HANDOVER_FORWARD_MS, DEFAULT_L2_PORT, DEFAULT_L2_SECRET } from "./layer2/l2-speaker.js";
import { parseSpeakerSettings } from "./settings.js";

describe("parseSpeakerSettings", () => {
  test("defaults (node name from the environment)", () => {
    const r = parseSpeakerSettings([], { METALLB_NODE_NAME: "n1" });
    expect(r.ok && r.settings).toEqual({
      nodeName: "n1",
      namespace: "metallb-system",
      frrDir: "/var/run/frr",
      frrConfig: "/etc/frr/frr.conf",
      metricsHost: "0.0.0.0",
      metricsPort: 7473,
      logLevel: "info",
      bgp: true,
      l2: { port: DEFAULT_L2_PORT, handoverForwardMs: DEFAULT_HANDOVER_FORWARD_MS, secretName: DEFAULT_L2_SECRET, allowInterfaces: null },
      drain: { timeoutMs: 10_000, settleMs: 2_000 },
    });
  });

  test("flags win over env; both flag forms", () => {
    const r = parseSpeakerSettings(
      [
        "--node-name",
        "n2",
        "--namespace=lb",
        "--frr-dir",
        "/run/f",
        "--frr-config=/etc/f/frr.conf",
        "--metrics-addr",
        "127.0.0.1:0",
        "--log-level=debug",
        "--disable-bgp",
        "--l2-port",
        "9000",
        "--l2-secret=key",
        "--l2-interfaces",
        "eth1, eth2",
        "--l2-handover-forward-seconds=0",
        "--drain-timeout=0",
        "--drain-settle",
        "0.5s",
      ],
      { METALLB_NODE_NAME: "n1", METALLB_NAMESPACE: "other" },
    );
    expect(r.ok && r.settings).toEqual({
      nodeName: "n2",
      namespace: "lb",
      frrDir: "/run/f",
      frrConfig: "/etc/f/frr.conf",
      metricsHost: "127.0.0.1",
      metricsPort: 0,
      logLevel: "debug",
      bgp: false,
      l2: { port: 9000, handoverForwardMs: 0, secretName: "key", allowInterfaces: ["eth1", "eth2"] },
      drain: { timeoutMs: 0, settleMs: 500 },
    });
  });

  test("--disable-l2 turns the Layer 2 path off; --disable-bgp=false leaves BGP on", () => {
    const r = parseSpeakerSettings(["--node-name=n", "--disable-l2", "--disable-bgp=false"], {});
    expect(r.ok && { l2: r.settings.l2, bgp: r.settings.bgp }).toEqual({ l2: undefined, bgp: true });
  });

  test.each([
    [[], /--node-name \(or METALLB_NODE_NAME\) is required/],
    [["--node-name="], /--node-name \(or METALLB_NODE_NAME\) is required/],
    [["--node-name", "n", "--bogus"], /^unknown flag --bogus$/],
    [["--node-name", "n", "--nodename=x"], /^unknown flag --nodename$/],
    [["--node-name", "n", "stray"], /unexpected argument "stray"/],
    [["--node-name"], /flag --node-name needs a value/],
    [["--node-name", "--disable-bgp"], /flag --node-name needs a value/],
    [["--node-name", "n", "--log-level", "chatty"], /--log-level must be debug, info, warn or error/],
    [["--node-name", "n", "--metrics-addr", "7473"], /--metrics-addr must be HOST:PORT/],
    [["--node-name", "n", "--metrics-addr", "0.0.0.0:70000"], /--metrics-addr must be HOST:PORT/],
    [["--node-name", "n", "--l2-port", "0"], /--l2-port must be a port number/],
    [["--node-name", "n", "--l2-port", "7947x"], /--l2-port must be a port number/],
    [["--node-name", "n", "--disable-l2=yes"], /--disable-l2 must be true or false/],
    [["--node-name", "n", "--drain-timeout", "ten"], /--drain-timeout must be a number of seconds/],
    [["--node-name", "n", "--drain-settle", "2m"], /--drain-settle must be a number of seconds/],
    [["--node-name", "n", "--l2-handover-forward-seconds", "1m"], /--l2-handover-forward-seconds must be a number of seconds/],
  ])("%j is refused", (argv, want) => {
    const r = parseSpeakerSettings(argv, {});
    expect(r.ok ? "accepted" : r.error).toMatch(want);
  });
});
