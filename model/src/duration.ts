import { err, ok, type Result } from "./result.js";

const NANOS_PER_UNIT: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  "\u00b5s": 1_000n, // micro sign
  "\u03bcs": 1_000n, // Greek mu
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const MAX_NANOS = (1n << 63n) - 1n;
const DIGITS = /^[0-9]*/;
const UNIT = /^[^0-9.]*/;

/** Parses one `<number><unit>` element at the start of `rest`, returning its nanoseconds and the remainder. */
function parseElement(rest: string, original: string): Result<{ nanos: bigint; rest: string }, string> {
  const invalid = err(`time: invalid duration ${JSON.stringify(original)}`);
  const intDigits = DIGITS.exec(rest)?.[0] ?? "";
  let remaining = rest.slice(intDigits.length);
  let fracDigits = "";
  if (remaining.startsWith(".")) {
    fracDigits = DIGITS.exec(remaining.slice(1))?.[0] ?? "";
    remaining = remaining.slice(1 + fracDigits.length);
  }
  if (intDigits === "" && fracDigits === "") return invalid;
  const unit = UNIT.exec(remaining)?.[0] ?? "";
  remaining = remaining.slice(unit.length);
  if (unit === "") return err(`time: missing unit in duration ${JSON.stringify(original)}`);
  const perUnit = NANOS_PER_UNIT[unit];
  if (perUnit === undefined) return err(`time: unknown unit ${JSON.stringify(unit)} in duration ${JSON.stringify(original)}`);
  let nanos = BigInt(intDigits === "" ? "0" : intDigits) * perUnit;
  if (fracDigits !== "") nanos += (BigInt(fracDigits) * perUnit) / 10n ** BigInt(fracDigits.length);
  return ok({ nanos, rest: remaining });
}

/**
 * Parses a Go duration string (`"1m30s"`, `"300ms"`, `"1.5h"`, `"-2s"`, `"0"`), as `time.ParseDuration` does,
 * into nanoseconds. Error messages match Go's.
 */
export function parseDurationNanos(text: string): Result<bigint, string> {
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return ok(0n);
  if (rest === "") return err(`time: invalid duration ${JSON.stringify(text)}`);
  let total = 0n;
  while (rest !== "") {
    const element = parseElement(rest, text);
    if (!element.ok) return element;
    total += element.value.nanos;
    if (total > MAX_NANOS) return err(`time: invalid duration ${JSON.stringify(text)}`);
    rest = element.value.rest;
  }
  return ok(negative ? -total : total);
}

/** Parses a Go duration string into milliseconds (fractions of a millisecond are kept). */
export function parseDuration(text: string): Result<number, string> {
  const nanos = parseDurationNanos(text);
  return nanos.ok ? ok(Number(nanos.value) / 1e6) : nanos;
}
