// Pure cryptographic primitives for the core (no node:crypto): SHA-256 and HMAC-SHA256.
export * from "./sha256.js";
export * from "./hmac.js";
