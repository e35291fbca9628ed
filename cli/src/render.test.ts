import { describe, expect, test } from "@jest/globals";
import { fileSystemIO } from "./fs-io.js";
import { join } from "node:path";
import { runRender } from "./render.js";
import type { ValidateIO } from "./validate.js";

const ROOT = join(import.meta.dirname, "..", "..");

function fsIO(): { io: ValidateIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: fileSystemIO(
      (l) => out.push(l),
      (l) => err.push(l),
    ),
  };
}

describe("metallb-ts render", () => {
  test("renders the node's FRR configuration from the BGP sample and a Service; the password stays redacted", async () => {
    const c = fsIO();
    const code = await runRender(["--node", "worker-1", join(ROOT, "config/samples/bgp.yaml"), join(ROOT, "cli/testdata/render")], c.io);
    const text = c.out.join("\n");
    expect([code, c.err]).toEqual([0, []]);
    expect(text).toMatch(/^router bgp \d+/m);
    expect(text).toMatch(/^ {2}network 198\.51\.100\.10\/32 route-map class-\d+$/m);
    expect(text).toMatch(/neighbor \S+ password <redacted>/);
    expect(text).not.toContain("change-me-7f3a9c");
  });

  test("--show-passwords renders the real password", async () => {
    const c = fsIO();
    await runRender(["--node=worker-1", "--show-passwords", join(ROOT, "config/samples/bgp.yaml")], c.io);
    expect(c.out.join("\n")).toContain("password change-me-7f3a9c");
  });

  test("usage errors exit 2; an invalid configuration exits 1 with the problem", async () => {
    const c = fsIO();
    expect(await runRender([join(ROOT, "config/samples")], c.io)).toBe(2);
    const u = fsIO();
    expect(await runRender(["--node", "n", "--show-password", join(ROOT, "config/samples")], u.io)).toBe(2);
    expect(u.err.join("\n")).toMatch(/^render: unknown flag --show-password\n/);
    const v = fsIO();
    expect(await runRender(["--node", join(ROOT, "config/samples")], v.io)).toBe(2);
    expect(v.err.join("\n")).toMatch(/^render: no files or directories given/);
    const d = fsIO();
    expect(await runRender(["--node", "n", join(ROOT, "cli/testdata/broken-pool")], d.io)).toBe(1);
    expect(d.err.join("\n")).toMatch(/overlaps/);
  });
});
