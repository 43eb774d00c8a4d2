import assert from "node:assert/strict";
import { test } from "node:test";
import type { CorralError } from "../errors.ts";
import { FailedAuthThrottle, sourceOf } from "./failed-auth-throttle.ts";

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test("a source is refused after `limit` failures until its window ends; other sources are not", () => {
  const c = clock();
  const t = new FailedAuthThrottle({ limit: 3, windowMs: 10_000, maxSources: 100 }, c.now);
  for (let i = 0; i < 2; i++) t.recordFailure("10.0.0.1");
  assert.equal(t.retryAfterMs("10.0.0.1"), 0);
  c.t += 4_000;
  t.recordFailure("10.0.0.1");
  assert.equal(t.retryAfterMs("10.0.0.1"), 6_000, "counted from the first failure of the window");
  assert.equal(t.retryAfterMs("10.0.0.2"), 0);
  c.t += 5_999;
  assert.equal(t.retryAfterMs("10.0.0.1"), 1);
  c.t += 1;
  assert.equal(t.retryAfterMs("10.0.0.1"), 0, "a new window");
  t.recordFailure("10.0.0.1");
  assert.equal(t.retryAfterMs("10.0.0.1"), 0, "the count starts again");
});

test("memory is bounded: the least recently failed source is forgotten first", () => {
  const c = clock();
  const t = new FailedAuthThrottle({ limit: 1, windowMs: 60_000, maxSources: 3 }, c.now);
  for (const s of ["a", "b", "c"]) t.recordFailure(s);
  t.recordFailure("a"); // a is now the most recent
  t.recordFailure("d");
  assert.equal(t.size, 3);
  assert.equal(t.retryAfterMs("b"), 0, "b was forgotten");
  for (const s of ["a", "c", "d"]) assert.ok(t.retryAfterMs(s) > 0, s);
  for (let i = 0; i < 10_000; i++) t.recordFailure(`s${i}`);
  assert.equal(t.size, 3);
});

test("guard: a throttled source is refused without running the check; undefined counts as a failure", async () => {
  const c = clock();
  const t = new FailedAuthThrottle({ limit: 2, windowMs: 30_000, maxSources: 10 }, c.now);
  let checks = 0;
  const fail = async () => {
    checks++;
    return undefined;
  };
  assert.equal(await t.guard("x", fail), undefined);
  assert.equal(await t.guard("x", async () => "ok"), "ok");
  assert.equal(await t.guard("x", fail), undefined);
  await assert.rejects(
    t.guard("x", async () => {
      checks++;
      return "ok";
    }),
    (err: CorralError) =>
      err.code === "CORRAL_ADMIN_AUTH_THROTTLED" && err.extensions.retryAfterSeconds === 30,
  );
  assert.equal(checks, 2);
  assert.equal(await t.guard("y", async () => "ok"), "ok");
});

test("sourceOf: IPv4 as is, IPv4-mapped unwrapped, IPv6 by its /64", () => {
  assert.equal(sourceOf("203.0.113.7"), "203.0.113.7");
  assert.equal(sourceOf("::ffff:203.0.113.7"), "203.0.113.7");
  assert.equal(sourceOf("2001:db8:0:1:aaaa::1"), "2001:db8:0:1::/64");
  assert.equal(sourceOf("2001:0db8:0000:0001:ffff:1:2:3"), "2001:db8:0:1::/64");
  assert.equal(sourceOf("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(sourceOf("::1"), "0:0:0:0::/64");
  assert.equal(sourceOf(undefined), "unknown");
});
