// `npm run demo` (as root): what metallb-ts can show today, with real parts only.
//   1. a real kube-apiserver + etcd (or the cluster in $KUBECONFIG with --kubeconfig-env) with the metallb.io CRDs;
//   2. the sample configurations from config/samples applied to it (schema-validated by the apiserver);
//   3. a network lab in namespaces: an upstream FRR router, two nodes with FRR, a client;
//      both nodes announce a Service VIP over eBGP and the router installs an ECMP route to it.
// The operator (IP allocation), the speaker (rendered FRR config, L2 answers) and failover join this demo as the
// issues that build them land.
import * as k8s from "@kubernetes/client-node";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { ControlPlane, rawKubeRequest, repoRoot } from "../../testenv/src/control-plane.js";
import { NetLab } from "../../testenv/src/netlab.js";
import { waitFor } from "../../testenv/src/proc.js";

const VIP = "10.111.100.1";

interface Step {
  (): Promise<string>;
}

async function step(title: string, fn: Step): Promise<void> {
  const t0 = Date.now();
  process.stdout.write(`\n==> ${title}\n`);
  const detail = await fn();
  process.stdout.write(`${detail}${detail.endsWith("\n") || detail === "" ? "" : "\n"}    (${Date.now() - t0} ms)\n`);
}

function routerConfig(lab: NetLab): string {
  const r = lab.host("router");
  const lines = ["frr defaults traditional", `log file ${lab.dir}/frr-router/frr.log`, "router bgp 64500", ` bgp router-id ${r.ipv4}`, " no bgp ebgp-requires-policy"];
  for (const n of ["node1", "node2"]) {
    const ip = lab.host(n).ipv4;
    lines.push(` neighbor ${ip} remote-as 64512`, ` neighbor ${ip} timers 3 9`, ` neighbor ${ip} timers connect 1`);
  }
  lines.push(" address-family ipv4 unicast", "  maximum-paths 8", " exit-address-family", "");
  return lines.join("\n");
}

function nodeConfig(lab: NetLab, node: string): string {
  const h = lab.host(node);
  const r = lab.host("router").ipv4;
  return [
    "frr defaults traditional",
    `log file ${lab.dir}/frr-${node}/frr.log`,
    "router bgp 64512",
    ` bgp router-id ${h.ipv4}`,
    " no bgp ebgp-requires-policy",
    " no bgp network import-check",
    " coalesce-time 50",
    ` neighbor ${r} remote-as 64500`,
    ` neighbor ${r} timers 3 9`,
    ` neighbor ${r} timers connect 1`,
    " address-family ipv4 unicast",
    `  network ${VIP}/32`,
    " exit-address-family",
    "",
  ].join("\n");
}

async function applySamples(kc: k8s.KubeConfig): Promise<string> {
  const dir = join(repoRoot(), "config", "samples");
  const out: string[] = [];
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "metallb-system" } } }).catch(() => undefined);
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")).sort()) {
    for (const doc of yaml.loadAll(readFileSync(join(dir, file), "utf8"))) {
      const o = doc as k8s.KubernetesObject | null;
      if (o?.apiVersion === undefined || o.kind === undefined || o.kind === "Namespace") continue;
      const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
      const plural = `${o.kind.toLowerCase()}${o.kind.endsWith("s") ? "es" : "s"}`.replace(/ys$/, "ies");
      const ns = o.metadata?.namespace ?? "metallb-system";
      const path = group === "" ? `/api/${version}/namespaces/${ns}/${plural}` : `/apis/${group}/${version}/namespaces/${ns}/${plural}`;
      const res = await rawKubeRequest(kc, "POST", path, o);
      const verdict = res.status < 300 ? "created" : res.status === 409 ? "exists" : `REJECTED (${JSON.stringify(res.body)})`;
      out.push(`    ${file}: ${o.kind}/${o.metadata?.name ?? "?"} ${verdict}`);
    }
  }
  return out.join("\n");
}

async function main(argv: readonly string[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("the demo builds network namespaces: run it as root (sudo npm run demo)");
  const keep = argv.includes("--keep");
  const useEnvKubeconfig = argv.includes("--kubeconfig-env");
  const res: { cp?: ControlPlane; lab?: NetLab } = {};
  const t0 = Date.now();
  try {
    let kc = new k8s.KubeConfig();
    await step(useEnvKubeconfig ? "Using the cluster in $KUBECONFIG" : "Starting a real kube-apiserver + etcd on loopback, installing the metallb.io CRDs", async () => {
      if (useEnvKubeconfig) {
        kc.loadFromDefault();
        return `    server ${kc.getCurrentCluster()?.server ?? "?"}`;
      }
      const cp = await ControlPlane.start();
      res.cp = cp;
      kc = cp.kubeConfig();
      return `    server ${cp.server}\n    kubeconfig ${cp.kubeconfigPath}`;
    });
    await step("Applying config/samples (the apiserver validates them against our CRD schemas)", () => applySamples(kc));
    await step("Building the network: router, node1, node2, client on one bridge (network namespaces)", async () => {
      const lab = await NetLab.create([
        { name: "router", index: 1 },
        { name: "client", index: 5 },
        { name: "node1", index: 11 },
        { name: "node2", index: 12 },
      ]);
      res.lab = lab;
      await lab.enableForwarding("router");
      return lab.hosts.map((h) => `    ${h.name.padEnd(7)} ${h.ipv4.padEnd(12)} ${h.mac}  netns ${h.netns}`).join("\n");
    });
    const l = res.lab;
    if (l === undefined) throw new Error("lab not built");
    await step("Starting FRR: the upstream router (AS 64500) and both nodes (AS 64512) announcing the VIP", async () => {
      await l.startFrr("router", routerConfig(l));
      await Promise.all(["node1", "node2"].map((n) => l.startFrr(n, nodeConfig(l, n))));
      return "    FRR up in 3 namespaces";
    });
    await step(`Waiting until the router has an ECMP route to ${VIP} via both nodes`, async () => {
      const route = await waitFor(
        "ECMP route on the router",
        async () => {
          const out = await l.exec("router", "ip", ["route", "show", `${VIP}/32`]);
          return (out.stdout.match(/nexthop via/g) ?? []).length === 2 ? out.stdout : undefined;
        },
        30_000,
        50,
      );
      const bgp = await l.frr("router").vtysh("show bgp ipv4 unicast");
      return `    router# ip route show ${VIP}/32\n${indent(route)}\n    router# show bgp ipv4 unicast\n${indent(bgp)}`;
    });
    process.stdout.write(`\nSummary: control plane up, samples applied, router ECMPs ${VIP} over node1+node2 (total ${Date.now() - t0} ms)\n`);
    if (keep) {
      process.stdout.write(
        `\nKept running (Ctrl-C to tear down). Try:\n` +
          (res.cp !== undefined ? `  KUBECONFIG=${res.cp.kubeconfigPath} kubectl get ipaddresspools -A\n` : "") +
          `  vtysh --vty_socket ${l.frr("router").dir} -c 'show bgp summary'\n` +
          `  ip netns exec ${l.host("client").netns} ping -c1 ${l.host("node1").ipv4}\n`,
      );
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
    }
  } finally {
    await step("Cleaning up", async () => {
      await res.lab?.destroy();
      await res.cp?.stop();
      return "    namespaces, FRR and control plane removed";
    });
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `      ${l}`)
    .join("\n");
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof Error && e.cause !== undefined) process.stderr.write(`  cause: ${String((e.cause as Error).message ?? e.cause)}\n`);
    process.exit(1);
  },
);
