/**
 * The incremental shard updates (PlacementFleet.shardAfterAdd / shardAfterRemove) equal shardFor
 * on the new fleet, exactly, after every step of random sequences of slot joins and departures.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type PlacementSlot, PlacementInputError, prepareFleet } from "./shard.ts";

type Step = { add: true; zone: number } | { add: false; pick: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ add: fc.constant(true as const), zone: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ add: fc.constant(false as const), pick: fc.nat() }),
);

const scenarioArb = fc.record({
  zones: fc.integer({ min: 1, max: 4 }),
  zoneOf: fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
  seed: fc.string({ minLength: 1, maxLength: 12 }),
  k: fc.integer({ min: 1, max: 8 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 12 }),
});

const TENANTS = Array.from({ length: 40 }, (_, i) => `tenant-${i}`);

test("incremental shards after random joins and departures equal shardFor on the new fleet", () => {
  fc.assert(
    fc.property(scenarioArb, ({ zones, zoneOf, seed, k, steps }) => {
      let slots: PlacementSlot[] = zoneOf.map((z, i) => ({ name: `dp-${i}`, zone: `zone-${z % zones}` }));
      let fleet = prepareFleet(slots, seed);
      const shards = new Map(TENANTS.map((t) => [t, fleet.shardFor(t, k)]));
      steps.forEach((step, n) => {
        let apply: (tenant: string, current: string[]) => string[];
        if (step.add) {
          // zones 4 and 5 stand for a zone the fleet did not have
          const slot = { name: `joined-${n}`, zone: `zone-${step.zone}` };
          slots = [...slots, slot];
          fleet = prepareFleet(slots, seed);
          apply = (tenant, current) => fleet.shardAfterAdd(tenant, k, current, slot.name);
        } else {
          if (slots.length === 0) return;
          const gone = slots[step.pick % slots.length]!.name;
          slots = slots.filter((s) => s.name !== gone);
          fleet = prepareFleet(slots, seed);
          apply = (tenant, current) => fleet.shardAfterRemove(tenant, k, current, gone);
        }
        for (const tenant of TENANTS) {
          const next = apply(tenant, shards.get(tenant)!);
          assert.deepEqual(next, fleet.shardFor(tenant, k), `${tenant} after step ${n}`);
          shards.set(tenant, next);
        }
      });
    }),
    { numRuns: 300 },
  );
});

test("the incremental updates refuse a slot that does not fit the fleet", () => {
  const slots = [
    { name: "a", zone: "z1" },
    { name: "b", zone: "z2" },
  ];
  const fleet = prepareFleet(slots, "seed");
  assert.throws(() => fleet.shardAfterAdd("t", 2, ["a"], "c"), PlacementInputError);
  assert.throws(() => fleet.shardAfterAdd("t", 2, ["a", "b"], "b"), PlacementInputError);
  assert.throws(() => fleet.shardAfterAdd("t", 2, ["x"], "b"), PlacementInputError);
  assert.throws(() => fleet.shardAfterRemove("t", 2, ["a", "b"], "a"), PlacementInputError);
  assert.throws(() => fleet.shardAfterAdd("", 2, ["a"], "b"), PlacementInputError);
  assert.throws(() => fleet.shardAfterRemove("t", 0, ["a"], "c"), PlacementInputError);
});
