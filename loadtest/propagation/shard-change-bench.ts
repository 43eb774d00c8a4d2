/**
 * Shards after a slot-set change, in process: `tenants` tenants over `slots` slots in three
 * zones (the propagation scenario's names and shard size 3), then one slot added, one slot
 * removed and one slot moved to another zone. For each change: the full recompute (every
 * tenant's shard on the new fleet, what the shard cache did before) against the shard cache's
 * update from the difference; every updated shard is compared with the recomputed one.
 *
 *   npx node loadtest/propagation/shard-change-bench.ts 100000 1000 3
 */
import { ShardCache } from "../../control-plane/fleet/shard-cache.ts";
import { type PlacementSlot, prepareFleet } from "../../control-plane/placement/index.ts";

const tenants = Number(process.argv[2] ?? 100_000);
const slotCount = Number(process.argv[3] ?? 1000);
const shardSize = Number(process.argv[4] ?? 3);
const seed = "shard-change-bench";
const ids = Array.from({ length: tenants }, (_, i) => ({
  id: `bench-${String(i).padStart(6, "0")}`,
  shardSize,
}));
const zone = (i: number) => `zone-${"abc"[i % 3]}`;
let slots: PlacementSlot[] = Array.from({ length: slotCount }, (_, i) => ({
  name: `sim-${String(i).padStart(4, "0")}`,
  zone: zone(i),
}));

const cache = new ShardCache(seed);
const timed = <T>(run: () => T): [T, number] => {
  const started = performance.now();
  const result = run();
  return [result, performance.now() - started];
};
const [, first] = timed(() => {
  const lookup = cache.generation();
  for (const t of ids) lookup(t, slots);
});
console.log(`first: ${first.toFixed(0)} ms (${cache.misses} shards computed)`);

const changes: [string, (s: PlacementSlot[]) => PlacementSlot[]][] = [
  ["one slot added", (s) => [...s, { name: "sim-extra", zone: "zone-b" }]],
  ["one slot removed", (s) => s.filter((x) => x.name !== "sim-0421")],
  [
    "one slot moved to another zone",
    (s) => s.map((x) => (x.name === "sim-0007" ? { ...x, zone: "zone-c" } : x)),
  ],
];
for (const [what, change] of changes) {
  slots = change(slots);
  const [full, fullMs] = timed(() => {
    const fleet = prepareFleet(slots, seed);
    return ids.map((t) => fleet.shardFor(t.id, t.shardSize));
  });
  const misses = cache.misses;
  const updates = cache.updates;
  const [kept, keptMs] = timed(() => {
    const lookup = cache.generation();
    return ids.map((t) => lookup(t, slots));
  });
  const wrong = kept.filter((shard, i) => shard.join() !== full[i]!.join()).length;
  if (wrong > 0) throw new Error(`${what}: ${wrong} shards differ from the full recompute`);
  console.log(
    `${what}: full recompute ${fullMs.toFixed(0)} ms; from the difference ${keptMs.toFixed(0)} ms ` +
      `(${cache.updates - updates} updated, ${cache.misses - misses} computed; all equal)`,
  );
}
