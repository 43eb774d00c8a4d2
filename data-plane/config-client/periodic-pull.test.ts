import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualTimers } from "../clock.ts";
import { jitteredDelay, PeriodicPull } from "./periodic-pull.ts";

test("delays are the interval ±20 %", () => {
  assert.equal(
    jitteredDelay(10_000, () => 0),
    8_000,
  );
  assert.equal(
    jitteredDelay(10_000, () => 0.5),
    10_000,
  );
  assert.equal(
    jitteredDelay(10_000, () => 0.999999),
    12_000,
  );
});

test("pulls at once, then every jittered interval, until stopped", () => {
  const timers = new ManualTimers();
  const randoms = [0, 1, 0.5];
  let ticks = 0;
  const pull = new PeriodicPull(
    1000,
    timers,
    () => randoms.shift() ?? 0.5,
    () => ticks++,
  );
  pull.start();
  assert.equal(ticks, 1);
  assert.deepEqual(timers.pending(), [800]);
  timers.advance(799);
  assert.equal(ticks, 1);
  timers.advance(1);
  assert.equal(ticks, 2);
  assert.deepEqual(timers.pending(), [1200]);
  timers.advance(1200);
  assert.equal(ticks, 3);
  pull.stop();
  timers.advance(10_000);
  assert.equal(ticks, 3);
  assert.deepEqual(timers.pending(), []);
});
