// Every FRR golden (frr-templates/testdata/golden/*.conf) is loaded into a real FRR 8.4 (zebra + bgpd + bfdd in a
// lab namespace) and must be accepted without any error. Round trip: afterwards `show running-config` holds exactly
// the golden's lines, in the same form and order (comments aside), and `frr-reload.py --test` finds nothing to add or
// delete. Between cases the instance is reset by deleting every top-level object, back to the empty baseline.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { copyFileSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FrrInstance } from "../testenv/src/frr.js";
import { NetLab } from "../testenv/src/netlab.js";
import { run } from "../testenv/src/proc.js";

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "frr-templates", "testdata", "golden");
const goldens = readdirSync(GOLDEN_DIR)
  .filter((f) => f.endsWith(".conf"))
  .map((f) => f.slice(0, -".conf".length))
  .sort();

/** Header lines of `show running-config` that are not ours (version, profile, the machine's hostname…). */
const RUNNING_HEADER = [
  /^Building configuration/,
  /^Current configuration:/,
  /^frr version /,
  /^frr defaults /,
  /^hostname /,
  /^(no )?(ip|ipv6) forwarding$/,
  /^service integrated-vtysh-config$/,
  /^end$/,
];

/**
 * Informational messages FRR prints while applying a valid configuration. Route-maps are referenced by the neighbors
 * before they are defined because that is the order `show running-config` uses; until defined, a missing route-map
 * denies everything, so nothing leaks in between.
 */
const BENIGN_OUTPUT = [
  /^The route-map '[^']+' does not exist\.$/,
  /^Graceful restart configuration changed, reset this peer to take effect$/,
  /^% Echo mode works correctly for IPv4, but only works when the peer is also FRR for IPv6\.$/,
];

/** Configuration lines without comments (`!`) and blank lines. */
function configLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.trim().startsWith("!"));
}

function runningLines(text: string): string[] {
  return configLines(text).filter((l) => !RUNNING_HEADER.some((re) => re.test(l)));
}

/** `no …` commands that delete every top-level object of a running configuration (VRF instances first). */
function deletions(running: readonly string[]): string[] {
  const out = new Set<string>();
  const vrfRouters: string[] = [];
  for (const line of running) {
    if (line.startsWith(" ") || line === "exit") continue;
    const words = line.split(" ");
    if (line.startsWith("router bgp ") && line.includes(" vrf ")) vrfRouters.push(`no ${line}`);
    else if (/^ipv6? prefix-list /.test(line) || line.startsWith("route-map "))
      out.add(`no ${words.slice(0, line.startsWith("route-map ") ? 2 : 3).join(" ")}`);
    else if (line.startsWith("log stdout")) out.add("no log stdout");
    else if (line.startsWith("log timestamp precision")) out.add("no log timestamp precision");
    else out.add(`no ${line}`);
  }
  return [...vrfRouters, ...out];
}

interface ReloadDiff {
  toDelete: string[];
  toAdd: string[];
}

/** Parses `frr-reload.py --test` output: the "Lines To Delete" and "Lines To Add" sections. */
function parseReloadTest(stdout: string): ReloadDiff {
  const diff: ReloadDiff = { toDelete: [], toAdd: [] };
  let section: string[] | null = null;
  for (const line of stdout.split("\n")) {
    if (line === "Lines To Delete") section = diff.toDelete;
    else if (line === "Lines To Add") section = diff.toAdd;
    else if (/^=+$/.test(line) || line.trim() === "") continue;
    else if (/^\d{4}-\d\d-\d\d /.test(line))
      section = null; // log lines of --stdout
    else section?.push(line);
  }
  return diff;
}

describe("every FRR golden is accepted by FRR 8.4 and round-trips through show running-config", () => {
  let lab: NetLab;
  let frr: FrrInstance;
  let baseline: string[];

  const vtyshArgs = (): string[] => ["--vty_socket", frr.dir, "--config_dir", frr.dir];
  const running = async (): Promise<string[]> => runningLines(await frr.vtysh("show running-config"));

  beforeAll(async () => {
    lab = await NetLab.create([{ name: "node1", index: 11 }]);
    // As on a Kubernetes node. With forwarding off, running-config shows `no ip forwarding` (kernel state, not ours)
    // and frr-reload.py would want to "delete" it, i.e. turn forwarding on.
    await lab.enableForwarding("node1");
    frr = await lab.startFrr("node1", "frr defaults traditional\n");
    baseline = await running();
  });

  afterAll(async () => {
    await lab?.destroy();
  });

  /** Deletes everything the previous case configured (also after a failed case). */
  async function reset(): Promise<void> {
    const lines = deletions(await running());
    if (lines.length > 0) await frr.applyBatch(`${lines.join("\n")}\n`);
    expect(await running()).toEqual(baseline);
  }

  async function check(name: string): Promise<void> {
    await reset();
    const file = join(frr.dir, `${name}.conf`);
    copyFileSync(join(GOLDEN_DIR, `${name}.conf`), file);
    const golden = readFileSync(file, "utf8");

    const dry = await run("vtysh", [...vtyshArgs(), "--dryrun", "-f", file], { allowFail: true });
    expect({ code: dry.code, output: `${dry.stdout}${dry.stderr}`.trim() }).toEqual({ code: 0, output: "" });

    const applied = await run("vtysh", [...vtyshArgs(), "-f", file], { allowFail: true });
    const output = `${applied.stdout}\n${applied.stderr}`.split("\n").filter((l) => l.trim() !== "" && !BENIGN_OUTPUT.some((re) => re.test(l)));
    expect({ code: applied.code, output }).toEqual({ code: 0, output: [] });

    expect(await running()).toEqual([...baseline, ...configLines(golden)]);

    const reload = await run("/usr/lib/frr/frr-reload.py", ["--test", "--stdout", "--vty_socket", frr.dir, "--confdir", frr.dir, "--rundir", frr.dir, file], {
      allowFail: true,
    });
    expect(reload.code).toBe(0);
    const diff = parseReloadTest(reload.stdout);
    // hostname is ignored with per-instance paths (netlab.md): frr-reload always wants to delete the machine's name.
    expect({ toDelete: diff.toDelete.filter((l) => !l.startsWith("no hostname ")), toAdd: diff.toAdd }).toEqual({ toDelete: [], toAdd: [] });
  }

  test("the baseline is empty apart from FRR's own header", () => {
    expect(baseline).toEqual([]);
  });

  for (const name of goldens) {
    const title = name.startsWith("vrf")
      ? `${name} (VRF instance configured inactive: this kernel has no VRF devices; also syntax-checked with vtysh --dryrun)`
      : name;
    test(title, async () => {
      await check(name);
    });
  }
});
