import { describe, expect, test } from "@jest/globals";
import { formatLabelSelector, parseLabelSelector, selectorMatches, validateLabelKey, validateLabelValue, type LabelSelector } from "./selector.js";

const selector = (raw: unknown): LabelSelector => {
  const r = parseLabelSelector(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};

describe("parseLabelSelector", () => {
  test.each<[string, unknown, string]>([
    ["null is everything", null, "<everything>"],
    ["empty is everything", {}, "<everything>"],
    ["matchLabels sorted by key", { matchLabels: { b: "2", a: "1" } }, "a=1,b=2"],
    ["values sorted", { matchExpressions: [{ key: "zone", operator: "In", values: ["b", "a"] }] }, "zone in (a,b)"],
    [
      "all operators",
      {
        matchExpressions: [
          { key: "a", operator: "NotIn", values: ["x"] },
          { key: "b", operator: "Exists" },
          { key: "c", operator: "DoesNotExist", values: [] },
        ],
      },
      "a notin (x),b,!c",
    ],
    ["prefixed key", { matchLabels: { "kubernetes.io/hostname": "node-1" } }, "kubernetes.io/hostname=node-1"],
  ])("%s", (_desc, raw, expected) => {
    expect(formatLabelSelector(selector(raw))).toBe(expected);
  });

  test.each<[string, unknown, { field: string; message: string }[]]>([
    ["not an object", "app=x", [{ field: "", message: "label selector must be an object" }]],
    [
      "bad operator",
      { matchExpressions: [{ key: "a", operator: "Equals", values: ["x"] }] },
      [{ field: "matchExpressions[0].operator", message: '"Equals" is not a valid label selector operator' }],
    ],
    [
      "missing key and operator",
      { matchExpressions: [{ values: ["x"] }] },
      [
        { field: "matchExpressions[0].key", message: "missing key in match expression" },
        { field: "matchExpressions[0].operator", message: "missing operator in match expression" },
      ],
    ],
    [
      "In without values",
      { matchExpressions: [{ key: "a", operator: "In" }] },
      [{ field: "matchExpressions[0].values", message: "for 'In', 'NotIn' operators, values set can't be empty" }],
    ],
    [
      "Exists with values",
      { matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] },
      [{ field: "matchExpressions[0].values", message: "values set must be empty for exists and does not exist" }],
    ],
    [
      "duplicate values",
      { matchExpressions: [{ key: "a", operator: "In", values: ["x", "x"] }] },
      [{ field: "matchExpressions[0].values", message: 'duplicate definition of match expression value in label selector "x"' }],
    ],
    [
      "duplicate expressions",
      {
        matchExpressions: [
          { key: "a", operator: "In", values: ["x", "y"] },
          { key: "a", operator: "In", values: ["y", "x"] },
        ],
      },
      [{ field: "matchExpressions[1]", message: 'duplicate definition of match expressions "a in (x,y)"' }],
    ],
    [
      "bad label value",
      { matchLabels: { app: "-bad-" } },
      [
        {
          field: 'matchLabels["app"]',
          message:
            "invalid label value \"-bad-\": a valid label must be an empty string or must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        },
      ],
    ],
    ["non-string label value", { matchLabels: { app: 1 } }, [{ field: 'matchLabels["app"]', message: "label value must be a string" }]],
  ])("rejects: %s", (_desc, raw, expected) => {
    expect(parseLabelSelector(raw)).toEqual({ ok: false, error: expected });
  });

  test.each([
    ["app", []],
    ["example.com/app", []],
    ["a".repeat(63), []],
    ["", ['invalid label key "": name part must be non-empty']],
    ["a".repeat(64), [`invalid label key "${"a".repeat(64)}": name part must be no more than 63 characters`]],
    ["/app", ['invalid label key "/app": prefix part must be non-empty']],
    ["Example.com/app", ['invalid label key "Example.com/app": prefix part must be a lowercase RFC 1123 subdomain']],
  ])("label key %j", (key, expected) => {
    expect(validateLabelKey(key)).toEqual(expected);
  });

  test("label values may be empty, at most 63 characters", () => {
    expect(validateLabelValue("")).toEqual([]);
    expect(validateLabelValue("a_b.c-d")).toEqual([]);
    expect(validateLabelValue("x".repeat(64))).toHaveLength(1);
  });
});

describe("selectorMatches", () => {
  const labels = { app: "web", zone: "a", gpu: "" };
  test.each<[unknown, boolean]>([
    [{}, true],
    [{ matchLabels: { app: "web" } }, true],
    [{ matchLabels: { app: "db" } }, false],
    [{ matchLabels: { missing: "" } }, false],
    [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }, true],
    [{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, false],
    [{ matchExpressions: [{ key: "missing", operator: "NotIn", values: ["a"] }] }, true],
    [{ matchExpressions: [{ key: "gpu", operator: "Exists" }] }, true],
    [{ matchExpressions: [{ key: "gpu", operator: "DoesNotExist" }] }, false],
    [{ matchLabels: { app: "web" }, matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] }, false],
  ])("%j → %s", (raw, expected) => {
    expect(selectorMatches(selector(raw), labels)).toBe(expected);
  });

  test("does not read inherited properties", () => {
    expect(selectorMatches(selector({ matchExpressions: [{ key: "toString", operator: "Exists" }] }), {})).toBe(false);
  });
});
