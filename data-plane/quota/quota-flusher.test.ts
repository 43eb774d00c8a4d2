import assert from "node:assert/strict";
import { test } from "node:test";
import { type FlushItem, type QuotaAsk, QuotaLedger } from "../admission/period-quota.ts";
import { ManualTimers } from "../clock.ts";
import { quotaWindow } from "../../runtime/quota-period.ts";
import { QuotaFlusher } from "./quota-flusher.ts";
import type { QuotaStore } from "./quota-store.ts";

/** INCRBY in memory; can be taken down or made to hang. */
class MemoryStore implements QuotaStore {
  readonly counts = new Map<string, number>();
  mode: "up" | "down" | "hang" = "up";
  flushes = 0;
  closed = false;
  async add(items: readonly FlushItem[]) {
    this.flushes++;
    if (this.mode === "down") throw new Error("connection refused");
    if (this.mode === "hang") return new Promise<never>(() => {});
    return items.map(({ key, add }) => this.counts.set(key, (this.counts.get(key) ?? 0) + add).get(key)!);
  }
  async close() {
    this.closed = true;
  }
}

function setup() {
  const timers = new ManualTimers(Date.parse("2026-12-08T10:00:00Z"));
  const store = new MemoryStore();
  const ledger = new QuotaLedger();
  const errors: unknown[] = [];
  const flusher = new QuotaFlusher({
    ledger,
    store,
    timers,
    random: () => 0.5,
    onError: (e) => errors.push(e),
  });
  const ask = (): QuotaAsk => ({
    key: "corral:quota:acme:t:1",
    shared: true,
    limit: 1000,
    window: quotaWindow(timers.now(), "day", 0),
    share: 0.5,
  });
  const send = (n: number) => {
    for (let i = 0; i < n; i++) ledger.admit([ask()], timers.now());
  };
  return { timers, store, ledger, errors, flusher, send };
}

test("the loop flushes every interval; nothing to flush sends nothing", async () => {
  const { timers, store, flusher, send } = setup();
  flusher.start();
  assert.deepEqual(timers.pending(), [250]);
  timers.advance(250);
  await flusher.tick();
  assert.equal(store.flushes, 0, "an idle node does not talk to the store");
  send(7);
  timers.advance(250);
  await flusher.tick();
  assert.equal(store.counts.get("corral:quota:acme:t:1"), 7);
  await flusher.close();
  assert.equal(store.closed, true);
});

test("store down: local mode, counts kept; back: they are added once", async () => {
  const { store, ledger, errors, flusher, send } = setup();
  send(3);
  await flusher.tick();
  assert.equal(ledger.shared, true);
  store.mode = "down";
  send(4);
  await flusher.tick();
  assert.equal(ledger.shared, false);
  assert.match(String(errors[0]), /connection refused/);
  store.mode = "up";
  send(1);
  await flusher.tick();
  assert.equal(ledger.shared, true);
  assert.equal(store.counts.get("corral:quota:acme:t:1"), 8);
});

test("a hanging store times out into local mode; flushes never overlap; close flushes what is left", async () => {
  const { timers, store, ledger, errors, flusher, send } = setup();
  send(2);
  await flusher.tick();
  store.mode = "hang";
  send(1);
  const first = flusher.tick();
  assert.equal(flusher.tick(), first, "a tick while one runs joins it");
  timers.advance(1000);
  await first;
  assert.equal(store.flushes, 2);
  assert.equal(ledger.shared, false);
  assert.match(String(errors[0]), /timed out/);
  store.mode = "up";
  await flusher.close();
  assert.equal(store.counts.get("corral:quota:acme:t:1"), 3);
});
