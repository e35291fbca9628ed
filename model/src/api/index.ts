/** The metallb.io API: group name, kinds table and the types generated from config/crd/bases. */
import { API_KINDS } from "./generated.js";

export const METALLB_GROUP = "metallb.io";

/** Every kind with its plural, served versions and storage version (derived from the CRDs by codegen.ts). */
export const METALLB_KINDS = API_KINDS;

export type MetalLBKind = (typeof METALLB_KINDS)[number]["kind"];

export * from "./generated.js";
