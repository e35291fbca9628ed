// For tests and benchmarks: an address literal that must parse.
import { parseIP, type IPAddress } from "../ip.js";

export function mustParseIP(text: string): IPAddress {
  const r = parseIP(text);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
