import { describe, expect, test } from "@jest/globals";
import { admit, blockingProblems, type ListedKind, type Lister } from "./admission.js";

const NS = "metallb-system";

function lister(objects: Partial<Record<ListedKind, unknown[]>>, fail?: ListedKind): Lister & { calls: ListedKind[] } {
  const calls: ListedKind[] = [];
  return {
    calls,
    list: (kind) => {
      calls.push(kind);
      if (kind === fail) return Promise.reject(new Error("connection refused"));
      return Promise.resolve(objects[kind] ?? []);
    },
  };
}

const GVK: Record<string, { group: string; version: string; kind: string }> = {
  IPAddressPool: { group: "metallb.io", version: "v1beta1", kind: "IPAddressPool" },
  BGPPeer: { group: "metallb.io", version: "v1beta2", kind: "BGPPeer" },
  BGPAdvertisement: { group: "metallb.io", version: "v1beta1", kind: "BGPAdvertisement" },
  BFDProfile: { group: "metallb.io", version: "v1beta1", kind: "BFDProfile" },
  Community: { group: "metallb.io", version: "v1beta1", kind: "Community" },
};

const obj = (kind: string, name: string, spec: Record<string, unknown>, namespace = NS, apiVersion = "metallb.io/v1beta1"): Record<string, unknown> => ({
  apiVersion,
  kind,
  metadata: { name, namespace },
  spec,
});
const pool = (name: string, addresses: string[], namespace = NS): Record<string, unknown> => obj("IPAddressPool", name, { addresses }, namespace);
const peer = (name: string, spec: Record<string, unknown>, apiVersion = "metallb.io/v1beta2"): Record<string, unknown> =>
  obj("BGPPeer", name, { myASN: 64500, peerASN: 64501, peerAddress: "192.0.2.1", ...spec }, NS, apiVersion);

function review(operation: string, object: Record<string, unknown> | undefined, oldObject?: Record<string, unknown>, version?: string): unknown {
  const o = (object ?? oldObject) as { kind: string; metadata: { name: string; namespace: string } };
  const gvk = { ...GVK[o.kind], ...(version !== undefined ? { version } : {}) };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: { uid: "u-1", kind: gvk, operation, name: o.metadata.name, namespace: o.metadata.namespace, object, oldObject },
  };
}

describe("admit", () => {
  test("an overlapping pool is refused with object, field and reason, whichever pool the parser blames", async () => {
    const out = await admit(review("CREATE", pool("b-pool", ["10.0.0.0/25"])), {
      lister: lister({ IPAddressPool: [pool("a-pool", ["10.0.0.0/24"])] }),
      namespace: NS,
    });
    expect(out.response).toMatchObject({ uid: "u-1", allowed: false, status: { code: 403 } });
    expect(out.response.status?.message).toMatch(/IPAddressPool\/[ab]-pool spec\.addresses\[0\]: CIDR "10\.0\.0\.0\/2[45]" in pool "[ab]-pool" overlaps/);
  });

  test("an update replaces the object's old version instead of overlapping with it", async () => {
    const out = await admit(review("UPDATE", pool("a-pool", ["10.0.0.0/25"]), pool("a-pool", ["10.0.0.0/24"])), {
      lister: lister({ IPAddressPool: [pool("a-pool", ["10.0.0.0/24"])] }),
      namespace: NS,
    });
    expect(out.response).toEqual({ uid: "u-1", allowed: true });
  });

  test("namespace rule on CREATE only", async () => {
    const created = await admit(review("CREATE", pool("p", ["10.1.0.0/24"], "default")), { lister: lister({}), namespace: NS });
    expect(created.response.status?.message).toBe("IPAddressPool/p metadata.namespace: resource must be created in metallb-system namespace");
    const updated = await admit(review("UPDATE", pool("p", ["10.1.0.0/24"], "default")), { lister: lister({}), namespace: NS });
    expect(updated.response.allowed).toBe(true);
  });

  test("an existing invalid object does not block an unrelated valid one", async () => {
    const existing = [pool("x", ["10.0.0.0/24"]), pool("y", ["10.0.0.0/24"])];
    const out = await admit(review("CREATE", pool("z", ["10.9.0.0/24"])), { lister: lister({ IPAddressPool: existing }), namespace: NS });
    expect(out.response.allowed).toBe(true);
  });

  test("each kind lists only the inputs of its rule family", async () => {
    const l = lister({});
    await admit(review("CREATE", obj("BGPAdvertisement", "adv", {})), { lister: l, namespace: NS });
    expect(l.calls.sort()).toEqual(["BGPAdvertisement", "IPAddressPool", "Node"]);
  });

  test("aggregation length more specific than the pool is refused", async () => {
    const out = await admit(review("CREATE", obj("BGPAdvertisement", "adv", { ipAddressPools: ["p"], aggregationLength: 26 })), {
      lister: lister({ IPAddressPool: [pool("p", ["10.0.0.0/24"])] }),
      namespace: NS,
    });
    expect(out.response.allowed).toBe(true); // /26 aggregation of a /24 is fine
    const bad = await admit(review("CREATE", obj("BGPAdvertisement", "adv", { ipAddressPools: ["p"], aggregationLength: 23 })), {
      lister: lister({ IPAddressPool: [pool("p", ["10.0.0.0/24"])] }),
      namespace: NS,
    });
    expect(bad.response.status?.message).toMatch(/^BGPAdvertisement\/adv .*invalid aggregation length 23/);
  });

  test("a v1beta1 BGPPeer with references to objects not created yet is accepted, with a deprecation warning", async () => {
    const p = peer("p1", { bfdProfile: "later", password: "" }, "metallb.io/v1beta1");
    const out = await admit(review("CREATE", p, undefined, "v1beta1"), { lister: lister({}), namespace: NS });
    expect(out.response).toEqual({ uid: "u-1", allowed: true, warnings: ["metallb.io/v1beta1 BGPPeer is deprecated; use metallb.io/v1beta2"] });
  });

  test("disableMP is validated like any peer and warned about", async () => {
    const out = await admit(review("CREATE", peer("p1", { disableMP: true, holdTime: "2s" })), { lister: lister({}), namespace: NS });
    expect(out.response.allowed).toBe(false);
    expect(out.response.status?.message).toContain("BGPPeer/p1 spec.holdTime");
    expect(out.response.warnings).toEqual(["spec.disableMP is deprecated: use spec.dualStackAddressFamily instead"]);
  });

  test("peer rules: multihop on iBGP", async () => {
    const out = await admit(review("CREATE", peer("p1", { peerASN: 64500, ebgpMultiHop: true })), { lister: lister({}), namespace: NS });
    expect(out.response.status?.message).toContain("invalid ebgp-multihop parameter set for an ibgp peer");
  });

  test("BFDProfile DELETE is refused while a BGPPeer uses it", async () => {
    const profile = obj("BFDProfile", "fast", {});
    const used = await admit(review("DELETE", undefined, profile), {
      lister: lister({ BGPPeer: [peer("p2", { bfdProfile: "fast" }), peer("p1", { bfdProfile: "fast" })] }),
      namespace: NS,
    });
    expect(used.response.status?.message).toBe("failed to delete BFDProfile fast, used by BGPPeer p1, p2");
    const unused = await admit(review("DELETE", undefined, profile), { lister: lister({ BGPPeer: [peer("p1", {})] }), namespace: NS });
    expect(unused.response.allowed).toBe(true);
  });

  test("a listing failure is an internal error, not an approval", async () => {
    const out = await admit(review("CREATE", pool("p", ["10.0.0.0/24"])), { lister: lister({}, "IPAddressPool"), namespace: NS });
    expect(out.response).toMatchObject({ allowed: false, status: { code: 500, message: "validating IPAddressPool p: connection refused" } });
  });

  test("malformed reviews are refused", async () => {
    expect((await admit({}, { lister: lister({}), namespace: NS })).response.status?.code).toBe(400);
  });
});

describe("blockingProblems", () => {
  const p = (
    kind: "IPAddressPool",
    name: string,
    message: string,
  ): { kind: "IPAddressPool"; name: string; index: number; field: string; message: string; transient: boolean } => ({
    kind,
    name,
    index: 0,
    field: "",
    message,
    transient: false,
  });
  test("keeps problems about the incoming object and new ones elsewhere, drops old ones elsewhere", () => {
    const before = [p("IPAddressPool", "old", "x"), p("IPAddressPool", "me", "y")];
    const after = [p("IPAddressPool", "old", "x"), p("IPAddressPool", "me", "y"), p("IPAddressPool", "other", "z")];
    expect(blockingProblems(before, after, "IPAddressPool", "me").map((q) => q.name)).toEqual(["me", "other"]);
  });
});

describe("config/webhook/manifests.yaml", () => {
  test("has one webhook per route, each with the settings we rely on", async () => {
    const { readFileSync } = await import("node:fs");
    const yaml = (await import("js-yaml")).default;
    const { repoRoot } = await import("../../../testenv/src/repo-root.js");
    const { WEBHOOK_ROUTES } = await import("./admission.js");
    const doc = yaml.load(readFileSync(`${repoRoot()}/config/webhook/manifests.yaml`, "utf8")) as {
      webhooks: Array<{
        clientConfig: { service: { path: string } };
        failurePolicy: string;
        sideEffects: string;
        admissionReviewVersions: string[];
        timeoutSeconds: number;
        matchPolicy: string;
        rules: Array<{ apiVersions: string[]; operations: string[] }>;
      }>;
    };
    const paths = doc.webhooks.map((w) => w.clientConfig.service.path).sort();
    expect(paths).toEqual(WEBHOOK_ROUTES.map((r) => r.path).sort());
    for (const w of doc.webhooks) {
      expect([w.failurePolicy, w.sideEffects, w.admissionReviewVersions, w.timeoutSeconds, w.matchPolicy]).toEqual(["Fail", "None", ["v1"], 5, "Exact"]);
      const route = WEBHOOK_ROUTES.find((r) => r.path === w.clientConfig.service.path);
      expect(w.rules[0]?.apiVersions).toEqual([route?.version]);
      expect(w.rules[0]?.operations).toEqual(route?.kind === "BFDProfile" ? ["CREATE", "UPDATE", "DELETE"] : ["CREATE", "UPDATE"]);
    }
  });
});
