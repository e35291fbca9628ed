import { describe, expect, test } from "@jest/globals";
import { decodeNodeL2, encodeNodeL2, nodeInternalAddress } from "./l2.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";

describe("NodeConfig.spec.l2", () => {
  test("round trip", () => {
    const entries = [
      { ip: ip("10.0.0.5"), services: ["a/web"], candidates: ["n2", "n1"], interfaces: [] },
      { ip: ip("fd00::5"), services: ["a/web"], candidates: ["n2", "n1"], interfaces: ["eth0"] },
    ];
    const spec = JSON.parse(JSON.stringify(encodeNodeL2(entries, [{ node: "n2", address: "10.1.0.2" }, { node: "n1", address: "10.1.0.1" }]))) as unknown;
    const back = decodeNodeL2(spec);
    expect(back).toEqual({ ok: true, value: { entries, speakers: [{ node: "n1", address: "10.1.0.1" }, { node: "n2", address: "10.1.0.2" }] } });
  });

  test("untrusted input", () => {
    expect(decodeNodeL2(undefined)).toEqual({ ok: true, value: { entries: [], speakers: [] } });
    expect(decodeNodeL2({ entries: [{ ip: "nope" }] }).ok).toBe(false);
    expect(decodeNodeL2({ entries: [7] }).ok).toBe(false);
  });

  test("node InternalIP", () => {
    expect(nodeInternalAddress({ status: { addresses: [{ type: "Hostname", address: "n1" }, { type: "InternalIP", address: "10.1.0.1" }] } })).toBe("10.1.0.1");
    expect(nodeInternalAddress({})).toBeNull();
  });
});
