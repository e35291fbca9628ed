import { describe, expect, test } from "@jest/globals";
import type { FrrConfig, FrrNeighbor } from "../../model/src/frr/types.js";
import { renderFrrConfig } from "./render.js";
import { MAIN_TEMPLATE, PARTIALS } from "./templates.generated.js";

const neighbor: FrrNeighbor = {
  comment: "BGPPeer metallb-system/peer-a",
  id: "192.0.2.1",
  unnumbered: false,
  remoteAs: "64500",
  hasLocalAs: false,
  localAs: 0,
  bfd: false,
  hasBfdProfile: false,
  bfdProfile: "",
  bfdCheckControlPlaneFailure: false,
  hasPassword: true,
  passwordKey: "peer-a",
  hasPort: false,
  port: 179,
  ebgpMultihop: false,
  disableConnectedCheck: false,
  hasUpdateSource: false,
  updateSource: "",
  hasTimers: false,
  keepaliveSeconds: 0,
  holdSeconds: 0,
  hasConnectTime: false,
  connectSeconds: 0,
  gracefulRestart: false,
};

const config: FrrConfig = {
  header: ["test & <config>"],
  log: { hasLevel: true, level: "informational", debug: false },
  routers: [
    {
      comment: "router",
      asn: 64512,
      hasVrf: false,
      vrf: "",
      hasRouterId: false,
      routerId: "",
      gracefulShutdown: false,
      neighbors: [neighbor],
      addressFamilies: [],
    },
  ],
  routeMaps: [],
  hasBfdProfiles: false,
  bfdProfiles: [],
};

describe("renderFrrConfig", () => {
  test("the password line is rendered only when the secret is supplied", () => {
    expect(renderFrrConfig(config)).not.toContain("password");
    expect(renderFrrConfig(config, new Map([["other-peer", "x"]]))).not.toContain("password");
    expect(renderFrrConfig(config, new Map([["peer-a", "s3cr3t"]]))).toContain(" neighbor 192.0.2.1 password s3cr3t\n");
  });

  test("a secret for a neighbor without a password is ignored", () => {
    const noPassword = { ...config, routers: config.routers.map((r) => ({ ...r, neighbors: [{ ...neighbor, hasPassword: false }] })) };
    expect(renderFrrConfig(noPassword, new Map([["peer-a", "s3cr3t"]]))).not.toContain("password");
  });

  test.each(["two words", "line\nbreak", ""])("a password that would corrupt the file is refused: %j", (pw) => {
    expect(() => renderFrrConfig(config, new Map([["peer-a", pw]]))).toThrow(/cannot be rendered/);
  });

  test("no HTML escaping", () => {
    expect(renderFrrConfig(config)).toContain("! test & <config>\n");
  });

  // Handlebars 4.7 applies `strict` to values, not to the parameters of #if/#each: the FrrConfig type guards those.
  test("strict: a missing value throws instead of rendering an empty string", () => {
    const { asn: _omitted, ...router } = config.routers[0] ?? { asn: 0 };
    const broken = { ...config, routers: [router] } as unknown as FrrConfig;
    expect(() => renderFrrConfig(broken)).toThrow(/"asn" not defined/);
  });

  test("templates use no helpers beyond #each / #if / else and partials", () => {
    const blocks = [MAIN_TEMPLATE, ...Object.values(PARTIALS)].join("\n").match(/\{\{[#^/][^}]*\}\}/g) ?? [];
    expect([...new Set(blocks.map((b) => b.replace(/^\{\{([#^/]\w+).*$/, "$1")))].sort()).toEqual(["#each", "#if", "/each", "/if"]);
  });
});
