import type { ConfigProblem, ResourceKind } from "./types.js";

/** Collects problems about one object. */
export interface Reporter {
  readonly kind: ResourceKind;
  readonly name: string;
  readonly index: number;
  /** A problem the user must fix. */
  permanent(field: string, message: string): void;
  /** A dangling reference that may resolve once the referenced object exists. */
  transient(field: string, message: string): void;
  /** Number of problems reported through this reporter so far. */
  count(): number;
}

export function reporterFor(problems: ConfigProblem[], kind: ResourceKind, name: string, index: number): Reporter {
  let reported = 0;
  const add = (field: string, message: string, transient: boolean): void => {
    reported++;
    problems.push({ kind, name, index, field, message, transient });
  };
  return {
    kind,
    name,
    index,
    permanent: (field, message) => add(field, message, false),
    transient: (field, message) => add(field, message, true),
    count: () => reported,
  };
}

/** Joins a parent path and a child field: `spec` + `addresses[1]` → `spec.addresses[1]`. */
export const joinField = (parent: string, child: string): string =>
  parent === "" ? child : child === "" ? parent : child.startsWith("[") ? `${parent}${child}` : `${parent}.${child}`;

/** `IPAddressPool/pool-a spec.addresses[1]: CIDR "10.0.0.0/24" in pool "pool-a" overlaps with …` */
export function formatProblem(p: ConfigProblem): string {
  const name = p.name === "" ? `(unnamed #${p.index})` : p.name;
  const where = p.field === "" ? `${p.kind}/${name}` : `${p.kind}/${name} ${p.field}`;
  return `${where}: ${p.message}${p.transient ? " (transient: waiting for the referenced object)" : ""}`;
}

/** True when every problem is transient (the configuration would be valid once the referenced objects exist). */
export const onlyTransientProblems = (problems: readonly ConfigProblem[]): boolean => problems.every((p) => p.transient);
