import { describe, expect, test } from "@jest/globals";
import { fileSystemIO } from "./fs-io.js";
import { fileURLToPath } from "node:url";
import { runValidate, type ValidateIO } from "./validate.js";

const TESTDATA = fileURLToPath(new URL("../testdata", import.meta.url));

interface Captured {
  readonly io: ValidateIO;
  readonly out: string[];
  readonly err: string[];
}

/** Real file reads (fixtures), captured output. */
function capture(): Captured {
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

/** An in-memory file system for cases that need no fixture files. */
function memoryIO(files: Record<string, string>): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      readFile: (p) => (p in files ? Promise.resolve(files[p] ?? "") : Promise.reject(new Error(`ENOENT: ${p}`))),
      listDir: (p) =>
        Promise.resolve(
          Object.keys(files)
            .filter((f) => f.startsWith(`${p}/`))
            .map((f) => f.slice(p.length + 1).split("/")[0] ?? ""),
        ),
      isDirectory: (p) => Promise.resolve(Object.keys(files).some((f) => f.startsWith(`${p}/`))),
      stdout: (l) => out.push(l),
      stderr: (l) => err.push(l),
    },
  };
}

const rel = (lines: readonly string[]): string[] => lines.map((l) => l.split(`${TESTDATA}/`).join(""));

describe("runValidate", () => {
  test("an unknown flag is a usage error (exit 2), not a file name", async () => {
    const c = memoryIO({});
    expect(await runValidate(["--strict", "config"], c.io)).toBe(2);
    expect(c.err).toEqual(["validate: unknown flag --strict"]);
  });

  test("a valid directory (recursive, *.yaml and *.yml only) exits 0 with a summary", async () => {
    const c = capture();
    expect(await runValidate([`${TESTDATA}/valid`], c.io)).toBe(0);
    expect(c.err).toEqual([]);
    expect(c.out).toEqual([
      "OK: 2 file(s), 9 document(s): 2 IPAddressPool, 1 L2Advertisement, 1 BGPAdvertisement, 1 BGPPeer, 1 BFDProfile, 1 Community, 1 Secret",
    ]);
  });

  test("a broken pool exits 1 naming the file, document and field", async () => {
    const c = capture();
    expect(await runValidate([`${TESTDATA}/broken-pool`], c.io)).toBe(1);
    expect(rel(c.err)).toEqual([
      'broken-pool/pools.yaml:2 IPAddressPool/overlapping spec.addresses[1]: CIDR "10.0.0.128/25" in pool "overlapping" overlaps with already defined CIDR "10.0.0.0/24" in pool "good"',
      "INVALID: 1 problem(s) in 1 file(s), 2 document(s): 2 IPAddressPool",
    ]);
    expect(c.out).toEqual([]);
  });

  test("YAML syntax errors and unknown metallb.io kinds fail", async () => {
    const c = capture();
    expect(await runValidate([`${TESTDATA}/bad-yaml`], c.io)).toBe(1);
    const lines = rel(c.err);
    expect(lines[0]).toMatch(/^bad-yaml\/bad\.yaml: YAML syntax error: /);
    expect(lines[1]).toBe('bad-yaml/unknown.yaml:1: unknown kind "IPAdressPool" (apiVersion "metallb.io/v1beta1")');
    expect(lines[2]).toBe("INVALID: 2 problem(s) in 2 file(s), 1 document(s)");
  });

  test("files given explicitly, transient references and unreadable paths", async () => {
    const c = memoryIO({
      "cfg/peer.txt":
        "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: p}\nspec: {myASN: 1, peerASN: 2, peerAddress: 10.0.0.1, bfdProfile: nope}\n",
    });
    expect(await runValidate(["cfg/peer.txt", "missing.yaml"], c.io)).toBe(1);
    expect(c.err).toEqual([
      "cfg/peer.txt:1 BGPPeer/p spec.bfdProfile: peer p referencing non existing bfd profile nope (transient: waiting for the referenced object)",
      "missing.yaml: cannot read: ENOENT: missing.yaml",
      "INVALID: 2 problem(s) in 2 file(s), 1 document(s): 1 BGPPeer",
    ]);
  });

  test("a v1 List is flattened; wrong apiVersion for a kind is reported", async () => {
    const c = memoryIO({
      "l.yaml":
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: metallb.io/v1beta1\n  kind: IPAddressPool\n  metadata: {name: a}\n  spec: {addresses: []}\n---\napiVersion: metallb.io/v1beta2\nkind: Community\nmetadata: {name: c}\n",
    });
    expect(await runValidate(["l.yaml"], c.io)).toBe(1);
    expect(c.err).toEqual([
      "l.yaml:1[0] IPAddressPool/a spec.addresses: pool has no prefixes defined",
      'l.yaml:2: unsupported apiVersion for Community (apiVersion "metallb.io/v1beta2")',
      "INVALID: 2 problem(s) in 1 file(s), 2 document(s): 1 IPAddressPool",
    ]);
  });

  test("no paths is an error", async () => {
    const c = memoryIO({});
    expect(await runValidate([], c.io)).toBe(1);
    expect(c.err).toEqual(["validate: no files or directories given"]);
  });
});
