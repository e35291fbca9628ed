import { describe, expect, test } from "@jest/globals";
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { diffFrrConfig, gracefulRestartAddedInPlace, parseFrrConfig, redactPasswords, runningBase, significantLines } from "./diff.js";

const GOLDEN_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "frr-templates", "testdata", "golden");

const conf = (...lines: string[]): string => `${lines.join("\n")}\n`;
const scriptOf = (a: string, b: string): string[] =>
  diffFrrConfig(a, b)
    .script.split("\n")
    .filter((l) => l !== "");

const router = (...body: string[]): string[] => ["router bgp 64512", ...body, "exit"];
const af = (...body: string[]): string[] => [" address-family ipv4 unicast", ...body, " exit-address-family"];
const NEIGHBOR = [" no bgp ebgp-requires-policy", " neighbor 10.0.0.1 remote-as 64500"];

describe("parseFrrConfig", () => {
  test("builds contexts from indentation and exit lines, ignoring comments and FRR's header lines", () => {
    const tree = parseFrrConfig(
      conf(
        "Building configuration...",
        "frr version 8.4.4",
        "hostname vm",
        "! comment",
        ...router(" ! c", ...NEIGHBOR, ...af("  network 10.1.0.0/24")),
        "route-map x deny 10",
        "exit",
        "bfd",
        " profile p",
        "  receive-interval 100",
        " exit",
        "exit",
        "ip nht resolve-via-default",
        "end",
      ),
    );
    expect([...tree.children.keys()]).toEqual(["router bgp 64512", "route-map x deny 10", "bfd", "ip nht resolve-via-default"]);
    const r = tree.children.get("router bgp 64512");
    expect([...(r?.children.keys() ?? [])]).toEqual([...NEIGHBOR.map((l) => l.trim()), "address-family ipv4 unicast"]);
    expect(tree.children.get("route-map x deny 10")?.context).toBe(true);
    expect(tree.children.get("ip nht resolve-via-default")?.context).toBe(false);
    expect([...(tree.children.get("bfd")?.children.get("profile p")?.children.keys() ?? [])]).toEqual(["receive-interval 100"]);
  });
});

interface Case {
  readonly name: string;
  readonly old: string[];
  readonly wanted: string[];
  readonly script: string[];
}

const CASES: Case[] = [
  {
    name: "add and remove a network",
    old: router(...NEIGHBOR, ...af("  network 10.1.0.1/32", "  network 10.1.0.2/32")),
    wanted: router(...NEIGHBOR, ...af("  network 10.1.0.2/32", "  network 10.1.0.3/32")),
    // Deletions and additions in the same context share one visit of it.
    script: router(...af("  no network 10.1.0.1/32", "  network 10.1.0.3/32")),
  },
  {
    name: "remove a neighbor: one `no neighbor X`, its address-family lines go with it",
    old: router(
      ...NEIGHBOR,
      " neighbor 10.0.0.2 remote-as 64501",
      " neighbor 10.0.0.2 timers 3 9",
      ...af("  neighbor 10.0.0.1 activate", "  neighbor 10.0.0.2 activate", "  neighbor 10.0.0.2 route-map r-out out"),
    ),
    wanted: router(...NEIGHBOR, ...af("  neighbor 10.0.0.1 activate")),
    script: router(" no neighbor 10.0.0.2"),
  },
  {
    name: "add a neighbor with its address-family lines",
    old: router(...NEIGHBOR, ...af("  neighbor 10.0.0.1 activate")),
    wanted: router(...NEIGHBOR, " neighbor 10.0.0.2 remote-as 64501", ...af("  neighbor 10.0.0.1 activate", "  neighbor 10.0.0.2 activate")),
    script: router(" neighbor 10.0.0.2 remote-as 64501", ...af("  neighbor 10.0.0.2 activate")),
  },
  {
    name: "a changed remote-as is overwritten, not deleted (that would delete the neighbor)",
    old: router(...NEIGHBOR, " neighbor 10.0.0.1 timers 3 9"),
    wanted: router(" no bgp ebgp-requires-policy", " neighbor 10.0.0.1 remote-as 64501", " neighbor 10.0.0.1 timers 3 9"),
    script: router(" neighbor 10.0.0.1 remote-as 64501"),
  },
  {
    name: "a neighbor replaced by another one",
    old: router(" neighbor 10.0.0.9 remote-as 1", " neighbor 10.0.0.9 timers 3 9", ...af("  neighbor 10.0.0.9 activate")),
    wanted: router(" neighbor 10.0.0.8 remote-as 1", ...af("  neighbor 10.0.0.8 activate")),
    script: router(" no neighbor 10.0.0.9", " neighbor 10.0.0.8 remote-as 1", ...af("  neighbor 10.0.0.8 activate")),
  },
  {
    name: "timers: changed in place, removed with no",
    old: router(...NEIGHBOR, " neighbor 10.0.0.1 timers 3 9", " neighbor 10.0.0.1 timers connect 1"),
    wanted: router(...NEIGHBOR, " neighbor 10.0.0.1 timers 5 15"),
    script: router(" no neighbor 10.0.0.1 timers connect 1", " neighbor 10.0.0.1 timers 5 15"),
  },
  {
    name: "negated lines are removed by dropping their `no`",
    old: router(" no bgp ebgp-requires-policy", " no bgp default ipv4-unicast", " no bgp network import-check"),
    wanted: router(" no bgp default ipv4-unicast"),
    script: router(" bgp ebgp-requires-policy", " bgp network import-check"),
  },
  {
    name: "neighbor bfd removed: its profile goes with it",
    old: router(...NEIGHBOR, " neighbor 10.0.0.1 bfd", " neighbor 10.0.0.1 bfd profile fast"),
    wanted: router(...NEIGHBOR),
    script: router(" no neighbor 10.0.0.1 bfd"),
  },
  {
    name: "neighbor bfd removed with graceful restart on: check-control-plane-failure goes with it",
    old: router(...NEIGHBOR, " neighbor 10.0.0.1 bfd", " neighbor 10.0.0.1 bfd check-control-plane-failure", " neighbor 10.0.0.1 graceful-restart"),
    wanted: router(...NEIGHBOR, " neighbor 10.0.0.1 graceful-restart"),
    script: router(" no neighbor 10.0.0.1 bfd"),
  },
  {
    name: "graceful restart off, BFD kept: check-control-plane-failure removed alone",
    old: router(...NEIGHBOR, " neighbor 10.0.0.1 bfd", " neighbor 10.0.0.1 bfd check-control-plane-failure", " neighbor 10.0.0.1 graceful-restart"),
    wanted: router(...NEIGHBOR, " neighbor 10.0.0.1 bfd"),
    script: router(" no neighbor 10.0.0.1 bfd check-control-plane-failure", " no neighbor 10.0.0.1 graceful-restart"),
  },
  {
    name: "outbound route-map switched in place",
    old: router(...NEIGHBOR, ...af("  neighbor 10.0.0.1 route-map a out")),
    wanted: router(...NEIGHBOR, ...af("  neighbor 10.0.0.1 route-map b out")),
    script: router(...af("  neighbor 10.0.0.1 route-map b out")),
  },
  {
    name: "route-map entries: set changed in place, new empty entry added before the router, entry removed whole at the end",
    old: ["route-map m permit 10", " match ip address prefix-list p", " set local-preference 100", "exit", "route-map m permit 20", " on-match next", "exit"],
    wanted: [
      ...router(...NEIGHBOR),
      "route-map m permit 10",
      " match ip address prefix-list p",
      " set local-preference 200",
      "exit",
      "route-map n deny 10",
      "exit",
    ],
    script: ["route-map m permit 10", " set local-preference 200", "exit", "route-map n deny 10", "exit", ...router(...NEIGHBOR), "no route-map m permit 20"],
  },
  {
    name: "a prefix changing class: its network line is switched in place, the old class goes after (make before break)",
    old: [
      ...router(
        ...NEIGHBOR,
        ...af("  network 10.1.0.1/32 route-map class-7", "  network 10.1.0.2/32 route-map class-7", "  neighbor 10.0.0.1 route-map o out"),
      ),
      "route-map class-7 permit 10",
      " set tag 7",
      "exit",
      "route-map o permit 7",
      " match tag 7",
      "exit",
      "route-map o deny 65535",
      "exit",
    ],
    wanted: [
      ...router(
        ...NEIGHBOR,
        ...af("  network 10.1.0.1/32 route-map class-9", "  network 10.1.0.2/32 route-map class-9", "  neighbor 10.0.0.1 route-map o out"),
      ),
      "route-map class-9 permit 10",
      " set tag 9",
      "exit",
      "route-map o permit 9",
      " match tag 9",
      " set community 1:1 additive",
      "exit",
      "route-map o deny 65535",
      "exit",
    ],
    script: [
      "route-map class-9 permit 10",
      " set tag 9",
      "exit",
      "route-map o permit 9",
      " match tag 9",
      " set community 1:1 additive",
      "exit",
      ...router(...af("  network 10.1.0.1/32 route-map class-9", "  network 10.1.0.2/32 route-map class-9")),
      "no route-map class-7 permit 10",
      "no route-map o permit 7",
    ],
  },
  {
    name: "a network without a route-map gets one in place (and `no network` takes the route-map along)",
    old: router(...NEIGHBOR, ...af("  network 10.1.0.1/32", "  network 10.1.0.2/32 route-map class-7")),
    wanted: router(...NEIGHBOR, ...af("  network 10.1.0.1/32 route-map class-7")),
    script: router(...af("  no network 10.1.0.2/32 route-map class-7", "  network 10.1.0.1/32 route-map class-7")),
  },
  {
    name: "a route-map entry changing action is deleted first (FRR deletes an entry by sequence number, whatever its action)",
    old: ["route-map o deny 10", "exit", "route-map o permit 20", " match tag 20", "exit"],
    wanted: ["route-map o permit 10", " match tag 10", "exit", "route-map o permit 20", " match tag 30", "exit"],
    script: ["no route-map o deny 10", "route-map o permit 10", " match tag 10", "exit", "route-map o permit 20", " match tag 30", "exit"],
  },
  {
    name: "prefix-list entries: removed with their full text, added after",
    old: [
      "ip prefix-list p seq 1 permit 10.0.0.1/32",
      "ip prefix-list p seq 2 permit 10.0.0.2/32",
      "ip prefix-list p seq 3 permit 10.0.0.3/32",
      "ip prefix-list p seq 4 permit 10.0.0.4/32",
    ],
    wanted: [
      "ip prefix-list p seq 1 permit 10.0.0.1/32",
      "ip prefix-list p seq 2 permit 10.0.0.2/32",
      "ip prefix-list p seq 3 permit 10.0.0.3/32",
      "ip prefix-list p seq 4 permit 10.0.0.5/32",
    ],
    script: ["no ip prefix-list p seq 4 permit 10.0.0.4/32", "ip prefix-list p seq 4 permit 10.0.0.5/32"],
  },
  {
    name: "a renumbered prefix-list is replaced whole",
    old: [
      "ip prefix-list p seq 1 permit 10.0.0.1/32",
      "ip prefix-list p seq 2 permit 10.0.0.2/32",
      "ip prefix-list p seq 3 permit 10.0.0.3/32",
      "ipv6 prefix-list q seq 1 deny any",
    ],
    wanted: ["ip prefix-list p seq 1 permit 10.0.0.1/32", "ip prefix-list p seq 2 permit 10.0.0.3/32", "ipv6 prefix-list q seq 1 deny any"],
    // The entry that stays (seq 1) is re-added after the list is deleted.
    script: ["no ip prefix-list p", "ip prefix-list p seq 1 permit 10.0.0.1/32", "ip prefix-list p seq 2 permit 10.0.0.3/32"],
  },
  {
    name: "a prefix-list that disappears is deleted with one command",
    old: ["ip prefix-list p seq 1 permit 10.0.0.1/32", "ip prefix-list p seq 2 permit 10.0.0.2/32", "ip prefix-list p2 seq 1 permit 10.0.0.2/32"],
    wanted: ["ip prefix-list p2 seq 1 permit 10.0.0.2/32"],
    script: ["no ip prefix-list p"],
  },
  {
    name: "logging: level changed in place, timestamp precision removed",
    old: ["log stdout informational", "log timestamp precision 3", "debug bgp updates in"],
    wanted: ["log stdout errors"],
    script: ["no log timestamp precision 3", "no debug bgp updates in", "log stdout errors"],
  },
  {
    name: "BFD: profile added, changed in place, removed",
    old: ["bfd", " profile a", "  receive-interval 100", "  echo-mode", " exit", " profile b", " exit", "exit"],
    wanted: ["bfd", " profile a", "  receive-interval 200", " exit", " profile c", "  passive-mode", " exit", "exit"],
    script: [
      "bfd",
      " profile a",
      "  no echo-mode",
      " exit",
      " no profile b",
      " profile a",
      "  receive-interval 200",
      " exit",
      " profile c",
      "  passive-mode",
      " exit",
      "exit",
    ],
  },
  {
    name: "all BFD profiles gone: `no bfd`",
    old: ["bfd", " profile a", " exit", "exit", "ip nht resolve-via-default"],
    wanted: ["ip nht resolve-via-default"],
    script: ["no bfd"],
  },
  {
    name: "VRF routers are deleted before the default router",
    old: [...router(...NEIGHBOR), "router bgp 64512 vrf red", " no bgp ebgp-requires-policy", "exit", "ip nht resolve-via-default"],
    wanted: ["ip nht resolve-via-default"],
    script: ["no router bgp 64512 vrf red", "no router bgp 64512"],
  },
  {
    name: "a router ID appears (the node's InternalIP, first rendered on a running node): one line, nothing else",
    old: router(...NEIGHBOR, ...af("  network 10.1.0.1/32")),
    wanted: router(" bgp router-id 10.111.0.11", ...NEIGHBOR, ...af("  network 10.1.0.1/32")),
    script: router(" bgp router-id 10.111.0.11"),
  },
  {
    name: "a changed router ID is overwritten in place",
    old: router(" bgp router-id 10.111.0.11", ...NEIGHBOR),
    wanted: router(" bgp router-id 10.111.0.21", ...NEIGHBOR),
    script: router(" bgp router-id 10.111.0.21"),
  },
  {
    name: "a router ID that goes (the node lost its InternalIP) is deleted",
    old: router(" bgp router-id 10.111.0.11", ...NEIGHBOR),
    wanted: router(...NEIGHBOR),
    script: router(" no bgp router-id 10.111.0.11"),
  },
  {
    name: "a whole address family is removed line by line (it has no `no` form)",
    old: router(...NEIGHBOR, ...af("  network 10.1.0.1/32", "  neighbor 10.0.0.1 activate")),
    wanted: router(...NEIGHBOR),
    script: router(...af("  no network 10.1.0.1/32", "  no neighbor 10.0.0.1 activate")),
  },
];

describe("diffFrrConfig", () => {
  test.each(CASES)("$name", (c) => {
    expect(scriptOf(conf(...c.old), conf(...c.wanted))).toEqual(c.script);
  });

  test("counts deletions and additions", () => {
    const c = CASES[0];
    if (c === undefined) throw new Error("no case");
    expect(diffFrrConfig(conf(...c.old), conf(...c.wanted))).toMatchObject({ deletions: 1, additions: 1, empty: false });
    expect(diffFrrConfig("", conf("route-map n deny 10", "exit"))).toMatchObject({ deletions: 0, additions: 1 });
  });

  test("an unchanged configuration (comments, blank lines and FRR header lines aside) gives an empty batch", () => {
    const a = conf("! one", ...router(" ! x", ...NEIGHBOR), "", "ip nht resolve-via-default");
    const b = conf(
      "frr version 8.4.4",
      "frr defaults traditional",
      "hostname vm",
      "no ip forwarding",
      "!",
      ...router(...NEIGHBOR),
      "ip nht resolve-via-default",
      "end",
    );
    expect(diffFrrConfig(a, b)).toEqual({ script: "", deletions: 0, additions: 0, empty: true });
  });

  test("script is indented canonically and every context entered is left", () => {
    const lines = scriptOf(conf(...router(...NEIGHBOR)), conf(...router(...NEIGHBOR, ...af("  network 10.9.0.0/24"))));
    expect(lines).toEqual(["router bgp 64512", " address-family ipv4 unicast", "  network 10.9.0.0/24", " exit-address-family", "exit"]);
  });
});

describe("diffFrrConfig over the golden configurations", () => {
  const goldens = readdirSync(GOLDEN_DIR)
    .filter((f) => f.endsWith(".conf"))
    .sort()
    .map((f) => ({ name: f, text: readFileSync(join(GOLDEN_DIR, f), "utf8") }));

  test("there are goldens to compare", () => {
    expect(goldens.length).toBeGreaterThan(20);
  });

  test("for every pair, the batch is empty iff the configurations are equal modulo comments", () => {
    const mismatches: string[] = [];
    for (const a of goldens) {
      for (const b of goldens) {
        const equal = significantLines(a.text).join("\n") === significantLines(b.text).join("\n");
        if (diffFrrConfig(a.text, b.text).empty !== equal) mismatches.push(`${a.name} → ${b.name}`);
      }
    }
    expect(mismatches).toEqual([]);
  });

  test("from nothing, a golden is added whole; to nothing, only top-level `no` commands are needed", () => {
    for (const g of goldens) {
      const up = diffFrrConfig("", g.text);
      expect(up.deletions).toBe(0);
      expect(
        significantLines(up.script)
          .filter((l) => !/^\s*exit(-address-family)?$/.test(l))
          .sort(),
      ).toEqual(
        significantLines(g.text)
          .filter((l) => !/^\s*exit(-address-family)?$/.test(l))
          .sort(),
      );
      const down = diffFrrConfig(g.text, "");
      expect(down.additions).toBe(0);
      expect(
        down.script
          .split("\n")
          .filter((l) => l !== "")
          .every((l) => l.startsWith("no ")),
      ).toBe(true);
    }
  });
});

describe("runningBase", () => {
  const policy = [
    "log stdout informational",
    "route-map class-7 permit 10",
    " set tag 7",
    "exit",
    "!",
    "ip prefix-list p seq 1 permit 10.0.0.1/32",
    "ip nht resolve-via-default",
  ];
  const withRouter = [...router(...NEIGHBOR), ...policy];

  test.each([
    [
      "bgpd restarted empty (no router bgp, wanted has one): zebra's copies of bgpd's objects are not trusted",
      policy,
      withRouter,
      ["!", "ip nht resolve-via-default"],
    ],
    ["bgpd has its router: the running configuration as read", withRouter, withRouter, withRouter],
    ["nothing for bgpd is wanted: the running configuration as read (stale objects are deleted)", policy, ["ip nht resolve-via-default"], policy],
  ])("%s", (_d, running, wanted, base) => {
    expect(
      runningBase(conf(...running), conf(...wanted))
        .split("\n")
        .filter((l) => l !== ""),
    ).toEqual(base);
  });

  test("after a bgpd restart the whole BGP policy is sent again", () => {
    const wanted = conf(...withRouter);
    const script = diffFrrConfig(runningBase(conf(...policy), wanted), wanted).script;
    expect(script).toContain("route-map class-7 permit 10\n set tag 7\nexit\n");
    expect(script).toContain("ip prefix-list p seq 1 permit 10.0.0.1/32\n");
    expect(script).toContain("log stdout informational\n");
  });
});

describe("redactPasswords", () => {
  test.each([
    [" neighbor 10.0.0.1 password s3cr3t", " neighbor 10.0.0.1 password <redacted>"],
    ["  no neighbor 10.0.0.1 password s3cr3t\nnext", "  no neighbor 10.0.0.1 password <redacted>\nnext"],
    ["password zebra", "password <redacted>"],
    [" neighbor 10.0.0.1 timers 3 9", " neighbor 10.0.0.1 timers 3 9"],
  ])("%s", (input, output) => {
    expect(redactPasswords(input)).toBe(output);
  });
});

describe("gracefulRestartAddedInPlace", () => {
  const script = [
    "router bgp 64512",
    " neighbor 10.0.0.1 remote-as 64500",
    " neighbor 10.0.0.1 graceful-restart",
    "exit",
    "router bgp 64512 vrf red",
    " neighbor 10.0.0.2 graceful-restart",
    "exit",
    "route-map x permit 10",
    "exit",
  ].join("\n");
  test.each([
    [
      "the instance runs: its new graceful-restart neighbors",
      "router bgp 64512\n neighbor 10.0.0.9 remote-as 1\nexit\n",
      [{ vrf: null, neighbor: "10.0.0.1" }],
    ],
    [
      "both instances run",
      "router bgp 64512\nexit\nrouter bgp 64512 vrf red\nexit\n",
      [
        { vrf: null, neighbor: "10.0.0.1" },
        { vrf: "red", neighbor: "10.0.0.2" },
      ],
    ],
    ["bgpd started empty: nothing to reset", "log stdout\nroute-map x permit 10\nexit\n", []],
  ])("%s", (_name, base, want) => {
    expect(gracefulRestartAddedInPlace(base, script)).toEqual(want);
  });
  test("a removed graceful-restart line is not an addition", () => {
    expect(gracefulRestartAddedInPlace("router bgp 1\nexit\n", "router bgp 1\n no neighbor 10.0.0.1 graceful-restart\nexit")).toEqual([]);
  });
});
