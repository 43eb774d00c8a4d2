import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { TokenBucket } from "./token-bucket.ts";

const T0 = 1_700_000_000_000;

test("starts full, drains, then refills lazily at the rate", () => {
  const bucket = new TokenBucket({ rate: 10, capacity: 5 }, T0);
  for (let i = 0; i < 5; i++) assert.equal(bucket.take(1, T0).ok, true);
  const denied = bucket.take(1, T0);
  assert.deepEqual(denied, { ok: false, retryAfterMs: 100, remaining: 0 });
  assert.equal(bucket.take(1, T0 + 99).ok, false);
  assert.equal(bucket.take(1, T0 + 100).ok, true);
  assert.equal(bucket.tokens(T0 + 10_000), 5, "refill is capped at capacity");
});

test("burst: a full bucket admits `capacity` at once, then only the rate", () => {
  const bucket = new TokenBucket({ rate: 2, capacity: 20 }, T0);
  let admitted = 0;
  for (let ms = 0; ms <= 10_000; ms += 10) if (bucket.take(1, T0 + ms).ok) admitted++;
  assert.equal(admitted, 20 + 2 * 10);
});

test("cost above one takes that many tokens and waits for all of them", () => {
  const bucket = new TokenBucket({ rate: 4, capacity: 10 }, T0);
  assert.deepEqual(bucket.take(7, T0), { ok: true, retryAfterMs: 0, remaining: 3 });
  assert.deepEqual(bucket.take(5, T0), { ok: false, retryAfterMs: 500, remaining: 3 });
  assert.equal(bucket.tokens(T0), 3, "a refused take takes nothing");
  assert.equal(bucket.take(5, T0 + 500).ok, true);
});

test("cost above capacity is always refused with an infinite retry-after", () => {
  const bucket = new TokenBucket({ rate: 100, capacity: 10 }, T0);
  const result = bucket.take(11, T0 + 60_000);
  assert.equal(result.ok, false);
  assert.equal(result.retryAfterMs, Number.POSITIVE_INFINITY);
  assert.equal(bucket.tokens(T0 + 60_000), 10);
});

test("a clock going backwards neither throws nor mints tokens", () => {
  const bucket = new TokenBucket({ rate: 10, capacity: 10 }, T0);
  for (let i = 0; i < 10; i++) bucket.take(1, T0 + 1000);
  assert.equal(bucket.take(1, T0 + 1000).ok, false);
  assert.equal(bucket.take(1, T0 - 5000).ok, false, "an earlier time refills nothing");
  assert.equal(bucket.tokens(T0 + 1000), 0, "returning to the latest time adds nothing either");
  assert.equal(bucket.tokens(T0 + 1100), 1);
});

test("setRate keeps earned tokens, caps at capacity, and refills at the new rate", () => {
  const bucket = new TokenBucket({ rate: 10, capacity: 10 }, T0, 0);
  bucket.setRate(1, T0 + 500);
  assert.equal(bucket.tokens(T0 + 500), 5, "half a second at the old rate");
  assert.equal(bucket.tokens(T0 + 1500), 6, "then one per second");
  bucket.reconfigure({ rate: 1, capacity: 2 }, T0 + 1500);
  assert.equal(bucket.tokens(T0 + 1500), 2, "shrinking capacity caps current tokens");
  assert.equal(bucket.msUntilFull(T0 + 1500), 0);
});

test("bad configuration and arguments are refused", () => {
  assert.throws(() => new TokenBucket({ rate: 0, capacity: 1 }, T0), /rate/);
  assert.throws(() => new TokenBucket({ rate: 1, capacity: -1 }, T0), /capacity/);
  assert.throws(() => new TokenBucket({ rate: Number.NaN, capacity: 1 }, T0), /rate/);
  const bucket = new TokenBucket({ rate: 1, capacity: 1 }, T0);
  assert.throws(() => bucket.take(-1, T0), /cost/);
  assert.throws(() => bucket.take(1, Number.NaN), /time/);
  assert.throws(() => bucket.setRate(0, T0), /rate/);
});

const takesArb = fc.array(
  fc.record({ dt: fc.integer({ min: -2000, max: 3000 }), cost: fc.integer({ min: 0, max: 6 }) }),
  { maxLength: 200 },
);

test("property: admitted cost never exceeds capacity + rate * (latest time - start)", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.1, max: 1000, noNaN: true }),
      fc.double({ min: 1, max: 50, noNaN: true }),
      takesArb,
      (rate, capacity, takes) => {
        const bucket = new TokenBucket({ rate, capacity }, T0);
        let now = T0;
        let latest = T0;
        let admitted = 0;
        for (const { dt, cost } of takes) {
          now += dt;
          latest = Math.max(latest, now);
          if (bucket.take(cost, now).ok) admitted += cost;
          const bound = capacity + (rate * (latest - T0)) / 1000;
          assert.ok(admitted <= bound + 1e-6 * (1 + takes.length), `${admitted} > ${bound}`);
        }
      },
    ),
  );
});

test("property: waiting retryAfterMs is enough for the same take to succeed", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.1, max: 1000, noNaN: true }),
      fc.integer({ min: 1, max: 50 }),
      takesArb,
      fc.integer({ min: 1, max: 6 }),
      (rate, capacity, takes, cost) => {
        const bucket = new TokenBucket({ rate, capacity }, T0);
        let now = T0;
        for (const take of takes) {
          now += Math.abs(take.dt);
          bucket.take(take.cost, now);
        }
        const result = bucket.take(cost, now);
        if (result.ok || cost > capacity) return;
        assert.equal(bucket.take(cost, now + result.retryAfterMs).ok, true);
      },
    ),
  );
});
