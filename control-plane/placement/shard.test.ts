import assert from "node:assert/strict";
import { test } from "node:test";
import { PlacementInputError, prepareFleet, selectShard, shardResolver } from "./shard.ts";

const fleet = (count: number, zones: number) =>
  Array.from({ length: count }, (_, i) => ({ name: `dp-${i}`, zone: `zone-${i % zones}` }));

test("the same inputs always give the same shard, in preference order", () => {
  const slots = fleet(12, 3);
  const first = selectShard(slots, "acme", "seed-1", 4);
  assert.equal(first.length, 4);
  assert.deepEqual(selectShard(slots, "acme", "seed-1", 4), first);
  assert.deepEqual(prepareFleet(slots, "seed-1").shardFor("acme", 4), first);
  assert.deepEqual(selectShard([...slots].reverse(), "acme", "seed-1", 4), first);
});

test("a string seed and a Buffer of the same bytes are the same seed", () => {
  const slots = fleet(20, 2);
  assert.deepEqual(selectShard(slots, "t", "s3cret", 5), selectShard(slots, "t", Buffer.from("s3cret"), 5));
});

test("the seed decides the shard: other seeds give other shards for most tenants", () => {
  const a = prepareFleet(fleet(30, 3), "seed-a");
  const b = prepareFleet(fleet(30, 3), "seed-b");
  let same = 0;
  for (let i = 0; i < 200; i++) {
    if (a.shardFor(`t${i}`, 3).join() === b.shardFor(`t${i}`, 3).join()) same++;
  }
  assert.ok(same < 5, `${same} of 200 shards did not depend on the seed`);
});

test("shards spread over zones: one member per zone before any zone gets a second", () => {
  const slots = fleet(12, 3);
  for (let i = 0; i < 50; i++) {
    const shard = selectShard(slots, `tenant-${i}`, "seed", 4);
    const zones = shard.map((name) => slots.find((s) => s.name === name)!.zone);
    assert.equal(new Set(zones.slice(0, 3)).size, 3, `first three picks in three zones: ${zones}`);
  }
});

test("k larger than the fleet gives every slot once", () => {
  const slots = fleet(3, 2);
  const shard = selectShard(slots, "t", "seed", 8);
  assert.deepEqual([...shard].sort(), ["dp-0", "dp-1", "dp-2"]);
});

test("an empty fleet gives an empty shard", () => {
  assert.deepEqual(selectShard([], "t", "seed", 3), []);
});

test("liveness does not change placement", () => {
  const slots = fleet(10, 2);
  const dead = slots.map((s, i) => ({ ...s, live: i % 2 === 0 }));
  assert.deepEqual(selectShard(dead, "t", "seed", 4), selectShard(slots, "t", "seed", 4));
});

test("bad input is refused with a clear error", () => {
  const cases: [string, () => unknown, RegExp][] = [
    [
      "duplicate slot",
      () => selectShard([...fleet(2, 1), { name: "dp-0", zone: "z" }], "t", "s", 1),
      /duplicate/,
    ],
    ["empty slot name", () => selectShard([{ name: "", zone: "z" }], "t", "s", 1), /slot name/],
    ["missing zone", () => selectShard([{ name: "a" } as never], "t", "s", 1), /zone of slot a/],
    ["k zero", () => selectShard(fleet(3, 1), "t", "s", 0), /shard size/],
    ["k fractional", () => selectShard(fleet(3, 1), "t", "s", 1.5), /shard size/],
    ["k huge", () => selectShard(fleet(3, 1), "t", "s", 1000), /shard size/],
    ["empty seed", () => selectShard(fleet(3, 1), "t", "", 1), /seed/],
    ["empty tenant", () => selectShard(fleet(3, 1), "", "s", 1), /tenant id/],
  ];
  for (const [name, run, message] of cases) {
    assert.throws(run, (err: unknown) => {
      assert.ok(err instanceof PlacementInputError, name);
      assert.equal(err.code, "CORRAL_ADMIN_VALIDATION");
      assert.equal(err.status, 400);
      assert.match(err.message, message, name);
      return true;
    });
  }
});

test("shardResolver gives the same shards as selectShard, reusing the fleet's keys", () => {
  const slots = fleet(15, 3);
  const resolve = shardResolver("seed");
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(resolve({ id: `t${i}`, shardSize: 3 }, slots), selectShard(slots, `t${i}`, "seed", 3));
  }
  assert.deepEqual(
    resolve({ id: "t0", shardSize: 3 }, fleet(4, 1)),
    selectShard(fleet(4, 1), "t0", "seed", 3),
  );
});
