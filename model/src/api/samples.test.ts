/**
 * Every document in config/samples must be a known kind and match its CRD's schema; the samples must also respect
 * the cross-object rules a user would hit first (dangling references, overlapping pools, community formats).
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { loadAll } from "js-yaml";
import { parseCrd, type OpenApiSchema } from "./crd-schema.js";
import { validateStructure } from "./structural-validator.js";

const CRD_DIR = new URL("../../../config/crd/bases/", import.meta.url);
const SAMPLES_DIR = new URL("../../../config/samples/", import.meta.url);
const NAMESPACE = "metallb-system";
const CORE_KINDS = new Set(["v1/Secret", "v1/Namespace"]);

type Doc = Readonly<Record<string, unknown>>;

const isDoc = (v: unknown): v is Doc => typeof v === "object" && v !== null && !Array.isArray(v);

function loadYamlDir(dir: URL): { file: string; doc: Doc }[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .flatMap((file) =>
      loadAll(readFileSync(new URL(file, dir), "utf8"))
        .filter((d) => d !== null && d !== undefined)
        .map((doc) => {
          if (!isDoc(doc)) throw new Error(`${file}: document is not an object`);
          return { file, doc };
        }),
    );
}

/** Served CRD schemas by "<group>/<version>/<kind>". */
function schemasByType(): Map<string, OpenApiSchema> {
  const out = new Map<string, OpenApiSchema>();
  for (const { file, doc } of loadYamlDir(CRD_DIR)) {
    const crd = parseCrd(doc, file);
    for (const v of crd.versions) if (v.served) out.set(`${crd.group}/${v.name}/${crd.kind}`, v.schema);
  }
  return out;
}

const typeKey = (doc: Doc): string => `${String(doc["apiVersion"])}/${String(doc["kind"])}`;
const meta = (doc: Doc): Doc => (isDoc(doc["metadata"]) ? doc["metadata"] : {});
const name = (doc: Doc): string => String(meta(doc)["name"]);
const spec = (doc: Doc): Doc => (isDoc(doc["spec"]) ? doc["spec"] : {});
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

// ---- IP ranges (only what the samples need: CIDRs and "first-last" ranges, IPv4 and IPv6) ----

interface IPRange {
  readonly text: string;
  readonly v6: boolean;
  readonly first: bigint;
  readonly last: bigint;
}

function parseIPv4(s: string): bigint {
  const parts = s.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 ${s}`);
  return parts.reduce((acc, p) => (acc << 8n) | BigInt(p), 0n);
}

function parseIPv6(s: string): bigint {
  const halves = s.split("::");
  if (halves.length > 2) throw new Error(`bad IPv6 ${s}`);
  const groups = (h: string | undefined): string[] => (h === undefined || h === "" ? [] : h.split(":"));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const all = [...head, ...Array<string>(fill).fill("0"), ...tail];
  if (all.length !== 8 || all.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) throw new Error(`bad IPv6 ${s}`);
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

const parseIP = (s: string): { v6: boolean; value: bigint } =>
  s.includes(":") ? { v6: true, value: parseIPv6(s) } : { v6: false, value: parseIPv4(s) };

function parseAddresses(text: string): IPRange {
  if (text.includes("/")) {
    const [ip = "", bits = ""] = text.split("/");
    const { v6, value } = parseIP(ip);
    const width = v6 ? 128n : 32n;
    const prefix = BigInt(Number(bits));
    const size = 1n << (width - prefix);
    if (value % size !== 0n) throw new Error(`${text}: host bits set`);
    return { text, v6, first: value, last: value + size - 1n };
  }
  const [a = "", b = ""] = text.split("-").map((p) => p.trim());
  const first = parseIP(a);
  const last = parseIP(b);
  if (first.v6 !== last.v6 || first.value > last.value) throw new Error(`${text}: bad range`);
  return { text, v6: first.v6, first: first.value, last: last.value };
}

const overlaps = (x: IPRange, y: IPRange): boolean => x.v6 === y.v6 && x.first <= y.last && y.first <= x.last;

// ---- communities ----

const isUint = (s: string, max: number): boolean => /^[0-9]+$/.test(s) && Number(s) <= max;

function isCommunityValue(s: string): boolean {
  const parts = s.split(":");
  if (parts[0] === "large") return parts.length === 4 && parts.slice(1).every((p) => isUint(p, 4294967295));
  return parts.length === 2 && parts.every((p) => isUint(p, 65535));
}

// ---- tests ----

const samples = loadYamlDir(SAMPLES_DIR);
const schemas = schemasByType();
const ofKind = (kind: string): Doc[] => samples.map((s) => s.doc).filter((d) => d["kind"] === kind);

describe("config/samples", () => {
  test("there are L2 and BGP samples", () => {
    expect(new Set(samples.map((s) => s.file))).toEqual(new Set(["bgp.yaml", "l2.yaml"]));
  });

  test.each(samples.map((s) => [`${s.file}: ${String(s.doc["kind"])} ${name(s.doc)}`, s.doc] as const))("%s", (_, doc) => {
    const key = typeKey(doc);
    expect(typeof meta(doc)["name"]).toBe("string");
    if (CORE_KINDS.has(key)) return;
    const schema = schemas.get(key);
    expect([key, schema !== undefined]).toEqual([key, true]);
    expect(meta(doc)["namespace"]).toBe(NAMESPACE);
    if (schema !== undefined) expect(validateStructure(doc, schema)).toEqual([]);
  });

  test("names are unique per kind", () => {
    const keys = samples.filter((s) => s.doc["kind"] !== "Namespace").map((s) => `${typeKey(s.doc)}/${name(s.doc)}`);
    expect(keys).toEqual([...new Set(keys)]);
  });

  test("no address overlaps another one, across all pools", () => {
    const ranges = ofKind("IPAddressPool").flatMap((p) => strings(spec(p)["addresses"]).map((a) => ({ pool: name(p), r: parseAddresses(a) })));
    const clashes = ranges.flatMap((x, i) =>
      ranges.slice(i + 1).filter((y) => overlaps(x.r, y.r)).map((y) => `${x.pool}:${x.r.text} overlaps ${y.pool}:${y.r.text}`),
    );
    expect(clashes).toEqual([]);
  });

  test("advertisements reference existing pools and peers", () => {
    const pools = new Set(ofKind("IPAddressPool").map(name));
    const peers = new Set(ofKind("BGPPeer").map(name));
    for (const adv of [...ofKind("L2Advertisement"), ...ofKind("BGPAdvertisement")]) {
      for (const p of strings(spec(adv)["ipAddressPools"])) expect([name(adv), p, pools.has(p)]).toEqual([name(adv), p, true]);
      for (const p of strings(spec(adv)["peers"])) expect([name(adv), p, peers.has(p)]).toEqual([name(adv), p, true]);
    }
  });

  test("BGP aggregation is not wider than any CIDR of the advertised pools", () => {
    const pools = new Map(ofKind("IPAddressPool").map((p) => [name(p), strings(spec(p)["addresses"])]));
    for (const adv of ofKind("BGPAdvertisement")) {
      const v4 = Number(spec(adv)["aggregationLength"] ?? 32);
      const v6 = Number(spec(adv)["aggregationLengthV6"] ?? 128);
      for (const cidr of strings(spec(adv)["ipAddressPools"]).flatMap((p) => pools.get(p) ?? []).filter((a) => a.includes("/"))) {
        const prefix = Number(cidr.split("/")[1]);
        expect([name(adv), cidr, prefix <= (cidr.includes(":") ? v6 : v4)]).toEqual([name(adv), cidr, true]);
      }
    }
  });

  test("communities are valid values or defined aliases", () => {
    const aliases = ofKind("Community").flatMap((c) =>
      (Array.isArray(spec(c)["communities"]) ? (spec(c)["communities"] as unknown[]) : []).filter(isDoc),
    );
    for (const a of aliases) expect([a["name"], isCommunityValue(String(a["value"]))]).toEqual([a["name"], true]);
    const names = new Set(aliases.map((a) => String(a["name"])));
    for (const adv of ofKind("BGPAdvertisement")) {
      for (const c of strings(spec(adv)["communities"])) expect([c, isCommunityValue(c) || names.has(c)]).toEqual([c, true]);
    }
  });

  test("peers reference an existing BFD profile and a basic-auth Secret with a password key", () => {
    const profiles = new Set(ofKind("BFDProfile").map(name));
    const secrets = new Map(ofKind("Secret").map((s) => [name(s), s]));
    for (const peer of ofKind("BGPPeer")) {
      const profile = spec(peer)["bfdProfile"];
      if (typeof profile === "string") expect(profiles.has(profile)).toBe(true);
      const ref = spec(peer)["passwordSecret"];
      if (!isDoc(ref)) continue;
      expect(spec(peer)["password"]).toBeUndefined();
      const secret = secrets.get(String(ref["name"]));
      expect(secret?.["type"]).toBe("kubernetes.io/basic-auth");
      const data = { ...(isDoc(secret?.["data"]) ? secret["data"] : {}), ...(isDoc(secret?.["stringData"]) ? secret["stringData"] : {}) };
      expect(typeof data["password"]).toBe("string");
    }
  });
});

describe("sample helpers", () => {
  test.each([
    ["10.0.0.0/24", false, 0x0a000000n, 0x0a0000ffn],
    ["192.168.9.1 - 192.168.9.5", false, 0xc0a80901n, 0xc0a80905n],
    ["fc00::/127", true, 0xfc00n << 112n, (0xfc00n << 112n) + 1n],
    ["::1-::3", true, 1n, 3n],
  ])("parseAddresses(%s)", (text, v6, first, last) => {
    expect(parseAddresses(text)).toEqual({ text, v6, first, last });
  });

  test.each([
    ["64512:100", true],
    ["65536:1", false],
    ["large:1:2:3", true],
    ["large:1:2", false],
    ["no-export", false],
  ])("isCommunityValue(%s) = %s", (value, ok) => {
    expect(isCommunityValue(value)).toBe(ok);
  });
});
