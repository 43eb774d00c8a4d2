import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_FORGET_DELAY_MS, effectiveSlots, liveMembers } from "./effective-slots.ts";
import { PlacementInputError, selectShard } from "./shard.ts";

const now = 1_000_000_000;
const known = [
  { name: "dp-2", zone: "b", lastSeenMs: now, live: true },
  { name: "dp-0", zone: "a", lastSeenMs: now - 5 * 60_000, live: false },
  { name: "dp-1", zone: "a", lastSeenMs: now - DEFAULT_FORGET_DELAY_MS, live: false },
  { name: "dp-3", zone: "b", lastSeenMs: now - 3_600_000, live: true },
  { name: "dp-4", zone: "c", lastSeenMs: now + 5_000, live: false },
];

test("vanished slots stay for the forget delay; live ones always stay", () => {
  assert.deepEqual(effectiveSlots(known, now), [
    { name: "dp-0", zone: "a", live: false },
    { name: "dp-2", zone: "b", live: true },
    { name: "dp-3", zone: "b", live: true },
    { name: "dp-4", zone: "c", live: false },
  ]);
});

test("the forget delay is configurable, and zero forgets at once", () => {
  assert.deepEqual(
    effectiveSlots(known, now, 0).map((s) => s.name),
    ["dp-2", "dp-3"],
  );
  assert.deepEqual(
    effectiveSlots(known, now, 2 * 3_600_000).map((s) => s.name),
    ["dp-0", "dp-1", "dp-2", "dp-3", "dp-4"],
  );
});

test("a crashing member keeps the tenant's shard until the forget delay has passed", () => {
  const slots = Array.from({ length: 9 }, (_, i) => ({
    name: `dp-${i}`,
    zone: `z${i % 3}`,
    lastSeenMs: now,
    live: true,
  }));
  const shard = selectShard(effectiveSlots(slots, now), "noisy", "seed", 3);
  const crashed = slots.map((s) => (s.name === shard[0] ? { ...s, live: false } : s));
  const during = effectiveSlots(crashed, now + DEFAULT_FORGET_DELAY_MS - 1);
  assert.deepEqual(selectShard(during, "noisy", "seed", 3), shard);
  assert.deepEqual(liveMembers(shard, during), shard.slice(1));
  const after = effectiveSlots(crashed, now + DEFAULT_FORGET_DELAY_MS);
  const moved = selectShard(after, "noisy", "seed", 3);
  assert.ok(!moved.includes(shard[0]!));
  assert.equal(moved.filter((m) => shard.includes(m)).length, 2);
});

test("liveMembers keeps shard order and drops dead or unknown slots", () => {
  const slots = [
    { name: "a", zone: "z" },
    { name: "b", zone: "z", live: false },
    { name: "c", zone: "z", live: true },
  ];
  assert.deepEqual(liveMembers(["c", "b", "x", "a"], slots), ["c", "a"]);
  assert.deepEqual(liveMembers([], slots), []);
});

test("a bad clock or delay is refused", () => {
  assert.throws(() => effectiveSlots(known, Number.NaN), PlacementInputError);
  assert.throws(() => effectiveSlots(known, now, -1), PlacementInputError);
});
