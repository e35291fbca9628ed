/**
 * Generates TypeScript declarations from the CRDs' openAPIV3Schema, so the API types cannot drift from the YAML.
 *
 * Naming: the object of kind K at version V is `K` + `V` (e.g. `IPAddressPoolV1beta1`). Nested object types are
 * named after their path: `<prefix>Spec`, `<prefix>Status`, then `<Parent><Field>` with list fields singularized
 * (`L2AdvertisementSpecPreferredNodeSelector`). The prefix is the kind, plus the version when the kind has more
 * than one (`BGPPeerV1beta2Spec`). A few shared Kubernetes shapes (label selectors, secret references, conditions)
 * are recognised by their property names and emitted once; every occurrence must then be identical, which keeps
 * the hand-written YAML consistent across files.
 */
import { parseCrd, type CrdDefinition, type CrdVersion, type OpenApiSchema } from "./crd-schema.js";

export const GENERATED_HEADER = "// generated from config/crd/bases by codegen.ts; do not edit";

interface SharedShape {
  readonly name: string;
  readonly properties: readonly string[];
  readonly doc: string;
}

/** Shapes emitted once under a fixed name; matched by their exact (sorted) property names. */
const SHARED_SHAPES: readonly SharedShape[] = [
  { name: "LabelSelector", properties: ["matchExpressions", "matchLabels"], doc: "Kubernetes label selector (metav1.LabelSelector)." },
  {
    name: "LabelSelectorRequirement",
    properties: ["key", "operator", "values"],
    doc: "One requirement of a label selector (metav1.LabelSelectorRequirement).",
  },
  { name: "SecretReference", properties: ["name", "namespace"], doc: "Reference to a Secret (core/v1 SecretReference)." },
  {
    name: "Condition",
    properties: ["lastTransitionTime", "message", "observedGeneration", "reason", "status", "type"],
    doc: "Standard Kubernetes condition (metav1.Condition).",
  },
];

interface Declaration {
  readonly shared: boolean;
  readonly key: string;
  text: string;
}

/** Declarations in emission order; created per call (no module-level state). */
type Declarations = Map<string, Declaration>;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const pascal = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** Singular of a PascalCase name ending in a plural English noun ("Communities" -> "Community"). */
export function singularize(name: string): string {
  if (name.endsWith("ies")) return `${name.slice(0, -3)}y`;
  if (/(ss|sh|ch|x)es$/.test(name)) return name.slice(0, -2);
  if (name.endsWith("s") && !/(ss|us|is)$/.test(name)) return name.slice(0, -1);
  return `${name}Item`;
}

/** JSON with sorted object keys: equal schemas give equal strings. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "undefined";
}

const sortedKeys = (o: Readonly<Record<string, unknown>>): string[] => Object.keys(o).sort();

function sharedShape(schema: OpenApiSchema): SharedShape | undefined {
  if (schema.properties === undefined) return undefined;
  const keys = sortedKeys(schema.properties).join(",");
  return SHARED_SHAPES.find((s) => s.properties.join(",") === keys);
}

const escapeDoc = (s: string): string => s.replaceAll("*/", "*\\/");

/** JSDoc lines for a schema: its description plus the constraints worth seeing in an editor. */
function docLines(schema: OpenApiSchema): string[] {
  const lines = (schema.description ?? "").split("\n").filter((l) => l.trim() !== "").map(escapeDoc);
  const tag = (name: string, value: unknown): void => {
    if (value !== undefined) lines.push(`@${name} ${escapeDoc(typeof value === "string" ? value : canonical(value))}`);
  };
  tag("default", schema.default);
  tag("format", schema.format);
  tag("minimum", schema.minimum);
  tag("maximum", schema.maximum);
  tag("minLength", schema.minLength);
  tag("maxLength", schema.maxLength);
  tag("minItems", schema.minItems);
  tag("maxItems", schema.maxItems);
  return lines;
}

function renderDoc(lines: readonly string[], indent: string): string {
  if (lines.length === 0) return "";
  if (lines.length === 1) return `${indent}/** ${lines[0] ?? ""} */\n`;
  return `${indent}/**\n${lines.map((l) => `${indent} * ${l}\n`).join("")}${indent} */\n`;
}

const literal = (v: unknown): string => {
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return JSON.stringify(v);
  throw new Error(`unsupported enum value ${canonical(v)}`);
};

const parenthesize = (t: string): string => (t.includes(" | ") ? `(${t})` : t);

/** TypeScript type expression for a schema, declaring named interfaces for nested objects. */
function typeExpression(schema: OpenApiSchema, name: string, decls: Declarations): string {
  if (schema.enum !== undefined) return schema.enum.map(literal).join(" | ");
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
      if (schema.items === undefined) throw new Error(`${name}: array without items`);
      return `${parenthesize(typeExpression(schema.items, singularize(name), decls))}[]`;
    case "object":
      return objectType(schema, name, decls);
    case undefined:
      if (schema.preserveUnknownFields === true) return "unknown";
      throw new Error(`${name}: schema without type`);
    default:
      throw new Error(`${name}: unsupported type ${schema.type}`);
  }
}

function objectType(schema: OpenApiSchema, name: string, decls: Declarations): string {
  if (schema.properties !== undefined && Object.keys(schema.properties).length > 0) {
    const shared = sharedShape(schema);
    if (shared === undefined) {
      declareInterface(name, schema, undefined, decls);
      return name;
    }
    // The description of a use site may differ (it documents the field); the shape itself may not.
    declareInterface(shared.name, { ...schema, description: shared.doc }, shared, decls);
    return shared.name;
  }
  if (schema.additionalProperties !== undefined) {
    return `Record<string, ${typeExpression(schema.additionalProperties, `${name}Value`, decls)}>`;
  }
  return schema.preserveUnknownFields === true ? "Record<string, unknown>" : "Record<string, never>";
}

function propertyLines(schema: OpenApiSchema, owner: string, decls: Declarations): string {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  return sortedKeys(props)
    .map((key) => {
      const prop = props[key] as OpenApiSchema;
      const type = typeExpression(prop, `${owner}${pascal(key)}`, decls);
      const field = IDENTIFIER.test(key) ? key : JSON.stringify(key);
      return `${renderDoc(docLines(prop), "  ")}  ${field}${required.has(key) ? "" : "?"}: ${type};\n`;
    })
    .join("");
}

function declareInterface(name: string, schema: OpenApiSchema, shared: SharedShape | undefined, decls: Declarations): void {
  const key = canonical(schema);
  const existing = decls.get(name);
  if (existing !== undefined) {
    if (existing.key !== key) throw new Error(`conflicting definitions for ${name} (a shared shape must be identical wherever it is used)`);
    return;
  }
  // Reserve the slot first so the parent is emitted before the children it declares.
  const decl: Declaration = { shared: shared !== undefined, key, text: "" };
  decls.set(name, decl);
  const body = propertyLines(schema, name, decls);
  decl.text = `${renderDoc(docLines(schema), "")}export interface ${name} {\n${body}}\n`;
}

/** A named declaration for a top-level field (spec, status): an interface, or a type alias when it has no properties. */
function declareNamed(name: string, schema: OpenApiSchema, decls: Declarations): string {
  const type = typeExpression(schema, name, decls);
  if (type === name) return name;
  const key = canonical(schema);
  const existing = decls.get(name);
  if (existing !== undefined && existing.key !== key) throw new Error(`conflicting definitions for ${name}`);
  decls.set(name, { shared: false, key, text: `${renderDoc(docLines(schema), "")}export type ${name} = ${type};\n` });
  return name;
}

function declareRoot(crd: CrdDefinition, version: CrdVersion, decls: Declarations): string {
  const rootName = `${crd.kind}${pascal(version.name)}`;
  const prefix = crd.versions.length > 1 ? rootName : crd.kind;
  const schema = version.schema;
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const decl: Declaration = { shared: false, key: canonical(schema), text: "" };
  if (decls.has(rootName)) throw new Error(`duplicate declaration ${rootName}`);
  decls.set(rootName, decl);
  const lines = sortedKeys(props).map((key) => {
    const prop = props[key] as OpenApiSchema;
    const opt = required.has(key) ? "" : "?";
    switch (key) {
      case "apiVersion":
        return `  apiVersion: ${JSON.stringify(`${crd.group}/${version.name}`)};\n`;
      case "kind":
        return `  kind: ${JSON.stringify(crd.kind)};\n`;
      case "metadata":
        return `  metadata${opt}: V1ObjectMeta;\n`;
      default: {
        const type = declareNamed(`${prefix}${pascal(key)}`, prop, decls);
        return `${renderDoc(docLines(prop), "  ")}  ${key}${opt}: ${type};\n`;
      }
    }
  });
  decl.text = `${renderDoc(docLines(schema), "")}export interface ${rootName} {\n${lines.join("")}}\n`;
  return rootName;
}

function storageVersion(crd: CrdDefinition): string {
  const storage = crd.versions.filter((v) => v.storage);
  if (storage.length !== 1 || storage[0] === undefined) throw new Error(`${crd.name}: expected exactly one storage version`);
  return storage[0].name;
}

function kindsTable(crds: readonly CrdDefinition[]): string {
  const entries = crds.map((crd) => {
    const served = crd.versions.filter((v) => v.served).map((v) => JSON.stringify(v.name));
    const deprecated = crd.versions.filter((v) => v.deprecated).map((v) => JSON.stringify(v.name));
    return [
      "  {",
      `    group: ${JSON.stringify(crd.group)},`,
      `    kind: ${JSON.stringify(crd.kind)},`,
      `    listKind: ${JSON.stringify(crd.listKind)},`,
      `    plural: ${JSON.stringify(crd.plural)},`,
      `    singular: ${JSON.stringify(crd.singular)},`,
      `    namespaced: ${crd.scope === "Namespaced"},`,
      `    versions: [${served.join(", ")}],`,
      `    deprecatedVersions: [${deprecated.join(", ")}],`,
      `    storageVersion: ${JSON.stringify(storageVersion(crd))},`,
      `    statusSubresource: ${crd.versions.some((v) => v.hasStatusSubresource)},`,
      "  },\n",
    ].join("\n");
  });
  return `/** Every kind declared by the CRDs: names, served versions and the storage version. */\nexport const API_KINDS = [\n${entries.join("")}] as const;\n`;
}

/** Turns CustomResourceDefinition documents (parsed YAML) into the text of generated.ts. Pure and deterministic. */
export function generateApiTypes(crds: unknown[]): string {
  const parsed = crds
    .map((doc, i) => parseCrd(doc, `crds[${i}]`))
    .sort((a, b) => (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  const decls: Declarations = new Map();
  const roots = parsed.flatMap((crd) => crd.versions.map((v) => declareRoot(crd, v, decls)));
  const all = [...decls.values()];
  const ordered = [...all.filter((d) => d.shared), ...all.filter((d) => !d.shared)];
  const union = roots.length === 0 ? "never" : roots.map((r) => `\n  | ${r}`).join("");
  return [
    `${GENERATED_HEADER}\n`,
    'import type { V1ObjectMeta } from "@kubernetes/client-node";\n',
    kindsTable(parsed),
    ...ordered.map((d) => d.text),
    `/** Any object of the API, at any served version. */\nexport type ApiObject =${union};\n`,
  ].join("\n");
}
