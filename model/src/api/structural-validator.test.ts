import { describe, expect, test } from "@jest/globals";
import { parseSchema } from "./crd-schema.js";
import { validateStructure } from "./structural-validator.js";

const schema = parseSchema(
  {
    type: "object",
    properties: {
      metadata: { type: "object" },
      spec: {
        type: "object",
        required: ["asn"],
        properties: {
          asn: { type: "integer", minimum: 0, maximum: 4294967295 },
          mode: { type: "string", enum: ["internal", "external"] },
          name: { type: "string", maxLength: 5, pattern: "^[a-z]+$" },
          enabled: { type: "boolean" },
          tags: { type: "array", maxItems: 2, items: { type: "string" } },
          labels: { type: "object", additionalProperties: { type: "string" } },
          peers: { type: "array", items: { type: "object", required: ["weight"], properties: { weight: { type: "integer", minimum: 1 } } } },
          empty: { type: "object" },
          anything: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        },
      },
    },
  },
  "test",
);

describe("validateStructure", () => {
  test.each([
    { desc: "valid object", spec: { asn: 4294967295, mode: "internal", name: "abc", tags: ["a"], labels: { a: "b" }, peers: [{ weight: 1 }] }, want: [] },
    { desc: "missing required field", spec: {}, want: ["spec.asn: required field is missing"] },
    { desc: "wrong type", spec: { asn: "1" }, want: ["spec.asn: must be of type integer, got string"] },
    { desc: "integer must be whole", spec: { asn: 1.5 }, want: ["spec.asn: must be of type integer, got number"] },
    { desc: "above maximum", spec: { asn: 4294967296 }, want: ["spec.asn: 4294967296 is greater than the maximum 4294967295"] },
    { desc: "below minimum", spec: { asn: -1 }, want: ["spec.asn: -1 is less than the minimum 0"] },
    { desc: "enum", spec: { asn: 1, mode: "both" }, want: ['spec.mode: unsupported value "both", must be one of "internal", "external"'] },
    {
      desc: "maxLength and pattern",
      spec: { asn: 1, name: "ABCDEF" },
      want: ["spec.name: longer than 5 characters", "spec.name: does not match ^[a-z]+$"],
    },
    { desc: "maxItems", spec: { asn: 1, tags: ["a", "b", "c"] }, want: ["spec.tags: more than 2 items"] },
    { desc: "map values", spec: { asn: 1, labels: { a: 1 } }, want: ["spec.labels.a: must be of type string, got number"] },
    {
      desc: "nested array of objects",
      spec: { asn: 1, peers: [{ weight: 0 }, {}] },
      want: ["spec.peers[0].weight: 0 is less than the minimum 1", "spec.peers[1].weight: required field is missing"],
    },
    { desc: "unknown field", spec: { asn: 1, typo: true }, want: ["spec.typo: unknown field"] },
    { desc: "field of an empty object", spec: { asn: 1, empty: { a: 1 } }, want: ["spec.empty.a: unknown field"] },
    { desc: "preserved unknown fields", spec: { asn: 1, anything: { a: 1 } }, want: [] },
    { desc: "null is not a value", spec: { asn: 1, enabled: null }, want: ["spec.enabled: must be of type boolean, got null"] },
  ])("$desc", ({ spec, want }) => {
    const got = validateStructure({ metadata: { name: "x", labels: { a: "b" } }, spec }, schema);
    expect(got.map((v) => `${v.path}: ${v.message}`)).toEqual(want);
  });

  test("metadata at the root is opaque but must be an object", () => {
    expect(validateStructure({ metadata: "x", spec: { asn: 1 } }, schema)).toEqual([{ path: "metadata", message: "must be an object, got string" }]);
  });
});
