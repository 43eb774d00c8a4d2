import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type PlacementSlot, prepareFleet } from "../placement/index.ts";
import { MAX_INCREMENTAL_SLOTS, ShardCache } from "./shard-cache.ts";

const SEED = "shard-cache-seed";
const fleet = (n: number, live = true): PlacementSlot[] =>
  Array.from({ length: n }, (_, i) => ({ name: `dp-${i}`, zone: `zone-${i % 3}`, live }));
const tenants = Array.from({ length: 200 }, (_, i) => ({ id: `t-${i}`, shardSize: 1 + (i % 5) }));

test("cached shards equal freshly computed ones", () => {
  const cache = new ShardCache(SEED);
  const slots = fleet(12);
  const direct = prepareFleet(slots, SEED);
  for (let round = 0; round < 2; round++) {
    const lookup = cache.generation();
    for (const t of tenants) assert.deepEqual(lookup(t, slots), direct.shardFor(t.id, t.shardSize));
  }
  assert.equal(cache.misses, tenants.length, "the second compile computed nothing");
});

test("liveness changes keep the cache; a k change recomputes", () => {
  const cache = new ShardCache(SEED);
  cache.generation()(tenants[0]!, fleet(12));
  cache.generation()(tenants[0]!, fleet(12, false));
  assert.equal(cache.misses, 1, "a new slots array with the same members is the same fleet");
  cache.generation()({ id: "t-0", shardSize: 4 }, fleet(12));
  assert.equal(cache.misses, 2);
});

/** Every tenant's cached shard over `slots` equals a fresh one; returns the misses it took. */
function compileAndCheck(cache: ShardCache, slots: PlacementSlot[]): number {
  const before = cache.misses;
  const lookup = cache.generation();
  const direct = prepareFleet(slots, SEED);
  for (const t of tenants) assert.deepEqual(lookup(t, slots), direct.shardFor(t.id, t.shardSize), t.id);
  return cache.misses - before;
}

test("small membership changes update kept shards (joins, departures, a rezoned slot, a new zone), no recompute", () => {
  const cache = new ShardCache(SEED);
  let slots = fleet(12);
  assert.equal(compileAndCheck(cache, slots), tenants.length);
  const changes: ((s: PlacementSlot[]) => PlacementSlot[])[] = [
    (s) => [...s, { name: "dp-new", zone: "zone-1" }],
    (s) => s.filter((x) => x.name !== "dp-3"),
    (s) => s.map((x) => (x.name === "dp-0" ? { ...x, zone: "zone-9" } : x)),
    (s) => [...s.filter((x) => x.name !== "dp-5" && x.name !== "dp-7"), { name: "dp-a", zone: "zone-2" }],
    (s) => [...s].reverse(),
  ];
  for (const change of changes) {
    slots = change(slots);
    const updates = cache.updates;
    assert.equal(compileAndCheck(cache, slots), 0, "no shard computed from scratch");
    assert.ok(change === changes.at(-1) || cache.updates - updates === tenants.length);
  }
});

test("a shard not looked up for several changes catches up through all of them", () => {
  const cache = new ShardCache(SEED);
  let slots = fleet(9);
  cache.lookup({ id: "report", shardSize: 3 }, slots);
  for (let i = 0; i < 5; i++) {
    slots = [...slots.slice(1), { name: `late-${i}`, zone: `zone-${i % 4}` }];
    cache.lookup({ id: "other", shardSize: 2 }, slots);
  }
  assert.deepEqual(
    cache.lookup({ id: "report", shardSize: 3 }, slots),
    prepareFleet(slots, SEED).shardFor("report", 3),
  );
  assert.equal(cache.misses, 2, "'report' was updated, not recomputed");
});

test("a large membership change recomputes every shard", () => {
  const cache = new ShardCache(SEED);
  compileAndCheck(cache, fleet(12));
  const many = Array.from({ length: MAX_INCREMENTAL_SLOTS + 1 }, (_, i) => ({
    name: `x-${i}`,
    zone: "zone-0",
  }));
  assert.equal(compileAndCheck(cache, [...fleet(12), ...many]), tenants.length);
  assert.equal(compileAndCheck(cache, [...fleet(12), ...many.slice(1)]), 0, "one departure is a step again");
});

test("an invalid new fleet is refused and the cache keeps working with the valid one", () => {
  const cache = new ShardCache(SEED);
  compileAndCheck(cache, fleet(6));
  assert.throws(
    () => cache.lookup(tenants[0]!, [...fleet(6), { name: "dp-1", zone: "zone-0" }]),
    /duplicate/,
  );
  assert.equal(compileAndCheck(cache, fleet(6)), 0);
  assert.equal(compileAndCheck(cache, fleet(7)), 0);
});

test("tenants a compile no longer asks for are dropped after one generation; reports keep it", () => {
  const cache = new ShardCache(SEED);
  const slots = fleet(6);
  cache.generation()({ id: "gone", shardSize: 2 }, slots);
  cache.lookup({ id: "gone", shardSize: 2 }, slots);
  assert.equal(cache.misses, 1, "a report between compiles hits");
  cache.generation()({ id: "other", shardSize: 2 }, slots);
  cache.generation()({ id: "other", shardSize: 2 }, slots);
  cache.lookup({ id: "gone", shardSize: 2 }, slots);
  assert.equal(cache.misses, 3, "'gone' was dropped and computed again");
});

test("returned shards are copies: changing one does not change the cache", () => {
  const cache = new ShardCache(SEED);
  const slots = fleet(6);
  const first = cache.generation()({ id: "t", shardSize: 3 }, slots);
  first.pop();
  assert.equal(cache.lookup({ id: "t", shardSize: 3 }, slots).length, 3);
});

test("a shard older than the kept steps is computed again", () => {
  const cache = new ShardCache(SEED);
  let slots = fleet(6);
  cache.lookup({ id: "old", shardSize: 2 }, slots);
  for (let i = 0; i < 20; i++) {
    slots = [...slots, { name: `more-${i}`, zone: "zone-1" }];
    cache.lookup({ id: "busy", shardSize: 2 }, slots);
  }
  const misses = cache.misses;
  assert.deepEqual(
    cache.lookup({ id: "old", shardSize: 2 }, slots),
    prepareFleet(slots, SEED).shardFor("old", 2),
  );
  assert.equal(cache.misses, misses + 1);
});

test("random batches of joins, departures and zone moves: cached shards equal fresh ones", () => {
  const batch = fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant("join" as const), zone: fc.integer({ min: 0, max: 4 }) }),
      fc.record({
        kind: fc.constantFrom("leave" as const, "move" as const),
        pick: fc.nat(),
        zone: fc.nat(4),
      }),
    ),
    { maxLength: MAX_INCREMENTAL_SLOTS + 2 },
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }),
      fc.array(batch, { minLength: 1, maxLength: 5 }),
      (n, batches) => {
        const cache = new ShardCache(SEED);
        let slots = fleet(n);
        let joined = 0;
        compileAndCheck(cache, slots);
        for (const changes of batches) {
          for (const c of changes) {
            if (c.kind === "join") {
              slots = [...slots, { name: `j-${joined++}`, zone: `zone-${c.zone}`, live: true }];
              continue;
            }
            const victim = slots[c.pick % Math.max(slots.length, 1)];
            if (c.kind === "leave") slots = slots.filter((s) => s !== victim);
            else slots = slots.map((s) => (s === victim ? { ...s, zone: `zone-${c.zone}` } : s));
          }
          compileAndCheck(cache, slots);
        }
      },
    ),
    { numRuns: 60 },
  );
});
