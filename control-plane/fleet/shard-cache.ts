/**
 * Shards kept from one compile to the next. A shard depends only on the seed, the tenant id,
 * k and the fleet's membership (slot names and zones), not on liveness or on anything else a
 * tenant changes; most versions leave the membership alone, so recomputing 100k shards for
 * each would waste seconds. Each compile starts a generation: shards of tenants it asks for
 * carry over, the rest (deleted tenants) are dropped. Reports (admin API) look up without
 * starting a generation.
 *
 * A membership change of a few slots (a node joins, a slot is forgotten, a slot changes zone =
 * leaves and joins) is a list of one-slot steps, departures then joins, each by name; a kept
 * shard is brought up to date by applying the steps it has not seen (placement's shardAfterAdd
 * / shardAfterRemove: exact, and only the joined slot's zone is weighed), lazily on lookup. A
 * larger change starts from scratch.
 */
import type { PlacementSlot, TenantLanes } from "../placement/index.ts";
import { type PlacementFleet, prepareFleet } from "../placement/index.ts";

/** More changed slots than this in one membership change: recompute every shard. */
export const MAX_INCREMENTAL_SLOTS = 8;
/** Steps kept for shards not looked up for a while (reports between compiles). */
const KEPT_STEPS = 16;

/** a kept shard, the membership epoch it is for, and the tenant's lanes (no HMAC per update) */
type Entry = { k: number; shard: readonly string[]; epoch: number; lanes: TenantLanes };
type Step = { fleet: PlacementFleet; added?: string; removed?: string };
export type ShardLookup = (
  tenant: { id: string; shardSize: number },
  slots: readonly PlacementSlot[],
) => string[];

export class ShardCache {
  readonly #seed: string | Buffer;
  #membership: string | undefined;
  #zones = new Map<string, string>();
  #fleet: PlacementFleet | undefined;
  /** epoch of the current membership; steps.get(e) leads from epoch e - 1 to e */
  #epoch = 0;
  #steps = new Map<number, Step>();
  #previous = new Map<string, Entry>();
  #current = new Map<string, Entry>();
  readonly #keys = new WeakMap<readonly PlacementSlot[], string>();
  /** shards computed (not found in the cache) since construction */
  misses = 0;
  /** kept shards brought up to date by membership steps since construction */
  updates = 0;

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
    const entry = kept?.k === k ? this.#upToDate(id, kept) : undefined;
    if (entry) {
      this.#current.set(id, entry);
      return entry.shard;
    }
    this.misses++;
    const lanes = kept?.lanes ?? this.#fleet!.lanesOf(id);
    const computed = { k, shard: this.#fleet!.shardFor(id, k, lanes), epoch: this.#epoch, lanes };
    this.#current.set(id, computed);
    return computed.shard;
  }

  /** The kept entry moved through the steps it has not seen; undefined when they are gone. */
  #upToDate(id: string, kept: Entry): Entry | undefined {
    if (kept.epoch === this.#epoch) return kept;
    let shard = kept.shard;
    for (let epoch = kept.epoch + 1; epoch <= this.#epoch; epoch++) {
      const step = this.#steps.get(epoch);
      if (!step) return undefined;
      shard = step.added
        ? step.fleet.shardAfterAdd(id, kept.k, shard, step.added, kept.lanes)
        : step.fleet.shardAfterRemove(id, kept.k, shard, step.removed!, kept.lanes);
    }
    this.updates++;
    return { ...kept, shard, epoch: this.#epoch };
  }

  #useFleet(slots: readonly PlacementSlot[]): void {
    let membership = this.#keys.get(slots);
    if (membership === undefined) {
      membership = JSON.stringify(slots.map((s) => [s.name, s.zone]));
      this.#keys.set(slots, membership);
    }
    if (membership === this.#membership) return;
    const fleet = prepareFleet(slots, this.#seed);
    const zones = new Map(slots.map((s) => [s.name, s.zone]));
    if (!this.#stepTo(zones, fleet)) {
      this.#epoch++;
      this.#steps.clear();
      this.#previous = new Map();
      this.#current = new Map();
    }
    this.#membership = membership;
    this.#zones = zones;
    this.#fleet = fleet;
  }

  /** Records the one-slot steps from the current membership to `zones`; false if too many. */
  #stepTo(zones: Map<string, string>, fleet: PlacementFleet): boolean {
    if (this.#fleet === undefined) return false;
    const removed = [...this.#zones].filter(([name, zone]) => zones.get(name) !== zone).map(([n]) => n);
    const added = [...zones].filter(([name, zone]) => this.#zones.get(name) !== zone).map(([n]) => n);
    if (removed.length + added.length > MAX_INCREMENTAL_SLOTS) return false;
    const changes: Omit<Step, "fleet">[] = [
      ...removed.sort().map((name) => ({ removed: name })),
      ...added.sort().map((name) => ({ added: name })),
    ];
    const members = new Map(this.#zones);
    changes.forEach((change, i) => {
      if (change.removed) members.delete(change.removed);
      else members.set(change.added!, zones.get(change.added!)!);
      // the last step's fleet is the new one (placement does not depend on slot order)
      const slots = [...members].map(([name, zone]) => ({ name, zone }));
      const stepFleet = i === changes.length - 1 ? fleet : prepareFleet(slots, this.#seed);
      this.#epoch++;
      this.#steps.set(this.#epoch, { fleet: stepFleet, ...change });
      this.#steps.delete(this.#epoch - KEPT_STEPS);
    });
    return true;
  }
}
