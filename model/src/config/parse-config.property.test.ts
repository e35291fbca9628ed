import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { cidrsOverlap } from "../net/cidr.js";
import { parseConfig } from "./parse-config.js";
import { aPool, clusterResources } from "./testdata/builders.js";
import type { ClusterResources } from "./types.js";

/** Small address space so that random pools collide often. */
const cidrText = fc
  .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 22, max: 32 }))
  .map(([b, c, len]) => `10.0.${b}.${c}/${len}`);
const rangeText = fc.tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 40 })).map(([start, span]) => {
  const ip = (n: number): string => `10.0.${Math.floor(n / 256)}.${n % 256}`;
  return `${ip(start)}-${ip(Math.min(start + span, 1023))}`;
});
const v6Text = fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 120, max: 128 })).map(([n, len]) => `fc00::${(n * 16).toString(16)}/${len}`);
const poolsArb = fc.uniqueArray(
  fc.record({ name: fc.constantFrom("a", "b", "c", "d", "e"), addresses: fc.array(fc.oneof(cidrText, rangeText, v6Text), { minLength: 1, maxLength: 3 }) }),
  { selector: (p) => p.name, maxLength: 5 },
);

const resourceKeys: (keyof ClusterResources)[] = [
  "pools",
  "l2Advertisements",
  "bgpAdvertisements",
  "bgpPeers",
  "bfdProfiles",
  "communities",
  "secrets",
  "nodes",
  "namespaces",
];

describe("parseConfig properties", () => {
  test("accepted pools never overlap, across or within pools", () => {
    fc.assert(
      fc.property(poolsArb, (pools) => {
        const result = parseConfig(clusterResources({ pools: pools.map((p) => aPool(p.name, p.addresses)) }));
        if (!result.ok) return;
        const all = result.value.pools.flatMap((p) => p.cidrs);
        all.forEach((a, i) => all.slice(i + 1).forEach((b) => expect(cidrsOverlap(a, b)).toBe(false)));
      }),
      { numRuns: 300 },
    );
  });

  test("rejected pool sets only have permanent problems", () => {
    fc.assert(
      fc.property(poolsArb, (pools) => {
        const result = parseConfig(clusterResources({ pools: pools.map((p) => aPool(p.name, p.addresses)) }));
        if (result.ok) return;
        expect(result.error.length).toBeGreaterThan(0);
        for (const p of result.error) expect(p.transient).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  /** Values that look a little like Kubernetes objects, to get past the first shape checks. */
  const objectish = fc.record(
    {
      apiVersion: fc.constantFrom("metallb.io/v1beta1", "metallb.io/v1beta2", "v1"),
      metadata: fc.oneof(fc.record({ name: fc.string(), labels: fc.anything() }, { requiredKeys: [] }), fc.anything()),
      spec: fc.oneof(
        fc.dictionary(
          fc.constantFrom(
            "addresses",
            "myASN",
            "peerASN",
            "peerAddress",
            "nodeSelectors",
            "communities",
            "ipAddressPools",
            "ipAddressPoolSelectors",
            "holdTime",
            "keepaliveTime",
            "serviceAllocation",
            "aggregationLength",
            "passwordSecret",
            "bfdProfile",
            "interfaces",
          ),
          fc.jsonValue(),
        ),
        fc.anything(),
      ),
      type: fc.string(),
      data: fc.anything(),
    },
    { requiredKeys: [] },
  );

  test("never throws on arbitrary values in any resource list", () => {
    const item = fc.oneof(fc.anything(), fc.jsonValue(), objectish);
    const resources = fc.record(
      Object.fromEntries(resourceKeys.map((k) => [k, fc.array(item, { maxLength: 4 })])) as Record<keyof ClusterResources, fc.Arbitrary<unknown[]>>,
    );
    fc.assert(
      fc.property(resources, (res) => {
        const result = parseConfig(clusterResources(res));
        expect(typeof result.ok).toBe("boolean");
      }),
      { numRuns: 300 },
    );
  });

  test("never throws when the lists themselves are not arrays", () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const res = Object.fromEntries(resourceKeys.map((k) => [k, value])) as unknown as ClusterResources;
        expect(typeof parseConfig(res).ok).toBe("boolean");
      }),
      { numRuns: 100 },
    );
  });
});
