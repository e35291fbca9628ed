export { Allocator } from "./allocator.js";
export { ALL_ADDRESSES, IntervalSet, NON_BUGGY_IPV4, type AddressDomain, type Interval } from "./interval-set.js";
export { familyPlans, generalPools, isPoolCompatible, pinnableOrder, pinnedPools } from "./pool-select.js";
export { portKey } from "./sharing.js";
export type * from "./types.js";
