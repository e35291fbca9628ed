import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "@jest/globals";
import { listAnnounceInterfaces, selectInterfaces } from "./interfaces.js";

const root = mkdtempSync(join(tmpdir(), "l2-sysnet-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function iface(name: string, flags: number, mac: string, opts: { type?: number; master?: boolean } = {}): void {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "flags"), `0x${flags.toString(16)}\n`);
  writeFileSync(join(dir, "address"), `${mac}\n`);
  writeFileSync(join(dir, "type"), `${opts.type ?? 1}\n`);
  if (opts.master === true) writeFileSync(join(dir, "master"), "");
}

describe("announce interfaces", () => {
  test("only up, non-loopback Ethernet interfaces with ARP that are not enslaved", () => {
    iface("lo", 0x9, "00:00:00:00:00:00", { type: 772 });
    iface("eth0", 0x1003, "02:11:00:00:00:0b");
    iface("eth1", 0x1002, "02:11:00:00:00:0c"); // down
    iface("eth2", 0x1083, "02:11:00:00:00:0d"); // NOARP
    iface("eth3", 0x1003, "02:11:00:00:00:0e", { master: true }); // bridge port
    iface("br0", 0x1003, "02:11:00:00:00:0f");
    iface("wg0", 0x91, "", { type: 65534 });
    expect(listAnnounceInterfaces(root)).toEqual([
      { name: "br0", mac: "02:11:00:00:00:0f" },
      { name: "eth0", mac: "02:11:00:00:00:0b" },
    ]);
    expect(listAnnounceInterfaces(join(root, "missing"))).toEqual([]);
  });

  test("entry interfaces select among the usable ones; the allow-list restricts both cases", () => {
    const avail = [
      { name: "eth0", mac: "a" },
      { name: "eth1", mac: "b" },
    ];
    expect(selectInterfaces([], avail, null)).toEqual(["eth0", "eth1"]);
    expect(selectInterfaces(["eth1", "eth9"], avail, null)).toEqual(["eth1"]);
    expect(selectInterfaces([], avail, ["eth0"])).toEqual(["eth0"]);
    expect(selectInterfaces(["eth1"], avail, ["eth0"])).toEqual([]);
  });
});
