/**
 * Compile time with placement: `node test/placement/compile-bench.ts [tenants] [slots]`
 * (default: 10k tenants over 50 slots, then 100k over 100). Synthetic rows with one key, one
 * route and one upstream per tenant, slots in 3 zones; reports compile time with and without
 * the placement hook (median of 3 runs): cold (every shard computed: the first compile, or
 * after the fleet's membership changed) and warm (shards kept by the CP's ShardCache: every
 * other version), and the analysis the admin API runs over the same fleet.
 */
import { createHash } from "node:crypto";
import { fleetSlots } from "../../control-plane/fleet/fleet-slots.ts";
import { ShardCache } from "../../control-plane/fleet/shard-cache.ts";
import { analyzePlacement, prepareFleet } from "../../control-plane/placement/index.ts";
import { compileSnapshot } from "../../control-plane/publish/compile.ts";
import type { FleetRows } from "../../control-plane/store/fleet-rows.ts";

const NOW = Date.now();
const T0 = new Date(NOW - 86_400_000);

function rows(tenants: number, slots: number): FleetRows {
  const ids = Array.from({ length: tenants }, (_, i) => `tenant-${String(i).padStart(6, "0")}`);
  return {
    plans: [
      { name: "standard", rate: 100, burst: 200, concurrency: 50, priority: "standard", shard_size: 3 },
    ],
    tenants: ids.map((id, i) => ({
      id,
      name: id,
      plan: "standard",
      status: "active",
      rate: null,
      burst: null,
      concurrency: null,
      priority: null,
      shard_size: i % 10 === 0 ? 5 : null,
      limits_shadow: null,
      limits_disabled: null,
      created_at: T0,
      updated_at: T0,
    })),
    keys: ids.map((id) => ({
      id: `k-${id}`,
      tenant_id: id,
      hash: createHash("sha256").update(id).digest(),
      scopes: ["invoke"],
      revoked_at: null,
    })),
    routes: ids.map((id) => ({
      id: `rt-${id}`,
      tenant_id: id,
      path_prefix: "/",
      hosts: [],
      methods: [],
      upstream_id: `up-${id}`,
      timeout_ms: 15_000,
      protocol: "http" as const,
      strip_prefix: false,
      rate: null,
      burst: null,
      created_at: T0,
    })),
    upstreams: ids.map((id) => ({
      id: `up-${id}`,
      tenant_id: id,
      name: "main",
      targets: ["http://127.0.0.1:8080"],
      connect_timeout_ms: 5_000,
      created_at: T0,
    })),
    nodes: [],
    declaredSlots: Array.from({ length: slots }, (_, i) => ({
      name: `dp-${i}`,
      zone: `zone-${"abc"[i % 3]}`,
      http_url: "",
      grpc_address: "",
      created_at: T0,
      updated_at: T0,
    })),
    dbNowMs: NOW,
  };
}

function median(runs: number[]): number {
  return [...runs].sort((a, b) => a - b)[Math.floor(runs.length / 2)]!;
}

function time(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function bench(tenants: number, slots: number): void {
  const input = rows(tenants, slots);
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
    analyzePlacement(fleet, placedTenants, seed, ["dp-0", "dp-1", "dp-2"]);
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
