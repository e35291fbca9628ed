import { describe, expect, test } from "@jest/globals";
import { join } from "node:path";
import { runExplain, type ClusterReader, type ExplainIO } from "./explain.js";
import { fileSystemIO } from "./fs-io.js";

const ROOT = join(import.meta.dirname, "..", "..");
const DATA = join(ROOT, "cli", "testdata", "explain");
const FIX = join(ROOT, "cli", "testdata", "explain-fix");

const noCluster: ClusterReader = () => Promise.reject(new Error("no cluster in this test"));

function capture(readCluster: ClusterReader = noCluster): { io: ExplainIO; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const fsio = fileSystemIO(
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { out, err, io: { ...fsio, readCluster } };
}

describe("metallb-ts explain service", () => {
  test("offline: the missing advertisement is named, with the fix", async () => {
    const c = capture();
    const code = await runExplain(["service", "default/web", DATA], c.io);
    expect([code, c.err]).toEqual([0, []]);
    expect(c.out[0]).toBe('Service default/web: not announced: no L2Advertisement or BGPAdvertisement selects pool "lan"');
    expect(c.out[1]).toMatch(/^Fix: create an L2Advertisement or a BGPAdvertisement .*pool "lan"/);
    expect(c.out).toContain('IPs: 192.168.10.240 from pool "lan"; externalTrafficPolicy Cluster');
  });

  test("offline with the fix: announced, the owner is named (-o json)", async () => {
    const c = capture();
    const code = await runExplain(["service", "default/web", DATA, FIX, "-o", "json"], c.io);
    expect([code, c.err]).toEqual([0, []]);
    const e = JSON.parse(c.out.join("\n")) as { state: string; fix: unknown; l2: Array<{ ip: string; owner: string; candidates: string[] }> };
    expect(e.state).toBe("announced");
    expect(e.fix).toBeNull();
    expect(e.l2.map((l) => l.ip)).toEqual(["192.168.10.240"]);
    expect(e.l2[0]?.candidates.sort()).toEqual(["worker-1", "worker-2"]);
  });

  test("against a cluster: what the reader returns is explained with the operator's namespace rule", async () => {
    let asked = "";
    const c = capture((kubeconfig, ns) => {
      asked = `${kubeconfig} ${ns}`;
      return Promise.resolve({
        resources: {
          pools: [
            { apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool", metadata: { name: "p", namespace: "elsewhere" }, spec: { addresses: ["10.0.0.0/30"] } },
          ],
          l2Advertisements: [],
          bgpAdvertisements: [],
          bgpPeers: [],
          bfdProfiles: [],
          communities: [],
          secrets: [],
          nodes: [],
          namespaces: [],
        },
        services: [],
        endpointSlices: [],
      });
    });
    const code = await runExplain(["service", "default/web", "--kubeconfig", "/k"], c.io);
    expect(asked).toBe("/k metallb-system");
    expect(code).toBe(1);
    expect(c.err.join("\n")).toMatch(/invalid configuration: .*must be created in metallb-system namespace/);
  });

  test.each([
    [["service"], /NAMESPACE\/NAME/],
    [["pod", "a/b", "x"], /only `explain service/],
    [["service", "a/b"], /either --kubeconfig or files/],
    [["service", "a/b", "x", "-o", "yaml"], /-o must be text or json/],
  ])("bad usage %j: exit 2", async (argv, message) => {
    const c = capture();
    expect(await runExplain(argv, c.io)).toBe(2);
    expect(c.err.join("\n")).toMatch(message);
  });

  test("an unknown Service: exit 1", async () => {
    const c = capture();
    expect(await runExplain(["service", "default/nope", DATA], c.io)).toBe(1);
    expect(c.err).toEqual(['explain: service "default/nope" not found']);
  });
});
