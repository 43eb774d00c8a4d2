/**
 * Blast-radius analysis for the admin API: fleet size, shard sizes, how tenants' shards overlap
 * (measured, against theory) and which tenants lose every member of their shard if a given set
 * of slots dies. Pure: the caller passes the fleet, the tenants and, for sampling, a random source.
 */
import { hypergeometricOverlap, zoneSpreadOverlap } from "./overlap-law.ts";
import { checkShardSize, type PlacementSlot, PlacementInputError, prepareFleet } from "./shard.ts";

export type PlacementTenant = { id: string; k: number; shard?: readonly string[] };
export type AnalysisOptions = {
  /** uniform in [0, 1), used to sample tenant pairs; default: a fixed-seed generator */
  random?: () => number;
  /** at most this many tenant pairs are measured (all pairs when there are fewer) */
  maxPairs?: number;
  /** at most this many tenant ids are listed as losing their whole shard */
  maxListed?: number;
};

export type OverlapRow = {
  overlap: number;
  pairs: number;
  fraction: number;
  /** expected fraction if shards were uniform k-subsets of all N slots */
  hypergeometric: number;
  /** expected fraction under zone-spread placement (what this placement promises) */
  zoneSpread: number;
};

export type PlacementAnalysis = {
  n: number;
  zones: { zone: string; slots: number }[];
  tenants: number;
  shardSizes: { k: number; tenants: number }[];
  slotLoad: { min: number; max: number; mean: number };
  overlap: {
    pairs: number;
    sampled: boolean;
    distribution: OverlapRow[];
    fullOverlap: Omit<OverlapRow, "overlap">;
  };
  failure: { failedSlots: string[]; tenantsLosingWholeShard: string[]; count: number; truncated: boolean };
};

/** mulberry32: a small deterministic PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shardsOf(
  slots: readonly PlacementSlot[],
  tenants: readonly PlacementTenant[],
  seed: string | Buffer,
) {
  const fleet = prepareFleet(slots, seed);
  const ids = new Set<string>();
  return tenants.map((tenant) => {
    if (ids.has(tenant.id)) throw new PlacementInputError(`duplicate tenant id ${tenant.id}`);
    ids.add(tenant.id);
    checkShardSize(tenant.k);
    return {
      id: tenant.id,
      k: tenant.k,
      shard: tenant.shard ? [...tenant.shard] : fleet.shardFor(tenant.id, tenant.k),
    };
  });
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
  return counts;
}

function* tenantPairs(count: number, maxPairs: number, random: () => number): Generator<[number, number]> {
  if ((count * (count - 1)) / 2 <= maxPairs) {
    for (let i = 0; i < count; i++) for (let j = i + 1; j < count; j++) yield [i, j];
    return;
  }
  for (let p = 0; p < maxPairs; p++) {
    const i = Math.floor(random() * count);
    let j = Math.floor(random() * (count - 1));
    if (j >= i) j++;
    yield [i, j];
  }
}

type Shard = { shard: string[] };
type Law = { hyper: number[]; zones: number[] };

/** Sums observed overlaps and, pair by pair, the two theoretical laws for the same shard sizes. */
class OverlapTally {
  pairs = 0;
  readonly #observed: number[] = [];
  readonly #hyper: number[] = [];
  readonly #zones: number[] = [];
  readonly #full = { pairs: 0, hypergeometric: 0, zoneSpread: 0 };
  readonly #laws = new Map<string, Law>();
  readonly #zoneSizes: number[];
  readonly #n: number;

  constructor(zoneSizes: number[], n: number) {
    this.#zoneSizes = zoneSizes;
    this.#n = n;
  }

  add(a: readonly string[], b: readonly string[]): void {
    const law = this.#law(a.length, b.length);
    const members = new Set(a);
    const overlap = b.filter((slot) => members.has(slot)).length;
    this.#observed[overlap] = (this.#observed[overlap] ?? 0) + 1;
    addInto(this.#hyper, law.hyper);
    addInto(this.#zones, law.zones);
    const fullAt = Math.min(a.length, b.length);
    if (overlap === fullAt) this.#full.pairs++;
    this.#full.hypergeometric += law.hyper[fullAt] ?? 0;
    this.#full.zoneSpread += law.zones[fullAt] ?? 0;
    this.pairs++;
  }

  rows(): OverlapRow[] {
    const per = (x: number | undefined) => (x ?? 0) / Math.max(this.pairs, 1);
    const length = Math.max(this.#observed.length, this.#hyper.length);
    return Array.from({ length }, (_, overlap) => ({
      overlap,
      pairs: this.#observed[overlap] ?? 0,
      fraction: per(this.#observed[overlap]),
      hypergeometric: per(this.#hyper[overlap]),
      zoneSpread: per(this.#zones[overlap]),
    }));
  }

  fullOverlap(): Omit<OverlapRow, "overlap"> {
    const per = (x: number) => x / Math.max(this.pairs, 1);
    const full = this.#full;
    return {
      pairs: full.pairs,
      fraction: per(full.pairs),
      hypergeometric: per(full.hypergeometric),
      zoneSpread: per(full.zoneSpread),
    };
  }

  #law(a: number, b: number): Law {
    const key = `${a},${b}`;
    let law = this.#laws.get(key);
    if (!law) {
      law = { hyper: hypergeometricOverlap(this.#n, a, b), zones: zoneSpreadOverlap(this.#zoneSizes, a, b) };
      this.#laws.set(key, law);
    }
    return law;
  }
}

function addInto(sum: number[], values: readonly number[]): void {
  for (let i = 0; i < values.length; i++) sum[i] = (sum[i] ?? 0) + values[i]!;
}

function measureOverlap(shards: Shard[], zoneSizes: number[], n: number, options: AnalysisOptions) {
  const maxPairs = options.maxPairs ?? 20_000;
  const tally = new OverlapTally(zoneSizes, n);
  for (const [i, j] of tenantPairs(shards.length, maxPairs, options.random ?? seededRandom(0x5eed))) {
    tally.add(shards[i]!.shard, shards[j]!.shard);
  }
  const sampled = (shards.length * (shards.length - 1)) / 2 > maxPairs;
  return { pairs: tally.pairs, sampled, distribution: tally.rows(), fullOverlap: tally.fullOverlap() };
}

function wholeShardLosses(
  shards: (Shard & { id: string })[],
  slots: readonly PlacementSlot[],
  failedSlots: readonly string[],
  maxListed: number,
) {
  const known = new Set(slots.map((slot) => slot.name));
  for (const name of failedSlots) {
    if (!known.has(name)) throw new PlacementInputError(`failed slot ${name} is not in the fleet`);
  }
  const failed = new Set(failedSlots);
  const losers = shards
    .filter((s) => s.shard.length > 0 && s.shard.every((m) => failed.has(m)))
    .map((s) => s.id);
  return {
    failedSlots: [...failed].sort(),
    tenantsLosingWholeShard: losers.slice(0, maxListed),
    count: losers.length,
    truncated: losers.length > maxListed,
  };
}

export function analyzePlacement(
  slots: readonly PlacementSlot[],
  tenants: readonly PlacementTenant[],
  seed: string | Buffer,
  failedSlots: readonly string[],
  options: AnalysisOptions = {},
): PlacementAnalysis {
  const shards = shardsOf(slots, tenants, seed);
  const zoneCounts = countBy(slots, (slot) => slot.zone);
  const load = countBy(
    shards.flatMap((s) => s.shard),
    (name) => name,
  );
  const loads = slots.map((slot) => load.get(slot.name) ?? 0);
  return {
    n: slots.length,
    zones: [...zoneCounts]
      .map(([zone, count]) => ({ zone, slots: count }))
      .sort((a, b) => (a.zone < b.zone ? -1 : 1)),
    tenants: tenants.length,
    shardSizes: [...countBy(tenants, (t) => String(t.k))]
      .map(([k, count]) => ({ k: Number(k), tenants: count }))
      .sort((a, b) => a.k - b.k),
    slotLoad: {
      min: loads.length ? Math.min(...loads) : 0,
      max: loads.length ? Math.max(...loads) : 0,
      mean: loads.length ? loads.reduce((sum, x) => sum + x, 0) / loads.length : 0,
    },
    overlap: measureOverlap(shards, [...zoneCounts.values()], slots.length, options),
    failure: wholeShardLosses(shards, slots, failedSlots, options.maxListed ?? 1000),
  };
}
