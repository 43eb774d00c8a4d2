/**
 * The forget delay: a slot that stops reporting stays in placements for `forgetDelayMs`
 * (default 10 min). A tenant whose requests crash nodes therefore keeps the same shard while
 * its members restart, instead of walking through the fleet; nodes route around dead members
 * with liveMembers().
 */
import type { PlacementSlot } from "./shard.ts";
import { PlacementInputError } from "./shard.ts";

export const DEFAULT_FORGET_DELAY_MS = 10 * 60 * 1000;

export type KnownSlot = { name: string; zone: string; lastSeenMs: number; live: boolean };

/**
 * The slots placement uses: every live slot, plus vanished ones last seen less than
 * `forgetDelayMs` ago (a last-seen time in the future counts as just seen). Sorted by name.
 */
export function effectiveSlots(
  known: readonly KnownSlot[],
  nowMs: number,
  forgetDelayMs: number = DEFAULT_FORGET_DELAY_MS,
): PlacementSlot[] {
  if (!Number.isFinite(nowMs)) throw new PlacementInputError("nowMs must be a finite number");
  if (!Number.isFinite(forgetDelayMs) || forgetDelayMs < 0) {
    throw new PlacementInputError("forgetDelayMs must be a finite number >= 0");
  }
  const kept = known.filter((slot) => slot.live || Math.max(0, nowMs - slot.lastSeenMs) < forgetDelayMs);
  return kept
    .map((slot) => ({ name: slot.name, zone: slot.zone, live: slot.live }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The members of `shard` to route to, in shard (preference) order: those present in `slots`
 * and not marked dead (`live` absent counts as live).
 */
export function liveMembers(shard: readonly string[], slots: readonly PlacementSlot[]): string[] {
  const live = new Set(slots.filter((slot) => slot.live !== false).map((slot) => slot.name));
  return shard.filter((member) => live.has(member));
}
