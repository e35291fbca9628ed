// Computes the vtysh batch that turns one FRR configuration into another (pure).
//
// Both texts are in FRR 8.4's canonical `show running-config` form: one space of indentation per context level, a
// context closed by an `exit`/`exit-address-family` line at its head's indentation. They are parsed into a context
// tree; removed and added lines are computed per context and emitted as ONE script for `vtysh -f` (which reads the file
// in configuration mode, as at boot: no `configure terminal` needed). Order of the script:
//
//  1. deletions: `router bgp` blocks first (VRF instances before the default one, which FRR refuses to delete while
//     VRF instances exist), then the policy objects they use (prefix-lists, BFD profiles, lines of route-map entries
//     that stay, …);
//  2. additions, in the new configuration's order except that policy objects come before the `router bgp` blocks
//     using them: a `network` then meets its class route-map and the peers' `match tag` entries already in place and
//     is advertised at once, instead of waiting for bgpd's route-map delay timer;
//  3. route-map entries that are gone (no entry with that name and sequence number in the new configuration), last:
//     make before break. A prefix moving to another class has its `network … route-map` line switched before the
//     old class's route-map and `-out` entries disappear, so no moment exists in which it has no policy.
//
// FRR specifics (checked against FRR 8.4):
//  - a removed context is removed with one `no <head>` (`router bgp …`, `route-map … N`, `bfd`, `profile P`), except
//    an `address-family` (no `no` form), whose lines are removed one by one;
//  - a removed `neighbor X remote-as …` is `no neighbor X`: it deletes every `neighbor X …` line of that router,
//    address families included, so those are not deleted again and the new ones are (re-)added; likewise
//    `no neighbor X bfd` drops `neighbor X bfd profile …` and `neighbor X bfd check-control-plane-failure`;
//  - a removed `no …` line (`no bgp ebgp-requires-policy`, `no bgp default ipv4-unicast`, …) is negated by dropping
//    its `no `;
//  - single-valued settings (`neighbor X remote-as|timers|route-map … in|out|password…`, `bgp router-id`,
//    `log stdout`, `network P [route-map M]`, route-map `set …`/`match tag`/`match … prefix-list`, BFD profile
//    timers) are overwritten in place, never deleted first: deleting a neighbor's remote-as would delete the
//    neighbor, deleting its outbound route-map would leave it without a policy for a moment, and `no network P`
//    would withdraw a prefix that only changes class (bgpd re-announces it with the new route-map at once);
//  - `no route-map NAME permit|deny SEQ` deletes the entry by sequence number whatever its action, so an entry whose
//    action changes is deleted before it is re-added (step 1), never after;
//  - prefix-list entries are keyed by sequence number, and FRR silently refuses an entry whose prefix is already in
//    the list at another sequence, so a changed entry is deleted before it is re-added; a list that changes more
//    than it keeps is replaced with `no ip prefix-list NAME` + its new entries (FRR's per-entry cost grows with the
//    list's length).

export interface FrrBatch {
  /** Text for `vtysh -f` (empty when nothing changes). */
  readonly script: string;
  /** Number of `no …` commands (or negations) in the script. */
  readonly deletions: number;
  /** Number of configuration lines added (context heads of new contexts included). */
  readonly additions: number;
  readonly empty: boolean;
}

/** Lines of `show running-config` that are FRR's, not ours: never deleted, never added. */
export const UNMANAGED_LINES: readonly RegExp[] = [
  /^Building configuration\.\.\.$/,
  /^Current configuration:$/,
  /^frr version /,
  /^frr defaults /,
  /^hostname /,
  /^(no )?ip(v6)? forwarding$/,
  /^service integrated-vtysh-config$/,
  /^end$/,
];

const EXIT_LINES = new Set(["exit", "exit-address-family", "exit-vrf", "exit-vni"]);

interface ConfigNode {
  readonly line: string;
  readonly children: Map<string, ConfigNode>;
  /** A context (its head may have no children: `route-map X deny 10` + `exit`). */
  context: boolean;
}

const newNode = (line: string): ConfigNode => ({ line, children: new Map(), context: false });

const isIgnored = (trimmed: string, indent: number): boolean =>
  trimmed === "" || trimmed.startsWith("!") || (indent === 0 && UNMANAGED_LINES.some((re) => re.test(trimmed)));

/** Parses a canonical FRR configuration into a context tree (the root node has line ""). */
export function parseFrrConfig(text: string): ConfigNode {
  const root: ConfigNode = { line: "", children: new Map(), context: true };
  const stack: { indent: number; node: ConfigNode }[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\s+$/, "");
    const trimmed = line.trimStart();
    const indent = line.length - trimmed.length;
    if (isIgnored(trimmed, indent)) continue;
    if (EXIT_LINES.has(trimmed)) {
      while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? 0) > indent) stack.pop();
      const top = stack[stack.length - 1];
      if (top !== undefined && top.indent === indent) {
        top.node.context = true;
        stack.pop();
      }
      continue;
    }
    while (stack.length > 0 && (stack[stack.length - 1]?.indent ?? 0) >= indent) stack.pop();
    const parent = stack[stack.length - 1]?.node ?? root;
    parent.context = true;
    const node = parent.children.get(trimmed) ?? newNode(trimmed);
    parent.children.set(trimmed, node);
    stack.push({ indent, node });
  }
  return root;
}

/** The configuration lines that matter (no comments, no blank lines, no FRR header lines), indentation kept. */
export function significantLines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""))
    .filter((l) => !isIgnored(l.trimStart(), l.length - l.trimStart().length));
}

/** Top-level objects vtysh sends to zebra as well as bgpd, and shows once for both in `show running-config`. */
const SHARED_WITH_ZEBRA = /^(route-map |ip prefix-list |ipv6 prefix-list |log )/;

/**
 * What FRR runs, from `show running-config`, as the base of a diff towards `wanted`. vtysh merges the daemons' views,
 * and route-maps, prefix-lists and log settings live in zebra too: after bgpd restarts empty (no watchfrr replay),
 * they are still shown, from zebra, while bgpd has lost them. So when the running configuration has no `router bgp`
 * but the wanted one has, they are taken as absent, and sent again with the rest of bgpd's configuration.
 */
export function runningBase(running: string, wanted: string): string {
  const hasRouter = (text: string): boolean => /^router bgp /m.test(text);
  if (hasRouter(running) || !hasRouter(wanted)) return running;
  const out: string[] = [];
  let dropping = false;
  for (const line of running.split("\n")) {
    const topLevel = line !== "" && !/^\s/.test(line);
    if (topLevel && line !== "exit") dropping = SHARED_WITH_ZEBRA.test(line);
    else if (topLevel && dropping) continue; // the `exit` closing a dropped route-map entry
    if (!dropping) out.push(line);
  }
  return out.join("\n");
}

/**
 * The neighbors a batch gives `graceful-restart` inside a `router bgp` instance that `base` already runs: FRR 8.4 then
 * opens their session advertising graceful restart as a helper only (no address family, F bit clear, seen by the
 * peer as remote mode "Helper"), so a peer would not keep their routes through a bgpd restart until the session is
 * reset once (`clear bgp`). Measured in e2e/bgp-graceful-restart.e2e.test.ts; a bgpd started empty and configured in
 * one batch (the instance is new) advertises Restart mode.
 */
export function gracefulRestartAddedInPlace(base: string, script: string): Array<{ vrf: string | null; neighbor: string }> {
  const routerHead = /^router bgp \d+(?: vrf (\S+))?$/;
  const running = new Set(
    base
      .split("\n")
      .map((l) => routerHead.exec(l.trimEnd()))
      .flatMap((m) => (m === null ? [] : [m[1] ?? ""])),
  );
  const out: Array<{ vrf: string | null; neighbor: string }> = [];
  let vrf: string | undefined;
  for (const raw of script.split("\n")) {
    const line = raw.trimEnd();
    const head = routerHead.exec(line);
    if (head !== null) vrf = head[1] ?? "";
    else if (!/^\s/.test(line) && line !== "") vrf = undefined;
    const gr = /^ neighbor (\S+) graceful-restart$/.exec(line);
    if (gr !== null && vrf !== undefined && running.has(vrf)) out.push({ vrf: vrf === "" ? null : vrf, neighbor: gr[1] ?? "" });
  }
  return out;
}

/** Replaces BGP passwords in text meant for logs. */
export function redactPasswords(text: string): string {
  return text.replace(/(^|\s)(password\s+)\S+/g, "$1$2<redacted>");
}

// ---------------------------------------------------------------------------------------------------------------
// Line semantics

/** Lines where setting a new value replaces the old one: the key names the setting. */
const SETTING_KEYS: readonly RegExp[] = [
  /^(neighbor \S+) (?:interface )?remote-as /,
  /^(neighbor \S+ timers) \d+ \d+$/,
  /^(neighbor \S+ timers connect) /,
  /^(neighbor \S+ password) /,
  /^(neighbor \S+ ebgp-multihop)/,
  /^(neighbor \S+ port) /,
  /^(neighbor \S+ update-source) /,
  /^(neighbor \S+ bfd profile) /,
  /^(neighbor \S+ route-map) \S+ (in|out)$/,
  /^(bgp router-id) /,
  /^(network \S+)(?: route-map \S+)?$/,
  /^(log stdout)\b/,
  /^(log timestamp precision) /,
  /^(bgp route-map delay-timer) /,
  /^(set (?:local-preference|community|large-community|tag)) /,
  /^(match ip(?:v6)? address prefix-list) /,
  /^(match tag) /,
  /^(detect-multiplier|receive-interval|transmit-interval|echo receive-interval|echo transmit-interval|echo-interval|minimum-ttl) /,
];

function settingKey(line: string): string | undefined {
  for (const re of SETTING_KEYS) {
    const m = re.exec(line);
    if (m !== null) return m.slice(1).join(" ");
  }
  return undefined;
}

const NEIGHBOR_DEFINITION = /^neighbor (\S+) (?:interface )?remote-as /;
const NEIGHBOR_BFD = /^neighbor (\S+) bfd$/;
const PREFIX_LIST_ENTRY = /^(ip(?:v6)? prefix-list \S+) seq \d+ /;
const ROUTE_MAP_ENTRY = /^route-map (\S+) (?:permit|deny) (\d+)$/;

/** `NAME SEQ` of a route-map entry's head line: FRR identifies an entry by these two, not by its action. */
function routeMapEntryKey(line: string): string | undefined {
  const m = ROUTE_MAP_ENTRY.exec(line);
  return m === null ? undefined : `${m[1] ?? ""} ${m[2] ?? ""}`;
}

/** The command that removes one line from its context. */
function negate(line: string): string {
  if (line.startsWith("no ")) return line.slice(3);
  const neighbor = NEIGHBOR_DEFINITION.exec(line);
  if (neighbor !== null) return `no neighbor ${neighbor[1] ?? ""}`;
  return `no ${line}`;
}

/** Lines removed implicitly with `line` (same context and below), as a line prefix. */
function cascadeOf(line: string): string | undefined {
  const neighbor = NEIGHBOR_DEFINITION.exec(line);
  if (neighbor !== null) return `neighbor ${neighbor[1] ?? ""} `;
  const bfd = NEIGHBOR_BFD.exec(line);
  if (bfd !== null) return `neighbor ${bfd[1] ?? ""} bfd `;
  return undefined;
}

const isRouter = (line: string): boolean => line.startsWith("router ");
const isVrfRouter = (line: string): boolean => isRouter(line) && / vrf \S+$/.test(line);

// ---------------------------------------------------------------------------------------------------------------
// Diff

interface Op {
  /** Context heads, outermost first. */
  readonly path: readonly string[];
  /** Command to run in that context; undefined = only enter it (a new empty context). */
  readonly line?: string;
}

/** Lines already gone from FRR because of another deletion: `prefix` of lines in contexts under `path`. */
interface Cascade {
  readonly path: string;
  readonly prefix: string;
  /** The deleted line that causes it (itself not implicitly gone). */
  readonly origin: string;
}

class Differ {
  readonly deletions: Op[] = [];
  readonly additions: Op[] = [];
  /** Route-map entries that are gone: deleted after the additions (make before break). */
  readonly lateDeletions: Op[] = [];
  private readonly cascades: Cascade[] = [];

  private gone(path: readonly string[], line: string): boolean {
    const p = path.join("\n");
    return this.cascades.some((c) => {
      const under = p === c.path || p.startsWith(`${c.path}\n`);
      return under && line.startsWith(c.prefix) && !(p === c.path && line === c.origin);
    });
  }

  /** Old line still in FRR when the additions run (not deleted directly nor as a consequence of a deletion). */
  private oldChild(old: ConfigNode | undefined, path: readonly string[], line: string): ConfigNode | undefined {
    const o = old?.children.get(line);
    return o === undefined || this.gone(path, line) ? undefined : o;
  }

  /** Whole prefix-lists to replace: `no <list>` + all new entries is less work than editing them. */
  private planPrefixLists(old: ConfigNode, wanted: ConfigNode): Set<string> {
    const stats = new Map<string, { removed: number; added: number; size: number }>();
    const stat = (list: string): { removed: number; added: number; size: number } => {
      const s = stats.get(list) ?? { removed: 0, added: 0, size: 0 };
      stats.set(list, s);
      return s;
    };
    for (const line of old.children.keys()) {
      const m = PREFIX_LIST_ENTRY.exec(line);
      if (m !== null && !wanted.children.has(line)) stat(m[1] ?? "").removed++;
    }
    for (const line of wanted.children.keys()) {
      const m = PREFIX_LIST_ENTRY.exec(line);
      if (m === null) continue;
      const s = stat(m[1] ?? "");
      s.size++;
      if (!old.children.has(line)) s.added++;
    }
    const replace = new Set<string>();
    for (const [list, s] of stats) if (s.removed > 0 && (s.size === 0 || s.size < s.removed + s.added)) replace.add(list);
    return replace;
  }

  deleteRoot(old: ConfigNode, wanted: ConfigNode): void {
    const replace = this.planPrefixLists(old, wanted);
    for (const list of replace) {
      this.deletions.push({ path: [], line: `no ${list}` });
      this.cascades.push({ path: "", prefix: `${list} seq `, origin: "" });
    }
    const wantedEntries = new Set([...wanted.children.keys()].map(routeMapEntryKey).filter((k) => k !== undefined));
    const gone = (line: string): boolean => {
      const key = routeMapEntryKey(line);
      return key !== undefined && !wantedEntries.has(key);
    };
    const rank = (line: string): number => (isVrfRouter(line) ? 0 : isRouter(line) ? 1 : 2);
    const order = [...old.children.values()].filter((o) => !gone(o.line)).sort((a, b) => rank(a.line) - rank(b.line));
    this.deleteIn(order, wanted, []);
    for (const o of old.children.values()) if (gone(o.line)) this.lateDeletions.push({ path: [], line: `no ${o.line}` });
  }

  private deleteIn(oldChildren: readonly ConfigNode[], wanted: ConfigNode | undefined, path: readonly string[]): void {
    const newKeys = new Set<string>();
    for (const line of wanted?.children.keys() ?? []) {
      const key = settingKey(line);
      if (key !== undefined) newKeys.add(key);
    }
    const pathKey = path.join("\n");
    // Cascading deletions first, so that the lines they take along are not deleted again.
    for (const o of oldChildren) {
      const cascade = cascadeOf(o.line);
      if (cascade !== undefined && wanted?.children.has(o.line) !== true && !this.replaced(o.line, wanted, newKeys)) {
        this.cascades.push({ path: pathKey, prefix: cascade, origin: o.line });
      }
    }
    for (const o of oldChildren) this.deleteOne(o, wanted, path, newKeys);
  }

  private replaced(line: string, wanted: ConfigNode | undefined, newKeys: ReadonlySet<string>): boolean {
    const key = settingKey(line);
    return key !== undefined && newKeys.has(key) && wanted?.children.has(line) !== true;
  }

  private deleteOne(o: ConfigNode, wanted: ConfigNode | undefined, path: readonly string[], newKeys: ReadonlySet<string>): void {
    if (this.gone(path, o.line)) return;
    const n = wanted?.children.get(o.line);
    if (n !== undefined) {
      if (o.context || n.context) this.deleteIn([...o.children.values()], n, [...path, o.line]);
      return;
    }
    if (this.replaced(o.line, wanted, newKeys)) return;
    if (o.context && o.line.startsWith("address-family ")) {
      this.deleteIn([...o.children.values()], undefined, [...path, o.line]);
      return;
    }
    this.deletions.push({ path, line: o.context ? `no ${o.line}` : negate(o.line) });
  }

  addRoot(old: ConfigNode, wanted: ConfigNode): void {
    const order = [...wanted.children.values()].sort((a, b) => Number(isRouter(a.line)) - Number(isRouter(b.line)));
    this.addIn(old, order, []);
  }

  private addIn(old: ConfigNode | undefined, newChildren: readonly ConfigNode[], path: readonly string[]): void {
    for (const n of newChildren) {
      const o = this.oldChild(old, path, n.line);
      const childPath = [...path, n.line];
      if (o !== undefined) {
        if (o.context || n.context) this.addIn(o, [...n.children.values()], childPath);
      } else if (n.context) {
        this.additions.push({ path: childPath });
        this.addIn(undefined, [...n.children.values()], childPath);
      } else {
        this.additions.push({ path, line: n.line });
      }
    }
  }
}

const exitOf = (head: string): string => (head.startsWith("address-family ") ? "exit-address-family" : "exit");

/** Renders ops as a vtysh script: contexts entered with their head and left with `exit`, canonical indentation. */
function renderOps(ops: readonly Op[]): string[] {
  const out: string[] = [];
  let current: readonly string[] = [];
  const moveTo = (target: readonly string[]): void => {
    let common = 0;
    while (common < current.length && common < target.length && current[common] === target[common]) common++;
    for (let depth = current.length - 1; depth >= common; depth--) out.push(`${" ".repeat(depth)}${exitOf(current[depth] ?? "")}`);
    for (let depth = common; depth < target.length; depth++) out.push(`${" ".repeat(depth)}${target[depth] ?? ""}`);
    current = target;
  };
  for (const op of ops) {
    // A new empty context is entered even when already there (`route-map X deny 10` directly after itself).
    if (op.line === undefined && current.join("\n") === op.path.join("\n")) moveTo(op.path.slice(0, -1));
    moveTo(op.path);
    if (op.line !== undefined) out.push(`${" ".repeat(op.path.length)}${op.line}`);
  }
  moveTo([]);
  return out;
}

/**
 * The vtysh batch that turns `oldText` (what FRR runs) into `newText` (what is wanted). Comments, blank lines and
 * FRR's own header lines (version, hostname, forwarding…) are ignored. Empty iff both are equal modulo those.
 */
export function diffFrrConfig(oldText: string, newText: string): FrrBatch {
  const old = parseFrrConfig(oldText);
  const wanted = parseFrrConfig(newText);
  const d = new Differ();
  d.deleteRoot(old, wanted);
  d.addRoot(old, wanted);
  const lines = renderOps([...d.deletions, ...d.additions, ...d.lateDeletions]);
  const additions = d.additions.length;
  const deletions = d.deletions.length + d.lateDeletions.length;
  const empty = additions === 0 && deletions === 0;
  return { script: empty ? "" : `${lines.join("\n")}\n`, deletions, additions, empty };
}
