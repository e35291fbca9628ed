// Pure builders of what the operator writes into status: IPAddressPool counters and ConfigurationState.
import type { PoolCounters } from "../allocator/types.js";

export const MAX_INT64 = 9223372036854775807n;

export interface PoolStatus {
  readonly assignedIPv4: bigint;
  readonly assignedIPv6: bigint;
  readonly availableIPv4: bigint;
  readonly availableIPv6: bigint;
}

const cap = (n: bigint): bigint => (n > MAX_INT64 ? MAX_INT64 : n);

/** IPAddressPool.status from the allocator's counters; counts above int64 are capped at its maximum (as MetalLB). */
export function poolStatusFromCounters(c: PoolCounters): PoolStatus {
  return {
    assignedIPv4: cap(c.ipv4InUse),
    assignedIPv6: cap(c.ipv6InUse),
    availableIPv4: cap(c.ipv4Total - c.ipv4InUse),
    availableIPv6: cap(c.ipv6Total - c.ipv6InUse),
  };
}

export const samePoolStatus = (a: PoolStatus, b: PoolStatus): boolean =>
  a.assignedIPv4 === b.assignedIPv4 && a.assignedIPv6 === b.assignedIPv6 && a.availableIPv4 === b.availableIPv4 && a.availableIPv6 === b.availableIPv6;

/** Reads a PoolStatus from a raw status object (numbers may come as JS numbers); null when incomplete. */
export function poolStatusFromObject(raw: unknown): PoolStatus | null {
  if (typeof raw !== "object" || raw === null) return null;
  const o = raw as Record<string, unknown>;
  const n = (v: unknown): bigint | null => (typeof v === "number" && Number.isInteger(v) ? BigInt(v) : typeof v === "bigint" ? v : null);
  const [a4, a6, v4, v6] = [n(o.assignedIPv4), n(o.assignedIPv6), n(o.availableIPv4), n(o.availableIPv6)];
  if (a4 === null || a6 === null || v4 === null || v6 === null) return null;
  return { assignedIPv4: a4, assignedIPv6: a6, availableIPv4: v4, availableIPv6: v6 };
}

export type ConfigResult = "Valid" | "Invalid" | "Unknown";

export interface ConfigurationStateStatus {
  readonly result: ConfigResult;
  readonly errorSummary: string;
  readonly conditions: ReadonlyArray<{
    readonly type: string;
    readonly status: "True" | "False";
    readonly reason: "Reconciled" | "ConfigurationError";
    readonly message: string;
    readonly lastTransitionTime: string;
  }>;
}

/**
 * ConfigurationState.status for one reconciler: Valid with no problems, else Invalid with every problem message.
 * `previous` keeps lastTransitionTime stable while the condition's status does not change.
 */
export function configurationStateStatus(
  conditionType: string,
  problems: readonly string[],
  nowIso: string,
  previous?: { status?: string; lastTransitionTime?: string },
): ConfigurationStateStatus {
  const valid = problems.length === 0;
  const status = valid ? "True" : "False";
  const lastTransitionTime = previous?.status === status && previous.lastTransitionTime !== undefined ? previous.lastTransitionTime : nowIso;
  return {
    result: valid ? "Valid" : "Invalid",
    errorSummary: problems.join("\n"),
    conditions: [
      { type: conditionType, status, reason: valid ? "Reconciled" : "ConfigurationError", message: valid ? "" : problems.join("\n"), lastTransitionTime },
    ],
  };
}
