import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffCeiling, backoffDelay, DEFAULT_BACKOFF } from "./backoff.ts";

test("the ceiling doubles from the base up to the cap", () => {
  const ceilings = [0, 1, 2, 3, 7, 8, 50].map((n) => backoffCeiling(n, DEFAULT_BACKOFF));
  assert.deepEqual(ceilings, [200, 400, 800, 1600, 25_600, 30_000, 30_000]);
});

test("full jitter: the delay is uniform in [0, ceiling)", () => {
  assert.equal(
    backoffDelay(3, DEFAULT_BACKOFF, () => 0),
    0,
  );
  assert.equal(
    backoffDelay(3, DEFAULT_BACKOFF, () => 0.5),
    800,
  );
  assert.equal(
    backoffDelay(3, DEFAULT_BACKOFF, () => 0.999999),
    1599,
  );
  assert.equal(
    backoffDelay(40, { baseMs: 10, capMs: 100 }, () => 0.5),
    50,
  );
});
