import assert from "node:assert/strict";
import { test } from "node:test";
import { CorralError } from "../errors.ts";
import { MutationRateLimiter, SWEEP_AT } from "./mutation-rate.ts";

function limited(fn: () => void): CorralError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CorralError);
    return err;
  }
  assert.fail("expected CORRAL_TENANT_RATE_LIMITED");
}

test("a tenant gets its burst at once, then one change per 60/perMinute seconds", () => {
  let now = 1_000_000;
  const limiter = new MutationRateLimiter({ perMinute: 6, burst: 3 }, () => now);
  for (let i = 0; i < 3; i++) limiter.take("a");
  const err = limited(() => limiter.take("a"));
  assert.equal(err.code, "CORRAL_TENANT_RATE_LIMITED");
  assert.equal(err.status, 429);
  assert.equal(err.extensions.retryAfterSeconds, 10);
  now += 9_999;
  assert.equal(limited(() => limiter.take("a")).extensions.retryAfterSeconds, 1);
  now += 1;
  limiter.take("a");
  now += 3_600_000;
  for (let i = 0; i < 3; i++) limiter.take("a");
  limited(() => limiter.take("a"));
});

test("tenants have separate buckets", () => {
  const limiter = new MutationRateLimiter({ perMinute: 1, burst: 1 }, () => 0);
  limiter.take("a");
  limited(() => limiter.take("a"));
  limiter.take("b");
});

test("a clock going back mints nothing", () => {
  let now = 10_000;
  const limiter = new MutationRateLimiter({ perMinute: 60, burst: 1 }, () => now);
  limiter.take("a");
  now = 0;
  limited(() => limiter.take("a"));
  now = 10_999;
  limited(() => limiter.take("a"));
  now = 11_000;
  limiter.take("a");
});

test("full buckets are forgotten once SWEEP_AT tenants are tracked; busy ones are kept", () => {
  let now = 0;
  const limiter = new MutationRateLimiter({ perMinute: 60, burst: 2 }, () => now);
  limiter.take("busy");
  limiter.take("busy");
  for (let i = 1; limiter.tracked < SWEEP_AT; i++) limiter.take(`t${i}`);
  now += 1000;
  limiter.take("new");
  assert.equal(limiter.tracked, 2, "every bucket refilled to its burst but busy's was dropped");
  limiter.take("busy");
  limited(() => limiter.take("busy"));
});
