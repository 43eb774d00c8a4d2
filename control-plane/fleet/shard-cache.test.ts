import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareFleet } from "../placement/index.ts";
import { ShardCache } from "./shard-cache.ts";

const SEED = "shard-cache-seed";
const fleet = (n: number, live = true) =>
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

test("liveness changes keep the cache; membership, zone and k changes recompute", () => {
  const cache = new ShardCache(SEED);
  cache.generation()(tenants[0]!, fleet(12));
  cache.generation()(tenants[0]!, fleet(12, false));
  assert.equal(cache.misses, 1, "a new slots array with the same members is the same fleet");
  const grown = fleet(13);
  assert.deepEqual(cache.generation()(tenants[0]!, grown), prepareFleet(grown, SEED).shardFor("t-0", 1));
  const rezoned = fleet(13).map((s) => (s.name === "dp-0" ? { ...s, zone: "zone-9" } : s));
  cache.generation()(tenants[0]!, rezoned);
  cache.generation()({ id: "t-0", shardSize: 4 }, rezoned);
  assert.equal(cache.misses, 4);
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
