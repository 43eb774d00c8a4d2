/**
 * The period-quota counters against a real Redis (test/support/redis.ts): two members add their
 * counts and read the sum, counters expire at their period's end plus slack, foreign values are
 * not believed; with Redis stopped a flush fails fast and the ledger keeps counting locally, and
 * once Redis is back (empty: the test server keeps no data) every count is added exactly once.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { QuotaLedger } from "../../data-plane/admission/period-quota.ts";
import { systemTimers } from "../../data-plane/clock.ts";
import { QuotaFlusher } from "../../data-plane/quota/quota-flusher.ts";
import { RedisQuotaStore } from "../../data-plane/quota/quota-store.ts";
import { quotaCounterKey } from "../../runtime/quota-keys.ts";
import { quotaWindow } from "../../runtime/quota-period.ts";
import { POLL_TIMEOUT_MS, poll } from "../support/poll.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";

describe("period-quota counters over Redis", { timeout: 60_000 }, () => {
  let redis: RedisServer;
  let a: RedisQuotaStore;
  let b: RedisQuotaStore;
  let raw: Redis;
  const key = (tenant: string) => quotaCounterKey(tenant, { kind: "tenant" }, 1_000);

  async function connected(store: RedisQuotaStore): Promise<void> {
    await poll("the store's connection to Redis", async () => {
      await store.add([{ key: key("probe"), add: 0, expireAtMs: Date.now() + 1000 }]);
      return true;
    });
  }

  before(async () => {
    redis = await startRedis();
    a = new RedisQuotaStore({ url: redis.url });
    b = new RedisQuotaStore({ url: redis.url });
    raw = new Redis(redis.url);
    await Promise.all([connected(a), connected(b)]);
  });

  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    raw?.disconnect();
    await redis?.destroy();
  });

  it("members add their counts and read the sum; reads of unknown counters are 0", async () => {
    const expireAtMs = Date.now() + 60_000;
    assert.deepEqual(await a.add([{ key: key("acme"), add: 5, expireAtMs }]), [5]);
    assert.deepEqual(
      await b.add([
        { key: key("acme"), add: 3, expireAtMs },
        { key: key("other"), add: 0, expireAtMs },
      ]),
      [8, 0],
    );
    assert.deepEqual(await a.add([{ key: key("acme"), add: 0, expireAtMs }]), [8]);
    const ttl = await raw.pttl(key("acme"));
    assert.ok(ttl > 50_000 && ttl <= 60_000, `expires at the period's end plus slack (ttl ${ttl})`);
  });

  it("a value that is not a count is not believed, and the other counters still are", async () => {
    await raw.set(key("odd"), "lots");
    await raw.set(key("neg"), "-5");
    const expireAtMs = Date.now() + 60_000;
    assert.deepEqual(
      await a.add([
        { key: key("odd"), add: 1, expireAtMs },
        { key: key("neg"), add: 0, expireAtMs },
        { key: key("fine"), add: 2, expireAtMs },
      ]),
      [undefined, undefined, 2],
    );
  });

  it("Redis stopped: flushes fail fast into local mode; back empty: every count is added again, once", async () => {
    const store = new RedisQuotaStore({ url: redis.url });
    await connected(store);
    const ledger = new QuotaLedger();
    const errors: unknown[] = [];
    const flusher = new QuotaFlusher({
      ledger,
      store,
      timers: systemTimers(),
      random: Math.random,
      onError: (e) => errors.push(e),
    });
    const window = quotaWindow(Date.now(), "hour", 0);
    const counter = quotaCounterKey("outage", { kind: "tenant" }, window.startMs);
    const send = (n: number) => {
      for (let i = 0; i < n; i++)
        ledger.admit([{ key: counter, shared: true, limit: 1000, window, share: 0.5 }], Date.now());
    };
    try {
      send(10);
      await flusher.tick();
      assert.equal(ledger.shared, true);
      await redis.stop();
      send(5);
      const started = performance.now();
      await flusher.tick();
      // the command timeout is 500 ms; the wide margin is for a loaded machine, not a measurement
      assert.ok(performance.now() - started < 3000, "bounded by the flush timeout");
      assert.equal(ledger.shared, false);
      assert.ok(errors.length >= 1);
      await redis.start();
      await poll(
        "flushes working again once Redis is back",
        async () => {
          await flusher.tick();
          return ledger.shared;
        },
        POLL_TIMEOUT_MS,
        100,
      );
      await flusher.tick(); // the restarted Redis is empty (no persistence): the earlier 10 go again
      assert.equal(Number(await raw.get(counter)), 15, "every count, added once");
    } finally {
      await flusher.close();
    }
  });
});
