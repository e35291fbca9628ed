import { describe, expect, test } from "@jest/globals";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findRawSocketAddon, loadRawSocketAddon, RawSocketAddonError } from "./rawsocket.js";

describe("raw socket addon loading", () => {
  test("a missing addon is a clear error that says how to build it", () => {
    const dir = mkdtempSync(join(tmpdir(), "rawsock-"));
    try {
      expect(findRawSocketAddon(dir)).toBeUndefined();
      expect(() => loadRawSocketAddon(join(dir, "metallb_rawsock.node"))).toThrow(RawSocketAddonError);
      expect(() => loadRawSocketAddon(join(dir, "metallb_rawsock.node"))).toThrow(/npm run build:native/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
