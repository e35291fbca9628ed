import { describe, expect, test } from "@jest/globals";
import { formatProblem } from "./problems.js";
import { peerIdentifier, speakerConfigProblems, type BGPPeerObject, type SecretObject, type SpeakerConfigInput } from "./speaker-problems.js";

const NS = "metallb-system";
const peer = (name: string, spec: Record<string, unknown>): BGPPeerObject => ({
  metadata: { name, namespace: NS },
  spec: { myASN: 64500, peerASN: 64501, ...spec },
});
const secret = (name: string, type: string | undefined, data: Record<string, unknown> = { password: "c2VjcmV0" }): SecretObject => ({
  metadata: { name, namespace: NS },
  ...(type !== undefined ? { type } : {}),
  data,
});
const onlyNode1 = { nodeSelectors: [{ matchLabels: { "kubernetes.io/hostname": "node1" } }] };
const onlyNode2 = { nodeSelectors: [{ matchExpressions: [{ key: "kubernetes.io/hostname", operator: "In", values: ["node2"] }] }] };

function problemsOn(node: string, peers: BGPPeerObject[], extra: Partial<Omit<SpeakerConfigInput, "node" | "peers">> = {}): string[] {
  return speakerConfigProblems({
    node: { name: node, labels: { "kubernetes.io/hostname": node } },
    peers,
    bfdProfiles: extra.bfdProfiles ?? new Set(["fast"]),
    secrets: extra.secrets ?? new Map([["good", secret("good", "kubernetes.io/basic-auth")]]),
  }).map(formatProblem);
}

describe("speakerConfigProblems: only the peers that select the node, in MetalLB's words", () => {
  test.each([
    ["no peers", [], "node1", []],
    ["valid peers", [peer("a", { peerAddress: "10.0.0.1", bfdProfile: "fast", passwordSecret: { name: "good" } })], "node1", []],
    [
      "missing BFD profile, peer on every node",
      [peer("a", { peerAddress: "10.0.0.1", bfdProfile: "slow" })],
      "node1",
      ["BGPPeer/a spec.bfdProfile: peer a referencing non existing bfd profile slow (transient: waiting for the referenced object)"],
    ],
    [
      "missing BFD profile of a peer for another node: not this speaker's",
      [peer("a", { peerAddress: "10.0.0.1", bfdProfile: "slow", ...onlyNode2 })],
      "node1",
      [],
    ],
    [
      "password Secret missing",
      [peer("a", { peerAddress: "10.0.0.1", passwordSecret: { name: "nope" }, ...onlyNode1 })],
      "node1",
      ['BGPPeer/a spec.passwordSecret.name: secret ref not found for peer config "metallb-system"/"a" (transient: waiting for the referenced object)'],
    ],
    [
      "password Secret of type Opaque",
      [peer("a", { peerAddress: "10.0.0.1", passwordSecret: { name: "opaque" } })],
      "node1",
      ['BGPPeer/a spec.passwordSecret.name: secret type mismatch on "metallb-system"/"opaque", type "kubernetes.io/basic-auth" is expected'],
    ],
    [
      "basic-auth Secret without a password",
      [peer("a", { peerAddress: "10.0.0.1", passwordSecret: { name: "empty" } })],
      "node1",
      ['BGPPeer/a spec.passwordSecret.name: password not specified in the secret "metallb-system"/"empty"'],
    ],
    [
      "two peers to the same address both selecting node1",
      [peer("a", { peerAddress: "10.0.0.1" }), peer("b", { peerAddress: "10.0.0.1", ...onlyNode1 })],
      "node1",
      ["BGPPeer/b spec.peerAddress: peer 10.0.0.1 already exists, FRR mode doesn't support duplicate BGPPeers selecting the same node"],
    ],
    [
      "the same two peers, seen from node2 (b does not select it)",
      [peer("a", { peerAddress: "10.0.0.1" }), peer("b", { peerAddress: "10.0.0.1", ...onlyNode1 })],
      "node2",
      [],
    ],
    ["same address in different VRFs", [peer("a", { peerAddress: "10.0.0.1" }), peer("b", { peerAddress: "10.0.0.1", vrf: "red" })], "node1", []],
    [
      "different myASN in the same VRF",
      [peer("a", { peerAddress: "10.0.0.1" }), peer("b", { peerAddress: "10.0.0.2", myASN: 64999 })],
      "node1",
      [
        "BGPPeer/b spec.myASN: peer 10.0.0.2 has myAsn different from 10.0.0.1, in FRR mode peers selecting the same node must have the same myAsn within the same VRF",
      ],
    ],
    [
      "different router IDs",
      [peer("a", { peerAddress: "10.0.0.1", routerID: "1.1.1.1" }), peer("b", { peerAddress: "10.0.0.2", routerID: "2.2.2.2" })],
      "node1",
      ["BGPPeer/b spec.routerID: peer 2.2.2.2 has RouterID different from 1.1.1.1, in FRR mode peers selecting the same node must all have the same RouterID"],
    ],
    [
      "a peer with an invalid selector is placed nowhere (the operator reports it)",
      [peer("a", { peerAddress: "10.0.0.1", bfdProfile: "slow", nodeSelectors: [{ matchLabels: { "bad key!": "x" } }] })],
      "node1",
      [],
    ],
  ] as const)("%s", (...[, peers, node, want]) => {
    const secrets = new Map<string, SecretObject>([
      ["good", secret("good", "kubernetes.io/basic-auth")],
      ["opaque", secret("opaque", "Opaque")],
      ["empty", secret("empty", "kubernetes.io/basic-auth", {})],
    ]);
    expect(problemsOn(node, [...peers], { secrets })).toEqual(want);
  });

  test("peerIdentifier: address, interface for unnumbered peers, -vrf suffix", () => {
    expect(peerIdentifier({ peerAddress: "10.0.0.1" })).toBe("10.0.0.1");
    expect(peerIdentifier({ interface: "eth1" })).toBe("eth1");
    expect(peerIdentifier({ peerAddress: "fd00::1", vrf: "red" })).toBe("fd00::1-red");
  });

  test("problem indexes point into the full peer list", () => {
    const got = speakerConfigProblems({
      node: { name: "node2", labels: { "kubernetes.io/hostname": "node2" } },
      peers: [peer("n1", { peerAddress: "10.0.0.9", ...onlyNode1 }), peer("x", { peerAddress: "10.0.0.1", bfdProfile: "none" })],
      bfdProfiles: new Set(),
      secrets: new Map(),
    });
    expect(got.map((p) => [p.name, p.index])).toEqual([["x", 1]]);
  });
});
