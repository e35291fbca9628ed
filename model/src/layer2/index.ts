// Layer 2 announcement, pure part: the ARP/NDP frame codec, the socket filters and the responder's decisions.
export * from "./packets.js";
export * from "./bpf.js";
export * from "./respond.js";
