import { reporterFor, type Reporter } from "./problems.js";
import { describeType, field, isRawObject, readStringMap, type RawObject } from "./raw.js";
import type { ConfigProblem, ParseConfigOptions, ResourceKind } from "./types.js";

/** One input object with its metadata read and a reporter bound to it. */
export interface Entry {
  readonly index: number;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly object: RawObject;
  /** `spec`, or `{}` when missing or malformed (which is reported). */
  readonly spec: RawObject;
  readonly reporter: Reporter;
}

const EMPTY: RawObject = Object.freeze({});

function metadataOf(item: unknown): RawObject {
  if (!isRawObject(item)) return EMPTY;
  const metadata = field(item, "metadata");
  return isRawObject(metadata) ? metadata : EMPTY;
}

function nameOf(item: unknown): string {
  const name = field(metadataOf(item), "name");
  return typeof name === "string" ? name : "";
}

/** Orders by name, then by input position, so output does not depend on list order. */
function byNameThenIndex(a: { name: string; index: number }, b: { name: string; index: number }): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.index - b.index;
}

export interface ReadEntriesContext {
  readonly problems: ConfigProblem[];
  readonly options: ParseConfigOptions;
  /** MetalLB kinds have a spec and must live in the MetalLB namespace; Node/Namespace/Secret do not. */
  readonly metallbKind: boolean;
}

/**
 * Reads the metadata of every item of one kind, reporting items that are not objects, have no name, or have a
 * malformed spec. Returns the well-formed entries sorted by name.
 */
export function readEntries(items: readonly unknown[], kind: ResourceKind, ctx: ReadEntriesContext): Entry[] {
  const order = items.map((item, index) => ({ item, index, name: nameOf(item) })).sort(byNameThenIndex);
  const entries: Entry[] = [];
  for (const { item, index, name } of order) {
    const r = reporterFor(ctx.problems, kind, name, index);
    if (!isRawObject(item)) {
      r.permanent("", `must be an object, got ${describeType(item)}`);
      continue;
    }
    const metadata = field(item, "metadata");
    if (!isRawObject(metadata)) {
      r.permanent("metadata", "missing metadata");
      continue;
    }
    if (name === "") r.permanent("metadata.name", `missing ${kind} name`);
    const ns = field(metadata, "namespace");
    const namespace = typeof ns === "string" && ns !== "" ? ns : undefined;
    if (ctx.metallbKind && ctx.options.namespace !== undefined && namespace !== undefined && namespace !== ctx.options.namespace) {
      r.permanent("metadata.namespace", `resource must be created in ${ctx.options.namespace} namespace`);
    }
    const labels = readStringMap(metadata, "labels", "metadata", r);
    const rawSpec = field(item, "spec");
    let spec = EMPTY;
    if (ctx.metallbKind && rawSpec !== undefined && rawSpec !== null) {
      if (isRawObject(rawSpec)) spec = rawSpec;
      else r.permanent("spec", `must be an object, got ${describeType(rawSpec)}`);
    }
    entries.push({ index, name, namespace, labels, object: item, spec, reporter: r });
  }
  return entries;
}

/** Reports the second and later entries with an already-used name, and returns the entries with unique names. */
export function dropDuplicateNames(entries: readonly Entry[], what: string): Entry[] {
  const seen = new Set<string>();
  const unique: Entry[] = [];
  for (const e of entries) {
    if (e.name !== "" && seen.has(e.name)) {
      e.reporter.permanent("metadata.name", `duplicate definition of ${what} ${JSON.stringify(e.name)}`);
      continue;
    }
    seen.add(e.name);
    unique.push(e);
  }
  return unique;
}
