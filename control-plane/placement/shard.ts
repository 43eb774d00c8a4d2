/**
 * Shuffle-shard selection: seeded rendezvous (highest-random-weight) hashing with zone spread.
 *
 * Rule, for tenant t and shard size k over N slots:
 *  1. Rank the zones by the tenant's weight for each zone, and inside each zone rank the slots
 *     by the tenant's weight for each slot (ties broken by name).
 *  2. Walk rounds r = 1, 2, ...; in each round visit the zones in rank order and take the zone's
 *     r-th best slot if it has one. Stop after min(k, N) picks.
 *
 * Equivalently: the shard is the first k entries of the list of (round, zone rank) pairs
 * (one pair per slot, since zone z owns pairs (1..size(z), z)) sorted by round then zone rank,
 * each pair standing for "the zone's next best slot". Why one slot change moves at most one member:
 *  - Adding a slot to zone z inserts exactly one pair (size(z)+1, z) into that sorted list; the
 *    relative order of the other pairs is unchanged (a new zone only inserts itself into the zone
 *    ranking). So at most one zone gains one place and at most one zone loses one place.
 *  - z gains a place only when it was saturated (all its old slots were members), so the member
 *    that joins is the new slot; otherwise z keeps its quota and its top-q changes only if the new
 *    slot beats its q-th member, which it then replaces. Removing a slot is the mirror image; a
 *    slot that was not a member never changes anything.
 * Zone spread follows from the round walk: member counts of two zones differ by at most one unless
 * the smaller zone has run out of slots.
 *
 * The result lists members in pick order (the tenant's preference order). Liveness is ignored on
 * purpose: vanished slots stay in placements for the forget delay (see effective-slots.ts).
 */
import { CorralError } from "../errors.ts";
import { laneWeight, type PlacementKey, placementKey, type TenantLanes, tenantLanes } from "./keyed-hash.ts";

export type PlacementSlot = { name: string; zone: string; live?: boolean };

export const MAX_SHARD_SIZE = 64;
const MAX_NAME_LENGTH = 253;

/** Bad placement input: a catalogued validation error (400 / INVALID_ARGUMENT in the admin API). */
export class PlacementInputError extends CorralError {
  constructor(message: string) {
    super("CORRAL_ADMIN_VALIDATION", message);
    this.name = "PlacementInputError";
  }
}

type KeyedSlot = { name: string; key: PlacementKey };
type KeyedZone = { name: string; key: PlacementKey; slots: KeyedSlot[] };
type SlotIndex = Map<string, { key: PlacementKey; zone: KeyedZone }>;
type Ranked = { name: string; weight: number };

function checkName(what: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_NAME_LENGTH) {
    throw new PlacementInputError(`${what} must be a non-empty string of at most ${MAX_NAME_LENGTH} chars`);
  }
  return value;
}

function checkTenant(tenantId: string, k: number): void {
  checkName("tenant id", tenantId);
  checkShardSize(k);
}

function checkSeed(seed: string | Buffer): void {
  if (!(typeof seed === "string" || Buffer.isBuffer(seed)) || seed.length === 0) {
    throw new PlacementInputError("placement seed must be a non-empty string or Buffer");
  }
}

/** A configured shard size made valid: an integer from 1 to MAX_SHARD_SIZE. */
export function clampShardSize(configured: number): number {
  return Math.max(1, Math.min(Math.floor(configured) || 1, MAX_SHARD_SIZE));
}

/** How many members a tenant's shard has: its k capped by the fleet size N (at least 1). */
export function effectiveShardSize(configured: number, fleetSize: number): number {
  return Math.min(clampShardSize(configured), Math.max(fleetSize, 1));
}

export function checkShardSize(k: unknown): number {
  if (typeof k !== "number" || !Number.isInteger(k) || k < 1 || k > MAX_SHARD_SIZE) {
    throw new PlacementInputError(
      `shard size k must be an integer in 1..${MAX_SHARD_SIZE}, got ${String(k)}`,
    );
  }
  return k;
}

/** Ranked before: higher weight first, then the smaller name. */
function outranks(a: Ranked, b: Ranked): boolean {
  return a.weight > b.weight || (a.weight === b.weight && a.name < b.name);
}

/** The tenant's best `limit` slots of a zone, best first (short sorted buffer: O(n * limit)). */
function topSlots(tenant: TenantLanes, slots: readonly KeyedSlot[], limit: number): Ranked[] {
  const top: Ranked[] = [];
  for (const slot of slots) {
    const weight = laneWeight(tenant, slot.key);
    if (top.length === limit) {
      const last = top[limit - 1]!;
      if (weight < last.weight || (weight === last.weight && slot.name > last.name)) continue;
      top.pop();
    }
    const entry = { name: slot.name, weight };
    let i = top.length;
    top.push(entry);
    while (i > 0 && outranks(entry, top[i - 1]!)) {
      top[i] = top[i - 1]!;
      i--;
    }
    top[i] = entry;
  }
  return top;
}

/** The round walk of the rule: per round, each zone's next slot in zone rank order, `target` picks. */
function walkRounds(zones: readonly (readonly { name: string }[])[], target: number): string[] {
  const picks: string[] = [];
  for (let round = 0; picks.length < target; round++) {
    for (const top of zones) {
      if (round < top.length && picks.length < target) picks.push(top[round]!.name);
    }
  }
  return picks;
}

/** `ranked` (best first) with `entry` inserted at its rank. */
function insertRanked(ranked: Ranked[], entry: Ranked): Ranked[] {
  const at = ranked.findIndex((other) => outranks(entry, other));
  ranked.splice(at === -1 ? ranked.length : at, 0, entry);
  return ranked;
}

/** A fleet with its slot and zone keys derived once, for computing many tenants' shards. */
export class PlacementFleet {
  readonly size: number;
  readonly #seed: string | Buffer;
  readonly #zones: KeyedZone[];
  readonly #slots: SlotIndex = new Map();

  constructor(slots: readonly PlacementSlot[], seed: string | Buffer) {
    checkSeed(seed);
    if (!Array.isArray(slots)) throw new PlacementInputError("slots must be an array");
    this.#seed = seed;
    this.#zones = groupByZone(slots, seed, this.#slots);
    this.size = slots.length;
  }

  /**
   * The tenant's hash lanes under this fleet's seed (one HMAC): callers that keep shards keep
   * these too and pass them back, so that updating a shard costs no HMAC.
   */
  lanesOf(tenantId: string): TenantLanes {
    checkName("tenant id", tenantId);
    return tenantLanes(placementKey(this.#seed, "tenant", tenantId));
  }

  /** The tenant's shard: min(k, N) slot names in preference order. */
  shardFor(tenantId: string, k: number, lanes?: TenantLanes): string[] {
    const tenant = this.#lanes(tenantId, k, lanes);
    const target = Math.min(k, this.size);
    return walkRounds(
      this.#rankZones(tenant).map((zone) => topSlots(tenant, zone.slots, target)),
      target,
    );
  }

  /**
   * shardFor on this fleet, given `current` = the tenant's shard (same k) on this fleet minus
   * slot `added`: by the header's argument only zone z of `added` can change (it gains `added`
   * when all its old slots were members, else `added` replaces z's last member if it outranks
   * it), so the other zones keep their members and z needs the weights of its members only.
   */
  shardAfterAdd(
    tenantId: string,
    k: number,
    current: readonly string[],
    added: string,
    lanes?: TenantLanes,
  ): string[] {
    const tenant = this.#lanes(tenantId, k, lanes);
    const slot = this.#slot(added);
    const entry = { name: added, weight: laneWeight(tenant, slot.key) };
    let inZone = 0;
    let last: Ranked | undefined;
    for (const name of current) {
      if (name === added) throw new PlacementInputError(`slot ${added} is already a member`);
      const member = this.#slot(name);
      if (member.zone === slot.zone) {
        inZone++;
        last = { name, weight: laneWeight(tenant, member.key) };
      }
    }
    const saturated = inZone === slot.zone.slots.length - 1;
    // the common case: z keeps its quota and `added` does not beat its weakest member
    if (!saturated && (last === undefined || !outranks(entry, last))) return [...current];
    return this.#regroup(tenant, k, current, slot.zone, entry);
  }

  /**
   * The walk over each zone's current members with `entry` ranked into zone z's. When z was not
   * saturated its list then holds one slot more than its quota; the walk never reaches that one
   * (z's next pair ranked after every old member's, which is why it was not a member).
   */
  #regroup(
    tenant: TenantLanes,
    k: number,
    current: readonly string[],
    z: KeyedZone,
    entry: Ranked,
  ): string[] {
    const lists = new Map<KeyedZone, Ranked[]>([[z, []]]);
    for (const name of current) {
      const { key, zone } = this.#slot(name);
      const list = lists.get(zone) ?? [];
      list.push({ name, weight: zone === z ? laneWeight(tenant, key) : 0 });
      lists.set(zone, list);
    }
    insertRanked(lists.get(z)!, entry);
    const ranked = this.#rankZones(tenant).map((zone) => lists.get(zone) ?? []);
    return walkRounds(ranked, Math.min(k, this.size));
  }

  /**
   * shardFor on this fleet, given `current` = the tenant's shard (same k) on this fleet plus
   * slot `removed`: a slot that was not a member changes nothing (and then the old fleet was
   * larger than k, so this one is not smaller than k); otherwise the shard is computed again.
   */
  shardAfterRemove(
    tenantId: string,
    k: number,
    current: readonly string[],
    removed: string,
    lanes?: TenantLanes,
  ): string[] {
    if (this.#slots.has(removed)) throw new PlacementInputError(`slot ${removed} is still in the fleet`);
    if (current.includes(removed) || current.length !== Math.min(k, this.size)) {
      return this.shardFor(tenantId, k, lanes);
    }
    checkTenant(tenantId, k);
    return [...current];
  }

  /** `lanes` must come from lanesOf(tenantId) under the same seed. */
  #lanes(tenantId: string, k: number, lanes: TenantLanes | undefined): TenantLanes {
    checkShardSize(k);
    if (!lanes) return this.lanesOf(tenantId);
    checkName("tenant id", tenantId);
    return lanes;
  }

  #slot(name: string): { key: PlacementKey; zone: KeyedZone } {
    const slot = this.#slots.get(name);
    if (!slot) throw new PlacementInputError(`slot ${name} is not in the fleet`);
    return slot;
  }

  #rankZones(tenant: TenantLanes): KeyedZone[] {
    const ranked = this.#zones.map((zone) => ({
      zone,
      name: zone.name,
      weight: laneWeight(tenant, zone.key),
    }));
    ranked.sort((a, b) => (outranks(a, b) ? -1 : outranks(b, a) ? 1 : 0));
    return ranked.map((entry) => entry.zone);
  }
}

function groupByZone(slots: readonly PlacementSlot[], seed: string | Buffer, index: SlotIndex): KeyedZone[] {
  const zones = new Map<string, KeyedZone>();
  for (const slot of slots) {
    const name = checkName("slot name", slot?.name);
    const zoneName = checkName(`zone of slot ${name}`, slot.zone);
    if (index.has(name)) throw new PlacementInputError(`duplicate slot name ${name}`);
    let zone = zones.get(zoneName);
    if (!zone) {
      zone = { name: zoneName, key: placementKey(seed, "zone", zoneName), slots: [] };
      zones.set(zoneName, zone);
    }
    const key = placementKey(seed, "slot", name);
    zone.slots.push({ name, key });
    index.set(name, { key, zone });
  }
  return [...zones.values()];
}

export function prepareFleet(slots: readonly PlacementSlot[], seed: string | Buffer): PlacementFleet {
  return new PlacementFleet(slots, seed);
}

/**
 * A shard lookup for the snapshot compiler: (tenant, slots) -> shard, deriving each slot list's
 * keys once (cached per slots array) instead of once per tenant.
 */
export function shardResolver(
  seed: string | Buffer,
): (tenant: { id: string; shardSize: number }, slots: readonly PlacementSlot[]) => string[] {
  checkSeed(seed);
  const fleets = new WeakMap<readonly PlacementSlot[], PlacementFleet>();
  return (tenant, slots) => {
    let fleet = fleets.get(slots);
    if (!fleet) {
      fleet = prepareFleet(slots, seed);
      fleets.set(slots, fleet);
    }
    return fleet.shardFor(tenant.id, tenant.shardSize);
  };
}

/** One tenant's shard. For many tenants over the same fleet, use prepareFleet(...).shardFor. */
export function selectShard(
  slots: readonly PlacementSlot[],
  tenantId: string,
  seed: string | Buffer,
  k: number,
): string[] {
  return prepareFleet(slots, seed).shardFor(tenantId, k);
}
