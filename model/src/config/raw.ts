import type { Reporter } from "./problems.js";
import { joinField } from "./problems.js";

/** Helpers reading untrusted raw objects. Readers report wrong types and return undefined instead of throwing. */
export type RawObject = Readonly<Record<string, unknown>>;

export const isRawObject = (v: unknown): v is RawObject => typeof v === "object" && v !== null && !Array.isArray(v);

export const describeType = (v: unknown): string => (v === null ? "null" : Array.isArray(v) ? "list" : typeof v);

/** Own property or undefined (never reads the prototype chain). */
export function field(obj: RawObject, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

const present = (v: unknown): boolean => v !== undefined && v !== null;

export function readString(obj: RawObject, key: string, path: string, r: Reporter): string | undefined {
  const v = field(obj, key);
  if (!present(v)) return undefined;
  if (typeof v !== "string") {
    r.permanent(joinField(path, key), `must be a string, got ${describeType(v)}`);
    return undefined;
  }
  return v;
}

export function readBool(obj: RawObject, key: string, path: string, r: Reporter): boolean | undefined {
  const v = field(obj, key);
  if (!present(v)) return undefined;
  if (typeof v !== "boolean") {
    r.permanent(joinField(path, key), `must be a boolean, got ${describeType(v)}`);
    return undefined;
  }
  return v;
}

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

export const UINT32: IntRange = { min: 0, max: 4294967295 };
export const INT32: IntRange = { min: -2147483648, max: 2147483647 };

/** Reads an integer within the range (the CRD's OpenAPI bounds). */
export function readInt(obj: RawObject, key: string, path: string, r: Reporter, range: IntRange): number | undefined {
  const v = field(obj, key);
  if (!present(v)) return undefined;
  const where = joinField(path, key);
  if (typeof v !== "number" || !Number.isInteger(v)) {
    r.permanent(where, `must be an integer, got ${typeof v === "number" ? String(v) : describeType(v)}`);
    return undefined;
  }
  if (v < range.min || v > range.max) {
    r.permanent(where, `invalid value ${v}, must be in ${range.min}-${range.max} range`);
    return undefined;
  }
  return v;
}

export function readObject(obj: RawObject, key: string, path: string, r: Reporter): RawObject | undefined {
  const v = field(obj, key);
  if (!present(v)) return undefined;
  if (!isRawObject(v)) {
    r.permanent(joinField(path, key), `must be an object, got ${describeType(v)}`);
    return undefined;
  }
  return v;
}

/** Reads a list; missing/null is the empty list. */
export function readList(obj: RawObject, key: string, path: string, r: Reporter): readonly unknown[] {
  const v = field(obj, key);
  if (!present(v)) return [];
  if (!Array.isArray(v)) {
    r.permanent(joinField(path, key), `must be a list, got ${describeType(v)}`);
    return [];
  }
  return v;
}

/** Reads a list of strings; wrong items are reported and skipped. Returns items with their original index. */
export function readStringList(obj: RawObject, key: string, path: string, r: Reporter): { value: string; index: number }[] {
  const result: { value: string; index: number }[] = [];
  readList(obj, key, path, r).forEach((item, index) => {
    if (typeof item === "string") result.push({ value: item, index });
    else r.permanent(`${joinField(path, key)}[${index}]`, `must be a string, got ${describeType(item)}`);
  });
  return result;
}

/** Reports every value that appeared earlier in the list ("duplicate definition of <what> \"x\""). */
export function reportDuplicates(items: readonly { value: string; index: number }[], listPath: string, what: string, r: Reporter): void {
  const seen = new Set<string>();
  for (const { value, index } of items) {
    if (seen.has(value)) r.permanent(`${listPath}[${index}]`, `duplicate definition of ${what} ${JSON.stringify(value)}`);
    seen.add(value);
  }
}

/** Reads a `map[string]string` such as metadata.labels. */
export function readStringMap(obj: RawObject, key: string, path: string, r: Reporter): Record<string, string> {
  const result: Record<string, string> = {};
  const v = readObject(obj, key, path, r);
  if (v === undefined) return result;
  for (const k of Object.keys(v)) {
    const value = v[k];
    if (typeof value === "string") result[k] = value;
    else r.permanent(`${joinField(path, key)}[${JSON.stringify(k)}]`, `must be a string, got ${describeType(value)}`);
  }
  return result;
}
