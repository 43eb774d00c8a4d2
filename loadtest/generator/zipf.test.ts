import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { zipfRates } from "./zipf.ts";

test("zipf spread sums to the total rate and is non-increasing", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      fc.integer({ min: 1, max: 2000 }),
      fc.double({ min: 0, max: 3, noNaN: true }),
      (total, tenants, exponent) => {
        const rates = zipfRates(total, tenants, exponent);
        assert.equal(rates.length, tenants);
        const sum = rates.reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - total) <= 1e-9 * Math.max(1, total), `sum ${sum} vs ${total}`);
        for (let i = 1; i < rates.length; i++) assert.ok(rates[i]! <= rates[i - 1]! + 1e-12);
      },
    ),
    { seed: 42 },
  );
});

test("zipf with exponent 1 gives the harmonic shares; exponent 0 is even", () => {
  const rates = zipfRates(1100, 3, 1);
  assert.deepEqual(
    rates.map((r) => Math.round(r)),
    [600, 300, 200],
  );
  assert.deepEqual(zipfRates(90, 3, 0), [30, 30, 30]);
});

test("zipf refuses nonsense", () => {
  assert.throws(() => zipfRates(-1, 3), RangeError);
  assert.throws(() => zipfRates(10, 0), RangeError);
  assert.throws(() => zipfRates(10, 2.5), RangeError);
  assert.throws(() => zipfRates(10, 3, Number.NaN), RangeError);
});
