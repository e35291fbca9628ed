// HMAC-SHA256 (RFC 2104 / FIPS 198-1) on top of the pure SHA-256, and a constant-time comparison for MAC checks.
import { sha256, SHA256_BLOCK_BYTES } from "./sha256.js";

const IPAD = 0x36;
const OPAD = 0x5c;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** HMAC-SHA256 of `data` under `key` (any length; keys longer than a block are hashed first). 32 bytes. */
export function hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
  const k = new Uint8Array(SHA256_BLOCK_BYTES);
  k.set(key.length > SHA256_BLOCK_BYTES ? sha256(key) : key);
  const inner = new Uint8Array(SHA256_BLOCK_BYTES);
  const outer = new Uint8Array(SHA256_BLOCK_BYTES);
  for (let i = 0; i < SHA256_BLOCK_BYTES; i++) {
    const b = k[i] ?? 0;
    inner[i] = b ^ IPAD;
    outer[i] = b ^ OPAD;
  }
  return sha256(concat(outer, sha256(concat(inner, data))));
}

/**
 * True when `a` and `b` hold the same bytes. The time taken depends only on the lengths, never on where the first
 * difference is, so a MAC check does not leak how many leading bytes of a forgery were right.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
