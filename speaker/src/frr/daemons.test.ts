import { describe, expect, test } from "@jest/globals";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { buildCase, type GoldenCase } from "../../../frr-templates/testdata/run-case.js";
import type { FrrConfig } from "../../../model/src/frr/types.js";
import { repoRoot } from "../../../testenv/src/repo-root.js";
import { frrDaemonsMissing, frrDaemonsNeeded } from "./daemons.js";

/** The FRR view model of a golden case (frr-templates/testdata/cases). */
const golden = (name: string): FrrConfig =>
  buildCase(JSON.parse(readFileSync(join(repoRoot(), "frr-templates/testdata/cases", `${name}.json`), "utf8")) as GoldenCase).frr;

describe("frrDaemonsNeeded", () => {
  test.each([
    ["single-ebgp", ["zebra", "bgpd"]],
    ["bfd-session", ["zebra", "bgpd", "bfdd"]], // neighbors with BFD and a profile
    ["bfd-profile-defaults", ["zebra", "bgpd", "bfdd"]], // a BFD profile
    ["no-peers", ["zebra", "bgpd", "bfdd"]], // no peer, but a BFD profile is configured
  ])("%s", (name, want) => {
    expect(frrDaemonsNeeded(golden(name))).toEqual(want);
  });

  test("missing ones, in start order", () => {
    const cfg = golden("bfd-session");
    expect(frrDaemonsMissing(cfg, (d) => d === "zebra")).toEqual(["bgpd", "bfdd"]);
    expect(frrDaemonsMissing(cfg, () => true)).toEqual([]);
  });
});
