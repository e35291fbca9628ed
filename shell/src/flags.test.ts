import { describe, expect, test } from "@jest/globals";
import { parseFlags, type FlagSpec } from "./flags.js";

const SPEC: FlagSpec = { namespace: "string", "leader-elect": "boolean", "disable-l2": "boolean" };

const values = (argv: string[], allowPositionals = false): Record<string, string | boolean> | string => {
  const r = parseFlags(argv, SPEC, { allowPositionals });
  return r.ok ? Object.fromEntries(r.flags.values) : r.error;
};

describe("parseFlags", () => {
  test.each<[string[], Record<string, string | boolean>]>([
    [[], {}],
    [["--namespace", "lb"], { namespace: "lb" }],
    [["--namespace=lb"], { namespace: "lb" }],
    [["--namespace="], { namespace: "" }],
    [["--namespace=a=b"], { namespace: "a=b" }],
    [["--namespace", "a", "--namespace", "b"], { namespace: "b" }],
    [["--leader-elect"], { "leader-elect": true }],
    [["--leader-elect=false"], { "leader-elect": false }],
    [["--leader-elect=true", "--disable-l2"], { "leader-elect": true, "disable-l2": true }],
    [["--leader-elect=false", "--leader-elect"], { "leader-elect": true }],
    [["--leader-elect", "--leader-elect=false"], { "leader-elect": false }],
    [["--namespace=--leader-elect"], { namespace: "--leader-elect" }],
  ])("%j → %j", (argv, want) => {
    expect(values(argv)).toEqual(want);
  });

  test.each<[string[], string]>([
    [["--bogus"], "unknown flag --bogus"],
    [["--bogus=1"], "unknown flag --bogus"],
    [["-n"], "unknown flag -n"],
    [["--namespace"], "flag --namespace needs a value"],
    [["--namespace", "--leader-elect"], "flag --namespace needs a value (for a value starting with a dash write --namespace=VALUE)"],
    [["positional"], 'unexpected argument "positional"'],
    [["--leader-elect=yes"], '--leader-elect must be true or false, got "yes"'],
  ])("%j is refused: %s", (argv, want) => {
    expect(values(argv)).toBe(want);
  });

  test("positionals when allowed, in order, also after --", () => {
    const r = parseFlags(["a", "--namespace", "x", "b", "--", "--leader-elect=maybe"], SPEC, { allowPositionals: true });
    expect(r.ok && { values: Object.fromEntries(r.flags.values), positionals: r.flags.positionals }).toEqual({
      values: { namespace: "x" },
      positionals: ["a", "b", "--leader-elect=maybe"],
    });
  });
});
