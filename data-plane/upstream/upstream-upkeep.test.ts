import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualTimers } from "../clock.ts";
import type { PlainUpstream } from "../model/plain-config.ts";
import { UpstreamUpkeep } from "./upstream-upkeep.ts";

const upstream = {
  targets: [{ origin: "http://a:1" }, { origin: "http://b:1" }],
  connectTimeoutMs: 1_000,
} as unknown as PlainUpstream;

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

test("a target marked dead is skipped for deadForMs; all dead gives the first", () => {
  const timers = new ManualTimers();
  const upkeep = new UpstreamUpkeep(timers, { deadForMs: 2_000 }, () => {});
  assert.equal(upkeep.firstLive(upstream)?.origin, "http://a:1");
  upkeep.markDead("http://a:1");
  assert.equal(upkeep.firstLive(upstream)?.origin, "http://b:1");
  upkeep.markDead("http://b:1");
  assert.equal(upkeep.firstLive(upstream)?.origin, "http://a:1");
  timers.advance(2_000);
  upkeep.markDead("http://a:1");
  assert.equal(upkeep.firstLive(upstream)?.origin, "http://b:1");
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
