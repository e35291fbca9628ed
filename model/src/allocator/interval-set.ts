/**
 * A set of addresses stored as disjoint, inclusive bigint intervals in an AVL tree keyed by the interval start.
 *
 * The set lives inside an {@link AddressDomain}: the domain says which addresses may ever be members (for a pool
 * with `avoidBuggyIPs`, IPv4 addresses ending in .0 or .255 never are). Intervals are normalised to that domain:
 * both ends are valid addresses, and two intervals are merged whenever no valid address lies between them, so a
 * whole avoidBuggyIPs /8 is one interval, not 65,536. Every operation is O(log n) in the number of intervals; the
 * addresses themselves are never enumerated, so an IPv6 /64 costs the same as a /30.
 *
 * Deterministic (no randomness) and free of I/O; the tree nodes are private mutable state of one instance.
 */

/** Which addresses of a family may be members of an {@link IntervalSet}. */
export interface AddressDomain {
  readonly name: string;
  /** True if the address may be a member. */
  isValid(x: bigint): boolean;
  /** The smallest valid address >= x. */
  validAtOrAbove(x: bigint): bigint;
  /** The largest valid address <= x. */
  validAtOrBelow(x: bigint): bigint;
  /** The number of valid addresses in lo..hi (0 when lo > hi). */
  countValid(lo: bigint, hi: bigint): bigint;
}

/** Every address is valid. */
export const ALL_ADDRESSES: AddressDomain = Object.freeze({
  name: "all",
  isValid: (): boolean => true,
  validAtOrAbove: (x: bigint): bigint => x,
  validAtOrBelow: (x: bigint): bigint => x,
  countValid: (lo: bigint, hi: bigint): bigint => (hi < lo ? 0n : hi - lo + 1n),
});

/** Number of k in [0, n) with k mod 256 equal to 0 or 255. */
const buggyBelow = (n: bigint): bigint => (n <= 0n ? 0n : (n + 255n) / 256n + n / 256n);

/** IPv4 without the addresses ending in .0 or .255 (MetalLB's avoidBuggyIPs). */
export const NON_BUGGY_IPV4: AddressDomain = Object.freeze({
  name: "non-buggy-ipv4",
  isValid: (x: bigint): boolean => {
    const low = x & 0xffn;
    return low !== 0n && low !== 255n;
  },
  validAtOrAbove: (x: bigint): bigint => {
    const low = x & 0xffn;
    return low === 0n ? x + 1n : low === 255n ? x + 2n : x;
  },
  validAtOrBelow: (x: bigint): bigint => {
    const low = x & 0xffn;
    return low === 255n ? x - 1n : low === 0n ? x - 2n : x;
  },
  countValid: (lo: bigint, hi: bigint): bigint => (hi < lo ? 0n : hi - lo + 1n - (buggyBelow(hi + 1n) - buggyBelow(lo))),
});

/** An inclusive interval of addresses. */
export interface Interval {
  readonly lo: bigint;
  readonly hi: bigint;
}

interface Node {
  lo: bigint;
  hi: bigint;
  left: Node | null;
  right: Node | null;
  height: number;
}

function broken(what: string): never {
  throw new Error(`interval set: broken invariant: ${what}`);
}

const heightOf = (n: Node | null): number => (n === null ? 0 : n.height);

function fixHeight(n: Node): void {
  n.height = 1 + Math.max(heightOf(n.left), heightOf(n.right));
}

function rotateRight(n: Node): Node {
  const l = n.left ?? broken("rotateRight without a left child");
  n.left = l.right;
  l.right = n;
  fixHeight(n);
  fixHeight(l);
  return l;
}

function rotateLeft(n: Node): Node {
  const r = n.right ?? broken("rotateLeft without a right child");
  n.right = r.left;
  r.left = n;
  fixHeight(n);
  fixHeight(r);
  return r;
}

function rebalance(n: Node): Node {
  fixHeight(n);
  const balance = heightOf(n.left) - heightOf(n.right);
  if (balance > 1) {
    const l = n.left ?? broken("left-heavy without a left child");
    if (heightOf(l.left) < heightOf(l.right)) n.left = rotateLeft(l);
    return rotateRight(n);
  }
  if (balance < -1) {
    const r = n.right ?? broken("right-heavy without a right child");
    if (heightOf(r.right) < heightOf(r.left)) n.right = rotateRight(r);
    return rotateLeft(n);
  }
  return n;
}

function insertNode(root: Node | null, node: Node): Node {
  if (root === null) return node;
  if (node.lo < root.lo) root.left = insertNode(root.left, node);
  else if (node.lo > root.lo) root.right = insertNode(root.right, node);
  else broken(`duplicate interval start ${node.lo.toString()}`);
  return rebalance(root);
}

function removeMin(n: Node): Node | null {
  if (n.left === null) return n.right;
  n.left = removeMin(n.left);
  return rebalance(n);
}

function removeNode(root: Node | null, lo: bigint): Node | null {
  if (root === null) return broken(`no interval starts at ${lo.toString()}`);
  if (lo < root.lo) root.left = removeNode(root.left, lo);
  else if (lo > root.lo) root.right = removeNode(root.right, lo);
  else {
    if (root.left === null) return root.right;
    if (root.right === null) return root.left;
    let successor = root.right;
    while (successor.left !== null) successor = successor.left;
    successor.right = removeMin(root.right);
    successor.left = root.left;
    return rebalance(successor);
  }
  return rebalance(root);
}

/** Builds a perfectly balanced tree from sorted intervals items[from..to). */
function buildBalanced(items: readonly Interval[], from: number, to: number): Node | null {
  if (from >= to) return null;
  const mid = (from + to) >>> 1;
  const item = items[mid] ?? broken("build index out of range");
  const node: Node = { lo: item.lo, hi: item.hi, left: buildBalanced(items, from, mid), right: buildBalanced(items, mid + 1, to), height: 1 };
  fixHeight(node);
  return node;
}

export class IntervalSet {
  private root: Node | null;
  private count: bigint;
  private nodes: number;

  private constructor(
    readonly domain: AddressDomain,
    root: Node | null,
    count: bigint,
    nodes: number,
  ) {
    this.root = root;
    this.count = count;
    this.nodes = nodes;
  }

  /** The valid addresses of the given ranges (any order; overlaps and adjacency are merged). */
  static fromRanges(domain: AddressDomain, ranges: readonly Interval[]): IntervalSet {
    const normalised = ranges
      .map((r) => ({ lo: domain.validAtOrAbove(r.lo), hi: domain.validAtOrBelow(r.hi) }))
      .filter((r) => r.lo <= r.hi)
      .sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
    const merged: Interval[] = [];
    let count = 0n;
    for (const r of normalised) {
      const last = merged[merged.length - 1];
      if (last !== undefined && domain.validAtOrAbove(last.hi + 1n) >= r.lo) {
        if (r.hi > last.hi) merged[merged.length - 1] = { lo: last.lo, hi: r.hi };
      } else merged.push(r);
    }
    for (const r of merged) count += domain.countValid(r.lo, r.hi);
    return new IntervalSet(domain, buildBalanced(merged, 0, merged.length), count, merged.length);
  }

  /** Number of member addresses. */
  get size(): bigint {
    return this.count;
  }

  /** Number of stored intervals (a measure of fragmentation). */
  get intervalCount(): number {
    return this.nodes;
  }

  /** The node with the greatest start <= x. */
  private floorNode(x: bigint): Node | null {
    let n = this.root;
    let best: Node | null = null;
    while (n !== null) {
      if (n.lo <= x) {
        best = n;
        n = n.right;
      } else n = n.left;
    }
    return best;
  }

  /** The node with the smallest start > x. */
  private higherNode(x: bigint): Node | null {
    let n = this.root;
    let best: Node | null = null;
    while (n !== null) {
      if (n.lo > x) {
        best = n;
        n = n.left;
      } else n = n.right;
    }
    return best;
  }

  /** True if x is a member. */
  has(x: bigint): boolean {
    const n = this.floorNode(x);
    return n !== null && x <= n.hi && this.domain.isValid(x);
  }

  /** The lowest member, or null when empty. */
  lowest(): bigint | null {
    let n = this.root;
    if (n === null) return null;
    while (n.left !== null) n = n.left;
    return n.lo;
  }

  /** The lowest member >= x, or null. */
  lowestAtLeast(x: bigint): bigint | null {
    const n = this.floorNode(x);
    if (n !== null && x <= n.hi) return this.domain.validAtOrAbove(x);
    const next = this.higherNode(x);
    return next === null ? null : next.lo;
  }

  /** Removes x; false if it was not a member. */
  take(x: bigint): boolean {
    const n = this.floorNode(x);
    if (n === null || x > n.hi || !this.domain.isValid(x)) return false;
    this.count -= 1n;
    if (n.lo === x && n.hi === x) {
      this.root = removeNode(this.root, x);
      this.nodes -= 1;
    } else if (n.lo === x) {
      n.lo = this.domain.validAtOrAbove(x + 1n); // stays below the next interval's start: order is preserved
    } else if (n.hi === x) {
      n.hi = this.domain.validAtOrBelow(x - 1n);
    } else {
      const upper: Node = { lo: this.domain.validAtOrAbove(x + 1n), hi: n.hi, left: null, right: null, height: 1 };
      n.hi = this.domain.validAtOrBelow(x - 1n);
      this.root = insertNode(this.root, upper);
      this.nodes += 1;
    }
    return true;
  }

  /** Adds x, merging with its neighbours; false if it was already a member or is not valid in the domain. */
  give(x: bigint): boolean {
    if (!this.domain.isValid(x)) return false;
    const before = this.floorNode(x);
    if (before !== null && x <= before.hi) return false;
    const after = this.higherNode(x);
    const joinsBefore = before !== null && this.domain.validAtOrAbove(before.hi + 1n) === x;
    const joinsAfter = after !== null && this.domain.validAtOrAbove(x + 1n) === after.lo;
    this.count += 1n;
    if (joinsBefore && joinsAfter) {
      before.hi = after.hi;
      this.root = removeNode(this.root, after.lo);
      this.nodes -= 1;
    } else if (joinsBefore) {
      before.hi = x;
    } else if (joinsAfter) {
      after.lo = x; // x is above the previous interval's end: order is preserved
    } else {
      this.root = insertNode(this.root, { lo: x, hi: x, left: null, right: null, height: 1 });
      this.nodes += 1;
    }
    return true;
  }

  /** The intervals in ascending order (for tests and debugging; O(n)). */
  intervals(): Interval[] {
    const out: Interval[] = [];
    const walk = (n: Node | null): void => {
      if (n === null) return;
      walk(n.left);
      out.push({ lo: n.lo, hi: n.hi });
      walk(n.right);
    };
    walk(this.root);
    return out;
  }

  /** Throws if a structural invariant is broken (AVL balance, order, normalisation, counters). O(n). */
  verify(): void {
    const checkTree = (n: Node | null): number => {
      if (n === null) return 0;
      const hl = checkTree(n.left);
      const hr = checkTree(n.right);
      if (Math.abs(hl - hr) > 1) broken("unbalanced node");
      if (n.height !== 1 + Math.max(hl, hr)) broken("stale height");
      return n.height;
    };
    checkTree(this.root);
    const items = this.intervals();
    let count = 0n;
    items.forEach((it, i) => {
      if (it.lo > it.hi || !this.domain.isValid(it.lo) || !this.domain.isValid(it.hi)) broken("interval not normalised");
      const prev = items[i - 1];
      if (prev !== undefined && this.domain.validAtOrAbove(prev.hi + 1n) >= it.lo) broken("intervals overlap or touch");
      count += this.domain.countValid(it.lo, it.hi);
    });
    if (count !== this.count) broken("size counter out of sync");
    if (items.length !== this.nodes) broken("node counter out of sync");
  }
}
