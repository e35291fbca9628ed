import type { Entry } from "./entries.js";
import { readBool, readInt } from "./raw.js";
import type { BFDProfile } from "./types.js";

const INTERVAL = { min: 10, max: 60000 };

/** Converts a BFDProfile object (ranges as the CRD and MetalLB's bfdProfileFromCR); null if it has problems. */
export function bfdProfileFromResource(e: Entry): BFDProfile | null {
  const r = e.reporter;
  const profile: BFDProfile = {
    name: e.name,
    receiveIntervalMs: readInt(e.spec, "receiveInterval", "spec", r, INTERVAL) ?? null,
    transmitIntervalMs: readInt(e.spec, "transmitInterval", "spec", r, INTERVAL) ?? null,
    detectMultiplier: readInt(e.spec, "detectMultiplier", "spec", r, { min: 2, max: 255 }) ?? null,
    echoIntervalMs: readInt(e.spec, "echoInterval", "spec", r, INTERVAL) ?? null,
    echoMode: readBool(e.spec, "echoMode", "spec", r) ?? false,
    passiveMode: readBool(e.spec, "passiveMode", "spec", r) ?? false,
    minimumTtl: readInt(e.spec, "minimumTtl", "spec", r, { min: 1, max: 254 }) ?? null,
  };
  return r.count() === 0 ? profile : null;
}
