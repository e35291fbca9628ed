// The speaker's Secrets with least privilege, on a real apiserver: the operator (its manifest RBAC) writes the BGP
// password Secret, and the speaker, whose Secret rule names only that Secret and the heartbeat key (resourceNames),
// reads passwords and key through speakerSecretsInformer, while the webhook's CA key, the user's password Secret
// itself and any list of Secrets are refused. The speaker rule here is the one config/rbac/speaker.yaml is to carry
// once the speaker uses this view (see SPEAKER_SECRETS_RULE).
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../model/src/config/parse-config.js";
import { emptyClusterResources } from "../../model/src/config/resources.js";
import { type ReferencedSecret, BGP_PASSWORDS_SECRET } from "../../model/src/config/speaker-secrets.js";
import { syncBgpPasswordsSecret } from "../../operator/src/bgp-passwords-secret.js";
import { kubeRequest } from "../../shell/src/kube-raw.js";
import { silentLogger } from "../../shell/src/logger.js";
import { useControlPlane } from "../../testenv/src/kube.js";
import { apply, ensureNamespace, METALLB_NS } from "../../testenv/src/objects.js";
import { waitFor } from "../../testenv/src/proc.js";
import { installComponentRbac, type ComponentCredentials, type ComponentName, type Manifest } from "../../testenv/src/rbac.js";
import { DEFAULT_L2_SECRET } from "./layer2/l2-speaker.js";
import { speakerSecretsInformer, type SecretObject } from "./secrets-view.js";

/** The speaker's Secret rule: the two Secrets it reads, by name (get, and list/watch of that one name). */
const SPEAKER_SECRETS_RULE = {
  apiGroups: [""],
  resources: ["secrets"],
  resourceNames: [DEFAULT_L2_SECRET, BGP_PASSWORDS_SECRET],
  verbs: ["get", "list", "watch"],
};

const env = useControlPlane();
let creds: Record<ComponentName, ComponentCredentials>;
const secretsPath = `/api/v1/namespaces/${METALLB_NS}/secrets`;
const b64 = (s: string): string => Buffer.from(s, "utf8").toString("base64");

const withSpeakerSecretsRule = (component: ComponentName, objects: Manifest[]): Manifest[] =>
  objects.map((o) =>
    component === "speaker" && o.kind === "Role"
      ? { ...o, rules: (o.rules ?? []).map((r) => ((r["resources"] as string[]).includes("secrets") ? SPEAKER_SECRETS_RULE : r)) }
      : o,
  );

const secret = (name: string, data: Record<string, string>): Parameters<typeof apply>[1] => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: METALLB_NS },
  data,
});
const bgpPeer = (passwordSecret: string): Parameters<typeof apply>[1] => ({
  apiVersion: "metallb.io/v1beta2",
  kind: "BGPPeer",
  metadata: { name: "router", namespace: METALLB_NS },
  spec: { myASN: 64512, peerASN: 64500, peerAddress: "10.0.0.1", passwordSecret: { name: passwordSecret } },
});

/** The configuration the operator parses from what is in the apiserver now (as its informers would see it). */
/** The parsed configuration and the Secrets, as the operator's caches would hold them. */
async function sync(kc: Parameters<typeof syncBgpPasswordsSecret>[0]): ReturnType<typeof syncBgpPasswordsSecret> {
  const list = async (path: string): Promise<unknown[]> => ((await kubeRequest(env.kc, "GET", path)).body as { items: unknown[] }).items;
  const secrets = (await list(secretsPath)) as Array<ReferencedSecret & { metadata: { name: string } }>;
  const parsed = parseConfig({ ...emptyClusterResources(), bgpPeers: await list(`/apis/metallb.io/v1beta2/namespaces/${METALLB_NS}/bgppeers`), secrets });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return syncBgpPasswordsSecret(kc, METALLB_NS, parsed.value, (name) => secrets.find((x) => x.metadata.name === name), silentLogger);
}

beforeAll(async () => {
  await ensureNamespace(env.kc, METALLB_NS);
  creds = await installComponentRbac(env.kc, {
    namespace: METALLB_NS,
    dir: mkdtempSync(join(tmpdir(), "metallb-ts-speaker-secrets-")),
    edit: withSpeakerSecretsRule,
  });
  await apply(env.kc, secret("metallb-webhook-cert", { "ca.key": b64("the webhook CA key"), "ca.crt": b64("ca") }), "secrets");
  await apply(env.kc, secret(DEFAULT_L2_SECRET, { secretkey: b64("heartbeat-key-0123456789abcdef01") }), "secrets");
  await apply(env.kc, { ...secret("router-pw", { password: b64("s3cret") }), type: "kubernetes.io/basic-auth" }, "secrets");
  await apply(env.kc, bgpPeer("router-pw"), "bgppeers");
}, 60_000);

describe("the speaker's Secrets by name only", () => {
  const informer = { current: undefined as ReturnType<typeof speakerSecretsInformer> | undefined };
  afterAll(async () => {
    await informer.current?.stop();
  });

  test("the operator, with its manifest RBAC, writes the BGP password Secret once, and again only when a password changes", async () => {
    const opKc = creds.operator.kubeConfig();
    expect(await sync(opKc)).toEqual({ kind: "done" });
    const first = (await kubeRequest(env.kc, "GET", `${secretsPath}/${BGP_PASSWORDS_SECRET}`)).body as {
      data: Record<string, string>;
      metadata: { resourceVersion: string };
    };
    expect(first.data).toEqual({ "router-pw": b64("s3cret"), "type_router-pw": b64("kubernetes.io/basic-auth") });
    await sync(opKc);
    const again = (await kubeRequest(env.kc, "GET", `${secretsPath}/${BGP_PASSWORDS_SECRET}`)).body as { metadata: { resourceVersion: string } };
    expect(again.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
  });

  test("the speaker reads the heartbeat key and the password through the view, and sees a password change", async () => {
    const inf = speakerSecretsInformer(creds.speaker.kubeConfig(), METALLB_NS, silentLogger, { l2SecretName: DEFAULT_L2_SECRET, minRetryMs: 100 });
    informer.current = inf;
    const events: string[] = [];
    inf.on("update", (o: SecretObject) => events.push(o.metadata?.name ?? ""));
    await inf.start();
    await inf.synced;
    expect(inf.cache.get(DEFAULT_L2_SECRET, METALLB_NS)?.data?.["secretkey"]).toBe(b64("heartbeat-key-0123456789abcdef01"));
    expect(inf.cache.get("router-pw", METALLB_NS)?.data?.["password"]).toBe(b64("s3cret"));
    expect(inf.cache.get("metallb-webhook-cert", METALLB_NS)).toBeUndefined();

    await apply(env.kc, { ...secret("router-pw", { password: b64("n3w") }), type: "kubernetes.io/basic-auth" }, "secrets");
    await sync(creds.operator.kubeConfig());
    await waitFor(
      "the new password in the speaker's view",
      () => Promise.resolve(inf.cache.get("router-pw", METALLB_NS)?.data?.["password"] === b64("n3w") ? true : undefined),
      10_000,
      50,
    );
    expect(events).toContain(BGP_PASSWORDS_SECRET);
  });

  test("the speaker is refused the webhook CA Secret, the user's password Secret and any list of Secrets", async () => {
    const kc = creds.speaker.kubeConfig();
    for (const path of [
      `${secretsPath}/metallb-webhook-cert`,
      `${secretsPath}/router-pw`,
      secretsPath,
      `${secretsPath}?fieldSelector=metadata.name%3Dmetallb-webhook-cert`,
    ]) {
      expect([path, (await kubeRequest(kc, "GET", path)).status]).toEqual([path, 403]);
    }
    // While the rule's own names are allowed, singly and as a one-name list.
    expect((await kubeRequest(kc, "GET", `${secretsPath}/${BGP_PASSWORDS_SECRET}`)).status).toBe(200);
    expect((await kubeRequest(kc, "GET", `${secretsPath}?fieldSelector=metadata.name%3D${DEFAULT_L2_SECRET}`)).status).toBe(200);
  });
});
