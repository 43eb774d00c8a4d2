import assert from "node:assert/strict";
import { test } from "node:test";
import type { DemandReport } from "../admission/demand-share.ts";
import { ManualTimers } from "../clock.ts";
import { DemandCounter } from "./demand-counter.ts";
import type { DemandStore, OwnDemand } from "./demand-store.ts";
import { ShareRebalancer, type ShareTarget } from "./share-rebalancer.ts";

/** Redis-like: one hash per tenant, field = slot; can be taken down or made to hang. */
class MemoryStore implements DemandStore {
  readonly hashes = new Map<string, Map<string, DemandReport>>();
  mode: "up" | "down" | "hang" = "up";
  exchanges = 0;

  async exchange(slot: string, own: readonly OwnDemand[], nowMs: number) {
    this.exchanges++;
    if (this.mode === "down") throw new Error("connection refused");
    if (this.mode === "hang") return new Promise<never>(() => {});
    const out = new Map<string, DemandReport[]>();
    for (const { tenant, demand } of own) {
      const hash = this.hashes.get(tenant) ?? new Map<string, DemandReport>();
      hash.set(slot, { member: slot, demand, atMs: nowMs });
      this.hashes.set(tenant, hash);
      out.set(tenant, [...hash.values()]);
    }
    return out;
  }

  async close() {}
}

class Shares implements ShareTarget {
  readonly set = new Map<string, number>();
  readonly cleared: string[] = [];
  readonly shards = new Map<string, string[]>([["acme", ["dp-0", "dp-1", "dp-2"]]]);
  rate = 100;
  tenantOf = (tenant: string) => {
    const shard = this.shards.get(tenant);
    return shard && { shard, rate: this.rate };
  };
  setShare = (tenant: string, share: number) => void this.set.set(tenant, share);
  clearShare = (tenant: string) => {
    this.set.delete(tenant);
    this.cleared.push(tenant);
  };
}

function node(slot: string, store: DemandStore, timers: ManualTimers, errors: unknown[] = []) {
  const counter = new DemandCounter();
  const target = new Shares();
  const rebalancer = new ShareRebalancer({
    slot,
    store,
    counter,
    target,
    timers,
    random: () => 0.5,
    onError: (e) => errors.push(e),
  });
  return { counter, target, rebalancer };
}

/** `perSecond` requests of acme per node over the last second, then one exchange each. */
async function round(timers: ManualTimers, nodes: ReturnType<typeof node>[], perSecond: number[]) {
  const start = timers.now();
  nodes.forEach((n, i) => {
    for (let k = 0; k < perSecond[i]!; k++) n.counter.note("acme", start + (k * 1000) / perSecond[i]!);
  });
  timers.advance(1000);
  for (const n of nodes) await n.rebalancer.tick();
}

test("all the demand on one member: it gets nearly the whole limit", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const [a, b, c] = ["dp-0", "dp-1", "dp-2"].map((s) => node(s, store, timers));
  await round(timers, [a!, b!, c!], [200, 0, 0]);
  const share = a!.target.set.get("acme")!;
  assert.ok(Math.abs(share - (0.05 / 3 + 0.95)) < 1e-9, `share ${share}`);
  assert.equal(b!.target.set.has("acme"), false, "an idle member reports nothing and keeps 1/k");
});

test("even demand: even shares that sum to 1", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const nodes = ["dp-0", "dp-1", "dp-2"].map((s) => node(s, store, timers));
  await round(timers, nodes, [60, 60, 60]);
  await round(timers, nodes, [60, 60, 60]);
  const shares = nodes.map((n) => n.target.set.get("acme")!);
  for (const s of shares) assert.ok(Math.abs(s - 1 / 3) < 1e-9);
});

test("uneven demand: shares follow it", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const nodes = ["dp-0", "dp-1", "dp-2"].map((s) => node(s, store, timers));
  await round(timers, nodes, [100, 50, 50]);
  await round(timers, nodes, [100, 50, 50]);
  const [a, b, c] = nodes.map((n) => n.target.set.get("acme")!);
  assert.ok(Math.abs(a! - (0.05 / 3 + 0.95 * 0.5)) < 0.01, `busiest member's share ${a}`);
  assert.ok(Math.abs(b! - c!) < 1e-9 && Math.abs(a! + b! + c! - 1) < 1e-9);
});

test("a member that has just started to get a tenant's traffic keeps a fair share", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const [a, b] = ["dp-0", "dp-1"].map((s) => node(s, store, timers));
  await round(timers, [a!], [100]); // a reports 100 req/s
  const now = timers.now();
  for (let k = 0; k < 5; k++) b!.counter.note("acme", now - 50 + k * 10); // b: 5 requests in the last 50 ms
  await b!.rebalancer.tick();
  const share = b!.target.set.get("acme")!;
  assert.ok(share > 0.25, `b's share ${share}, not the floor`);
});

test("below the limit, a member idle for a moment keeps headroom, not the floor", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const [a, b] = ["dp-0", "dp-1"].map((s) => node(s, store, timers));
  await round(timers, [a!, b!], [20, 1]);
  timers.advance(2000); // b's single request is now older than its window; a keeps sending
  await round(timers, [a!, b!], [20, 0]);
  const share = b!.target.set.get("acme")!;
  assert.ok(Math.abs(share - (0.05 / 3 + 0.95 * (80 / 3 / 100))) < 0.01, `b's share ${share}`);
});

test("store down: the last shares stay, the error is reported, nothing is thrown", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const errors: unknown[] = [];
  const a = node("dp-0", store, timers, errors);
  await round(timers, [a], [100]);
  const before = a.target.set.get("acme");
  store.mode = "down";
  await round(timers, [a], [100]);
  assert.equal(a.target.set.get("acme"), before);
  assert.equal(errors.length, 1);
});

test("a hanging store times out; exchanges never overlap", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const errors: unknown[] = [];
  const a = node("dp-0", store, timers, errors);
  a.counter.note("acme", timers.now());
  store.mode = "hang";
  const first = a.rebalancer.tick();
  const second = a.rebalancer.tick();
  assert.equal(first, second, "a tick while one runs joins it");
  timers.advance(1000);
  await first;
  assert.equal(store.exchanges, 1);
  assert.match(String(errors[0]), /timed out/);
});

test("tenants not shared with other members, or gone quiet, are not reported and get 1/k back", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const a = node("dp-0", store, timers);
  a.target.shards.set("solo", ["dp-0"]);
  a.target.shards.set("elsewhere", ["dp-1", "dp-2"]);
  a.counter.note("solo", timers.now());
  a.counter.note("elsewhere", timers.now());
  await round(timers, [a], [10]);
  assert.deepEqual([...store.hashes.keys()], ["acme"]);
  timers.advance(6000); // acme quiet for longer than the active window
  await a.rebalancer.tick();
  assert.deepEqual(a.target.cleared, ["acme"]);
  assert.equal(a.target.set.size, 0);
});

test("start() exchanges every ~250 ms until close()", async () => {
  const timers = new ManualTimers();
  const store = new MemoryStore();
  const a = node("dp-0", store, timers);
  a.rebalancer.start();
  for (let i = 0; i < 8; i++) {
    a.counter.note("acme", timers.now());
    timers.advance(250);
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(store.exchanges >= 6, `exchanges ${store.exchanges}`);
  await a.rebalancer.close();
  const seen = store.exchanges;
  timers.advance(5000);
  assert.equal(store.exchanges, seen);
});
