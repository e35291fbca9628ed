// The metallb.io API on a real kube-apiserver: every CRD installs and is served, the samples are accepted,
// schema- and CEL-invalid objects are refused with a readable message, and BGPPeer v1beta1 reads back as v1beta2.
import { describe, expect, test } from "@jest/globals";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { rawKubeRequest } from "../../../testenv/src/control-plane.js";
import { repoRoot } from "../../../testenv/src/repo-root.js";
import { createTestNamespace, useControlPlane } from "../../../testenv/src/kube.js";

const env = useControlPlane();

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** Kind, plural and served versions of each CRD in config/crd/bases (the API's source of truth). */
interface CrdKind {
  kind: string;
  plural: string;
  versions: string[];
}

function metallbKinds(): CrdKind[] {
  const dir = join(repoRoot(), "config", "crd", "bases");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => {
      const crd = yaml.load(readFileSync(join(dir, f), "utf8")) as {
        spec: { names: { kind: string; plural: string }; versions: Array<{ name: string; served: boolean }> };
      };
      return { kind: crd.spec.names.kind, plural: crd.spec.names.plural, versions: crd.spec.versions.filter((v) => v.served).map((v) => v.name) };
    });
}

const METALLB_KINDS = metallbKinds();

const pluralOf = (kind: string): string => {
  const k = METALLB_KINDS.find((x) => x.kind === kind);
  if (k !== undefined) return k.plural;
  return `${kind.toLowerCase()}s`;
};

function pathOf(o: Pick<Obj, "apiVersion" | "kind">, ns: string, name?: string): string {
  const base = o.apiVersion.includes("/") ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  return `${base}/namespaces/${ns}/${pluralOf(o.kind)}${name !== undefined ? `/${name}` : ""}`;
}

async function create(o: Obj, ns: string): Promise<{ status: number; message: string; body: Obj }> {
  const res = await rawKubeRequest(env.kc, "POST", pathOf(o, ns), { ...o, metadata: { ...o.metadata, namespace: ns } });
  const message = (res.body as { message?: string }).message ?? "";
  return { status: res.status, message, body: res.body as Obj };
}

const peer = (spec: Record<string, unknown>, name = "p"): Obj => ({
  apiVersion: "metallb.io/v1beta2",
  kind: "BGPPeer",
  metadata: { name },
  spec: { myASN: 64512, peerASN: 64500, peerAddress: "10.0.0.1", ...spec },
});

describe("metallb.io CRDs on a real kube-apiserver", () => {
  test("every kind is installed and each served version answers a list", async () => {
    for (const k of METALLB_KINDS) {
      for (const v of k.versions) {
        const res = await rawKubeRequest(env.kc, "GET", `/apis/metallb.io/${v}/${k.plural}`);
        expect([k.kind, v, res.status]).toEqual([k.kind, v, 200]);
      }
    }
    expect(METALLB_KINDS.map((k) => k.kind).sort()).toEqual(
      [
        "BFDProfile",
        "BGPAdvertisement",
        "BGPPeer",
        "Community",
        "ConfigurationState",
        "IPAddressPool",
        "L2Advertisement",
        "ServiceBGPStatus",
        "ServiceL2Status",
      ].sort(),
    );
  });

  test("every object in config/samples is accepted", async () => {
    const ns = await createTestNamespace(env.kc, "samples");
    const dir = join(repoRoot(), "config", "samples");
    let count = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
      for (const doc of yaml.loadAll(readFileSync(join(dir, file), "utf8"))) {
        const o = doc as Obj | null;
        if (o === null || o.kind === "Namespace") continue;
        const res = await create(o, ns);
        expect([file, o.kind, o.metadata.name, res.status, res.message]).toEqual([file, o.kind, o.metadata.name, 201, ""]);
        count++;
      }
    }
    expect(count).toBeGreaterThanOrEqual(8);
  });

  test.each<[string, Obj, RegExp]>([
    [
      "pool without addresses",
      { apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: "x" }, spec: { autoAssign: true } },
      /spec\.addresses: Required value/,
    ],
    ["peer port out of range", peer({ peerPort: 20000 }), /spec\.peerPort: Invalid value: 20000: spec\.peerPort in body should be less than or equal to 16384/],
    [
      "peer without myASN",
      { apiVersion: "metallb.io/v1beta2", kind: "BGPPeer", metadata: { name: "x" }, spec: { peerASN: 1, peerAddress: "10.0.0.1" } },
      /spec\.myASN: Required value/,
    ],
    ["ASN above uint32", peer({ peerASN: 4294967296 }), /spec\.peerASN .*less than or equal to 4294967295/],
    ["unknown dynamicASN", peer({ peerASN: undefined, dynamicASN: "sideways" }), /spec\.dynamicASN: Unsupported value: "sideways"/],
    ["connectTime not whole seconds", peer({ connectTime: "1500ms" }), /connectTime must be a whole number of seconds/],
    ["connectTime too long", peer({ connectTime: "20h" }), /connectTime must be between 1s and 65535s/],
    ["holdTime not a duration", peer({ holdTime: "soon" }), /must be a duration such as "90s" or "1m30s"/],
    [
      "serviceSelectors with aggregation",
      {
        apiVersion: "metallb.io/v1beta1",
        kind: "BGPAdvertisement",
        metadata: { name: "x" },
        spec: { aggregationLength: 24, serviceSelectors: [{ matchLabels: { a: "b" } }] },
      },
      /serviceSelectors and aggregationLength are mutually exclusive/,
    ],
    [
      "preferred node weight 0",
      {
        apiVersion: "metallb.io/v1beta1",
        kind: "L2Advertisement",
        metadata: { name: "x" },
        spec: { preferredNodeSelectors: [{ weight: 0, preference: { matchLabels: { a: "b" } } }] },
      },
      /weight: Invalid value: 0: .*greater than or equal to 1/,
    ],
    [
      "BFD interval below 10 ms",
      { apiVersion: "metallb.io/v1beta1", kind: "BFDProfile", metadata: { name: "x" }, spec: { receiveInterval: 5 } },
      /spec\.receiveInterval: Invalid value: 5/,
    ],
  ])("refuses %s with a readable message", async (_desc, obj, want) => {
    const ns = await createTestNamespace(env.kc, "invalid");
    const res = await create(obj, ns);
    expect(res.status).toBe(422);
    expect(res.message).toMatch(want);
  });

  test("enableGracefulRestart cannot be changed after creation", async () => {
    const ns = await createTestNamespace(env.kc, "gr");
    const created = await create(peer({ enableGracefulRestart: true }, "gr"), ns);
    expect(created.status).toBe(201);
    const updated = { ...created.body, spec: { ...created.body.spec, enableGracefulRestart: false } };
    const res = await rawKubeRequest(env.kc, "PUT", pathOf(updated, ns, "gr"), updated);
    expect(res.status).toBe(422);
    expect((res.body as { message: string }).message).toMatch(/EnableGracefulRestart cannot be changed after creation/);
  });

  test("ServiceL2Status identity fields are immutable", async () => {
    const ns = await createTestNamespace(env.kc, "l2s");
    const created = await create({ apiVersion: "metallb.io/v1beta1", kind: "ServiceL2Status", metadata: { name: "l2-a" } }, ns);
    expect(created.status).toBe(201);
    const statusPath = `${pathOf(created.body, ns, "l2-a")}/status`;
    const first = await rawKubeRequest(env.kc, "PUT", statusPath, {
      ...created.body,
      status: { node: "node-a", serviceName: "web", serviceNamespace: "default" },
    });
    expect(first.status).toBe(200);
    const again = await rawKubeRequest(env.kc, "PUT", statusPath, {
      ...(first.body as Obj),
      status: { node: "node-b", serviceName: "web", serviceNamespace: "default" },
    });
    expect(again.status).toBe(422);
    expect((again.body as { message: string }).message).toMatch(/Value is immutable/);
  });

  test("a BGPPeer created as v1beta1 (deprecated, with a warning) reads back as v1beta2 without loss", async () => {
    const ns = await createTestNamespace(env.kc, "conv");
    const v1beta1: Obj = {
      apiVersion: "metallb.io/v1beta1",
      kind: "BGPPeer",
      metadata: { name: "legacy" },
      spec: {
        myASN: 64512,
        peerASN: 64500,
        peerAddress: "10.0.0.1",
        sourceAddress: "10.0.0.2",
        peerPort: 1179,
        holdTime: "90s",
        keepaliveTime: "30s",
        routerID: "10.0.0.2",
        nodeSelectors: [{ matchLabels: { rack: "a" }, matchExpressions: [{ key: "zone", operator: "In", values: ["z1"] }] }],
        password: "s3cret",
        bfdProfile: "fast",
        ebgpMultiHop: true,
      },
    };
    const created = await create(v1beta1, ns);
    expect(created.status).toBe(201);
    const read = await rawKubeRequest(env.kc, "GET", pathOf({ apiVersion: "metallb.io/v1beta2", kind: "BGPPeer" }, ns, "legacy"));
    expect(read.status).toBe(200);
    const got = read.body as Obj;
    expect(got.apiVersion).toBe("metallb.io/v1beta2");
    // Everything v1beta1 had, plus v1beta2's defaults for the fields v1beta1 does not know.
    expect(got.spec).toEqual({ ...v1beta1.spec, disableMP: false, dualStackAddressFamily: false });
    const back = await rawKubeRequest(env.kc, "GET", pathOf({ apiVersion: "metallb.io/v1beta1", kind: "BGPPeer" }, ns, "legacy"));
    expect((back.body as Obj).spec).toEqual(v1beta1.spec);
  });
});
