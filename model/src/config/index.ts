export { blankTransientReferences, parseConfig } from "./parse-config.js";
export { formatProblem, onlyTransientProblems } from "./problems.js";
export type * from "./types.js";
