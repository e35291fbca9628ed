import { EVERYTHING, formatLabelSelector, parseLabelSelector, selectorMatches, type LabelSelector, type Labels } from "../labels/selector.js";
import { joinField, type Reporter } from "./problems.js";
import { readList, type RawObject } from "./raw.js";

/**
 * Reads a list of label selectors (`nodeSelectors`, `serviceSelectors`, …): each must be valid and the list must not
 * hold two equal selectors ("duplicate definition of <key>"). Returns the valid selectors, or null if any was invalid.
 */
export function readSelectorList(obj: RawObject, key: string, path: string, r: Reporter): LabelSelector[] | null {
  const listPath = joinField(path, key);
  const selectors: LabelSelector[] = [];
  const seen = new Set<string>();
  let valid = true;
  readList(obj, key, path, r).forEach((raw, i) => {
    const parsed = parseLabelSelector(raw);
    if (!parsed.ok) {
      valid = false;
      for (const p of parsed.error) r.permanent(joinField(`${listPath}[${i}]`, p.field), p.message);
      return;
    }
    const text = formatLabelSelector(parsed.value);
    if (seen.has(text)) {
      valid = false;
      r.permanent(`${listPath}[${i}]`, `duplicate definition of ${key} ${JSON.stringify(text)}`);
      return;
    }
    seen.add(text);
    selectors.push(parsed.value);
  });
  return valid ? selectors : null;
}

/** A named object with labels (Node, Namespace, IPAddressPool). */
export interface Labelled {
  readonly name: string;
  readonly labels: Labels;
}

/** Names of the objects matched by any selector (all objects when there are no selectors), sorted and unique. */
export function selectNames(objects: readonly Labelled[], selectors: readonly LabelSelector[]): string[] {
  const effective = selectors.length === 0 ? [EVERYTHING] : selectors;
  const names = objects.filter((o) => effective.some((s) => selectorMatches(s, o.labels))).map((o) => o.name);
  return [...new Set(names)].sort();
}
