// Command-line flags through node:util.parseArgs in strict mode, with the error texts our commands print
// ("unknown flag --x", "flag --x needs a value", "unexpected argument ..."), shared by the operator, the speaker and
// the CLI. Boolean flags also take an explicit value (--leader-elect=false), which parseArgs alone refuses.
import { parseArgs } from "node:util";

export type FlagType = "string" | "boolean";

/** Flag name (without the dashes) → its type. */
export type FlagSpec = Readonly<Record<string, FlagType>>;

export interface ParsedFlags {
  /** Flags given, by name: the string value, or true/false for a boolean flag. The last occurrence wins. */
  readonly values: ReadonlyMap<string, string | boolean>;
  readonly positionals: readonly string[];
}

export type FlagsResult = { ok: true; flags: ParsedFlags } | { ok: false; error: string };

const quoted = (message: string): string => /'([^']*)'/.exec(message)?.[1] ?? "";

/** Our wording for a parseArgs error (they carry a stable `code`; the flag is the first quoted part of the message). */
function describeError(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `unknown flag ${quoted(message)}`;
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument ${JSON.stringify(quoted(message))}`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = quoted(message).split(" ")[0] ?? "";
    if (message.includes("ambiguous")) return `flag ${flag} needs a value (for a value starting with a dash write ${flag}=VALUE)`;
    if (message.includes("does not take an argument")) return `flag ${flag} takes no value`;
    return `flag ${flag} needs a value`;
  }
  throw e;
}

/**
 * Parses argv against spec, strictly: an unknown flag, a string flag without a value and (unless allowPositionals)
 * any non-flag argument are errors. A boolean flag is `--name`, or `--name=true` / `--name=false`.
 */
export function parseFlags(argv: readonly string[], spec: FlagSpec, opts: { allowPositionals?: boolean } = {}): FlagsResult {
  // Boolean flags are read here, in command-line order (the last one wins); parseArgs sees only their bare form.
  const booleans = new Map<string, boolean>();
  const rest: string[] = [];
  let afterTerminator = false;
  for (const arg of argv) {
    const m = afterTerminator ? null : /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    if (arg === "--") afterTerminator = true;
    const name = m?.[1];
    if (m === null || name === undefined || spec[name] !== "boolean") {
      rest.push(arg);
      continue;
    }
    const value = m[2];
    if (value === undefined) rest.push(arg);
    else if (value !== "true" && value !== "false") return { ok: false, error: `--${name} must be true or false, got ${JSON.stringify(value)}` };
    booleans.set(name, value !== "false");
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(Object.entries(spec).map(([name, type]) => [name, { type }])),
      strict: true,
      allowPositionals: opts.allowPositionals ?? false,
    });
  } catch (e: unknown) {
    return { ok: false, error: describeError(e) };
  }
  const values = new Map<string, string | boolean>();
  for (const [name, v] of Object.entries(parsed.values)) if (typeof v === "string") values.set(name, v);
  for (const [name, v] of booleans) values.set(name, v);
  return { ok: true, flags: { values, positionals: parsed.positionals } };
}
