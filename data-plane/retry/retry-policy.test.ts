import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { RetryBudget } from "./retry-budget.ts";
import {
  backoffMs,
  DEFAULT_BACKOFF,
  DEFAULT_HTTP_RETRY_STATUSES,
  decideRetry,
  IDEMPOTENT_METHODS,
  type RetryInput,
  retryableRequest,
  retryWait,
} from "./retry-policy.ts";

const input = (over: Partial<RetryInput> = {}): RetryInput => ({
  failure: { kind: "status", status: 503 },
  replayable: true,
  retriesDone: 0,
  maxRetries: 2,
  statuses: DEFAULT_HTTP_RETRY_STATUSES,
  remainingMs: undefined,
  ...over,
});

test("property: the backoff stays in [0, min(cap, base × 2^(n-1)))", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 10_000 }),
      (retry, r, baseMs, capMs) => {
        const ms = backoffMs(retry, () => r, { baseMs, capMs });
        return (
          ms >= 0 && ms < Math.max(1, Math.min(capMs, baseMs * 2 ** (retry - 1))) && Number.isInteger(ms)
        );
      },
    ),
  );
  // full jitter: the ceiling doubles up to the cap
  assert.equal(
    backoffMs(1, () => 0.999_999),
    DEFAULT_BACKOFF.baseMs - 1,
  );
  assert.equal(
    backoffMs(2, () => 0.999_999),
    DEFAULT_BACKOFF.baseMs * 2 - 1,
  );
  assert.equal(
    backoffMs(30, () => 0.999_999),
    DEFAULT_BACKOFF.capMs - 1,
  );
});

test("property: a non-idempotent method without an Idempotency-Key is never retried", () => {
  const method = fc.constantFrom(
    "GET",
    "HEAD",
    "OPTIONS",
    "PUT",
    "DELETE",
    "POST",
    "PATCH",
    "CONNECT",
    "PURGE",
  );
  const failure = fc.oneof(
    fc.constant({ kind: "connect" as const }),
    fc.constant({ kind: "reset" as const }),
    fc.record({ kind: fc.constant("status" as const), status: fc.integer({ min: 100, max: 599 }) }),
  );
  fc.assert(
    fc.property(method, fc.boolean(), failure, fc.integer({ min: 0, max: 10 }), (m, key, f, done) => {
      const verdict = decideRetry(
        input({ failure: f, replayable: retryableRequest(m, key), retriesDone: done, maxRetries: 10 }),
        Math.random,
        new RetryBudget(() => 0),
        { ratio: 1, floorPerSecond: 1000, windowMs: 1000 },
      );
      if (verdict.retry) return IDEMPOTENT_METHODS.has(m) || key;
      return true;
    }),
  );
});

test("property: a retry's wait always ends before the deadline", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 1, max: 500 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (done, remainingMs, r) => {
        const verdict = retryWait(input({ retriesDone: done, maxRetries: 10, remainingMs }), () => r);
        return !verdict.retry || verdict.delayMs < remainingMs;
      },
    ),
  );
});

test("the verdicts, one by one", () => {
  const r = () => 0.5;
  assert.deepEqual(retryWait(input(), r), { retry: true, delayMs: 12 });
  assert.deepEqual(retryWait(input({ retriesDone: 2 }), r), { retry: false, why: "exhausted" });
  assert.deepEqual(retryWait(input({ maxRetries: 0 }), r), { retry: false, why: "exhausted" });
  assert.deepEqual(retryWait(input({ replayable: false }), r), { retry: false, why: "not_replayable" });
  assert.deepEqual(retryWait(input({ failure: { kind: "status", status: 500 } }), r), {
    retry: false,
    why: "status",
  });
  assert.equal(retryWait(input({ failure: { kind: "connect" } }), r).retry, true);
  assert.equal(retryWait(input({ failure: { kind: "reset" } }), r).retry, true);
  assert.deepEqual(retryWait(input({ remainingMs: 5 }), r), { retry: false, why: "deadline" });
  const spent = new RetryBudget(() => 0);
  const none = { ratio: 0, floorPerSecond: 0, windowMs: 1000 };
  assert.deepEqual(decideRetry(input(), r, spent, none), { retry: false, why: "budget" });
  assert.equal(retryableRequest("POST", false), false);
  assert.equal(retryableRequest("POST", true), true);
  assert.equal(retryableRequest("GET", false), true);
});
