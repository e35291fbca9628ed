// Classic BPF socket filters (SO_ATTACH_FILTER) for the responder's raw sockets, as data, plus a tiny
// interpreter of the instruction subset they use so tests can run them against frames.
//
// Offsets are from the start of the Ethernet header: the sockets are AF_PACKET/SOCK_RAW.

/** One `struct sock_filter`. */
export interface BpfInstruction {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

// Opcodes (linux/bpf_common.h)
export const BPF_LD_W_ABS = 0x20;
export const BPF_LD_H_ABS = 0x28;
export const BPF_LD_B_ABS = 0x30;
export const BPF_JMP_JA = 0x05;
export const BPF_JMP_JEQ_K = 0x15;
export const BPF_JMP_JGT_K = 0x25;
export const BPF_JMP_JGE_K = 0x35;
export const BPF_JMP_JSET_K = 0x45;
export const BPF_RET_K = 0x06;

/** Bytes the kernel hands over on accept: more than any frame. */
export const BPF_ACCEPT = 0x40000;

const insn = (code: number, jt: number, jf: number, k: number): BpfInstruction => Object.freeze({ code, jt, jf, k });

/**
 * Neighbor solicitations only, for a socket bound to ETH_P_IPV6 (which otherwise sees every IPv6 frame):
 * ethertype 0x86dd, IPv6 next header 58 (ICMPv6), hop limit 255, ICMPv6 type 135.
 */
export const ndpSolicitationFilter: readonly BpfInstruction[] = Object.freeze([
  insn(BPF_LD_H_ABS, 0, 0, 12), // ethertype
  insn(BPF_JMP_JEQ_K, 0, 7, 0x86dd),
  insn(BPF_LD_B_ABS, 0, 0, 20), // next header
  insn(BPF_JMP_JEQ_K, 0, 5, 58),
  insn(BPF_LD_B_ABS, 0, 0, 21), // hop limit
  insn(BPF_JMP_JEQ_K, 0, 3, 255),
  insn(BPF_LD_B_ABS, 0, 0, 54), // ICMPv6 type
  insn(BPF_JMP_JEQ_K, 0, 1, 135),
  insn(BPF_RET_K, 0, 0, BPF_ACCEPT),
  insn(BPF_RET_K, 0, 0, 0),
]);

/** ARP requests for IPv4 over Ethernet only (replies, including other nodes' gratuitous replies, are dropped). */
export const arpRequestFilter: readonly BpfInstruction[] = Object.freeze([
  insn(BPF_LD_H_ABS, 0, 0, 12), // ethertype
  insn(BPF_JMP_JEQ_K, 0, 7, 0x0806),
  insn(BPF_LD_W_ABS, 0, 0, 14), // hardware type + protocol type
  insn(BPF_JMP_JEQ_K, 0, 5, 0x00010800),
  insn(BPF_LD_H_ABS, 0, 0, 18), // hardware + protocol address lengths
  insn(BPF_JMP_JEQ_K, 0, 3, 0x0604),
  insn(BPF_LD_H_ABS, 0, 0, 20), // operation
  insn(BPF_JMP_JEQ_K, 0, 1, 1),
  insn(BPF_RET_K, 0, 0, BPF_ACCEPT),
  insn(BPF_RET_K, 0, 0, 0),
]);

/** The `[code, jt, jf, k]` tuples the native addon takes. */
export function bpfTuples(program: readonly BpfInstruction[]): Array<[number, number, number, number]> {
  return program.map((i) => [i.code, i.jt, i.jf, i.k]);
}

/**
 * Runs a program over a packet like the kernel does for the supported subset (absolute loads, JA/JEQ/JGT/JGE/
 * JSET with constants, RET k): returns the number of bytes to keep (0 = drop). A load past the end drops the
 * packet; unsupported opcodes or jumps out of the program also return 0.
 */
export function runBpf(program: readonly BpfInstruction[], packet: Uint8Array): number {
  let a = 0;
  let pc = 0;
  const load = (k: number, size: number): number | null => {
    if (k + size > packet.length) return null;
    let v = 0;
    for (let i = 0; i < size; i++) v = v * 256 + (packet[k + i] ?? 0);
    return v;
  };
  for (let steps = 0; steps <= program.length; steps++) {
    const i = program[pc];
    if (i === undefined) return 0;
    const size = i.code === BPF_LD_W_ABS ? 4 : i.code === BPF_LD_H_ABS ? 2 : i.code === BPF_LD_B_ABS ? 1 : 0;
    if (size > 0) {
      const v = load(i.k, size);
      if (v === null) return 0;
      a = v;
      pc++;
      continue;
    }
    switch (i.code) {
      case BPF_RET_K:
        return i.k;
      case BPF_JMP_JA:
        pc += 1 + i.k;
        continue;
      case BPF_JMP_JEQ_K:
        pc += 1 + (a === i.k ? i.jt : i.jf);
        continue;
      case BPF_JMP_JGT_K:
        pc += 1 + (a > i.k ? i.jt : i.jf);
        continue;
      case BPF_JMP_JGE_K:
        pc += 1 + (a >= i.k ? i.jt : i.jf);
        continue;
      case BPF_JMP_JSET_K:
        pc += 1 + ((a & i.k) >>> 0 !== 0 ? i.jt : i.jf);
        continue;
      default:
        return 0;
    }
  }
  return 0;
}
