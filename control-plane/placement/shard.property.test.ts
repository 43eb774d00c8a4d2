/**
 * Properties of placement over many random fleets (fast-check; a failure prints the seed and
 * path to replay it with fc.assert(..., { seed, path })).
 * Exact invariants (stability, zone spread, determinism) run with a fresh seed each time;
 * statistical checks (overlap, balance) use fixed seeds so the suite is deterministic.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { choose, zoneSpreadOverlap } from "./overlap-law.ts";
import { type PlacementSlot, prepareFleet } from "./shard.ts";

type Fleet = { slots: PlacementSlot[]; seed: string; k: number };

const fleetArb = (maxSlots = 60, maxK = 8): fc.Arbitrary<Fleet> =>
  fc
    .record({
      zones: fc.integer({ min: 1, max: 4 }),
      size: fc.integer({ min: 3, max: maxSlots }),
      seed: fc.string({ minLength: 1, maxLength: 12 }),
      k: fc.integer({ min: 1, max: maxK }),
      prefix: fc.constantFrom("dp-", "corral-dp-", "n"),
    })
    .chain(({ zones, size, seed, k, prefix }) =>
      fc
        .array(fc.integer({ min: 0, max: zones - 1 }), { minLength: size, maxLength: size })
        .map((zoneOf) => ({
          seed,
          k,
          slots: zoneOf.map((zone, i) => ({ name: `${prefix}${i}`, zone: `zone-${zone}` })),
        })),
    );

const TENANTS = Array.from({ length: 60 }, (_, i) => `tenant-${i}`);

function diff(before: readonly string[], after: readonly string[]) {
  const a = new Set(before);
  const b = new Set(after);
  return { added: after.filter((m) => !a.has(m)), removed: before.filter((m) => !b.has(m)) };
}

test("adding one slot changes at most one member, and the member that joins is the new slot", () => {
  const arb = fc.tuple(fleetArb(), fc.nat(), fc.boolean());
  fc.assert(
    fc.property(arb, ([{ slots, seed, k }, pick, newZone]) => {
      const zone = newZone ? "zone-new" : slots[pick % slots.length]!.zone;
      const grown = [...slots, { name: "added-slot", zone }];
      const before = prepareFleet(slots, seed);
      const after = prepareFleet(grown, seed);
      for (const tenant of TENANTS) {
        const { added, removed } = diff(before.shardFor(tenant, k), after.shardFor(tenant, k));
        assert.ok(added.length <= 1 && removed.length <= 1, `${tenant}: +${added} -${removed}`);
        assert.ok(
          added.every((m) => m === "added-slot"),
          `${tenant}: unexpected joiner ${added}`,
        );
        assert.equal(after.shardFor(tenant, k).length, Math.min(k, grown.length));
      }
    }),
    { numRuns: 150 },
  );
});

test("removing one slot changes at most one member, and only if the slot was a member", () => {
  fc.assert(
    fc.property(fleetArb(), fc.nat(), ({ slots, seed, k }, pick) => {
      const gone = slots[pick % slots.length]!.name;
      const shrunk = slots.filter((s) => s.name !== gone);
      const before = prepareFleet(slots, seed);
      const after = prepareFleet(shrunk, seed);
      for (const tenant of TENANTS) {
        const old = before.shardFor(tenant, k);
        const { added, removed } = diff(old, after.shardFor(tenant, k));
        assert.ok(added.length <= 1, `${tenant}: +${added}`);
        assert.deepEqual(removed, old.includes(gone) ? [gone] : [], `${tenant}: -${removed}`);
        if (!old.includes(gone)) assert.deepEqual(added, []);
      }
    }),
    { numRuns: 150 },
  );
});

test("zone spread: two zones' member counts differ by more than one only when the smaller is exhausted", () => {
  fc.assert(
    fc.property(fleetArb(), ({ slots, seed, k }) => {
      const sizes = new Map<string, number>();
      for (const s of slots) sizes.set(s.zone, (sizes.get(s.zone) ?? 0) + 1);
      const zoneOf = new Map(slots.map((s) => [s.name, s.zone]));
      const fleet = prepareFleet(slots, seed);
      const roomy = [...sizes.values()].every((n) => n >= Math.ceil(k / sizes.size));
      for (const tenant of TENANTS) {
        const counts = new Map([...sizes.keys()].map((z) => [z, 0]));
        for (const m of fleet.shardFor(tenant, k))
          counts.set(zoneOf.get(m)!, counts.get(zoneOf.get(m)!)! + 1);
        for (const [a, ca] of counts) {
          for (const cb of counts.values())
            assert.ok(ca >= cb - 1 || ca === sizes.get(a), `${tenant}: ${[...counts]}`);
        }
        const values = [...counts.values()];
        if (roomy) assert.ok(Math.max(...values) - Math.min(...values) <= 1, `${tenant}: ${values}`);
      }
    }),
    { numRuns: 150 },
  );
});

test("determinism: same inputs, in any slot order, give the same shards", () => {
  fc.assert(
    fc.property(fleetArb(), fc.integer(), ({ slots, seed, k }, salt) => {
      const shuffled = [...slots].sort((a, b) => hashOrder(a.name, salt) - hashOrder(b.name, salt));
      const one = prepareFleet(slots, seed);
      const two = prepareFleet(shuffled, seed);
      for (const tenant of TENANTS.slice(0, 20)) {
        assert.deepEqual(two.shardFor(tenant, k), one.shardFor(tenant, k));
        assert.deepEqual(one.shardFor(tenant, k), one.shardFor(tenant, k));
      }
    }),
    { numRuns: 100 },
  );
});

function hashOrder(name: string, salt: number): number {
  let h = salt | 0;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x9e3779b1);
  return h;
}

/** Full-overlap frequency of `pairs` independent tenant pairs vs theory, within 4 standard errors. */
function checkFullOverlap(slots: PlacementSlot[], seed: string, k: number, expected: number, pairs: number) {
  const fleet = prepareFleet(slots, seed);
  let full = 0;
  for (let i = 0; i < pairs; i++) {
    const a = fleet.shardFor(`a-${i}`, k);
    const b = new Set(fleet.shardFor(`b-${i}`, k));
    if (a.every((m) => b.has(m))) full++;
  }
  const se = Math.sqrt((expected * (1 - expected)) / pairs);
  const observed = full / pairs;
  assert.ok(
    Math.abs(observed - expected) <= 4 * se,
    `N=${slots.length} k=${k}: full overlap ${observed.toFixed(5)} vs expected ${expected.toFixed(5)} (se ${se.toFixed(5)})`,
  );
}

test("one zone: full-overlap frequency is 1/C(N,k) within 4 standard errors", () => {
  const arb = fc
    .record({
      n: fc.integer({ min: 3, max: 14 }),
      k: fc.integer({ min: 1, max: 4 }),
      seed: fc.string({ minLength: 1 }),
    })
    .filter(({ n, k }) => k < n && choose(n, k) <= 250);
  fc.assert(
    fc.property(arb, ({ n, k, seed }) => {
      const slots = Array.from({ length: n }, (_, i) => ({ name: `dp-${i}`, zone: "zone-a" }));
      checkFullOverlap(slots, seed, k, 1 / choose(n, k), 12_000);
    }),
    { numRuns: 12, seed: 4242 },
  );
});

test("several zones: full-overlap frequency matches the exact zone-spread law within 4 standard errors", () => {
  const arb = fc
    .record({
      sizes: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 2, maxLength: 4 }),
      k: fc.integer({ min: 2, max: 5 }),
      seed: fc.string({ minLength: 1 }),
    })
    .filter(({ sizes, k }) => {
      const p = zoneSpreadOverlap(sizes, k, k).at(-1)!;
      return k < sizes.reduce((a, b) => a + b, 0) && p >= 0.004;
    });
  fc.assert(
    fc.property(arb, ({ sizes, k, seed }) => {
      const slots = sizes.flatMap((n, z) =>
        Array.from({ length: n }, (_, i) => ({ name: `dp-${z}-${i}`, zone: `z${z}` })),
      );
      checkFullOverlap(slots, seed, k, zoneSpreadOverlap(sizes, k, k).at(-1)!, 12_000);
    }),
    { numRuns: 12, seed: 1717 },
  );
});

test("balance: per-slot tenant counts within ±15 % of the mean (10k tenants, 50 slots)", () => {
  const configs = [
    { zones: 1, k: 4, seed: "balance-1" },
    { zones: 2, k: 3, seed: "balance-2" },
    { zones: 5, k: 4, seed: "balance-3" },
    { zones: 5, k: 8, seed: "balance-4" },
    { zones: 10, k: 6, seed: "balance-5" },
  ];
  for (const { zones, k, seed } of configs) {
    const slots = Array.from({ length: 50 }, (_, i) => ({
      name: `corral-dp-${i}`,
      zone: `zone-${i % zones}`,
    }));
    const fleet = prepareFleet(slots, seed);
    const load = new Map(slots.map((s) => [s.name, 0]));
    for (let t = 0; t < 10_000; t++)
      for (const m of fleet.shardFor(`tenant-${t}`, k)) load.set(m, load.get(m)! + 1);
    const mean = (10_000 * k) / 50;
    for (const [slot, count] of load) {
      assert.ok(
        Math.abs(count - mean) <= 0.15 * mean,
        `zones=${zones} k=${k}: ${slot} has ${count}, mean ${mean}`,
      );
    }
  }
});
