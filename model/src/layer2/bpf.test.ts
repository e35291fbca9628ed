import { describe, expect, test } from "@jest/globals";
import fc from "fast-check";
import { arpRequestFilter, BPF_ACCEPT, bpfTuples, ndpSolicitationFilter, runBpf } from "./bpf.js";
import { buildGratuitousArp, buildUnsolicitedNA, parseArp, parseNeighborSolicitation } from "./packets.js";
import { CAPTURED_ARP_REQUEST, CAPTURED_NS, CAPTURED_RS, GOLDEN_ARP_REPLY, GOLDEN_NA_SOLICITED, hex } from "./testdata/frames.js";
import { mustParseIP as ip } from "../net/testdata/ip.js";

describe("classic BPF programs", () => {
  test("NDP filter: accepts solicitations only", () => {
    expect(runBpf(ndpSolicitationFilter, CAPTURED_NS)).toBe(BPF_ACCEPT);
    expect(runBpf(ndpSolicitationFilter, CAPTURED_RS)).toBe(0);
    expect(runBpf(ndpSolicitationFilter, GOLDEN_NA_SOLICITED)).toBe(0);
    expect(runBpf(ndpSolicitationFilter, buildUnsolicitedNA("02:11:00:00:00:0b", ip("fd00:111::200")))).toBe(0);
    expect(runBpf(ndpSolicitationFilter, CAPTURED_ARP_REQUEST)).toBe(0);
    const hop = CAPTURED_NS.slice();
    hop[21] = 64;
    expect(runBpf(ndpSolicitationFilter, hop)).toBe(0);
    // An IPv6 UDP packet (next header 17).
    const udp = CAPTURED_NS.slice();
    udp[20] = 17;
    expect(runBpf(ndpSolicitationFilter, udp)).toBe(0);
    expect(runBpf(ndpSolicitationFilter, CAPTURED_NS.subarray(0, 54))).toBe(0);
  });

  test("ARP filter: accepts IPv4-over-Ethernet requests only", () => {
    expect(runBpf(arpRequestFilter, CAPTURED_ARP_REQUEST)).toBe(BPF_ACCEPT);
    expect(runBpf(arpRequestFilter, buildGratuitousArp("02:11:00:00:00:0c", ip("10.111.0.200"), "request"))).toBe(BPF_ACCEPT);
    expect(runBpf(arpRequestFilter, GOLDEN_ARP_REPLY)).toBe(0);
    expect(runBpf(arpRequestFilter, buildGratuitousArp("02:11:00:00:00:0c", ip("10.111.0.200"), "reply"))).toBe(0);
    expect(runBpf(arpRequestFilter, CAPTURED_NS)).toBe(0);
  });

  test("the filters agree with the parsers on random mutations of real frames", () => {
    fc.assert(
      fc.property(fc.constantFrom(CAPTURED_ARP_REQUEST, CAPTURED_NS), fc.nat(), fc.integer({ min: 0, max: 255 }), (seed, at, value) => {
        const frame = seed.slice();
        frame[at % frame.length] = value;
        // What the parser accepts as a request / solicitation, the filter must let through.
        const arp = parseArp(frame);
        if (arp?.op === "request") expect(runBpf(arpRequestFilter, frame)).toBe(BPF_ACCEPT);
        if (parseNeighborSolicitation(frame) !== null) expect(runBpf(ndpSolicitationFilter, frame)).toBe(BPF_ACCEPT);
      }),
      { numRuns: 3000 },
    );
  });

  test("programs are well formed: forward jumps inside the program, ending in RET", () => {
    for (const prog of [ndpSolicitationFilter, arpRequestFilter]) {
      prog.forEach((insn, pc) => {
        if ((insn.code & 0x07) !== 0x05) return; // jumps only
        expect(pc + 1 + insn.jt).toBeLessThan(prog.length);
        expect(pc + 1 + insn.jf).toBeLessThan(prog.length);
      });
      expect(prog[prog.length - 1]?.code).toBe(0x06);
    }
  });

  test("tuples for the addon", () => {
    expect(bpfTuples(arpRequestFilter)[0]).toEqual([0x28, 0, 0, 12]);
  });

  test("interpreter: out-of-range loads drop, unknown opcodes drop", () => {
    expect(
      runBpf(
        [
          { code: 0x20, jt: 0, jf: 0, k: 100 },
          { code: 0x06, jt: 0, jf: 0, k: 1 },
        ],
        hex("00"),
      ),
    ).toBe(0);
    expect(runBpf([{ code: 0x07, jt: 0, jf: 0, k: 0 }], hex("00"))).toBe(0);
    expect(runBpf([{ code: 0x05, jt: 0, jf: 0, k: 5 }], hex("00"))).toBe(0);
  });
});
