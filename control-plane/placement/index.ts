/**
 * Placement: which slots serve which tenant (docs/design.md §4). Pure functions, no I/O.
 *  - selectShard / prepareFleet(...).shardFor: seeded, zone-spread rendezvous selection;
 *    shardAfterAdd / shardAfterRemove: the same shard updated exactly after one slot change.
 *  - effectiveSlots / liveMembers: the forget delay, and whom to route to now.
 *  - analyzePlacement: blast radius (overlap vs theory, tenants lost with a set of slots).
 */
export {
  type AnalysisOptions,
  analyzePlacement,
  type OverlapRow,
  type PlacementAnalysis,
  type PlacementTenant,
} from "./analysis.ts";
export { DEFAULT_FORGET_DELAY_MS, effectiveSlots, type KnownSlot, liveMembers } from "./effective-slots.ts";
export type { TenantLanes } from "./keyed-hash.ts";
export { choose, hypergeometricOverlap, zoneSpreadOverlap } from "./overlap-law.ts";
export {
  clampShardSize,
  effectiveShardSize,
  MAX_SHARD_SIZE,
  PlacementFleet,
  PlacementInputError,
  type PlacementSlot,
  prepareFleet,
  selectShard,
  shardResolver,
} from "./shard.ts";
