import { describe, expect, test } from "@jest/globals";
import { parseOperatorSettings } from "./settings.js";

describe("parseOperatorSettings", () => {
  test("defaults", () => {
    const r = parseOperatorSettings([], {}, "host", 7);
    expect(r.ok && r.settings).toMatchObject({
      namespace: "metallb-system",
      lbClass: null,
      defaultLbClass: false,
      identity: "host-7",
      leaderElection: { enabled: true, leaseName: "metallb-ts-operator", leaseDurationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
      webhook: { enabled: true, port: 9443, certDir: "/tmp/k8s-webhook-server/serving-certs", serviceName: "metallb-webhook-service", rotateCerts: true },
      metricsHost: "0.0.0.0",
      metricsPort: 7472,
      logLevel: "info",
    });
  });

  test("flags win over env; both flag forms", () => {
    const r = parseOperatorSettings(
      [
        "--namespace",
        "lb",
        "--lb-class=metallb-ts.dev/lb",
        "--default-lb-class",
        "--leader-elect=false",
        "--webhook-mode=disabled",
        "--disable-cert-rotation",
        "--metrics-addr",
        "127.0.0.1:0",
      ],
      { METALLB_NAMESPACE: "other", POD_NAME: "op-0" },
      "h",
      1,
    );
    expect(r.ok && r.settings).toMatchObject({
      namespace: "lb",
      lbClass: "metallb-ts.dev/lb",
      defaultLbClass: true,
      identity: "op-0",
      leaderElection: { enabled: false },
      webhook: { enabled: false, rotateCerts: false },
      metricsHost: "127.0.0.1",
      metricsPort: 0,
    });
  });

  test("speaker workload (OLM installs): file from the flag, image from the flag or SPEAKER_IMAGE", () => {
    const none = parseOperatorSettings([], { SPEAKER_IMAGE: "img:1" }, "h", 1);
    expect(none.ok && none.settings.speakerWorkload).toBeUndefined();
    const env = parseOperatorSettings(["--speaker-workload=/app/config/speaker/speaker-frr.yaml"], { SPEAKER_IMAGE: "img:1" }, "h", 1);
    expect(env.ok && env.settings.speakerWorkload).toEqual({ file: "/app/config/speaker/speaker-frr.yaml", image: "img:1" });
    const flag = parseOperatorSettings(["--speaker-workload", "w.yaml", "--speaker-image", "img:2"], { SPEAKER_IMAGE: "img:1" }, "h", 1);
    expect(flag.ok && flag.settings.speakerWorkload).toEqual({ file: "w.yaml", image: "img:2" });
    const noImage = parseOperatorSettings(["--speaker-workload", "w.yaml"], {}, "h", 1);
    expect(noImage.ok && noImage.settings.speakerWorkload).toEqual({ file: "w.yaml", image: undefined });
    const owned = parseOperatorSettings(["--speaker-workload", "w.yaml", "--speaker-workload-owner=metallb-ts-operator"], {}, "h", 1);
    expect(owned.ok && owned.settings.speakerWorkload?.owner).toBe("metallb-ts-operator");
    expect(noImage.ok && noImage.settings.speakerWorkload?.owner).toBeUndefined();
  });

  test.each([
    [["--speaker-image", "img:2"], /--speaker-image needs --speaker-workload/],
    [["--bogus"], /unknown flag --bogus/],
    [["--lease-duration", "x"], /--lease-duration must be a non-negative integer/],
    [["--metrics-addr", "nope"], /--metrics-addr must be HOST:PORT/],
    [["--webhook-mode", "sometimes"], /--webhook-mode must be enabled or disabled/],
    [["--log-level", "chatty"], /--log-level/],
    [["positional"], /unexpected argument/],
    [["--namespace"], /needs a value/],
    [["--namespace", "--leader-elect=false"], /flag --namespace needs a value/],
    [["--leader-elect=maybe"], /--leader-elect must be true or false/],
    [["-n", "lb"], /unknown flag -n/],
  ])("%j is refused", (argv, want) => {
    const r = parseOperatorSettings(argv, {}, "h", 1);
    expect(r.ok ? "accepted" : r.error).toMatch(want);
  });
});
