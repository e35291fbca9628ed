import { expect, test } from "@jest/globals";
import { nftRunner } from "./handover-forward.js";

// A program that exits at once without reading its stdin, as nft does when it is killed at the timeout or fails
// early: writing a large batch to it fails with EPIPE, which must become a rejected or resolved run, never an
// uncaught exception (the speaker would exit).
test("a runner whose program exits before reading the batch settles instead of crashing the process", async () => {
  const batch = "add element netdev metallb_ts_handover prev4_eth0 { 10.0.0.1 : 10.0.0.2 }\n".repeat(50_000);
  await expect(nftRunner("true")([], batch)).resolves.toBe("");
  await expect(nftRunner("false")([], batch)).rejects.toThrow(/^nft : /);
});
