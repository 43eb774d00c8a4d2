import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameRate } from "./frame-rate.ts";

test("up to the limit per second passes, the next frame in that second does not", () => {
  const rate = new FrameRate(3);
  assert.deepEqual(
    [0, 10, 20, 30].map((t) => rate.allow(t)),
    [true, true, true, false],
  );
});

test("a new second starts a new count; a clock that steps back restarts the window", () => {
  const rate = new FrameRate(2);
  assert.equal(rate.allow(0), true);
  assert.equal(rate.allow(1), true);
  assert.equal(rate.allow(1000), true);
  assert.equal(rate.allow(1500), true);
  assert.equal(rate.allow(1999), false);
  assert.equal(rate.allow(500), true);
});

test("a steady honest node (one frame every 100 ms) is never refused at 50/s", () => {
  const rate = new FrameRate(50);
  for (let t = 0; t < 60_000; t += 100) assert.equal(rate.allow(t), true);
});
