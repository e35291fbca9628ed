// Golden files: every case in testdata/cases/<name>.json rendered through the whole pure pipeline must equal
// testdata/golden/<name>.conf byte for byte. `UPDATE_GOLDEN=1` rewrites the goldens. Every golden is also loaded into
// a real FRR by e2e/frr-goldens.e2e.test.ts.
import { describe, expect, test } from "@jest/globals";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderCase, type GoldenCase } from "../testdata/run-case.js";

const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), "..", "testdata");
const CASES = join(TESTDATA, "cases");
const GOLDEN = join(TESTDATA, "golden");

const caseNames = readdirSync(CASES)
  .filter((f) => f.endsWith(".json"))
  .map((f) => f.slice(0, -".json".length))
  .sort();

describe("FRR golden files", () => {
  test("there are at least 30 cases and no orphan goldens", () => {
    expect(caseNames.length).toBeGreaterThanOrEqual(30);
    const goldens = readdirSync(GOLDEN)
      .filter((f) => f.endsWith(".conf"))
      .map((f) => f.slice(0, -".conf".length))
      .sort();
    expect(goldens).toEqual(caseNames);
  });

  test.each(caseNames)("%s", (name) => {
    const c = JSON.parse(readFileSync(join(CASES, `${name}.json`), "utf8")) as GoldenCase;
    const got = renderCase(c);
    const path = join(GOLDEN, `${name}.conf`);
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(path, got);
    expect(existsSync(path)).toBe(true);
    expect(got).toBe(readFileSync(path, "utf8"));
  });
});
