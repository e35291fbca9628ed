import { parseCommunity, type Community } from "../bgp/community.js";
import type { Entry } from "./entries.js";
import { describeType, isRawObject, readList } from "./raw.js";

/**
 * Collects the aliases of all Community objects (sorted by object name). Every value must parse, and an alias name
 * may be defined only once across all objects ("duplicate definition of community").
 */
export function communityAliasesFromResources(entries: readonly Entry[]): Map<string, Community> {
  const aliases = new Map<string, Community>();
  const definedIn = new Map<string, string>();
  for (const e of entries) {
    const r = e.reporter;
    readList(e.spec, "communities", "spec", r).forEach((item, i) => {
      const path = `spec.communities[${i}]`;
      if (!isRawObject(item)) {
        r.permanent(path, `must be an object with name and value, got ${describeType(item)}`);
        return;
      }
      const name = item["name"];
      const value = item["value"];
      if (typeof name !== "string" || name === "") {
        r.permanent(`${path}.name`, "missing community alias name");
        return;
      }
      if (typeof value !== "string") {
        r.permanent(`${path}.value`, `missing value for community alias ${JSON.stringify(name)}`);
        return;
      }
      const parsed = parseCommunity(value);
      if (!parsed.ok) {
        r.permanent(`${path}.value`, `parsing community ${JSON.stringify(name)}: ${parsed.error.message}`);
        return;
      }
      const previous = definedIn.get(name);
      if (previous !== undefined) {
        r.permanent(`${path}.name`, `duplicate definition of community ${JSON.stringify(name)} (already defined in Community ${JSON.stringify(previous)})`);
        return;
      }
      definedIn.set(name, e.name);
      aliases.set(name, parsed.value);
    });
  }
  return aliases;
}
