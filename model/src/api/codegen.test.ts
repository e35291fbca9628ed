import { describe, expect, test } from "@jest/globals";
import { generateApiTypes, GENERATED_HEADER, singularize } from "./codegen.js";

interface VersionSpec {
  name: string;
  storage: boolean;
  spec: object;
}

/** A minimal CRD whose versions carry the given spec schemas. */
function crd(kind: string, versions: VersionSpec[]): object {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${kind.toLowerCase()}s.example.io` },
    spec: {
      group: "example.io",
      names: { kind, plural: `${kind.toLowerCase()}s` },
      scope: "Namespaced",
      versions: versions.map((v) => ({
        name: v.name,
        served: true,
        storage: v.storage,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: { apiVersion: { type: "string" }, kind: { type: "string" }, metadata: { type: "object" }, spec: v.spec },
          },
        },
      })),
    },
  };
}

const single = (spec: object): string => generateApiTypes([crd("Widget", [{ name: "v1", storage: true, spec }])]);

/** The body of `export interface <name> { ... }` in the generated text, without doc comments. */
function body(text: string, name: string): string {
  const start = text.indexOf(`export interface ${name} {\n`);
  if (start < 0) throw new Error(`no interface ${name} in:\n${text}`);
  const open = text.indexOf("{\n", start) + 2;
  return text
    .slice(open, text.indexOf("\n}\n", open))
    .split("\n")
    .filter((l) => !/^\s*(\/\*\*|\*)/.test(l))
    .map((l) => l.trim())
    .join("\n");
}

const selector = {
  type: "object",
  properties: {
    matchExpressions: {
      type: "array",
      items: {
        type: "object",
        required: ["key", "operator"],
        properties: { key: { type: "string" }, operator: { type: "string" }, values: { type: "array", items: { type: "string" } } },
      },
    },
    matchLabels: { type: "object", additionalProperties: { type: "string" } },
  },
};

describe("generateApiTypes", () => {
  test.each([
    {
      desc: "required vs optional",
      spec: { type: "object", required: ["name"], properties: { name: { type: "string" }, size: { type: "integer" } } },
      want: "name: string;\nsize?: number;",
    },
    {
      desc: "string enum becomes a literal union",
      spec: { type: "object", properties: { mode: { type: "string", enum: ["fast", "slow"] } } },
      want: 'mode?: "fast" | "slow";',
    },
    {
      desc: "scalars and properties sorted by name",
      spec: { type: "object", properties: { z: { type: "boolean" }, a: { type: "number" }, m: { type: "array", items: { type: "string" } } } },
      want: "a?: number;\nm?: string[];\nz?: boolean;",
    },
    {
      desc: "map becomes a Record",
      spec: { type: "object", properties: { labels: { type: "object", additionalProperties: { type: "integer" } } } },
      want: "labels?: Record<string, number>;",
    },
    {
      desc: "array of enums is parenthesized",
      spec: { type: "object", properties: { modes: { type: "array", items: { type: "string", enum: ["a", "b"] } } } },
      want: 'modes?: ("a" | "b")[];',
    },
    {
      desc: "nested array of objects gets a singular name",
      spec: { type: "object", properties: { entries: { type: "array", items: { type: "object", properties: { id: { type: "string" } } } } } },
      want: "entries?: WidgetSpecEntry[];",
    },
  ])("$desc", ({ spec, want }) => {
    expect(body(single(spec), "WidgetSpec")).toBe(want);
  });

  test("nested object type is declared with its own required fields", () => {
    const text = single({
      type: "object",
      properties: {
        entries: { type: "array", items: { type: "object", required: ["id"], properties: { id: { type: "string" }, note: { type: "string" } } } },
      },
    });
    expect(body(text, "WidgetSpecEntry")).toBe("id: string;\nnote?: string;");
  });

  test("envelope: literal apiVersion and kind, V1ObjectMeta, kinds table", () => {
    const text = single({ type: "object", properties: { a: { type: "string" } } });
    expect(text.startsWith(`${GENERATED_HEADER}\n`)).toBe(true);
    expect(text).toContain('import type { V1ObjectMeta } from "@kubernetes/client-node";');
    expect(body(text, "WidgetV1")).toBe('apiVersion: "example.io/v1";\nkind: "Widget";\nmetadata?: V1ObjectMeta;\nspec?: WidgetSpec;');
    expect(text).toContain('storageVersion: "v1",');
  });

  test("constraints and defaults are documented", () => {
    const text = single({ type: "object", properties: { port: { type: "integer", description: "Port.", default: 179, minimum: 1, maximum: 16384 } } });
    expect(text).toContain("   * Port.\n   * @default 179\n   * @minimum 1\n   * @maximum 16384\n");
  });

  test("empty objects become Record<string, never>", () => {
    expect(single({ type: "object" })).toContain("export type WidgetSpec = Record<string, never>;");
  });

  test("a kind with several versions gets version-qualified type names", () => {
    const spec = { type: "object", properties: { a: { type: "string" } } };
    const text = generateApiTypes([
      crd("Widget", [
        { name: "v1alpha1", storage: false, spec },
        { name: "v1", storage: true, spec },
      ]),
    ]);
    expect(body(text, "WidgetV1alpha1")).toContain("spec?: WidgetV1alpha1Spec;");
    expect(body(text, "WidgetV1")).toContain("spec?: WidgetV1Spec;");
  });

  test("label selectors are shared across kinds and the use-site description may differ", () => {
    const text = generateApiTypes([
      crd("Alpha", [{ name: "v1", storage: true, spec: { type: "object", properties: { s: { ...selector, description: "first" } } } }]),
      crd("Beta", [{ name: "v1", storage: true, spec: { type: "object", properties: { s: { type: "array", items: selector } } } }]),
    ]);
    expect(body(text, "AlphaSpec")).toBe("s?: LabelSelector;");
    expect(body(text, "BetaSpec")).toBe("s?: LabelSelector[];");
    expect(text.match(/export interface LabelSelector \{/g)).toHaveLength(1);
    expect(body(text, "LabelSelectorRequirement")).toBe("key: string;\noperator: string;\nvalues?: string[];");
  });

  test("inconsistent definitions of a shared shape are rejected", () => {
    const other = { ...selector, properties: { ...selector.properties, matchLabels: { type: "object" } } };
    expect(() =>
      generateApiTypes([
        crd("Alpha", [{ name: "v1", storage: true, spec: { type: "object", properties: { s: selector } } }]),
        crd("Beta", [{ name: "v1", storage: true, spec: { type: "object", properties: { s: other } } }]),
      ]),
    ).toThrow("conflicting definitions for LabelSelector");
  });

  test("input order does not matter", () => {
    const a = crd("Alpha", [{ name: "v1", storage: true, spec: { type: "object" } }]);
    const b = crd("Beta", [{ name: "v1", storage: true, spec: { type: "object" } }]);
    expect(generateApiTypes([b, a])).toBe(generateApiTypes([a, b]));
  });

  test.each([
    { desc: "not a CRD", doc: { kind: "ConfigMap" }, err: "not an apiextensions.k8s.io/v1 CustomResourceDefinition" },
    { desc: "no storage version", doc: crd("W", [{ name: "v1", storage: false, spec: { type: "object" } }]), err: "exactly one storage version" },
    { desc: "array without items", doc: crd("W", [{ name: "v1", storage: true, spec: { type: "array" } }]), err: "array without items" },
  ])("rejects bad input: $desc", ({ doc, err }) => {
    expect(() => generateApiTypes([doc])).toThrow(err);
  });
});

describe("singularize", () => {
  test.each([
    ["Communities", "Community"],
    ["Addresses", "Address"],
    ["Interfaces", "Interface"],
    ["PreferredNodeSelectors", "PreferredNodeSelector"],
    ["Status", "StatusItem"],
    ["Data", "DataItem"],
    ["Address", "AddressItem"],
  ])("%s -> %s", (plural, singular) => {
    expect(singularize(plural)).toBe(singular);
  });
});
