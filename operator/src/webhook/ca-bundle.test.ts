import { beforeAll, describe, expect, test } from "@jest/globals";
import { CA_CN_PREFIX, bundleHolds, caOwner, joinPem, mergeCaBundle, needsRenewal, renewalDecision, splitPem, type MergeInput } from "./ca-bundle.js";
import { createCertificate } from "./x509.js";

const DAY = 86_400_000;
const T0 = new Date("2026-06-01T00:00:00Z");
const at = (days: number): Date => new Date(T0.getTime() + days * DAY);

/** A CA named for `owner` (or a foreign CN), valid from `fromDay` for `days`. */
async function ca(cn: string, fromDay = 0, days = 365): Promise<string> {
  const kp = await createCertificate({ commonName: cn, organizations: ["metallb"], notBefore: at(fromDay), notAfter: at(fromDay + days), isCA: true });
  return kp.certPem;
}

let A: string; // replica a, current
let A0: string; // replica a, an earlier run of the same Pod
let A2: string; // replica a, its renewed CA (the previous one, A, still in use)
let B: string; // replica b
let C: string; // replica c
let OLD: string; // the shared CA of older versions (no replica's)
let EXPIRED: string; // replica d, expired at day 10
let YOUNG: string; // replica e, issued a minute before "now" (day 100)

beforeAll(async () => {
  [A, A0, A2, B, C, OLD, EXPIRED, YOUNG] = await Promise.all([
    ca(`${CA_CN_PREFIX}a`),
    ca(`${CA_CN_PREFIX}a`),
    ca(`${CA_CN_PREFIX}a`, 50),
    ca(`${CA_CN_PREFIX}b`),
    ca(`${CA_CN_PREFIX}c`),
    ca("metallb-webhook-ca", 0, 3650),
    ca(`${CA_CN_PREFIX}d`, 0, 10),
    ca(`${CA_CN_PREFIX}e`, 100 - 60_000 / DAY),
  ]);
}, 30_000);

describe("splitPem / joinPem / caOwner", () => {
  test("a bundle splits into its certificates and joins back", () => {
    expect(splitPem(joinPem([A, B]))).toEqual([A, B]);
    expect(splitPem(`junk\n${A.trim()}\n\n${B}`)).toEqual([A, B]);
    expect(splitPem("")).toEqual([]);
  });
  test("the owner is the CN after the prefix; other CAs have none", () => {
    expect([caOwner(A), caOwner(B), caOwner(OLD), caOwner("garbage")]).toEqual(["a", "b", undefined, undefined]);
  });
});

describe("mergeCaBundle", () => {
  const live = (names: string[] | undefined) => (owner: string) => (names === undefined ? undefined : names.includes(owner));
  const base = { self: "a", now: at(100), graceMs: 300_000 };
  // Names instead of PEM in the table, for a readable diff.
  const name = (pem: string): string =>
    new Map([
      [A, "A"],
      [A0, "A0"],
      [A2, "A2"],
      [B, "B"],
      [C, "C"],
      [OLD, "OLD"],
      [EXPIRED, "EXPIRED"],
      [YOUNG, "YOUNG"],
    ]).get(pem) ?? "?";
  const cases: Array<[string, () => Omit<MergeInput, "self" | "now" | "graceMs">, string[]]> = [
    ["empty bundle: mine added", () => ({ current: [], mine: [A], live: live(undefined) }), ["A"]],
    ["another live replica's CA kept, mine appended", () => ({ current: [B], mine: [A], live: live(["a", "b"]) }), ["B", "A"]],
    ["already there: unchanged", () => ({ current: [B, A], mine: [A], live: live(["a", "b"]) }), ["B", "A"]],
    ["an earlier run of the same Pod replaced", () => ({ current: [A0, B], mine: [A], live: live(["a", "b"]) }), ["B", "A"]],
    ["a renewed CA next to its still-used previous one", () => ({ current: [A, B], mine: [A2, A], live: live(["a", "b"]) }), ["A", "B", "A2"]],
    ["a gone replica's CA pruned", () => ({ current: [B, C], mine: [A], live: live(["a", "b"]) }), ["B", "A"]],
    ["liveness unknown (not behind the Service): nothing pruned for absence", () => ({ current: [B, C], mine: [A], live: live(undefined) }), ["B", "C", "A"]],
    ["expired CAs pruned even when liveness is unknown", () => ({ current: [EXPIRED, B], mine: [A], live: live(undefined) }), ["B", "A"]],
    ["the shared CA of older versions (no replica's) pruned", () => ({ current: [OLD, B], mine: [A], live: live(undefined) }), ["B", "A"]],
    [
      "unparsable entries dropped",
      () => ({ current: ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", B], mine: [A], live: live(["a"]) }),
      ["A"],
    ],
    [
      "a replica younger than the grace time kept although the Service does not list it yet",
      () => ({ current: [YOUNG], mine: [A], live: live(["a"]) }),
      ["YOUNG", "A"],
    ],
    ["duplicates removed", () => ({ current: [B, B, A, A], mine: [A], live: live(["a", "b"]) }), ["B", "A"]],
  ];
  test.each(cases)("%s", (_desc, input, want) => {
    expect(mergeCaBundle({ ...base, ...input() }).map(name)).toEqual(want);
  });
  test("two replicas merging in turn (each re-reading the other's write) end with both CAs", () => {
    const afterA = mergeCaBundle({ ...base, current: [], mine: [A], live: live(["a", "b"]) });
    const afterB = mergeCaBundle({ ...base, self: "b", current: afterA, mine: [B], live: live(["a", "b"]) });
    const afterA2 = mergeCaBundle({ ...base, current: afterB, mine: [A], live: live(["a", "b"]) });
    expect(afterA2.map(name)).toEqual(["A", "B"]);
    expect(bundleHolds(afterA2, [A]) && bundleHolds(afterA2, [B])).toBe(true);
    expect(bundleHolds(afterA, [B])).toBe(false);
  });
});

describe("renewalDecision", () => {
  const leafIssued = at(0);
  let leaf90: string;
  let ca365: string;
  beforeAll(async () => {
    const c = await createCertificate({ commonName: `${CA_CN_PREFIX}a`, notBefore: leafIssued, notAfter: at(365), isCA: true });
    ca365 = c.certPem;
    leaf90 = (await createCertificate({ commonName: "svc", notBefore: leafIssued, notAfter: at(90), isCA: false, dnsNames: ["svc"] }, c)).certPem;
  });
  const cases: Array<[string, number, "leaf" | "ca" | undefined, boolean | "none", { issueCa: boolean; issueLeaf: boolean }]> = [
    ["nothing yet: both", 0, undefined, "none", { issueCa: true, issueLeaf: true }],
    ["fresh: nothing", 10, undefined, true, { issueCa: false, issueLeaf: false }],
    ["leaf past 2/3 of its 90 days: leaf only", 61, undefined, true, { issueCa: false, issueLeaf: true }],
    ["leaf not fitting (names changed): leaf", 10, undefined, false, { issueCa: false, issueLeaf: true }],
    ["CA past 2/3 of its year: CA, the good leaf stays until its own renewal", 250, undefined, true, { issueCa: true, issueLeaf: true }],
    ["forced CA: CA only", 10, "ca", true, { issueCa: true, issueLeaf: false }],
    ["forced leaf: leaf only", 10, "leaf", true, { issueCa: false, issueLeaf: true }],
  ];
  test.each(cases)("%s", (_desc, day, force, fits, want) => {
    const none = fits === "none";
    expect(renewalDecision({ caPem: none ? undefined : ca365, leafPem: none ? undefined : leaf90, leafFits: fits === true, force }, at(day))).toEqual(want);
  });
  test("needsRenewal from 2/3 of the lifetime on", () => {
    expect([needsRenewal(leaf90, at(59)), needsRenewal(leaf90, at(61)), needsRenewal("garbage", T0)]).toEqual([false, true, true]);
  });
});
