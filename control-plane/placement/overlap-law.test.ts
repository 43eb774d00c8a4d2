import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { choose, hypergeometricOverlap, lnChoose, zoneQuotas, zoneSpreadOverlap } from "./overlap-law.ts";

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} vs ${b}`);

test("binomial coefficients", () => {
  assert.equal(choose(50, 3), 19_600);
  assert.equal(choose(10, 0), 1);
  assert.equal(choose(10, 10), 1);
  assert.equal(lnChoose(3, 4), Number.NEGATIVE_INFINITY);
});

test("hypergeometric overlap: known values and a full-overlap probability of 1/C(N,k)", () => {
  const p = hypergeometricOverlap(10, 3, 3);
  close(p[0]!, 35 / 120);
  close(p[1]!, 63 / 120);
  close(p[3]!, 1 / 120);
  close(hypergeometricOverlap(50, 4, 4)[4]!, 1 / choose(50, 4));
});

test("zone quotas water-fill in rounds", () => {
  const q = zoneQuotas([1, 5, 5], 6);
  assert.deepEqual(
    [0, 1, 2].map((z) => q.quota(z)),
    [
      { base: 1, open: false },
      { base: 2, open: true },
      { base: 2, open: true },
    ],
  );
  assert.equal(q.extras, 1);
  assert.equal(q.open, 2);
});

test("zone-spread law: with one zone it is the hypergeometric law", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 40 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 8 }),
      (n, a, b) => {
        const zone = zoneSpreadOverlap([n], a, b);
        const hyper = hypergeometricOverlap(n, Math.min(a, n), Math.min(b, n));
        assert.equal(zone.length, hyper.length);
        for (const [j, p] of zone.entries()) close(p, hyper[j]!);
      },
    ),
  );
});

test("zone-spread law: a probability distribution, one member per zone when k = zones", () => {
  close(zoneSpreadOverlap([4, 4, 4], 3, 3)[3]!, 1 / 64);
  close(zoneSpreadOverlap([2, 2], 2, 2)[2]!, 1 / 4);
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 5 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 8 }),
      (sizes, a, b) => {
        const p = zoneSpreadOverlap(sizes, a, b);
        close(
          p.reduce((s, x) => s + x, 0),
          1,
        );
        assert.ok(p.every((x) => x >= -1e-12));
      },
    ),
  );
});
