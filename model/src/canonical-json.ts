// JSON with object keys sorted (pure): equal values give equal text whatever their key order, so what we want can be
// compared with what the API returns.
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, val: unknown) =>
    typeof val === "object" && val !== null && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}
