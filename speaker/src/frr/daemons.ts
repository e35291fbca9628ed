// Which FRR daemons a rendered configuration needs before it can be applied in one batch. Applying while one of
// them is still starting (the FRR container starts zebra, bgpd and bfdd one after the other) applies part of the
// batch: bgpd lines fail without bgpd, BFD profile lines without bfdd, and the half-configured sessions flap.
// Pure: the caller says which daemons answer.

/** zebra and bgpd always; bfdd when the configuration has a `bfd` block or a neighbor with BFD. */
export function frrDaemonsNeeded(configText: string): string[] {
  const bfd = /^bfd$/m.test(configText) || /^ +neighbor \S+ bfd\b/m.test(configText);
  return ["zebra", "bgpd", ...(bfd ? ["bfdd"] : [])];
}

/** The needed daemons that do not answer yet (`running(d)`: e.g. its vty socket exists). */
export function frrDaemonsMissing(configText: string, running: (daemon: string) => boolean): string[] {
  return frrDaemonsNeeded(configText).filter((d) => !running(d));
}
