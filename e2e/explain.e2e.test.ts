// Explain on the real lab (issue 15 item 1): a Service whose pool no advertisement selects gets an IP but nobody
// answers ARP for it; the operator puts one Warning `NotAnnounced` on it and `metallb-ts explain` (the compiled CLI,
// against the apiserver through --kubeconfig) names the missing advertisement. Creating the L2Advertisement fixes it:
// a Normal `Announced` Event, the NotAnnounced one is not repeated, explain names the owner, and the owner answers ARP.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type * as k8s from "@kubernetes/client-node";
import { join } from "node:path";
import { applyMetallb, createEndpointSlice, createService, ensureNamespace, pool, waitForIPs } from "../testenv/src/objects.js";
import { kubeRequest } from "../shell/src/kube-raw.js";
import { run, sleep, waitFor } from "../testenv/src/proc.js";
import { repoRoot } from "../testenv/src/repo-root.js";
import { arpingMacs } from "../testenv/src/arp-probe.js";
import { startL2Lab, type L2Lab } from "../testenv/src/l2-lab.js";

interface EventObj {
  reason: string;
  message: string;
  type: string;
  count?: number;
}

interface Explained {
  state: string;
  summary: string;
  fix: string | null;
  notAnnouncedReason: string | null;
  l2: Array<{ ip: string; owner: string | null; candidates: string[] }>;
}

const MISSING = 'no L2Advertisement or BGPAdvertisement selects pool "dark"';

describe("NotAnnounced Event and metallb-ts explain", () => {
  let l2: L2Lab;
  let kc: k8s.KubeConfig;
  let vip = "";
  const cli = join(repoRoot(), "dist", "cli", "src", "main.js"); // built by startL2Lab (tsc -p tsconfig.build.json)

  const events = async (reason: string): Promise<EventObj[]> => {
    const sel = encodeURIComponent(`involvedObject.kind=Service,involvedObject.name=dark,reason=${reason}`);
    const res = await kubeRequest(kc, "GET", `/api/v1/namespaces/apps/events?fieldSelector=${sel}`);
    return (res.body as { items?: EventObj[] }).items ?? [];
  };
  const eventually = (reason: string): Promise<EventObj[]> =>
    waitFor(
      `${reason} Event`,
      async () => {
        const e = await events(reason);
        return e.length > 0 ? e : undefined;
      },
      30_000,
      200,
    );
  const explain = async (output: "json" | "text"): Promise<string> => {
    const r = await run("node", [cli, "explain", "service", "apps/dark", "--kubeconfig", l2.cp.kubeconfigPath, "-o", output], { allowFail: true });
    expect([r.code, r.stderr]).toEqual([0, ""]);
    return r.stdout;
  };
  const arping = async (): Promise<string[]> => arpingMacs(l2.lab, "client", vip);

  beforeAll(async () => {
    l2 = await startL2Lab();
    kc = l2.kc;
    await ensureNamespace(kc, "apps");
    await pool(kc, "dark", { addresses: ["10.111.0.240-10.111.0.249"] });
    await createService(kc, "apps", "dark", { annotations: { "metallb.io/address-pool": "dark" } });
    await createEndpointSlice(kc, "apps", "dark", l2.nodes);
    vip = (await waitForIPs(kc, "apps", "dark")).ips[0] ?? "";
  }, 400_000);

  afterAll(async () => {
    await l2?.stop();
  });

  test("no advertisement selects the pool: one Warning NotAnnounced naming it, nobody answers ARP", async () => {
    const [ev] = await eventually("NotAnnounced");
    expect(ev).toMatchObject({ type: "Warning", reason: "NotAnnounced", message: MISSING });
    expect(await arping()).toEqual([]);
    expect(await events("Announced")).toEqual([]);
  });

  test("explain (compiled CLI, --kubeconfig) names the missing advertisement and the fix", async () => {
    const e = JSON.parse(await explain("json")) as Explained;
    expect(e).toMatchObject({ state: "notAnnounced", notAnnouncedReason: "noAdvertisementForPool", summary: `not announced: ${MISSING}` });
    expect(e.fix).toMatch(/create an L2Advertisement or a BGPAdvertisement .* select pool "dark"/);
    const text = await explain("text");
    expect(text.split("\n")[0]).toBe(`Service apps/dark: not announced: ${MISSING}`);
  });

  test("no churn: re-planning the same reason writes no second Event", async () => {
    // An EndpointSlice update re-plans the Service; the reason stays, so nothing is written.
    await createEndpointSlice(kc, "apps", "dark", [...l2.nodes].reverse());
    await sleep(3_000);
    expect((await events("NotAnnounced")).map((e) => e.count ?? 1)).toEqual([1]);
  });

  test("creating the L2Advertisement: Normal Announced, explain names the owner, and the owner answers ARP", async () => {
    await applyMetallb(kc, "L2Advertisement", "dark", { ipAddressPools: ["dark"] });
    const [ev] = await eventually("Announced");
    expect(ev).toMatchObject({ type: "Normal", reason: "Announced", message: 'announced through L2Advertisement "dark"' });
    const e = JSON.parse(await explain("json")) as Explained;
    expect(e.state).toBe("announced");
    expect(e.fix).toBeNull();
    const owner = e.l2.find((l) => l.ip === vip)?.owner ?? "";
    // explain's candidate order is the one the speakers join from the published objects.
    expect(e.l2.find((l) => l.ip === vip)?.candidates).toEqual(await l2.candidates(vip));
    expect(e.summary).toBe(`announced: ${vip} by Layer 2 from ${owner}`);
    const mac = l2.lab.host(owner).mac.toLowerCase();
    await waitFor("ARP reply from the owner", async () => ((await arping()).includes(mac) ? true : undefined), 20_000, 200);
    expect((await events("NotAnnounced")).map((x) => x.count ?? 1)).toEqual([1]);
  });

  test("excluding every node (a Node label): NotAnnounced with that reason; including one again: Announced", async () => {
    const label = (node: string, value: string | null): Promise<unknown> =>
      kubeRequest(
        kc,
        "PATCH",
        `/api/v1/nodes/${node}`,
        { metadata: { labels: { "node.kubernetes.io/exclude-from-external-load-balancers": value } } },
        "application/merge-patch+json",
      );
    for (const n of l2.nodes) await label(n, "");
    const excluded = await waitFor(
      "NotAnnounced for the excluded nodes",
      async () => {
        const e = (await events("NotAnnounced")).filter((x) => x.message.includes("excluded"));
        return e.length > 0 ? e : undefined;
      },
      30_000,
      200,
    );
    expect(excluded.map((e) => e.message)).toEqual(['every node selected by L2Advertisement "dark" is excluded from load balancers or has NetworkUnavailable']);
    const e = JSON.parse(await explain("json")) as Explained & { nodes: Array<{ node: string; l2: { state: string } }> };
    expect(e.notAnnouncedReason).toBe("noEligibleNodes");
    expect(e.nodes.map((n) => n.l2.state)).toEqual(l2.nodes.map(() => "excluded"));
    await label(l2.nodes[0] ?? "", null);
    await waitFor("Announced again", async () => ((await events("Announced")).some((x) => (x.count ?? 1) >= 2) ? true : undefined), 30_000, 200);
    expect((await events("Announced"))[0]?.message ?? "").toBe('announced through L2Advertisement "dark"');
    for (const n of l2.nodes) await label(n, null);
  });
});
