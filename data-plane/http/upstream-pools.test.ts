import assert from "node:assert/strict";
import { test } from "node:test";
import { egressPolicy } from "../../proto/egress-policy.ts";
import { ManualTimers } from "../clock.ts";
import type { PlainUpstream } from "../model/plain-config.ts";
import { UpstreamPools } from "./upstream-pools.ts";

const LOOPBACK = egressPolicy(["127.0.0.0/8"]);

function upstream(origins: string[], connectTimeoutMs = 1000): PlainUpstream {
  return {
    id: "u1",
    name: "u1",
    targets: origins.map((origin) => ({ url: origin, origin, basePath: "" })),
    connectTimeoutMs,
  };
}

const A = "http://127.0.0.1:9101";
const B = "http://127.0.0.1:9102";

test("the first live target is picked; a target marked dead is skipped until its time is up", async () => {
  const timers = new ManualTimers();
  const pools = new UpstreamPools(timers, { deadForMs: 5000, idleCloseMs: 60_000 });
  const u = upstream([A, B]);
  assert.equal(pools.pick(u, LOOPBACK)?.target.origin, A);
  pools.markDead(A);
  assert.equal(pools.pick(u, LOOPBACK)?.target.origin, B);
  pools.markDead(B);
  assert.equal(pools.pick(u, LOOPBACK)?.target.origin, A, "every target dead: the first (it may be back)");
  timers.advance(5001);
  assert.equal(pools.pick(u, LOOPBACK)?.target.origin, A);
  assert.equal(pools.pick(upstream([]), LOOPBACK), undefined);
  await pools.close();
});

test("one pool per origin and connect timeout, reused; pools unused for idleCloseMs are closed", async () => {
  const timers = new ManualTimers();
  const pools = new UpstreamPools(timers, { idleCloseMs: 10_000 });
  const first = pools.pick(upstream([A]), LOOPBACK)!.pool;
  assert.equal(pools.pick(upstream([A]), LOOPBACK)!.pool, first);
  const otherTimeout = pools.pick(upstream([A], 250), LOOPBACK)!.pool;
  assert.notEqual(otherTimeout, first);
  pools.pick(upstream([B]), LOOPBACK);
  assert.equal(pools.size, 3);
  timers.advance(6000);
  pools.pick(upstream([B]), LOOPBACK); // B stays in use
  timers.advance(6000); // the sweep runs every idleCloseMs / 2
  assert.equal(pools.size, 1);
  assert.equal(first.closed, true);
  assert.notEqual(pools.pick(upstream([A]), LOOPBACK)!.pool, first, "a closed pool is replaced");
  await pools.close();
  assert.equal(pools.size, 0);
});
