import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ConcurrencyLimiter } from "./concurrency-limiter.ts";
import { REQUEST_ERRORS } from "../errors.ts";
import { type AdmissionDecision, isAdmit } from "./decision.ts";

const releaseOf = (d: AdmissionDecision) =>
  isAdmit(d) && d.release ? d.release : assert.fail("expected a release");

test("admits up to the cap, refuses the next, admits again after a release", () => {
  const limiter = new ConcurrencyLimiter();
  const limit = { concurrency: 2 };
  const a = releaseOf(limiter.acquire("acme", limit));
  releaseOf(limiter.acquire("acme", limit));
  const denied = limiter.acquire("acme", limit);
  assert.equal(isAdmit(denied), false);
  if (!isAdmit(denied)) {
    assert.equal(denied.code, "CORRAL_DP_QUOTA");
    assert.equal(REQUEST_ERRORS[denied.code].status, 429);
    assert.equal(REQUEST_ERRORS[denied.code].reason, "quota", "corral-reason is the catalogue's");
    assert.match(denied.detail ?? "", /in flight, its limit is 2/);
    assert.equal(denied.headers?.["retry-after"], "1");
  }
  assert.equal(isAdmit(limiter.acquire("other", limit)), true, "tenants are independent");
  a();
  a();
  assert.equal(limiter.inFlight("acme"), 1, "a double release counts once");
  assert.equal(isAdmit(limiter.acquire("acme", limit)), true);
});

test("limit 0 is unlimited; the kill switch turns the cap off", () => {
  const limiter = new ConcurrencyLimiter();
  for (let i = 0; i < 100; i++)
    assert.deepEqual(limiter.acquire("acme", { concurrency: 0 }), { admit: true });
  releaseOf(limiter.acquire("acme", { concurrency: 1 }));
  assert.equal(isAdmit(limiter.acquire("acme", { concurrency: 1 })), false);
  assert.deepEqual(limiter.acquire("acme", { concurrency: 1, disabled: true }), { admit: true });
  limiter.setMode({ disabled: true });
  assert.deepEqual(limiter.acquire("acme", { concurrency: 1 }), { admit: true });
});

test("shadow mode admits over the cap, counts it, and still tracks in-flight", () => {
  const limiter = new ConcurrencyLimiter({ mode: { shadow: true } });
  releaseOf(limiter.acquire("acme", { concurrency: 1 }));
  const over = limiter.acquire("acme", { concurrency: 1 });
  assert.equal(isAdmit(over), true);
  assert.deepEqual(isAdmit(over) && over.shadowed, ["concurrency"]);
  assert.equal(limiter.inFlight("acme"), 2);
  releaseOf(over)();
  assert.equal(limiter.inFlight("acme"), 1);
  assert.deepEqual(limiter.stats(), { admitted: 1, rejected: 0, shadowRejected: 1 });
});

test("a nonsense limit is refused", () => {
  assert.throws(() => new ConcurrencyLimiter().acquire("a", { concurrency: -1 }), /concurrency/);
  assert.throws(() => new ConcurrencyLimiter().acquire("a", { concurrency: 1.5 }), /concurrency/);
});

test("property: in-flight never exceeds the cap and returns to zero", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 10 }), fc.array(fc.boolean(), { maxLength: 300 }), (cap, ops) => {
      const limiter = new ConcurrencyLimiter();
      const held: (() => void)[] = [];
      for (const acquire of ops) {
        if (acquire) {
          const d = limiter.acquire("t", { concurrency: cap });
          if (isAdmit(d)) held.push(d.release!);
          else assert.equal(held.length, cap);
        } else {
          held.shift()?.();
        }
        assert.equal(limiter.inFlight("t"), held.length);
        assert.ok(held.length <= cap);
      }
      for (const release of held) release();
      assert.equal(limiter.inFlight("t"), 0);
    }),
  );
});
