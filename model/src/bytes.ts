// Byte-array comparisons for the pure core: the lexicographic order MetalLB's election sorts hashes by, and the
// constant-time equality a MAC check needs. Hashing itself comes from @noble/hashes (audited, pure JavaScript).

/** Lexicographic byte order (Go's bytes.Compare): negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
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
