import assert from "node:assert/strict";
import { test } from "node:test";
import { analyzePlacement, seededRandom } from "./analysis.ts";
import { PlacementInputError, prepareFleet } from "./shard.ts";

const slots = Array.from({ length: 12 }, (_, i) => ({ name: `dp-${i}`, zone: `zone-${i % 3}` }));

test("reports N, zones, shard sizes and slot load", () => {
  const tenants = [
    { id: "a", k: 2 },
    { id: "b", k: 3 },
    { id: "c", k: 3 },
  ];
  const report = analyzePlacement(slots, tenants, "seed", []);
  assert.equal(report.n, 12);
  assert.deepEqual(report.zones, [
    { zone: "zone-0", slots: 4 },
    { zone: "zone-1", slots: 4 },
    { zone: "zone-2", slots: 4 },
  ]);
  assert.deepEqual(report.shardSizes, [
    { k: 2, tenants: 1 },
    { k: 3, tenants: 2 },
  ]);
  assert.equal(report.slotLoad.mean, 8 / 12);
  assert.equal(report.overlap.pairs, 3);
  assert.equal(report.overlap.sampled, false);
  assert.deepEqual(report.failure, {
    failedSlots: [],
    tenantsLosingWholeShard: [],
    count: 0,
    truncated: false,
  });
});

test("lists exactly the tenants whose whole shard is on the failed slots", () => {
  const tenants = Array.from({ length: 300 }, (_, i) => ({ id: `t${i}`, k: i % 2 ? 2 : 3 }));
  const fleet = prepareFleet(slots, "seed");
  const failed = ["dp-0", "dp-1", "dp-2", "dp-4"];
  const expected = tenants
    .filter((t) => fleet.shardFor(t.id, t.k).every((m) => failed.includes(m)))
    .map((t) => t.id);
  assert.ok(expected.length > 0, "the chosen failure should take some tenant down");
  const report = analyzePlacement(slots, tenants, "seed", failed, { maxListed: 2 });
  assert.equal(report.failure.count, expected.length);
  assert.deepEqual(report.failure.tenantsLosingWholeShard, expected.slice(0, 2));
  assert.equal(report.failure.truncated, expected.length > 2);
});

test("measured overlap distribution follows the zone-spread law; hypergeometric law shown beside it", () => {
  const one = Array.from({ length: 10 }, (_, i) => ({ name: `dp-${i}`, zone: "z" }));
  const tenants = Array.from({ length: 2000 }, (_, i) => ({ id: `t${i}`, k: 3 }));
  const report = analyzePlacement(one, tenants, "seed", [], { maxPairs: 20_000, random: seededRandom(7) });
  assert.equal(report.overlap.sampled, true);
  assert.equal(report.overlap.pairs, 20_000);
  for (const row of report.overlap.distribution) {
    assert.ok(Math.abs(row.hypergeometric - row.zoneSpread) < 1e-9, "one zone: both laws agree");
    const se = Math.sqrt((row.zoneSpread * (1 - row.zoneSpread)) / 20_000);
    assert.ok(
      Math.abs(row.fraction - row.zoneSpread) <= 4 * se + 1e-12,
      `overlap ${row.overlap}: ${JSON.stringify(row)}`,
    );
  }
  assert.ok(Math.abs(report.overlap.fullOverlap.hypergeometric - 1 / 120) < 1e-9);
});

test("zone spread makes full overlap likelier than the zone-blind law, and the report says by how much", () => {
  const tenants = Array.from({ length: 400 }, (_, i) => ({ id: `t${i}`, k: 3 }));
  const { fullOverlap } = analyzePlacement(slots, tenants, "seed", []).overlap;
  assert.ok(Math.abs(fullOverlap.zoneSpread - 1 / 64) < 1e-9);
  assert.ok(Math.abs(fullOverlap.hypergeometric - 1 / 220) < 1e-9);
});

test("precomputed shards (from a snapshot) are used as given", () => {
  const report = analyzePlacement(slots, [{ id: "x", k: 2, shard: ["dp-0", "dp-1"] }], "seed", [
    "dp-0",
    "dp-1",
  ]);
  assert.deepEqual(report.failure.tenantsLosingWholeShard, ["x"]);
});

test("unknown failed slots and duplicate tenants are refused", () => {
  assert.throws(() => analyzePlacement(slots, [], "seed", ["nope"]), PlacementInputError);
  assert.throws(
    () =>
      analyzePlacement(
        slots,
        [
          { id: "a", k: 1 },
          { id: "a", k: 2 },
        ],
        "seed",
        [],
      ),
    /duplicate tenant/,
  );
});
