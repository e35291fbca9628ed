// Which FRR daemons a configuration needs before it can be applied in one batch. Applying while one of them is
// still starting (the FRR container starts zebra, bgpd and bfdd one after the other) applies part of the batch:
// bgpd lines fail without bgpd, BFD profile lines without bfdd, and the half-configured sessions flap.
// Pure: the caller says which daemons answer.
import type { FrrConfig } from "../../../model/src/frr/types.js";

/** zebra and bgpd always; bfdd when the configuration has BFD profiles or a neighbor with BFD. */
export function frrDaemonsNeeded(cfg: FrrConfig): string[] {
  const bfd = cfg.hasBfdProfiles || cfg.routers.some((r) => r.neighbors.some((n) => n.bfd));
  return ["zebra", "bgpd", ...(bfd ? ["bfdd"] : [])];
}

/** The needed daemons that do not answer yet (`running(d)`: e.g. its vty socket exists). */
export function frrDaemonsMissing(cfg: FrrConfig, running: (daemon: string) => boolean): string[] {
  return frrDaemonsNeeded(cfg).filter((d) => !running(d));
}
