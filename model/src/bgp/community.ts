import { err, ok, type Result } from "../result.js";

/** A BGP community value: RFC 1997 (`AA:NN`, two uint16) or RFC 8092 large (`large:A:B:C`, three uint32). */
export type Community =
  | { readonly kind: "legacy"; readonly asn: number; readonly value: number }
  | { readonly kind: "large"; readonly globalAdministrator: number; readonly localData1: number; readonly localData2: number };

/**
 * Why a string is not a community. `format`: it does not look like a community value at all (no ':'), so it may be
 * the name of a Community alias; `value`: it looks like a value but a section is invalid.
 */
export interface CommunityError {
  readonly reason: "format" | "value";
  readonly message: string;
}

const DIGITS = /^[0-9]+$/;
const LARGE_FORMAT = "large:<uint32>:<uint32>:<uint32>";

function parseSection(section: string, max: number): number | null {
  if (!DIGITS.test(section)) return null;
  const n = Number(section);
  return n <= max ? n : null;
}

function sectionError(section: string, text: string, bits: 16 | 32): CommunityError {
  return {
    reason: "value",
    message: `invalid community value: invalid section ${JSON.stringify(section)} of community ${JSON.stringify(text)}: must be a uint${bits}`,
  };
}

function parseLarge(text: string, fields: readonly string[]): Result<Community, CommunityError> {
  if (fields.length !== 4) {
    return err({ reason: "value", message: `invalid community value ${JSON.stringify(text)}: expected community to be of format ${LARGE_FORMAT}` });
  }
  const values: number[] = [];
  for (const section of fields.slice(1)) {
    const n = parseSection(section, 0xffffffff);
    if (n === null) return err(sectionError(section, text, 32));
    values.push(n);
  }
  const [globalAdministrator = 0, localData1 = 0, localData2 = 0] = values;
  return ok({ kind: "large", globalAdministrator, localData1, localData2 });
}

/** Parses `AA:NN` or `large:A:B:C`. */
export function parseCommunity(text: string): Result<Community, CommunityError> {
  if (!text.includes(":")) {
    return err({ reason: "format", message: `invalid community format ${JSON.stringify(text)}: expected <uint16>:<uint16> or ${LARGE_FORMAT}` });
  }
  const fields = text.split(":");
  if (fields[0] === "large") return parseLarge(text, fields);
  if (fields.length !== 2) {
    return err({
      reason: "value",
      message: `invalid community value ${JSON.stringify(text)}: expected community to be of format <uint16>:<uint16> or ${LARGE_FORMAT}`,
    });
  }
  const [first = "", second = ""] = fields;
  const asn = parseSection(first, 0xffff);
  if (asn === null) return err(sectionError(first, text, 16));
  const value = parseSection(second, 0xffff);
  if (value === null) return err(sectionError(second, text, 16));
  return ok({ kind: "legacy", asn, value });
}

/** Canonical text form: `AA:NN` or `large:A:B:C`. */
export function formatCommunity(c: Community): string {
  return c.kind === "legacy" ? `${c.asn}:${c.value}` : `large:${c.globalAdministrator}:${c.localData1}:${c.localData2}`;
}

/** True for an RFC 1997 (non-large) community. */
export const isLegacyCommunity = (c: Community): boolean => c.kind === "legacy";
