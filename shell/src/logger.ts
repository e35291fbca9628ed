// Structured JSON logging, injected everywhere (no global logger). One line per entry:
// {"ts":"…","level":"info","msg":"…","component":"operator",...fields}
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(fields: LogFields, msg: string): void;
  info(fields: LogFields, msg: string): void;
  warn(fields: LogFields, msg: string): void;
  error(fields: LogFields, msg: string): void;
  child(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLoggerOptions {
  write: (line: string) => void;
  level?: LogLevel;
  now?: () => Date;
  base?: LogFields;
}

/** Turns thrown values into {name, message, code, cause} so they serialize; leaves other values alone. */
export function summarizeError(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const out: Record<string, unknown> = { name: e.name, message: e.message };
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  if (e.cause !== undefined) out.cause = summarizeError(e.cause);
  return out;
}

export function jsonLogger(opts: JsonLoggerOptions): Logger {
  const min = RANK[opts.level ?? "info"];
  const now = opts.now ?? ((): Date => new Date());
  const base = opts.base ?? {};
  const emit = (level: LogLevel, fields: LogFields, msg: string): void => {
    if (RANK[level] < min) return;
    const entry: Record<string, unknown> = { ts: now().toISOString(), level, msg, ...base };
    for (const [k, v] of Object.entries(fields)) entry[k] = k === "err" ? summarizeError(v) : v;
    opts.write(JSON.stringify(entry, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
  };
  return {
    debug: (f, m) => emit("debug", f, m),
    info: (f, m) => emit("info", f, m),
    warn: (f, m) => emit("warn", f, m),
    error: (f, m) => emit("error", f, m),
    child: (fields) => jsonLogger({ ...opts, base: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
