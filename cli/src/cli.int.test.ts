// The compiled `metallb-ts` CLI, run as a process the way a GitOps pipeline runs it.
import { beforeAll, describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { run } from "../../testenv/src/proc.js";

const root = repoRoot();
const cli = join(root, "dist", "cli", "src", "main.js");

describe("metallb-ts validate (compiled CLI)", () => {
  beforeAll(async () => {
    await run("npx", ["tsc", "-p", join(root, "tsconfig.build.json")], { timeoutMs: 120_000 });
  }, 150_000);

  test("config/samples validates: exit 0", async () => {
    const r = await run("node", [cli, "validate", join(root, "config", "samples")], { allowFail: true });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  test("a directory with a broken pool: exit 1, the file and the field are named", async () => {
    const r = await run("node", [cli, "validate", join(root, "cli", "testdata", "broken-pool")], { allowFail: true });
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/pools\.yaml:\d+ IPAddressPool\/\S+ spec\.addresses\[\d+\]: /);
  });

  test("no arguments: usage, exit 2", async () => {
    const r = await run("node", [cli], { allowFail: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/usage/i);
  });
});
