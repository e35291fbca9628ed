// Golden frames for the Layer 2 codec tests, as hex dumps (whitespace ignored).
//
// CAPTURED_* were captured with `tcpdump -xx` on a veth in a lab namespace: iputils arping and ndisc6 from a
// client 02:11:00:00:00:05 (10.111.0.5, fe80::11:ff:fe00:5) asking for 10.111.0.200 / fd00:111::200.
// The others were written by hand from RFC 826 / RFC 4861; the ICMPv6 checksums were computed with an
// independent Python implementation that reproduces the kernel's checksum of the captured solicitation (0x77e0).

/** Hex dump → bytes. */
export function hex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`bad hex ${text}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** Bytes → compact hex, for readable diffs. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** arping -I eth0 10.111.0.200 from 10.111.0.5 (42 bytes as seen on the veth; iputils puts ff:ff.. in tha). */
export const CAPTURED_ARP_REQUEST = hex(`
  ffff ffff ffff 0211 0000 0005 0806 0001
  0800 0604 0001 0211 0000 0005 0a6f 0005
  ffff ffff ffff 0a6f 00c8`);

/** ndisc6 fd00:111::200 eth0: NS from fe80::11:ff:fe00:5 to ff02::1:ff00:200, source link-layer option. */
export const CAPTURED_NS = hex(`
  3333 ff00 0200 0211 0000 0005 86dd 6008
  aa1c 0020 3aff fe80 0000 0000 0000 0011
  00ff fe00 0005 ff02 0000 0000 0000 0000
  0001 ff00 0200 8700 77e0 0000 0000 fd00
  0111 0000 0000 0000 0000 0000 0200 0101
  0211 0000 0005`);

/** A router solicitation (ICMPv6 type 133) from the same capture: not a neighbor solicitation. */
export const CAPTURED_RS = hex(`
  3333 0000 0002 0211 0000 000b 86dd 6000
  0000 0010 3aff fe80 0000 0000 0000 0011
  00ff fe00 000b ff02 0000 0000 0000 0000
  0000 0000 0002 8500 7af6 0000 0000 0101
  0211 0000 000b`);

/** ARP reply: 10.111.0.200 is-at 02:11:00:00:00:0b, to 10.111.0.5 / 02:11:00:00:00:05, padded to 60 bytes. */
export const GOLDEN_ARP_REPLY = hex(`
  0211 0000 0005 0211 0000 000b 0806
  0001 0800 06 04 0002
  0211 0000 000b 0a6f 00c8
  0211 0000 0005 0a6f 0005
  0000 0000 0000 0000 0000 0000 0000 0000 0000`);

/** Gratuitous ARP, request form: broadcast, op 1, spa = tpa = 10.111.0.200, tha zero. */
export const GOLDEN_GARP_REQUEST = hex(`
  ffff ffff ffff 0211 0000 000c 0806
  0001 0800 06 04 0001
  0211 0000 000c 0a6f 00c8
  0000 0000 0000 0a6f 00c8
  0000 0000 0000 0000 0000 0000 0000 0000 0000`);

/** Gratuitous ARP, reply form: broadcast, op 2, spa = tpa = 10.111.0.200, tha broadcast. */
export const GOLDEN_GARP_REPLY = hex(`
  ffff ffff ffff 0211 0000 000c 0806
  0001 0800 06 04 0002
  0211 0000 000c 0a6f 00c8
  ffff ffff ffff 0a6f 00c8
  0000 0000 0000 0000 0000 0000 0000 0000 0000`);

/** Solicited NA (S|O) fd00:111::200 → fd00:111::5, target fd00:111::200 at 02:11:00:00:00:0b; checksum 0x154d. */
export const GOLDEN_NA_SOLICITED = hex(`
  0211 0000 0005 0211 0000 000b 86dd
  6000 0000 0020 3a ff
  fd00 0111 0000 0000 0000 0000 0000 0200
  fd00 0111 0000 0000 0000 0000 0000 0005
  88 00 154d 6000 0000
  fd00 0111 0000 0000 0000 0000 0000 0200
  02 01 0211 0000 000b`);

/** The answer to CAPTURED_NS: same NA to fe80::11:ff:fe00:5; checksum 0x15cd. */
export const GOLDEN_NA_TO_CAPTURED_NS = hex(`
  0211 0000 0005 0211 0000 000b 86dd
  6000 0000 0020 3a ff
  fd00 0111 0000 0000 0000 0000 0000 0200
  fe80 0000 0000 0000 0011 00ff fe00 0005
  88 00 15cd 6000 0000
  fd00 0111 0000 0000 0000 0000 0000 0200
  02 01 0211 0000 000b`);

/** Unsolicited NA (O only) for fd00:111::200 at 02:11:00:00:00:0c to ff02::1 / 33:33:00:00:00:01; checksum 0x545f. */
export const GOLDEN_UNSOLICITED_NA = hex(`
  3333 0000 0001 0211 0000 000c 86dd
  6000 0000 0020 3a ff
  fd00 0111 0000 0000 0000 0000 0000 0200
  ff02 0000 0000 0000 0000 0000 0000 0001
  88 00 545f 2000 0000
  fd00 0111 0000 0000 0000 0000 0000 0200
  02 01 0211 0000 000c`);
