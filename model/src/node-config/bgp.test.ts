import { describe, expect, test } from "@jest/globals";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { buildFrrConfig } from "../frr/build.js";
import { renderFrrConfig } from "../../../frr-templates/src/render.js";
import { planCase, type GoldenCase } from "../../../frr-templates/testdata/run-case.js";
import { decodeNodeBgp, encodeNodeBgp, PASSWORD_INJECTED_BY_SPEAKER } from "./bgp.js";

const CASES = join(import.meta.dirname, "..", "..", "..", "frr-templates", "testdata", "cases");
const names = readdirSync(CASES).filter((f) => f.endsWith(".json")).sort();

describe("NodeConfig.spec.bgp", () => {
  test.each(names)("%s: encode → JSON → decode renders the same FRR configuration", (file) => {
    const c = JSON.parse(readFileSync(join(CASES, file), "utf8")) as GoldenCase;
    const { config, plan } = planCase(c);
    const secrets = new Map(config.peers.filter((p) => p.password !== "").map((p) => [p.name, p.password]));
    const want = renderFrrConfig(buildFrrConfig(plan, config.bfdProfiles, { logLevel: c.logLevel ?? "info" }), secrets);

    const spec = JSON.parse(JSON.stringify(encodeNodeBgp(plan, config.bfdProfiles))) as unknown;
    const text = JSON.stringify(spec);
    for (const p of config.peers) if (p.password !== "") expect(text).not.toContain(p.password);
    const decoded = decodeNodeBgp(c.node, spec);
    if (!decoded.ok) throw new Error(decoded.error);
    const got = renderFrrConfig(buildFrrConfig(decoded.value.plan, decoded.value.bfdProfiles, { logLevel: c.logLevel ?? "info" }), secrets);
    expect(got).toBe(want);
    // The speaker knows where every password lives.
    expect([...decoded.value.passwords.keys()].sort()).toEqual(config.peers.filter((p) => p.password !== "" && plan.sessions.some((s) => s.name === p.name)).map((p) => p.name).sort());
  });

  test("prefixes advertised the same way are grouped", () => {
    const c = JSON.parse(readFileSync(join(CASES, names.find((n) => n.includes("many")) ?? names[0] ?? ""), "utf8")) as GoldenCase;
    const { config, plan } = planCase(c);
    const spec = encodeNodeBgp(plan, config.bfdProfiles);
    expect(spec.prefixCount).toBe(plan.announcements.length);
    expect(spec.groups.length).toBeLessThanOrEqual(plan.announcements.length);
    expect(spec.groups.reduce((n, g) => n + g.prefixes.length, 0)).toBe(plan.announcements.length);
  });

  test.each([
    ["not an object", 42, true],
    ["bad session address", { sessions: [{ name: "p", address: "nope" }] }, false],
    ["bad prefix", { groups: [{ peers: [], prefixes: [{ prefix: "x/99" }] }] }, false],
    ["bad community", { groups: [{ peers: [{ peer: "p", communities: ["1:2:3:4"] }], prefixes: [] }] }, false],
  ])("decoding untrusted input: %s", (_d, input, wantOk) => {
    const r = decodeNodeBgp("n", input);
    expect(r.ok).toBe(wantOk);
  });

  test("a session with a password decodes to a placeholder, never the password", () => {
    const r = decodeNodeBgp("n", { sessions: [{ name: "p", myASN: 1, peerASN: 2, address: "10.0.0.1", password: { secret: "s" } }] });
    expect(r.ok && r.value.plan.sessions[0]?.password).toBe(PASSWORD_INJECTED_BY_SPEAKER);
    expect(r.ok && r.value.passwords.get("p")).toEqual({ secret: "s" });
  });
});
