import { err, ok, type Result } from "../result.js";

/** Operators of a Kubernetes label selector requirement. */
export type SelectorOperator = "In" | "NotIn" | "Exists" | "DoesNotExist";

/** One parsed `matchExpressions` entry. */
export interface LabelRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** A parsed, validated Kubernetes LabelSelector. An empty selector selects everything. */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly LabelRequirement[];
}

/** A problem in a selector; `field` is relative to the selector (`matchExpressions[0].operator`). */
export interface SelectorProblem {
  readonly field: string;
  readonly message: string;
}

export type Labels = Readonly<Record<string, string>>;

/** The selector that matches every label set. */
export const EVERYTHING: LabelSelector = Object.freeze({ matchLabels: Object.freeze({}), matchExpressions: Object.freeze([]) });

const OPERATORS: readonly string[] = ["In", "NotIn", "Exists", "DoesNotExist"];
const NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);

const NAME_PART_HINT = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

/** Validates a label key (a qualified name with an optional DNS subdomain prefix); returns the reasons it is invalid. */
export function validateLabelKey(key: string): string[] {
  const parts = key.split("/");
  let name = key;
  const problems: string[] = [];
  if (parts.length > 2) {
    return [
      `invalid label key ${JSON.stringify(key)}: a qualified name ${NAME_PART_HINT}, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (parts.length === 2) {
    const prefix = parts[0] ?? "";
    name = parts[1] ?? "";
    if (prefix === "") problems.push(`invalid label key ${JSON.stringify(key)}: prefix part must be non-empty`);
    else if (prefix.length > 253) problems.push(`invalid label key ${JSON.stringify(key)}: prefix part must be no more than 253 characters`);
    else if (!DNS_SUBDOMAIN.test(prefix)) {
      problems.push(`invalid label key ${JSON.stringify(key)}: prefix part must be a lowercase RFC 1123 subdomain`);
    }
  }
  if (name === "") problems.push(`invalid label key ${JSON.stringify(key)}: name part must be non-empty`);
  else if (name.length > 63) problems.push(`invalid label key ${JSON.stringify(key)}: name part must be no more than 63 characters`);
  else if (!NAME_PART.test(name)) problems.push(`invalid label key ${JSON.stringify(key)}: name part ${NAME_PART_HINT}`);
  return problems;
}

/** Validates a label value (empty allowed); returns the reasons it is invalid. */
export function validateLabelValue(value: string): string[] {
  if (value === "") return [];
  if (value.length > 63) return [`invalid label value ${JSON.stringify(value)}: must be no more than 63 characters`];
  if (!NAME_PART.test(value)) {
    return [`invalid label value ${JSON.stringify(value)}: a valid label must be an empty string or ${NAME_PART_HINT}`];
  }
  return [];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function parseMatchLabels(raw: unknown, problems: SelectorProblem[]): Record<string, string> {
  const result: Record<string, string> = {};
  if (raw === undefined || raw === null) return result;
  if (!isRecord(raw)) {
    problems.push({ field: "matchLabels", message: "must be a map of label keys to string values" });
    return result;
  }
  for (const key of Object.keys(raw).sort()) {
    const field = `matchLabels[${JSON.stringify(key)}]`;
    const value = raw[key];
    if (typeof value !== "string") {
      problems.push({ field, message: "label value must be a string" });
      continue;
    }
    for (const message of [...validateLabelKey(key), ...validateLabelValue(value)]) problems.push({ field, message });
    result[key] = value;
  }
  return result;
}

function parseRequirement(raw: unknown, field: string, problems: SelectorProblem[]): LabelRequirement | null {
  if (!isRecord(raw)) {
    problems.push({ field, message: "must be an object with key, operator and values" });
    return null;
  }
  const before = problems.length;
  const key = raw["key"];
  const operator = raw["operator"];
  const rawValues = raw["values"] ?? [];
  if (typeof key !== "string" || key === "") problems.push({ field: `${field}.key`, message: "missing key in match expression" });
  else for (const message of validateLabelKey(key)) problems.push({ field: `${field}.key`, message });
  if (typeof operator !== "string" || operator === "") {
    problems.push({ field: `${field}.operator`, message: "missing operator in match expression" });
  } else if (!OPERATORS.includes(operator)) {
    problems.push({ field: `${field}.operator`, message: `${JSON.stringify(operator)} is not a valid label selector operator` });
  }
  const values: string[] = [];
  if (!Array.isArray(rawValues)) problems.push({ field: `${field}.values`, message: "must be a list of strings" });
  else {
    rawValues.forEach((v: unknown, i) => {
      if (typeof v !== "string") problems.push({ field: `${field}.values[${i}]`, message: "must be a string" });
      else {
        for (const message of validateLabelValue(v)) problems.push({ field: `${field}.values[${i}]`, message });
        values.push(v);
      }
    });
  }
  if (operator === "In" || operator === "NotIn") {
    if (values.length === 0 && Array.isArray(rawValues) && rawValues.length === 0) {
      problems.push({ field: `${field}.values`, message: "for 'In', 'NotIn' operators, values set can't be empty" });
    }
  } else if ((operator === "Exists" || operator === "DoesNotExist") && Array.isArray(rawValues) && rawValues.length > 0) {
    problems.push({ field: `${field}.values`, message: "values set must be empty for exists and does not exist" });
  }
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v))
      problems.push({ field: `${field}.values`, message: `duplicate definition of match expression value in label selector ${JSON.stringify(v)}` });
    seen.add(v);
  }
  if (problems.length > before) return null;
  return { key: key as string, operator: operator as SelectorOperator, values: [...values].sort() };
}

/**
 * Parses a raw `metav1.LabelSelector` (validating keys, values and operators like
 * `metav1.LabelSelectorAsSelector`). `null`/`undefined` is the empty selector, which selects everything.
 */
export function parseLabelSelector(raw: unknown): Result<LabelSelector, SelectorProblem[]> {
  if (raw === undefined || raw === null) return ok(EVERYTHING);
  if (!isRecord(raw)) return err([{ field: "", message: "label selector must be an object" }]);
  const problems: SelectorProblem[] = [];
  const matchLabels = parseMatchLabels(raw["matchLabels"], problems);
  const matchExpressions: LabelRequirement[] = [];
  const rawExpressions = raw["matchExpressions"] ?? [];
  if (!Array.isArray(rawExpressions)) {
    problems.push({ field: "matchExpressions", message: "must be a list of match expressions" });
  } else {
    rawExpressions.forEach((e: unknown, i) => {
      const req = parseRequirement(e, `matchExpressions[${i}]`, problems);
      if (req !== null) matchExpressions.push(req);
    });
  }
  const seen = new Map<string, number>();
  matchExpressions.forEach((req, i) => {
    const text = formatRequirement(req);
    if (seen.has(text)) {
      problems.push({ field: `matchExpressions[${i}]`, message: `duplicate definition of match expressions ${JSON.stringify(text)}` });
    }
    seen.set(text, i);
  });
  if (problems.length > 0) return err(problems);
  return ok({ matchLabels, matchExpressions });
}

function requirementMatches(req: LabelRequirement, labels: Labels): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const value = has ? labels[req.key] : undefined;
  switch (req.operator) {
    case "In":
      return value !== undefined && req.values.includes(value);
    case "NotIn":
      return value === undefined || !req.values.includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
  }
}

/** True if the label set satisfies every matchLabels entry and every matchExpression. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    if (!Object.prototype.hasOwnProperty.call(labels, key) || labels[key] !== value) return false;
  }
  return selector.matchExpressions.every((req) => requirementMatches(req, labels));
}

/** True if any selector matches; an empty list matches everything. */
export function anySelectorMatches(selectors: readonly LabelSelector[], labels: Labels): boolean {
  return selectors.length === 0 || selectors.some((s) => selectorMatches(s, labels));
}

/** Kubernetes-style text of one requirement: `k in (a,b)`, `k notin (a)`, `k`, `!k`. */
export function formatRequirement(req: LabelRequirement): string {
  switch (req.operator) {
    case "In":
      return `${req.key} in (${req.values.join(",")})`;
    case "NotIn":
      return `${req.key} notin (${req.values.join(",")})`;
    case "Exists":
      return req.key;
    case "DoesNotExist":
      return `!${req.key}`;
  }
}

/**
 * Canonical string form, used for duplicate detection (MetalLB rule: two selectors are duplicates when equal after
 * sorting each expression's values; matchLabels are ordered by key, expressions keep their order).
 * The empty selector is `<everything>`.
 */
export function formatLabelSelector(selector: LabelSelector): string {
  const parts = [
    ...Object.keys(selector.matchLabels)
      .sort()
      .map((k) => `${k}=${selector.matchLabels[k] ?? ""}`),
    ...selector.matchExpressions.map(formatRequirement),
  ];
  return parts.length === 0 ? "<everything>" : parts.join(",");
}
