import assert from "node:assert/strict";
import { test } from "node:test";
import { median, percentile, round, spread } from "./stats.ts";

test("percentile is nearest-rank over unsorted values", () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(values, 50), 5);
  assert.equal(percentile(values, 90), 9);
  assert.equal(percentile(values, 99), 10);
  assert.equal(percentile(values, 100), 10);
  assert.equal(percentile(values, 0), 1);
  assert.equal(median([3]), 3);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test("p99 of 1000 values is the 990th smallest, and the input is left alone", () => {
  const values = Array.from({ length: 1000 }, (_, i) => 1000 - i);
  assert.deepEqual(spread(values), { p50: 500, p99: 990, max: 1000 });
  assert.equal(values[0], 1000);
});

test("round", () => {
  assert.equal(round(1.26), 1.3);
  assert.equal(round(1234.5678, 2), 1234.57);
});
