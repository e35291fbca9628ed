import { describe, expect, test } from "@jest/globals";
import { ANNOUNCED_LABEL_NAMES, bgpAnnouncedSeries, diffAnnouncedSeries } from "./announced-series.js";

describe('metallb_speaker_announced{protocol="bgp"} series', () => {
  test("MetalLB's label names", () => {
    expect(ANNOUNCED_LABEL_NAMES).toEqual(["service", "protocol", "node", "ip"]);
  });

  test("one series per Service and IP (dual-stack: two), sorted, duplicates merged", () => {
    expect(
      bgpAnnouncedSeries("node1", [
        { service: "apps/web", ips: ["192.168.10.0", "fd00::1"] },
        { service: "apps/api", ips: ["192.168.10.1", "192.168.10.1"] },
      ]),
    ).toEqual([
      { service: "apps/api", protocol: "bgp", node: "node1", ip: "192.168.10.1" },
      { service: "apps/web", protocol: "bgp", node: "node1", ip: "192.168.10.0" },
      { service: "apps/web", protocol: "bgp", node: "node1", ip: "fd00::1" },
    ]);
    expect(bgpAnnouncedSeries("node1", [])).toEqual([]);
  });

  test.each([
    ["nothing changed", [["apps/web", "10.0.0.1"]], [["apps/web", "10.0.0.1"]], [], []],
    ["a Service announced", [], [["apps/web", "10.0.0.1"]], [["apps/web", "10.0.0.1"]], []],
    [
      "a Service withdrawn: its series removed",
      [
        ["apps/web", "10.0.0.1"],
        ["apps/api", "10.0.0.2"],
      ],
      [["apps/api", "10.0.0.2"]],
      [],
      [["apps/web", "10.0.0.1"]],
    ],
    ["an IP changed", [["apps/web", "10.0.0.1"]], [["apps/web", "10.0.0.3"]], [["apps/web", "10.0.0.3"]], [["apps/web", "10.0.0.1"]]],
  ] as const)("diff: %s", (...[, have, want, set, remove]) => {
    const series = (rows: ReadonlyArray<readonly [string, string]>): ReturnType<typeof bgpAnnouncedSeries> =>
      bgpAnnouncedSeries(
        "n1",
        rows.map(([service, ip]) => ({ service, ips: [ip] })),
      );
    const d = diffAnnouncedSeries(series(have), series(want));
    expect(d).toEqual({ set: series(set), remove: series(remove) });
  });
});
