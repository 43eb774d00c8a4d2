import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LeaseClock, leaseTiming } from "./lease-timing.ts";

const timing = leaseTiming({ ttlMs: 10_000 });

test("defaults: margin ttl/5, renew every ttl/3, retry ttl/10", () => {
  assert.deepEqual(timing, {
    ttlMs: 10_000,
    marginMs: 2000,
    renewEveryMs: 3333,
    retryMs: 1000,
    takeoverSlackMs: 20,
  });
});

test("settings that leave no time to renew are refused", () => {
  assert.throws(() => leaseTiming({ ttlMs: 1000, marginMs: 500, renewEveryMs: 500 }), /shorter than the TTL/);
  assert.throws(() => leaseTiming({ ttlMs: 0 }), /positive/);
});

test("a replica holding nothing may not act", () => {
  const clock = new LeaseClock(timing);
  assert.equal(clock.epochAt(0), undefined);
  assert.equal(clock.lastEpoch, undefined);
});

test("after a win it acts until the request's send time + TTL − margin, not the reply's", () => {
  const clock = new LeaseClock(timing);
  assert.equal(clock.won(4, 1000), true);
  assert.equal(clock.deadline, 1000 + 10_000 - 2000);
  assert.equal(clock.epochAt(1000), 4);
  assert.equal(clock.epochAt(8999), 4);
  assert.equal(clock.epochAt(9000), undefined, "stops at the deadline even without hearing of a takeover");
  assert.equal(clock.lastEpoch, 4, "remembers the epoch so a late renew can keep it in place");
});

test("a renewal keeps the epoch and moves the deadline; a new epoch is reported as a takeover", () => {
  const clock = new LeaseClock(timing);
  clock.won(4, 0);
  assert.equal(clock.won(4, 3333), false);
  assert.equal(clock.epochAt(11_000), 4);
  assert.equal(clock.won(5, 5000), true);
  assert.equal(clock.epochAt(5000), 5);
});

test("losing the lease stops acting at once", () => {
  const clock = new LeaseClock(timing);
  clock.won(2, 0);
  clock.lost();
  assert.equal(clock.epochAt(1), undefined);
  assert.equal(clock.lastEpoch, undefined);
});

test("a non-holder asks again just after the holder's lease would expire, at least every ttl/3", () => {
  const clock = new LeaseClock(timing);
  assert.equal(clock.afterRefusal(1200), 1220);
  assert.equal(clock.afterRefusal(0), 20);
  assert.equal(clock.afterRefusal(-5), 20);
  assert.equal(clock.afterRefusal(9000), 3333);
});

test("a holder whose renew failed retries sooner, but never past its deadline", () => {
  const clock = new LeaseClock(timing);
  clock.won(1, 0);
  assert.equal(clock.afterWin(), 3333);
  assert.equal(clock.afterError(1000), 1000);
  assert.equal(clock.afterError(7500), 500);
  assert.equal(clock.afterError(9000), 3333, "past the deadline it is a non-holder again");
});

test("property: whatever the TTL and send times, a win never lets it act past sentAt + TTL − margin", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 100, max: 600_000 }),
      fc.array(fc.tuple(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 1e6 })), {
        maxLength: 20,
      }),
      fc.integer({ min: 0, max: 2e6 }),
      (ttlMs, wins, now) => {
        const t = leaseTiming({ ttlMs });
        const clock = new LeaseClock(t);
        let lastSent = Number.NEGATIVE_INFINITY;
        for (const [epoch, sentAt] of wins) {
          clock.won(epoch, sentAt);
          lastSent = sentAt;
        }
        const acting = clock.epochAt(now) !== undefined;
        assert.equal(acting, wins.length > 0 && now < lastSent + t.ttlMs - t.marginMs);
        assert.ok(t.marginMs > 0 && t.renewEveryMs + t.marginMs < t.ttlMs);
      },
    ),
  );
});
