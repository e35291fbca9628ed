import { afterAll, describe, expect, test } from "@jest/globals";
import { cleanupStaleLabs, labNamespaces, NetLab } from "./netlab.js";
import { run } from "./proc.js";

describe("network lab", () => {
  const labs: NetLab[] = [];
  afterAll(async () => {
    await Promise.all(labs.map((l) => l.destroy()));
  });

  test("two labs get distinct namespaces, hosts reach each other inside a lab, destroy removes everything", async () => {
    const a = await NetLab.create([
      { name: "client", index: 5 },
      { name: "node1", index: 11 },
    ]);
    labs.push(a);
    const b = await NetLab.create([
      { name: "client", index: 5 },
      { name: "node1", index: 11 },
    ]);
    labs.push(b);
    expect(a.host("client").netns).not.toBe(b.host("client").netns);
    const nsNow = await labNamespaces();
    for (const h of [...a.hosts, ...b.hosts]) expect(nsNow).toContain(h.netns);

    const ping = await a.exec("client", "ping", ["-c", "1", "-W", "2", a.host("node1").ipv4]);
    expect(ping.stdout).toMatch(/1 received/);
    const mac = await a.exec("client", "ip", ["-j", "neigh", "show", a.host("node1").ipv4]);
    expect((JSON.parse(mac.stdout) as Array<{ lladdr: string }>)[0]?.lladdr).toBe("02:11:00:00:00:0b");

    await a.destroy();
    const after = await labNamespaces();
    for (const h of a.hosts) expect(after).not.toContain(h.netns);
    expect(after).not.toContain(a.switchNs);
    expect(after).toContain(b.host("client").netns);
  });

  test("the next lab start removes namespaces of a crashed run (dead owner pid), not those of live runs", async () => {
    // A pid that is not running: the highest possible pid number is never in use on this machine.
    const deadPid = 4194303;
    const stale = [`mlt-${deadPid}-zzzz-sw`, `mlt-${deadPid}-zzzz-node1`];
    for (const ns of stale) await run("ip", ["netns", "add", ns]);
    const other = await NetLab.create([{ name: "node1", index: 11 }]);
    labs.push(other);
    const live = await NetLab.create([{ name: "node1", index: 11 }]);
    labs.push(live);
    const left = await labNamespaces();
    for (const ns of stale) expect(left).not.toContain(ns);
    expect(left).toContain(other.host("node1").netns);
    expect(left).toContain(live.host("node1").netns);
    expect(await cleanupStaleLabs()).toEqual([]);
  });
});
