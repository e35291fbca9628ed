import { describe, expect, test } from "@jest/globals";
import { frrDaemonsMissing, frrDaemonsNeeded } from "./daemons.js";

describe("frrDaemonsNeeded", () => {
  test.each([
    ["router bgp 64512\n neighbor 10.0.0.1 remote-as 64500\nexit\n", ["zebra", "bgpd"]],
    ["router bgp 64512\n neighbor 10.0.0.1 remote-as 64500\n neighbor 10.0.0.1 bfd\nexit\n", ["zebra", "bgpd", "bfdd"]],
    ["router bgp 64512\n neighbor 10.0.0.1 bfd profile fast\nexit\n", ["zebra", "bgpd", "bfdd"]],
    ["router bgp 64512\nexit\n!\nbfd\n profile fast\n exit\n!\nexit\n", ["zebra", "bgpd", "bfdd"]],
    ["! bfd in a comment only\nrouter bgp 1\nexit\n", ["zebra", "bgpd"]],
  ])("%j", (text, want) => {
    expect(frrDaemonsNeeded(text)).toEqual(want);
  });

  test("missing ones, in start order", () => {
    const text = "router bgp 1\n neighbor 10.0.0.1 bfd\nexit\n";
    expect(frrDaemonsMissing(text, (d) => d === "zebra")).toEqual(["bgpd", "bfdd"]);
    expect(frrDaemonsMissing(text, () => true)).toEqual([]);
  });
});
