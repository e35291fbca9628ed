// Typed wrapper of the native AF_PACKET addon (speaker/native): one raw socket bound to one interface and one
// ethertype, optionally inside another network namespace. Socket work only; frames are decoded by the pure
// codec in model/src/layer2.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { bpfTuples, type BpfInstruction } from "../../../model/src/layer2/bpf.js";
import { macFromBytes, macToBytes, type MacAddress } from "../../../model/src/layer2/packets.js";

/** Where node-gyp puts the addon, relative to the repository root. */
export const ADDON_RELATIVE_PATH = "speaker/native/build/Release/metallb_rawsock.node";

/** `sll_pkttype` of a received frame (linux/if_packet.h). */
export const PacketType = {
  host: 0,
  broadcast: 1,
  multicast: 2,
  otherHost: 3,
  outgoing: 4,
} as const;
export type PacketType = number;

export type FrameHandler = (frame: Buffer, pktType: PacketType) => void;
export type SocketErrorHandler = (err: Error) => void;

interface NativeRawSocket {
  readonly mac: Buffer;
  readonly ifindex: number;
  readonly fd: number;
  start(onFrame: (frame: Buffer, pktType: number) => void, onError?: (err: Error) => void): void;
  stop(): void;
  send(frame: Uint8Array): number;
  attachFilter(insns: ReadonlyArray<readonly [number, number, number, number]>): void;
  detachFilter(): void;
  addMembership(mac: Uint8Array): void;
  dropMembership(mac: Uint8Array): void;
  close(): void;
}

interface NativeAddon {
  RawSocket: new (
    ifname: string,
    ethertype: number,
    netnsPath: string | null,
    filter: ReadonlyArray<readonly [number, number, number, number]> | null,
  ) => NativeRawSocket;
}

/** The addon has not been built (or cannot be loaded on this platform). */
export class RawSocketAddonError extends Error {
  override readonly name = "RawSocketAddonError";
}

let cached: { path: string; addon: NativeAddon } | undefined;

/** Looks for the built addon from this module's directory upwards (works from the sources and from dist/). */
export function findRawSocketAddon(startDir: string = dirname(fileURLToPath(import.meta.url))): string | undefined {
  for (let dir = resolve(startDir); ; dir = dirname(dir)) {
    const candidate = join(dir, ADDON_RELATIVE_PATH);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Loads (once) the native addon, from `path` or from the repository's build directory. */
export function loadRawSocketAddon(path?: string): NativeAddon {
  if (cached !== undefined && (path === undefined || resolve(path) === cached.path)) return cached.addon;
  if (process.platform !== "linux") throw new RawSocketAddonError(`raw AF_PACKET sockets need Linux, not ${process.platform}`);
  const file = path !== undefined ? resolve(path) : findRawSocketAddon();
  if (file === undefined || !existsSync(file)) {
    throw new RawSocketAddonError(`the raw socket addon is not built (${path ?? ADDON_RELATIVE_PATH} not found): run \`npm run build:native\``);
  }
  try {
    const addon = createRequire(import.meta.url)(file) as NativeAddon;
    cached = { path: file, addon };
    return addon;
  } catch (e) {
    throw new RawSocketAddonError(`loading ${file} failed (rebuild with \`npm run build:native\`)`, { cause: e });
  }
}

export interface RawSocketOptions {
  ifname: string;
  /** Ethertype to receive, e.g. 0x0806 (ARP) or 0x86dd (IPv6). */
  ethertype: number;
  /** A network namespace file such as /run/netns/<name>; the socket is opened inside it. */
  netnsPath?: string;
  /** A classic BPF filter attached before the socket is bound, so no unfiltered frame is ever queued. */
  filter?: readonly BpfInstruction[];
  /** Explicit addon file instead of the repository's build output. */
  addonPath?: string;
}

export interface RawSocket {
  readonly ifname: string;
  readonly ethertype: number;
  readonly mac: MacAddress;
  readonly ifindex: number;
  readonly closed: boolean;
  /** Sends one complete Ethernet frame; returns the bytes sent. Throws with errno text (e.g. ENETDOWN). */
  send(frame: Uint8Array): number;
  /**
   * Starts (or re-targets) delivery of received frames in the event loop. Socket errors and exceptions thrown by
   * `handler` go to `onError`; without one, a throwing handler is an uncaught exception.
   */
  onFrame(handler: FrameHandler, onError?: SocketErrorHandler): void;
  /** Stops delivery; frames queue in the kernel (and are dropped when its buffer is full) until onFrame again. */
  stopReceiving(): void;
  attachFilter(insns: readonly BpfInstruction[]): void;
  detachFilter(): void;
  /** Joins an Ethernet multicast group on the interface (e.g. 33:33:ff:xx:xx:xx for NDP). */
  addMembership(mac: MacAddress): void;
  dropMembership(mac: MacAddress): void;
  /** Stops receiving and closes the fd; memberships and filters go with it. Safe to call twice. */
  close(): void;
}

/** Opens a raw AF_PACKET socket (needs CAP_NET_RAW, and CAP_SYS_ADMIN for `netnsPath`). */
export function openRawSocket(opts: RawSocketOptions): RawSocket {
  const addon = loadRawSocketAddon(opts.addonPath);
  let native: NativeRawSocket;
  try {
    native = new addon.RawSocket(opts.ifname, opts.ethertype, opts.netnsPath ?? null, opts.filter !== undefined ? bpfTuples(opts.filter) : null);
  } catch (e) {
    const where = opts.netnsPath !== undefined ? ` in ${opts.netnsPath}` : "";
    throw new Error(`opening raw socket on ${opts.ifname}${where} (ethertype 0x${opts.ethertype.toString(16)})`, { cause: e });
  }
  return new RawSocketImpl(native, opts.ifname, opts.ethertype);
}

class RawSocketImpl implements RawSocket {
  readonly mac: MacAddress;
  readonly ifindex: number;
  private isClosed = false;

  constructor(
    private readonly native: NativeRawSocket,
    readonly ifname: string,
    readonly ethertype: number,
  ) {
    this.mac = macFromBytes(native.mac);
    this.ifindex = native.ifindex;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  send(frame: Uint8Array): number {
    return this.native.send(frame);
  }

  onFrame(handler: FrameHandler, onError?: SocketErrorHandler): void {
    if (onError === undefined) {
      this.native.start(handler);
      return;
    }
    this.native.start((frame, pktType) => {
      try {
        handler(frame, pktType);
      } catch (e) {
        onError(e instanceof Error ? e : new Error(String(e)));
      }
    }, onError);
  }

  stopReceiving(): void {
    this.native.stop();
  }

  attachFilter(insns: readonly BpfInstruction[]): void {
    this.native.attachFilter(bpfTuples(insns));
  }

  detachFilter(): void {
    this.native.detachFilter();
  }

  addMembership(mac: MacAddress): void {
    this.native.addMembership(macToBytes(mac));
  }

  dropMembership(mac: MacAddress): void {
    this.native.dropMembership(macToBytes(mac));
  }

  close(): void {
    this.isClosed = true;
    this.native.close();
  }
}
