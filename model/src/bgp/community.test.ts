import { describe, expect, test } from "@jest/globals";
import { formatCommunity, parseCommunity } from "./community.js";

describe("parseCommunity", () => {
  test.each([
    ["65000:100", "65000:100"],
    ["0:0", "0:0"],
    ["65535:65535", "65535:65535"],
    ["007:1", "7:1"],
    ["large:4294967295:1:2", "large:4294967295:1:2"],
  ])("%s", (text, expected) => {
    const r = parseCommunity(text);
    expect(r.ok && formatCommunity(r.value)).toBe(expected);
  });

  test.each<[string, "format" | "value", string]>([
    ["my-alias", "format", 'invalid community format "my-alias": expected <uint16>:<uint16> or large:<uint32>:<uint32>:<uint32>'],
    ["65536:1", "value", 'invalid community value: invalid section "65536" of community "65536:1": must be a uint16'],
    ["1:-1", "value", 'invalid community value: invalid section "-1" of community "1:-1": must be a uint16'],
    ["1:", "value", 'invalid community value: invalid section "" of community "1:": must be a uint16'],
    ["large:1:2", "value", 'invalid community value "large:1:2": expected community to be of format large:<uint32>:<uint32>:<uint32>'],
    ["large:1:2:4294967296", "value", 'invalid community value: invalid section "4294967296" of community "large:1:2:4294967296": must be a uint32'],
    ["1:2:3", "value", 'invalid community value "1:2:3": expected community to be of format <uint16>:<uint16> or large:<uint32>:<uint32>:<uint32>'],
  ])("rejects %j", (text, reason, message) => {
    expect(parseCommunity(text)).toEqual({ ok: false, error: { reason, message } });
  });
});
