import { describe, expect, test } from "@jest/globals";
import { parseConfig } from "./parse-config.js";
import { emptyClusterResources } from "./resources.js";
import { bgpPasswordsSecretData, type ReferencedSecret } from "./speaker-secrets.js";

const NS = "metallb-system";
const peer = (name: string, spec: Record<string, unknown>): unknown => ({
  apiVersion: "metallb.io/v1beta2",
  kind: "BGPPeer",
  metadata: { name, namespace: NS },
  spec: { myASN: 64512, peerASN: 64500, peerAddress: `10.0.0.${name.length}`, ...spec },
});
const secret = (name: string, password: string): unknown => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name, namespace: NS },
  type: "kubernetes.io/basic-auth",
  data: { password: Buffer.from(password).toString("base64") },
});

describe("bgpPasswordsSecretData", () => {
  test("the passwords of referenced Secrets, by Secret name; inline passwords and unreferenced Secrets stay out", () => {
    const resources = {
      ...emptyClusterResources(),
      bgpPeers: [
        peer("a", { passwordSecret: { name: "pw-b" } }),
        peer("bb", { passwordSecret: { name: "pw-a" } }),
        peer("ccc", { password: "inline" }),
        peer("dddd", { passwordSecret: { name: "pw-a" } }),
      ],
      secrets: [secret("pw-a", "alpha"), secret("pw-b", "beta"), secret("webhook-ca", "not-a-password")],
    };
    const parsed = parseConfig(resources);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const bySecret = new Map(resources.secrets.map((x) => [(x as { metadata: { name: string } }).metadata.name, x as ReferencedSecret]));
    const data = bgpPasswordsSecretData(parsed.value, (name) => bySecret.get(name));
    const b64 = (t: string): string => Buffer.from(t).toString("base64");
    expect(data).toEqual({
      "pw-a": b64("alpha"),
      "pw-b": b64("beta"),
      "type_pw-a": b64("kubernetes.io/basic-auth"),
      "type_pw-b": b64("kubernetes.io/basic-auth"),
    });
    expect(Object.keys(data)).toEqual(["pw-a", "pw-b", "type_pw-a", "type_pw-b"]);
  });

  test("a referenced Secret of the wrong type, or without a password, travels with its type; a missing one not at all", () => {
    const resources = {
      ...emptyClusterResources(),
      bgpPeers: [peer("a", { passwordSecret: { name: "opaque" } }), peer("bb", { passwordSecret: { name: "gone" } })],
      secrets: [{ apiVersion: "v1", kind: "Secret", metadata: { name: "opaque", namespace: NS }, type: "Opaque", data: {} }],
    };
    const parsed = parseConfig(resources, { leaveNodeProblemsToSpeakers: true });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const data = bgpPasswordsSecretData(parsed.value, (name) => (name === "opaque" ? { type: "Opaque", data: {} } : undefined));
    expect(data).toEqual({ type_opaque: Buffer.from("Opaque").toString("base64") });
  });

  test.each([
    ["switched to a Secret of the wrong type", { type: "Opaque", data: {} }],
    ["switched to a missing Secret", undefined],
    ["switched to a Secret without a password", { type: "kubernetes.io/basic-auth", data: {} }],
  ])("a peer %s: the entries already in the Secret stay (the last good configuration needs them)", (_name, target) => {
    const b64 = (t: string): string => Buffer.from(t).toString("base64");
    const previous = { "pw-old": b64("old"), "type_pw-old": b64("kubernetes.io/basic-auth") };
    const resources = { ...emptyClusterResources(), bgpPeers: [peer("a", { passwordSecret: { name: "pw-new" } })] };
    const parsed = parseConfig(resources, { leaveNodeProblemsToSpeakers: true });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
    const data = bgpPasswordsSecretData(parsed.value, (name) => (name === "pw-new" ? target : undefined), previous);
    expect(data).toMatchObject(previous);
    expect(Object.keys(data)).toEqual([...Object.keys(data)].sort());
    // Fixed: only what the peers reference now.
    const fixed = bgpPasswordsSecretData(
      parsed.value,
      (name) => (name === "pw-new" ? { type: "kubernetes.io/basic-auth", data: { password: b64("new") } } : undefined),
      previous,
    );
    expect(fixed).toEqual({ "pw-new": b64("new"), "type_pw-new": b64("kubernetes.io/basic-auth") });
  });

  test("no peer with a password Secret: empty", () => {
    const parsed = parseConfig({ ...emptyClusterResources(), bgpPeers: [peer("a", {})] });
    expect(parsed.ok && bgpPasswordsSecretData(parsed.value, () => undefined)).toEqual({});
  });
});
