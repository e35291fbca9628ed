/**
 * Typed view of the parts of an apiextensions.k8s.io/v1 CustomResourceDefinition that the code generator and the
 * structural validator use. `parseCrd` checks the untrusted YAML/JSON input and throws with a path on bad shapes.
 */

/** One node of a structural OpenAPI v3 schema (only the keywords our CRDs use). */
export interface OpenApiSchema {
  readonly type?: string;
  readonly description?: string;
  readonly format?: string;
  readonly properties?: Readonly<Record<string, OpenApiSchema>>;
  readonly required?: readonly string[];
  readonly items?: OpenApiSchema;
  readonly additionalProperties?: OpenApiSchema;
  readonly enum?: readonly unknown[];
  readonly default?: unknown;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly pattern?: string;
  readonly preserveUnknownFields?: boolean;
}

export interface CrdVersion {
  readonly name: string;
  readonly served: boolean;
  readonly storage: boolean;
  readonly deprecated: boolean;
  readonly hasStatusSubresource: boolean;
  readonly schema: OpenApiSchema;
}

export interface CrdDefinition {
  readonly name: string;
  readonly group: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly scope: string;
  readonly versions: readonly CrdVersion[];
}

type Obj = Readonly<Record<string, unknown>>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function obj(v: unknown, path: string): Obj {
  if (!isObj(v)) throw new Error(`${path}: expected an object`);
  return v;
}

function str(v: unknown, path: string): string {
  if (typeof v !== "string") throw new Error(`${path}: expected a string`);
  return v;
}

function optStr(v: unknown, path: string): string | undefined {
  return v === undefined ? undefined : str(v, path);
}

function optNum(v: unknown, path: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number") throw new Error(`${path}: expected a number`);
  return v;
}

function optBool(v: unknown, path: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new Error(`${path}: expected a boolean`);
  return v;
}

function strList(v: unknown, path: string): readonly string[] {
  if (!Array.isArray(v)) throw new Error(`${path}: expected a list`);
  return v.map((item, i) => str(item, `${path}[${i}]`));
}

/** Drops undefined values so the result satisfies exactOptionalPropertyTypes. */
function compact<T extends object>(o: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function parseSchema(value: unknown, path: string): OpenApiSchema {
  const o = obj(value, path);
  const props = o["properties"];
  const additional = o["additionalProperties"];
  if (additional !== undefined && typeof additional === "boolean") {
    throw new Error(`${path}.additionalProperties: boolean form is not supported`);
  }
  const enumValues = o["enum"];
  if (enumValues !== undefined && !Array.isArray(enumValues)) throw new Error(`${path}.enum: expected a list`);
  return compact<OpenApiSchema>({
    type: optStr(o["type"], `${path}.type`),
    description: optStr(o["description"], `${path}.description`),
    format: optStr(o["format"], `${path}.format`),
    properties:
      props === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(obj(props, `${path}.properties`)).map(([k, v]) => [k, parseSchema(v, `${path}.properties.${k}`)]),
          ),
    required: o["required"] === undefined ? undefined : strList(o["required"], `${path}.required`),
    items: o["items"] === undefined ? undefined : parseSchema(o["items"], `${path}.items`),
    additionalProperties: additional === undefined ? undefined : parseSchema(additional, `${path}.additionalProperties`),
    enum: enumValues === undefined ? undefined : (enumValues as readonly unknown[]),
    default: o["default"],
    minimum: optNum(o["minimum"], `${path}.minimum`),
    maximum: optNum(o["maximum"], `${path}.maximum`),
    minLength: optNum(o["minLength"], `${path}.minLength`),
    maxLength: optNum(o["maxLength"], `${path}.maxLength`),
    minItems: optNum(o["minItems"], `${path}.minItems`),
    maxItems: optNum(o["maxItems"], `${path}.maxItems`),
    pattern: optStr(o["pattern"], `${path}.pattern`),
    preserveUnknownFields: optBool(o["x-kubernetes-preserve-unknown-fields"], `${path}.x-kubernetes-preserve-unknown-fields`),
  });
}

function parseVersion(value: unknown, path: string): CrdVersion {
  const v = obj(value, path);
  const schema = obj(v["schema"], `${path}.schema`);
  const subresources = v["subresources"] === undefined ? {} : obj(v["subresources"], `${path}.subresources`);
  return {
    name: str(v["name"], `${path}.name`),
    served: optBool(v["served"], `${path}.served`) ?? false,
    storage: optBool(v["storage"], `${path}.storage`) ?? false,
    deprecated: optBool(v["deprecated"], `${path}.deprecated`) ?? false,
    hasStatusSubresource: subresources["status"] !== undefined,
    schema: parseSchema(schema["openAPIV3Schema"], `${path}.schema.openAPIV3Schema`),
  };
}

/** Parses one CustomResourceDefinition document; `where` names it in error messages (e.g. the file name). */
export function parseCrd(doc: unknown, where: string): CrdDefinition {
  const d = obj(doc, where);
  if (d["apiVersion"] !== "apiextensions.k8s.io/v1" || d["kind"] !== "CustomResourceDefinition") {
    throw new Error(`${where}: not an apiextensions.k8s.io/v1 CustomResourceDefinition`);
  }
  const metadata = obj(d["metadata"], `${where}.metadata`);
  const spec = obj(d["spec"], `${where}.spec`);
  const names = obj(spec["names"], `${where}.spec.names`);
  const versions = spec["versions"];
  if (!Array.isArray(versions) || versions.length === 0) throw new Error(`${where}.spec.versions: expected a non-empty list`);
  const kind = str(names["kind"], `${where}.spec.names.kind`);
  return {
    name: str(metadata["name"], `${where}.metadata.name`),
    group: str(spec["group"], `${where}.spec.group`),
    kind,
    listKind: optStr(names["listKind"], `${where}.spec.names.listKind`) ?? `${kind}List`,
    plural: str(names["plural"], `${where}.spec.names.plural`),
    singular: optStr(names["singular"], `${where}.spec.names.singular`) ?? kind.toLowerCase(),
    scope: str(spec["scope"], `${where}.spec.scope`),
    versions: versions.map((v, i) => parseVersion(v, `${where}.spec.versions[${i}]`)),
  };
}
