/**
 * Shards kept from one compile to the next. A shard depends only on the seed, the tenant id,
 * k and the fleet's membership (slot names and zones), not on liveness or on anything else a
 * tenant changes; most versions leave the membership alone, so recomputing 100k shards for
 * each would waste seconds. Each compile starts a generation: shards of tenants it asks for
 * carry over, the rest (deleted tenants) are dropped; a membership change starts from scratch.
 * Reports (admin API) look up without starting a generation.
 */
import type { PlacementSlot } from "../placement/index.ts";
import { type PlacementFleet, prepareFleet } from "../placement/index.ts";

type Entry = { k: number; shard: readonly string[] };
export type ShardLookup = (
  tenant: { id: string; shardSize: number },
  slots: readonly PlacementSlot[],
) => string[];

export class ShardCache {
  readonly #seed: string | Buffer;
  #membership: string | undefined;
  #fleet: PlacementFleet | undefined;
  #previous = new Map<string, Entry>();
  #current = new Map<string, Entry>();
  readonly #keys = new WeakMap<readonly PlacementSlot[], string>();
  /** shards computed (not found in the cache) since construction */
  misses = 0;

  constructor(seed: string | Buffer) {
    this.#seed = seed;
  }

  /** The lookup for one compile: starts a new generation. */
  generation(): ShardLookup {
    this.#previous = this.#current;
    this.#current = new Map();
    return this.lookup;
  }

  /** A lookup that keeps the generation (reports between compiles). */
  readonly lookup: ShardLookup = (tenant, slots) => [...this.#shardFor(tenant.id, tenant.shardSize, slots)];

  #shardFor(id: string, k: number, slots: readonly PlacementSlot[]): readonly string[] {
    this.#useFleet(slots);
    const kept = this.#current.get(id) ?? this.#previous.get(id);
    if (kept && kept.k === k) {
      this.#current.set(id, kept);
      return kept.shard;
    }
    this.misses++;
    const entry = { k, shard: this.#fleet!.shardFor(id, k) };
    this.#current.set(id, entry);
    return entry.shard;
  }

  #useFleet(slots: readonly PlacementSlot[]): void {
    let membership = this.#keys.get(slots);
    if (membership === undefined) {
      membership = JSON.stringify(slots.map((s) => [s.name, s.zone]));
      this.#keys.set(slots, membership);
    }
    if (membership === this.#membership) return;
    this.#membership = membership;
    this.#fleet = prepareFleet(slots, this.#seed);
    this.#previous = new Map();
    this.#current = new Map();
  }
}
