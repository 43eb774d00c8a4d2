import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualTimers } from "../clock.ts";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import { plainUpstream } from "../../test/data-plane/fixtures.ts";
import { DownList } from "./down-list.ts";
import { CIRCUIT_OPEN, UpstreamUpkeep } from "./upstream-upkeep.ts";

test("the sweep calls closeIdle every idleCloseMs / 2 until stopped", () => {
  const timers = new ManualTimers();
  let sweeps = 0;
  const upkeep = new UpstreamUpkeep(timers, { idleCloseMs: 1_000 }, () => sweeps++);
  assert.deepEqual(timers.pending(), [500]);
  timers.advance(499);
  assert.equal(sweeps, 0);
  timers.advance(1);
  assert.equal(sweeps, 1);
  timers.advance(1_000);
  assert.equal(sweeps, 3);
  upkeep.stop();
  assert.deepEqual(timers.pending(), []);
  timers.advance(10_000);
  assert.equal(sweeps, 3);
});

test("idle is true from idleCloseMs after the last use on", () => {
  const upkeep = new UpstreamUpkeep(new ManualTimers(), { idleCloseMs: 1_000 }, () => {});
  assert.equal(upkeep.idle(5_000, 5_999), false);
  assert.equal(upkeep.idle(5_000, 6_000), true);
  upkeep.stop();
});

test("choose: the balancer's target, with a lease that feeds the shared down list once", () => {
  const timers = new ManualTimers();
  const down = new DownList(() => timers.monotonic());
  const picks: string[] = [];
  const upkeep = new UpstreamUpkeep(
    timers,
    { downList: down, random: () => 0, onPick: (_u, t) => picks.push(t.origin) },
    () => {},
  );
  const u = plainUpstream(["http://a:1", "http://b:1"]);
  const lease = upkeep.choose(u);
  assert.ok(lease && lease !== CIRCUIT_OPEN);
  assert.equal(lease.target.origin, "http://a:1");
  assert.equal(down.view(lease.target.key, 0).outstanding, 1);
  lease.end("connect_failure");
  lease.end("connect_failure");
  assert.equal(down.view(lease.target.key, 0).outstanding, 0);
  const next = upkeep.choose(u);
  assert.ok(next && next !== CIRCUIT_OPEN);
  assert.equal(next.target.origin, "http://b:1", "the same list another protocol or forwarder marks");
  next.end("connect_failure");
  assert.equal(upkeep.choose(u), CIRCUIT_OPEN);
  assert.equal(upkeep.choose(plainUpstream([])), undefined);
  assert.deepEqual(picks, ["http://a:1", "http://b:1"]);
  upkeep.stop();
});

test("defaults: 5 min idle, a listener that ignores denials", () => {
  const timers = new ManualTimers();
  const upkeep = new UpstreamUpkeep(timers, {}, () => {});
  assert.equal(upkeep.idleCloseMs, 300_000);
  assert.deepEqual(timers.pending(), [150_000]);
  assert.doesNotThrow(() => upkeep.onEgressDenied("h", 1, "denied"));
  upkeep.stop();
});

test("attack: one tenant's failing exchanges never eject the same address for another tenant", () => {
  const timers = new ManualTimers();
  const upkeep = new UpstreamUpkeep(timers, { random: () => 0 }, () => {});
  const mine = plainUpstream(["http://shared:1"], { id: "evil/u1" });
  const theirs = plainUpstream(["http://shared:1"], { id: "victim/u1" });
  for (let i = 0; i < 60; i++) {
    const lease = upkeep.choose(mine);
    if (lease && lease !== CIRCUIT_OPEN) lease.end(i % 2 === 0 ? "connect_failure" : "failure");
    timers.advance(100);
  }
  assert.equal(upkeep.choose(mine), CIRCUIT_OPEN);
  const lease = upkeep.choose(theirs);
  assert.ok(lease && lease !== CIRCUIT_OPEN, "the victim's view of the address is untouched");
  upkeep.stop();
});

test("every target out: circuit_open, and a probe once per base ejection time brings it back", () => {
  const timers = new ManualTimers();
  const upkeep = new UpstreamUpkeep(timers, { random: () => 0 }, () => {});
  const u = plainUpstream(["http://a:1", "http://b:1"], {
    outlier: { ...DEFAULT_OUTLIER, baseEjectionMs: 1_000, maxEjectionMs: 60_000 },
  });
  let probes = 0;
  // 30 s of targets refusing connections: the ejections grow, the circuit still probes every 1 s
  for (let t = 0; t < 30_000; t += 50) {
    const lease = upkeep.choose(u);
    if (lease && lease !== CIRCUIT_OPEN) {
      probes++;
      lease.end("connect_failure");
    }
    timers.advance(50);
  }
  assert.ok(probes >= 28 && probes <= 33, `${probes} probes in 30 s`);
  // the targets are back: within one base ejection time a probe succeeds
  let back = -1;
  for (let t = 0; t <= 1_050 && back < 0; t += 50) {
    const lease = upkeep.choose(u);
    if (lease && lease !== CIRCUIT_OPEN) {
      lease.end("ok");
      back = t;
    }
    timers.advance(50);
  }
  assert.ok(back >= 0 && back <= 1_000, `back after ${back} ms`);
  upkeep.stop();
});

test("choose with exclude: a retry gets a target it has not tried while one is available", () => {
  const timers = new ManualTimers();
  const down = new DownList(() => timers.monotonic());
  const upkeep = new UpstreamUpkeep(timers, { downList: down, random: () => 0 }, () => {});
  const u = plainUpstream(["http://a:1", "http://b:1", "http://c:1"]);
  const origin = (exclude: string[]) => {
    const lease = upkeep.choose(u, new Set(exclude));
    assert.ok(lease && lease !== CIRCUIT_OPEN);
    lease.end("ok");
    return lease.target.origin;
  };
  assert.equal(origin([]), "http://a:1");
  assert.equal(origin(["http://a:1"]), "http://b:1");
  assert.equal(origin(["http://a:1", "http://b:1"]), "http://c:1");
  // every target tried: the balancer's choice as if nothing were excluded
  assert.equal(origin(["http://a:1", "http://b:1", "http://c:1"]), "http://a:1");
  // the untried one is ejected: back to a tried one rather than nowhere
  const c = upkeep.choose(u, new Set(["http://a:1", "http://b:1"]));
  assert.ok(c && c !== CIRCUIT_OPEN);
  c.end("connect_failure");
  assert.equal(origin(["http://a:1"]), "http://b:1");
  assert.equal(origin(["http://a:1", "http://b:1"]), "http://a:1");
  upkeep.stop();
});
