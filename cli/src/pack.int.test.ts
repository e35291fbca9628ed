// The `metallb-ts` command as a user gets it: `npm pack` of this repository, the tarball installed into a scratch
// prefix with `npm install -g --prefix`, and the command run by name from that prefix's bin/ (through the shell, as
// a GitOps pipeline runs it). Dependencies come from the local npm cache, else the registry.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { repoRoot } from "../../testenv/src/repo-root.js";
import { run } from "../../testenv/src/proc.js";

const root = repoRoot();
const scratch = mkdtempSync(join(tmpdir(), "metallb-ts-pack-"));
const prefix = join(scratch, "prefix");
let tarball = "";
let packed: string[] = [];

/** Runs a shell command line with the scratch prefix's bin/ first on PATH, from a directory outside the repository. */
const sh = (line: string): ReturnType<typeof run> =>
  run("sh", ["-c", `cd ${JSON.stringify(scratch)} && PATH=${JSON.stringify(join(prefix, "bin"))}:"$PATH" ${line}`], { allowFail: true, timeoutMs: 60_000 });

describe("metallb-ts installed from the packed package", () => {
  beforeAll(async () => {
    // prepack builds dist/ first.
    const pack = await run("npm", ["pack", "--json", "--pack-destination", scratch, root], { timeoutMs: 240_000 });
    const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = info[0]?.files.map((f) => f.path) ?? [];
    tarball = join(scratch, info[0]?.filename ?? "missing.tgz");
    await run("npm", ["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball], { timeoutMs: 240_000 });
  }, 500_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test("the tarball holds the CLI and what it imports, not the test environment", () => {
    expect(readdirSync(scratch)).toContain(tarball.slice(scratch.length + 1));
    expect(packed).toContain("dist/cli/src/main.js");
    expect(packed).toContain("dist/frr-templates/src/templates.generated.js");
    expect(packed.filter((p) => p.startsWith("dist/testenv/") || p.includes(".test.") || p.startsWith("dist/e2e/"))).toEqual([]);
    // Every relative import of a packed module is packed too (a missing one only fails when the command runs).
    const missing = packed
      .filter((p) => p.endsWith(".js"))
      .flatMap((p) => [...readFileSync(join(root, p), "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)].map((m) => posix.join(posix.dirname(p), m[1] ?? "")))
      .filter((p) => !packed.includes(p));
    expect([...new Set(missing)]).toEqual([]);
  });

  test("bin/metallb-ts is a link to the CLI, found by name", async () => {
    const which = await sh("command -v metallb-ts");
    expect(which.code).toBe(0);
    expect(realpathSync(which.stdout.trim())).toBe(realpathSync(join(prefix, "lib", "node_modules", "metallb-ts", "dist", "cli", "src", "main.js")));
  });

  test("metallb-ts validate config/samples: exit 0 and the summary", async () => {
    const r = await sh(`metallb-ts validate ${JSON.stringify(join(root, "config", "samples"))}`);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^OK: \d+ file\(s\), \d+ document\(s\): .*IPAddressPool/);
  });

  test("metallb-ts validate of a broken pool: exit 1 naming the file and field", async () => {
    const r = await sh(`metallb-ts validate ${JSON.stringify(join(root, "cli", "testdata", "broken-pool"))}`);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/pools\.yaml:\d+ IPAddressPool\/\S+ spec\.addresses\[\d+\]: /);
  });

  test("metallb-ts render prints an FRR configuration", async () => {
    const r = await sh(`metallb-ts render --node node1 ${JSON.stringify(join(root, "config", "samples"))}`);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(/^router bgp /m);
  });
});
