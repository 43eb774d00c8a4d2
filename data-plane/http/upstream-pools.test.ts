import assert from "node:assert/strict";
import { test } from "node:test";
import { egressPolicy } from "../../proto/egress-policy.ts";
import { ManualTimers } from "../clock.ts";
import type { PlainUpstream } from "../model/plain-config.ts";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import { plainUpstream } from "../../test/data-plane/fixtures.ts";
import { CIRCUIT_OPEN } from "../upstream/upstream-upkeep.ts";
import { type BalancedTarget, UpstreamPools } from "./upstream-pools.ts";

const LOOPBACK = egressPolicy(["127.0.0.0/8"]);

function upstream(origins: string[], connectTimeoutMs = 1000): PlainUpstream {
  return plainUpstream(origins, { connectTimeoutMs });
}

function pick(pools: UpstreamPools, u: PlainUpstream): BalancedTarget {
  const picked = pools.pick(u, LOOPBACK);
  assert.ok(picked && picked !== CIRCUIT_OPEN);
  return picked;
}

const A = "http://127.0.0.1:9101";
const B = "http://127.0.0.1:9102";

test("a target that refused a connection is ejected; all ejected is circuit_open until one is back", async () => {
  const timers = new ManualTimers();
  const pools = new UpstreamPools(timers, { idleCloseMs: 600_000, random: () => 0 });
  const u = upstream([A, B]);
  const first = pick(pools, u);
  assert.equal(first.target.origin, A);
  first.lease.end("connect_failure");
  const second = pick(pools, u);
  assert.equal(second.target.origin, B);
  second.lease.end("connect_failure");
  assert.equal(pools.pick(u, LOOPBACK), CIRCUIT_OPEN, "every target ejected: nothing is queued");
  timers.advance(DEFAULT_OUTLIER.baseEjectionMs);
  const probe = pick(pools, u);
  assert.equal(pools.down.view(probe.target.key, 0).availability, "down", "one probe at a time");
  probe.lease.end("ok");
  assert.equal(pools.down.view(probe.target.key, 10_000).availability, "up");
  assert.equal(pick(pools, u).target.origin, B, "the other half-open target gets its probe next");
  assert.equal(pools.pick(upstream([]), LOOPBACK), undefined);
  await pools.close();
});

test("one pool per origin and connect timeout, reused; pools unused for idleCloseMs are closed", async () => {
  const timers = new ManualTimers();
  const pools = new UpstreamPools(timers, { idleCloseMs: 10_000 });
  const first = pick(pools, upstream([A])).pool;
  assert.equal(pick(pools, upstream([A])).pool, first);
  const otherTimeout = pick(pools, upstream([A], 250)).pool;
  assert.notEqual(otherTimeout, first);
  pick(pools, upstream([B]));
  assert.equal(pools.size, 3);
  timers.advance(6000);
  pick(pools, upstream([B])); // B stays in use
  timers.advance(6000); // the sweep runs every idleCloseMs / 2
  assert.equal(pools.size, 1);
  assert.equal(first.closed, true);
  assert.notEqual(pick(pools, upstream([A])).pool, first, "a closed pool is replaced");
  await pools.close();
  assert.equal(pools.size, 0);
});
