/**
 * A small validator for objects against a CRD's structural OpenAPI schema: types, required fields, unknown fields,
 * enum, numeric bounds, string length and pattern, list length. It does not evaluate CEL rules
 * (x-kubernetes-validations) nor apply defaults; the API server does both.
 */
import type { OpenApiSchema } from "./crd-schema.js";

export interface SchemaViolation {
  readonly path: string;
  readonly message: string;
}

type Obj = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

const describe = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`);

function typeMatches(value: unknown, type: string): boolean {
  switch (type) {
    case "object":
      return isObj(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "boolean":
      return typeof value === "boolean";
    default:
      return false;
  }
}

function scalarViolations(value: unknown, schema: OpenApiSchema, path: string): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  const add = (message: string): void => {
    out.push({ path, message });
  };
  if (schema.enum !== undefined && !schema.enum.includes(value)) {
    add(`unsupported value ${JSON.stringify(value)}, must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(", ")}`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) add(`${value} is less than the minimum ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) add(`${value} is greater than the maximum ${schema.maximum}`);
  }
  if (typeof value === "string") {
    const length = [...value].length; // the API server counts characters, not UTF-16 units
    if (schema.minLength !== undefined && length < schema.minLength) add(`shorter than ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && length > schema.maxLength) add(`longer than ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) add(`does not match ${schema.pattern}`);
  }
  return out;
}

function arrayViolations(value: readonly unknown[], schema: OpenApiSchema, path: string): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  if (schema.minItems !== undefined && value.length < schema.minItems) out.push({ path, message: `fewer than ${schema.minItems} items` });
  if (schema.maxItems !== undefined && value.length > schema.maxItems) out.push({ path, message: `more than ${schema.maxItems} items` });
  const items = schema.items;
  if (items !== undefined) value.forEach((item, i) => out.push(...validateNode(item, items, `${path}[${i}]`)));
  return out;
}

function objectViolations(value: Obj, schema: OpenApiSchema, path: string): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  for (const key of schema.required ?? []) {
    if (value[key] === undefined) out.push({ path: join(path, key), message: "required field is missing" });
  }
  for (const [key, child] of Object.entries(value)) {
    const where = join(path, key);
    const declared = schema.properties?.[key];
    if (path === "" && key === "metadata") {
      // ObjectMeta is validated by the API server itself, not by the CRD schema.
      if (!isObj(child)) out.push({ path: where, message: `must be an object, got ${describe(child)}` });
    } else if (declared !== undefined) {
      out.push(...validateNode(child, declared, where));
    } else if (schema.additionalProperties !== undefined) {
      out.push(...validateNode(child, schema.additionalProperties, where));
    } else if (schema.preserveUnknownFields !== true) {
      out.push({ path: where, message: "unknown field" });
    }
  }
  return out;
}

function validateNode(value: unknown, schema: OpenApiSchema, path: string): SchemaViolation[] {
  if (schema.type === undefined) return schema.preserveUnknownFields === true ? [] : [{ path, message: "schema has no type" }];
  if (!typeMatches(value, schema.type)) {
    return [{ path, message: `must be of type ${schema.type}, got ${describe(value)}` }];
  }
  if (Array.isArray(value)) return arrayViolations(value, schema, path);
  if (isObj(value)) return objectViolations(value, schema, path);
  return scalarViolations(value, schema, path);
}

/** Every violation of `schema` by `value` (an object at the root of the schema); empty when valid. */
export function validateStructure(value: unknown, schema: OpenApiSchema): SchemaViolation[] {
  return validateNode(value, schema, "");
}
