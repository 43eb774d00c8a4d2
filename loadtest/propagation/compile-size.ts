/**
 * Compile time and blob size, in-process, with synthetic rows shaped like the benchmark's
 * seeded tenants (one key, one route, one upstream each) over `slots` declared slots: the
 * control plane's compile (control-plane/publish/compile.ts, with shuffle-sharding placement
 * through its ShardCache: cold = every shard computed, warm = shards carried over), then gzip
 * and framing + signing (proto/snapshot-codec.ts). Reports the payload size, the blob size at
 * the given capacity, or the capacity the snapshot would need when it does not fit.
 */
import { createHash, randomBytes } from "node:crypto";
import { ShardCache } from "../../control-plane/fleet/shard-cache.ts";
import { compileSnapshot } from "../../control-plane/publish/compile.ts";
import { tenantRow } from "../../control-plane/publish/test-rows.ts";
import type { FleetRows } from "../../control-plane/store/fleet-rows.ts";
import { generateSigningKeyPair, parsePrivateKey } from "../../proto/signing-keys.ts";
import { compressSnapshot, frameSnapshot, HEADER_SIZE } from "../../proto/snapshot-codec.ts";

const MIB = 1024 * 1024;

export interface CompileFigures {
  tenants: number;
  slots: number;
  compileCold: Timing;
  compileWarm: Timing;
  compress: Timing;
  frameAndSign: Timing;
  payloadBytes: number;
  /** header + payload */
  usedBytes: number;
  capacityBytes: number;
  fits: boolean;
  /** the smallest whole number of MiB that holds it */
  capacityNeededBytes: number;
}

export function syntheticRows(tenants: number, slots: number, nowMs: number): FleetRows {
  const t0 = new Date(nowMs - 86_400_000);
  const ids = Array.from({ length: tenants }, (_, i) => `bench-${String(i + 1).padStart(6, "0")}`);
  const tenant = (id: string, i: number) =>
    tenantRow(id, { name: `Bench tenant ${i + 1}`, created_at: t0, updated_at: t0 });
  return {
    plans: [
      { name: "standard", rate: 100, burst: 200, concurrency: 100, priority: "standard", shard_size: 3 },
    ],
    tenants: ids.map(tenant),
    keys: ids.map((id) => ({
      id: `key-${id}`,
      tenant_id: id,
      hash: createHash("sha256").update(id).digest(),
      scopes: ["invoke"],
      revoked_at: null,
    })),
    routes: ids.map((id) => ({
      id: `rt-${id}`,
      tenant_id: id,
      path_prefix: "/api",
      hosts: [],
      methods: [],
      upstream_id: `up-${id}`,
      timeout_ms: 15_000,
      protocol: "http" as const,
      strip_prefix: false,
      websocket: false,
      websocket_idle_timeout_ms: null,
      websocket_max_connections: null,
      stream_idle_timeout_ms: null,
      websocket_max_message_bytes: null,
      rate: null,
      burst: null,
      retry_attempts: 0,
      retry_statuses: [],
      public: false,
      idempotency: false,
      client_rate: null,
      client_burst: null,
      created_at: t0,
    })),
    upstreams: ids.map((id) => ({
      id: `up-${id}`,
      tenant_id: id,
      name: "main",
      targets: ["http://127.0.0.1:9"],
      connect_timeout_ms: 5000,
      retry_budget_percent: 10,
      retry_budget_min_per_second: 3,
      retry_budget_window_ms: 10_000,
      weights: null,
      health_check: null,
      outlier: null,
      created_at: t0,
    })),
    nodes: [],
    declaredSlots: Array.from({ length: slots }, (_, i) => ({
      name: `sim-${String(i).padStart(4, "0")}`,
      zone: `zone-${"abc"[i % 3]}`,
      http_url: "",
      grpc_address: "",
      created_at: t0,
      updated_at: t0,
    })),
    dbNowMs: nowMs,
  };
}

/** wall time and this thread's CPU time (the machine may be shared: CPU time is ours alone) */
export interface Timing {
  wallMs: number;
  cpuMs: number;
}

function threadCpuMs(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
}

function timed<T>(fn: () => T): [T, Timing] {
  const wall = performance.now();
  const cpu = threadCpuMs();
  const value = fn();
  return [value, { wallMs: performance.now() - wall, cpuMs: threadCpuMs() - cpu }];
}

export function measureCompile(tenants: number, slots: number, capacity: number): CompileFigures {
  const nowMs = Date.now();
  const rows = syntheticRows(tenants, slots, nowMs);
  const opts = { version: 1, epoch: 1, createdAtMs: nowMs, nowMs };
  const cache = new ShardCache(randomBytes(32));
  const [, compileCold] = timed(() => compileSnapshot(rows, { ...opts, shardOf: cache.generation() }));
  const [snapshot, compileWarm] = timed(() =>
    compileSnapshot(rows, { ...opts, shardOf: cache.generation() }),
  );
  const [payload, compress] = timed(() => compressSnapshot(snapshot));
  const usedBytes = HEADER_SIZE + payload.length;
  const capacityNeededBytes = Math.ceil(usedBytes / MIB) * MIB;
  const fits = usedBytes <= capacity;
  const key = parsePrivateKey(generateSigningKeyPair().privateKey);
  const [, frameAndSign] = timed(() =>
    frameSnapshot(snapshot, payload, fits ? capacity : capacityNeededBytes, key),
  );
  return {
    tenants,
    slots,
    compileCold,
    compileWarm,
    compress,
    frameAndSign,
    payloadBytes: payload.length,
    usedBytes,
    capacityBytes: capacity,
    fits,
    capacityNeededBytes,
  };
}
