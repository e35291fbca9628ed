// The built images, run (npm run test:images: scripts/build-images.sh first, then these tests as root). Each image
// runs its real ENTRYPOINT with valid flags through testcontainers over podman, configured as in a Pod (the
// ServiceAccount directory and KUBERNETES_SERVICE_HOST/PORT) but with no network, so the apiserver cannot be reached
// (it keeps retrying, as in a Pod before the apiserver answers), is inspected from inside with exec, and stops on
// SIGTERM with exit code 0 (node as PID 1 handles the signal). Without any kubeconfig it exits at once, saying so.
// What the text-only checks in dockerfiles.test.ts cannot say.
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IMAGES, LabContainer } from "../../testenv/src/containers.js";
import { NetLab } from "../../testenv/src/netlab.js";
import { run, waitFor } from "../../testenv/src/proc.js";
import { ADDON_RELATIVE_PATH } from "../src/layer2/rawsocket.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
  license: string;
  devDependencies: Record<string, string>;
};

interface ImageConfig {
  User: string;
  Entrypoint: string[];
  WorkingDir: string;
  Labels: Record<string, string>;
  Env: string[];
}

async function imageConfig(image: string): Promise<ImageConfig> {
  const r = await run("podman", ["image", "inspect", "--format", "{{json .Config}}", image]);
  return JSON.parse(r.stdout) as ImageConfig;
}

const logsOf = async (c: LabContainer): Promise<string> => c.logs();

describe.each([
  {
    name: "operator",
    image: IMAGES.operator,
    entry: "dist/operator/src/main.js",
    user: "65534:65534",
    flags: ["--webhook-mode=disabled", "--leader-elect=false", "--log-level=debug"],
    usage: "usage: metallb-ts-operator",
    badFlag: ["--webhook-mode=sometimes", "--webhook-mode must be enabled or disabled"],
  },
  {
    name: "speaker",
    image: IMAGES.speaker,
    entry: "dist/speaker/src/main.js",
    user: "0:0",
    flags: ["--node-name=node1", "--log-level=debug"],
    usage: "usage: metallb-ts-speaker",
    badFlag: ["--node-name", "flag --node-name needs a value"],
  },
])("the $name image", ({ image, entry, user, flags, usage, badFlag }) => {
  let c: LabContainer;

  let serviceAccountDir: string;

  beforeAll(async () => {
    // What the kubelet mounts into a Pod: token, CA and namespace (readable by the operator's non-root user).
    serviceAccountDir = mkdtempSync(join(tmpdir(), "metallb-ts-image-sa-"));
    chmodSync(serviceAccountDir, 0o755);
    writeFileSync(join(serviceAccountDir, "token"), "not-a-real-token\n", { mode: 0o644 });
    writeFileSync(join(serviceAccountDir, "namespace"), "metallb-system", { mode: 0o644 });
    copyFileSync("/etc/ssl/certs/ca-certificates.crt", join(serviceAccountDir, "ca.crt"));
    chmodSync(join(serviceAccountDir, "ca.crt"), 0o644);
    c = await LabContainer.start({
      image,
      netns: "none",
      name: `metallb-ts-image-test-${process.pid}-${entry.split("/")[1] ?? ""}`,
      command: flags,
      binds: [{ source: serviceAccountDir, target: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true }],
      env: { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" },
    });
  }, 90_000);

  afterAll(async () => {
    if (c !== undefined && (await c.running())) await c.stop();
    rmSync(serviceAccountDir, { recursive: true, force: true });
  });

  test("without a kubeconfig or a ServiceAccount it exits 1 and says what is missing", async () => {
    const bare = await LabContainer.start({ image, netns: "none", name: `metallb-ts-image-bare-${process.pid}-${entry.split("/")[1] ?? ""}`, command: flags });
    await waitFor("the bare container to exit", async () => ((await bare.running()) ? undefined : true), 30_000, 250);
    const { exitCode, logs } = await bare.stop();
    expect(exitCode).toBe(1);
    expect(logs).toContain("no kubeconfig");
  }, 60_000);

  test("its configuration: the entry point in exec form, the user, the labels from package.json", async () => {
    const config = await imageConfig(image);
    expect(config.Entrypoint).toEqual(["node", entry]);
    expect(config.User).toBe(user);
    for (const k of ["title", "description", "licenses", "version", "revision", "base.name"])
      expect({ k, set: (config.Labels[`org.opencontainers.image.${k}`] ?? "") !== "" }).toEqual({ k, set: true });
    expect(config.Labels["org.opencontainers.image.version"]).toBe(pkg.version);
    expect(config.Labels["org.opencontainers.image.licenses"]).toBe(pkg.license);
    expect(config.Labels["org.opencontainers.image.revision"]).toMatch(/^([0-9a-f]{40}|unknown)$/);
    expect(config.Env).toContain("NODE_ENV=production");
  });

  test("the entry point starts with valid flags and keeps retrying the unreachable apiserver", async () => {
    const logs = await waitFor("a log line about the informers", async () => ((await logsOf(c)).includes('"informer"') ? logsOf(c) : undefined), 30_000, 250);
    expect(logs).toContain('"level":"warn"');
    expect(await c.running()).toBe(true);
  });

  test("an unknown flag (--help) and a bad value exit 2 with the usage", async () => {
    const help = await c.exec(["node", entry, "--help"]);
    expect(help.exitCode).toBe(2);
    expect(help.stderr).toContain("unknown flag --help");
    expect(help.stderr).toContain(usage);
    const bad = await c.exec(["node", entry, ...badFlag.slice(0, 1)]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain(badFlag[1]);
  });

  test(`runs as ${user === "0:0" ? "root" : "a non-root user"}; no npm and no dev dependencies at run time`, async () => {
    const id = await c.exec(["sh", "-c", "echo $(id -u):$(id -g)"]);
    expect(id.stdout.trim()).toBe(user);
    const tools = await c.exec(["sh", "-c", "command -v npm npx corepack yarn; true"]);
    expect(tools.stdout.trim()).toBe("");
    const dev = Object.keys(pkg.devDependencies).filter((d) => !d.startsWith("@types/"));
    const present = await c.exec(["sh", "-c", `for d in ${dev.join(" ")}; do [ -e "node_modules/$d/package.json" ] && echo "$d"; done; true`]);
    expect(present.stdout.trim()).toBe("");
  });

  test("SIGTERM stops it with exit code 0, the cause logged", async () => {
    const { exitCode, logs } = await c.stop(10);
    expect(exitCode).toBe(0);
    expect(logs).toMatch(/"msg":"exiting".*"code":0,"cause":"signal SIGTERM"/);
  });
});

describe("the speaker image: FRR and the native addon", () => {
  let c: LabContainer;
  let lab: NetLab;

  beforeAll(async () => {
    // A lab host for an Ethernet interface: the addon's AF_PACKET socket refuses loopback.
    lab = await NetLab.create([{ name: "node1", index: 11 }]);
    // As the speaker container of config/speaker/speaker-frr.yaml: every capability dropped but NET_RAW and NET_ADMIN.
    c = await LabContainer.start({
      image: IMAGES.speaker,
      netns: lab.host("node1").netns,
      name: `${lab.host("node1").netns}-speaker`,
      entrypoint: ["sleep", "infinity"],
      capDrop: ["ALL"],
      capAdd: ["NET_RAW", "NET_ADMIN"],
    });
  }, 90_000);

  afterAll(async () => {
    await c?.stop(1);
    await lab?.destroy();
  });

  test("zebra, bgpd, bfdd, staticd and vtysh are there (Debian's FRR 8.4), with frr 100:102 and frrvty 101", async () => {
    for (const d of ["zebra", "bgpd", "bfdd", "staticd"]) {
      const v = await c.exec([`/usr/lib/frr/${d}`, "--version"]);
      expect({ d, exitCode: v.exitCode, version: /version (\d+\.\d+)/.exec(v.stdout)?.[1] }).toEqual({ d, exitCode: 0, version: "8.4" });
    }
    expect((await c.exec(["vtysh", "-h"])).exitCode).toBe(0);
    const ids = await c.exec(["sh", "-c", 'echo "$(id -u frr):$(id -g frr):$(getent group frrvty | cut -d: -f3)"']);
    expect(ids.stdout.trim()).toBe("100:102:101");
    const start = await c.exec(["sh", "-c", "test -x /usr/local/bin/frr-start && bash -n /usr/local/bin/frr-start && ls /usr/share/metallb-ts/frr"]);
    expect(start.exitCode).toBe(0);
    expect(start.stdout.split("\n").filter(Boolean).sort()).toEqual(["daemons", "vtysh.conf"]);
  });

  test("nft is there and applies the Layer 2 hand-over forwarding batch on eth0 with the Pod's capabilities, then deletes it", async () => {
    const script = [
      'const m = await import("/app/dist/model/src/layer2/handover-forward.js");',
      'const { runNft } = await import("/app/dist/speaker/src/layer2/handover-forward.js");',
      'const v4 = (a) => ({ family: "IPv4", value: a.split(".").reduce((x, o) => (x << 8n) + BigInt(o), 0n) });',
      'const plan = { entries: [{ vip: v4("10.111.0.240"), previousOwner: v4("10.111.0.12"), iface: "eth0" }], flowTimeoutSeconds: 65 };',
      'await runNft(["-f", "-"], m.handoverForwardBatch(null, plan).text);',
      'console.log((await runNft(["list", "tables"])).trim());',
      'await runNft(["-f", "-"], m.handoverForwardBatch(["eth0"], { entries: [], flowTimeoutSeconds: 65 }).text);',
      'console.log((await runNft(["list", "tables"])).trim() || "none");',
    ].join(" ");
    const r = await c.exec(["node", "--input-type=module", "-e", script]);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(r.stdout.trim().split("\n")).toEqual(["table netdev metallb_ts_handover", "none"]);
  });

  test("the native addon loads and opens an AF_PACKET socket on eth0 (capabilities as in the Pod: NET_RAW for it)", async () => {
    const script = [
      'const m = await import("/app/dist/speaker/src/layer2/rawsocket.js");',
      "console.log(m.findRawSocketAddon());",
      'const s = m.openRawSocket({ ifname: "eth0", ethertype: 0x0806 });',
      "console.log(String(s.mac));",
      "s.close();",
    ].join(" ");
    const r = await c.exec(["node", "--input-type=module", "-e", script]);
    expect({ exitCode: r.exitCode, stderr: r.stderr }).toEqual({ exitCode: 0, stderr: "" });
    const [path, mac] = r.stdout.trim().split("\n");
    expect(path).toBe(`/app/${ADDON_RELATIVE_PATH}`);
    expect(mac).toBe(lab.host("node1").mac);
  });
});
