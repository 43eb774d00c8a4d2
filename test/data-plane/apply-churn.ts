/**
 * Child process of memory-churn.test.ts (run with --expose-gc): config applies with churning
 * tenants through the real apply path (filesystem blob store, ConfigApplier, the snapshot job
 * inline so its memory is this heap's), each version served a little as the request path
 * would (key lookup, tenant decode, the per-tenant and per-route admission state), on an
 * injected clock 10 s apart. Prints the heap after forced GCs at the end of a warm-up and at
 * the end, and the sizes of the per-tenant and per-route maps, as one JSON line.
 *
 *   node --expose-gc test/data-plane/apply-churn.ts [warmup=40] [applies=200] [tenantsPerVersion=40]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import {
  ConcurrencyLimiter,
  RouteLatency,
  RouteLimiter,
  TenantLimiter,
} from "../../data-plane/admission/index.ts";
import { ManualTimers } from "../../data-plane/clock.ts";
import { type ApplyOutcome, ConfigApplier } from "../../data-plane/config-client/config-applier.ts";
import { ConfigSources } from "../../data-plane/config-client/config-sources.ts";
import { SnapshotJob } from "../../data-plane/config-client/snapshot-job.ts";
import { InlineSnapshotLoader } from "../../data-plane/config-client/snapshot-loader.ts";
import { isAdmit } from "../../data-plane/admission/decision.ts";
import { DemandCounter } from "../../data-plane/demand/demand-counter.ts";
import type { LiveConfig } from "../../data-plane/router/live-config.ts";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import * as fx from "./fixtures.ts";

const [warmup = 40, applies = 200, perVersion = 40] = process.argv.slice(2).map(Number);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc");

const pair = fx.signingPair();
const dir = await mkdtemp(join(tmpdir(), "corral-apply-churn-"));
const store = new FsBlobStore(join(dir, "blobs"));
const sources = new ConfigSources(store, join(dir, "data"), fx.CAPACITY);
const timers = new ManualTimers();
let live: LiveConfig | undefined;
let last: ApplyOutcome | undefined;
const applier = new ConfigApplier({
  loader: new InlineSnapshotLoader(new SnapshotJob(sources, pair.publicKey)),
  maxCapacity: fx.CAPACITY,
  timers,
  live: { current: () => live, install: (c) => (live = c) },
  onOutcome: (o) => (last = o),
});

const state = {
  tenants: new TenantLimiter(),
  routes: new RouteLimiter(),
  concurrency: new ConcurrencyLimiter(),
  latency: new RouteLatency(),
  demand: new DemandCounter(),
};
const limits = { rate: 100, burst: 50, shardSize: 1 };

/** Version v: half of the previous version's tenants stay, half are new (ids never seen before). */
function tenantsOf(v: number) {
  return Array.from({ length: perVersion }, (_, i) => {
    const born = i % 2 === 0 ? v - (v % 2) : v; // even slots change every other version
    const id = `t-${born}-${i}`;
    const key = fx.newKey();
    return {
      key: key.key,
      tenant: fx.tenant({
        id,
        upstream: "http://127.0.0.1:9",
        keys: [{ id: `k-${id}`, hash: key.hash }],
        routes: [
          { id: `${id}-r1`, pathPrefix: "/a" },
          { id: `${id}-r2`, pathPrefix: "/b" },
        ],
      }),
    };
  });
}

async function applyVersion(v: number): Promise<void> {
  const specs = tenantsOf(v);
  const published = await fx.publish(
    store,
    fx.sign(
      fx.snapshot(
        v,
        specs.map((s) => s.tenant),
      ),
      pair,
    ),
  );
  applier.request({ kind: "announce", version: v, key: published.key, sha256: published.sha256 });
  await applier.idle();
  if (!last?.ok || live?.version !== v) throw new Error(`version ${v} not applied: ${JSON.stringify(last)}`);
  const now = timers.monotonic();
  for (const { key } of specs) {
    const identity = live.identify(key);
    if (!identity) throw new Error("key not found");
    const t = identity.tenant;
    state.demand.note(t.id, now);
    state.tenants.admit(t.id, limits, now);
    const held = state.concurrency.acquire(t.id, { concurrency: 10 });
    if (isAdmit(held)) held.release?.();
    for (const path of ["/a", "/b"]) {
      const route = t.routes.match("api.example.com", path, "GET");
      if (!route) throw new Error(`no route for ${path}`);
      state.routes.admit(route.id, limits, now);
      state.latency.record(route.id, 3, now);
    }
  }
  timers.advance(10_000);
  // the node sweeps its idle buckets every 30 s
  if (v % 3 === 0) {
    state.tenants.sweep(timers.monotonic());
    state.routes.sweep(timers.monotonic());
  }
}

async function settledHeap(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await nextTurn();
  }
  return process.memoryUsage().heapUsed;
}

let v = 0;
while (v < warmup) await applyVersion(++v);
const before = await settledHeap();
while (v < warmup + applies) await applyVersion(++v);
const after = await settledHeap();
await rm(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({
    before,
    after,
    applied: live?.version,
    decoded: live?.decodedCount,
    sizes: {
      tenantBuckets: state.tenants.size,
      routeBuckets: state.routes.size,
      latencyWindows: state.latency.size,
      demand: state.demand.size,
    },
  }),
);
