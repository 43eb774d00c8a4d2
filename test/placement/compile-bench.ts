/**
 * Compile time with placement: `node test/placement/compile-bench.ts [tenants] [slots]`
 * (default: 10k tenants over 50 slots, then 100k over 100). The propagation benchmark's synthetic
 * rows (one key, route and upstream per tenant, slots in 3 zones); reports compile time with and without
 * the placement hook (median of 3 runs): cold (every shard computed: the first compile, or
 * after the fleet's membership changed) and warm (shards kept by the CP's ShardCache: every
 * other version), and the analysis the admin API runs over the same fleet.
 */
import { fleetSlots } from "../../control-plane/placement/fleet-slots.ts";
import { ShardCache } from "../../control-plane/fleet/shard-cache.ts";
import { analyzePlacement, prepareFleet } from "../../control-plane/placement/index.ts";
import { compileSnapshot } from "../../control-plane/publish/compile.ts";
import { syntheticRows } from "../../loadtest/propagation/compile-size.ts";

const NOW = Date.now();

function median(runs: number[]): number {
  return [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
}

function time(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function bench(tenants: number, slots: number): void {
  const input = syntheticRows(tenants, slots, NOW);
  const opts = { version: 1, epoch: 1, createdAtMs: NOW, nowMs: NOW };
  const seed = Buffer.alloc(32, 7);
  const plain = median([0, 1, 2].map(() => time(() => compileSnapshot(input, opts))));
  const cold = median(
    [0, 1, 2].map(() =>
      time(() => compileSnapshot(input, { ...opts, shardOf: new ShardCache(seed).generation() })),
    ),
  );
  const cache = new ShardCache(seed);
  compileSnapshot(input, { ...opts, shardOf: cache.generation() });
  const warm = median(
    [0, 1, 2].map(() => time(() => compileSnapshot(input, { ...opts, shardOf: cache.generation() }))),
  );
  const fleet = fleetSlots(input.declaredSlots!, [], {
    nowMs: NOW,
    liveWindowMs: 60_000,
    forgetDelayMs: 600_000,
  });
  const analysis = time(() => {
    const f = prepareFleet(fleet, seed);
    const placedTenants = input.tenants.map((t) => {
      const k = t.shard_size ?? 3;
      return { id: t.id, k, shard: f.shardFor(t.id, k) };
    });
    analyzePlacement(
      fleet,
      placedTenants,
      seed,
      fleet.slice(0, 3).map((slot) => slot.name),
    );
  });
  console.log(
    JSON.stringify({
      tenants,
      slots,
      compileColdMs: Math.round(cold),
      compileWarmMs: Math.round(warm),
      compileWithoutPlacementMs: Math.round(plain),
      analysisMs: Math.round(analysis),
    }),
  );
}

const [tenants, slots] = process.argv.slice(2).map(Number);
if (tenants && slots) bench(tenants, slots);
else {
  bench(10_000, 50);
  bench(100_000, 100);
}
