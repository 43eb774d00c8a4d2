import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { kthSmallest, LatencyWindow } from "./latency-tracker.ts";

test("kthSmallest is the k-th value of the sorted samples, duplicates and any order included", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 5 }), fc.double({ min: 0, max: 1e6, noNaN: true })), {
        minLength: 1,
        maxLength: 80,
      }),
      fc.nat(),
      (values, seed) => {
        const k = seed % values.length;
        const sorted = Float64Array.from(values).sort();
        assert.equal(kthSmallest(Float64Array.from(values), values.length, k), sorted[k]);
      },
    ),
  );
});

test("kthSmallest reads only the first n values", () => {
  assert.equal(kthSmallest(Float64Array.from([9, 3, 7, 0, 0]), 3, 0), 3);
  assert.equal(kthSmallest(Float64Array.from([9, 3, 7, 0, 0]), 3, 2), 9);
});

test("the window's estimate is the quantile of its young samples, as sorting them would give", () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ ms: fc.double({ min: 0, max: 1e4, noNaN: true }), age: fc.nat(120_000) }), {
        maxLength: 100,
      }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (samples, quantile) => {
        const w = new LatencyWindow({ size: 64, minSamples: 1, quantile });
        const now = 200_000;
        for (const s of samples) w.record(s.ms, now - s.age);
        const kept = samples.slice(-64).filter((s) => s.age <= 60_000);
        const sorted = Float64Array.from(kept.map((s) => s.ms)).sort();
        const expected = kept.length
          ? sorted[Math.min(kept.length - 1, Math.floor(quantile * kept.length))]
          : undefined;
        assert.equal(w.estimate(now), expected);
      },
    ),
  );
});
