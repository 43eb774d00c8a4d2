/**
 * The demand exchange against a real Redis (test/support/redis.ts): members see each other's
 * reports, keys expire, malformed fields are skipped; with Redis stopped an exchange fails
 * fast (no offline queue), the rebalancer keeps its shares, and it recovers once Redis is back.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { systemTimers } from "../../data-plane/clock.ts";
import { DemandCounter } from "../../data-plane/demand/demand-counter.ts";
import { demandKey, RedisDemandStore } from "../../data-plane/demand/demand-store.ts";
import { ShareRebalancer } from "../../data-plane/demand/share-rebalancer.ts";
import { POLL_TIMEOUT_MS, poll } from "../support/poll.ts";
import { type RedisServer, startRedis } from "../support/redis.ts";

describe("demand exchange over Redis", { timeout: 60_000 }, () => {
  let redis: RedisServer;
  let a: RedisDemandStore;
  let b: RedisDemandStore;
  let raw: Redis;

  /** Retries until the store's connection is up (no offline queue: commands fail until then). */
  async function connected(store: RedisDemandStore): Promise<void> {
    await poll("the store's connection to Redis", async () => {
      await store.exchange("probe", [], Date.now());
      await store.exchange("probe", [{ tenant: "probe", demand: 0 }], Date.now());
      return true;
    });
  }

  before(async () => {
    redis = await startRedis();
    a = new RedisDemandStore({ url: redis.url, ttlMs: 1000 });
    b = new RedisDemandStore({ url: redis.url, ttlMs: 1000 });
    raw = new Redis(redis.url);
    await Promise.all([connected(a), connected(b)]);
  });

  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
    raw?.disconnect();
    await redis?.destroy();
  });

  it("each member writes its demand and reads everyone's", async () => {
    const now = Date.now();
    await a.exchange("dp-0", [{ tenant: "acme", demand: 12.5 }], now);
    const seen = await b.exchange(
      "dp-1",
      [
        { tenant: "acme", demand: 3 },
        { tenant: "solo", demand: 1 },
      ],
      now,
    );
    const acme = seen.get("acme")!.sort((x, y) => x.member.localeCompare(y.member));
    assert.deepEqual(acme, [
      { member: "dp-0", demand: 12.5, atMs: now },
      { member: "dp-1", demand: 3, atMs: now },
    ]);
    assert.deepEqual(seen.get("solo"), [{ member: "dp-1", demand: 1, atMs: now }]);
  });

  it("a tenant's hash expires after its last write; foreign fields are skipped", async () => {
    await raw.hset(demandKey("acme"), "dp-9", "not a number");
    const seen = await a.exchange("dp-0", [{ tenant: "acme", demand: 1 }], Date.now());
    assert.ok(!seen.get("acme")!.some((r) => r.member === "dp-9"));
    const ttl = await raw.pttl(demandKey("acme"));
    assert.ok(ttl > 0 && ttl <= 1000, `ttl ${ttl}`);
    await poll("the hash expiring", async () => (await raw.exists(demandKey("acme"))) === 0);
  });

  it("Redis stopped: exchanges fail fast, shares stay; back: exchanges work again", async () => {
    const counter = new DemandCounter();
    const set: number[] = [];
    const errors: unknown[] = [];
    const store = new RedisDemandStore({ url: redis.url });
    await connected(store);
    const rebalancer = new ShareRebalancer({
      slot: "dp-0",
      store,
      counter,
      target: {
        tenantOf: () => ({ shard: ["dp-0", "dp-1"], rate: 100 }),
        setShare: (_t, share) => void set.push(share),
        clearShare: () => {},
      },
      timers: systemTimers(),
      random: Math.random,
      onError: (e) => errors.push(e),
    });
    try {
      await stopAndRecover(rebalancer, counter, set, errors);
    } finally {
      await rebalancer.close();
    }
  });

  async function stopAndRecover(
    rebalancer: ShareRebalancer,
    counter: DemandCounter,
    set: number[],
    errors: unknown[],
  ) {
    counter.note("acme", Date.now());
    await rebalancer.tick();
    assert.equal(set.length, 1);
    await redis.stop();
    counter.note("acme", Date.now());
    const started = performance.now();
    await rebalancer.tick();
    // the command timeout is 300 ms; the wide margin is for a loaded machine, not a measurement
    assert.ok(performance.now() - started < 3000, "bounded by the exchange timeout");
    assert.equal(set.length, 1, "no share set without a successful exchange");
    assert.equal(errors.length, 1);
    await redis.start();
    await poll(
      "exchanges working again once Redis is back",
      async () => {
        counter.note("acme", Date.now());
        await rebalancer.tick();
        return set.length > 1;
      },
      POLL_TIMEOUT_MS,
      100,
    );
  }
});
