import assert from "node:assert/strict";
import { test } from "node:test";
import {
  blockMeans,
  blockSlopeInterval,
  linearFit,
  logGamma,
  slopeInterval,
  studentTCdf,
  studentTQuantile,
} from "./linear-trend.ts";

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: ${actual}, expected ${expected} ± ${tolerance}`,
  );

test("Student's t quantiles match the tables", () => {
  // two-sided 95 % critical values (R: qt(0.975, df)) and one one-sided 95 %
  const table: Array<[p: number, df: number, t: number]> = [
    [0.975, 1, 12.706204736],
    [0.975, 2, 4.30265273],
    [0.975, 3, 3.182446305],
    [0.975, 10, 2.228138852],
    [0.975, 30, 2.042272456],
    [0.975, 1000, 1.962339081],
    [0.975, 1e7, 1.959964],
    [0.95, 5, 2.015048373],
  ];
  for (const [p, df, t] of table) close(studentTQuantile(p, df), t, 1e-6, `t(${p}, ${df})`);
  close(studentTQuantile(0.025, 10), -2.228138852, 1e-6, "lower tail is symmetric");
  close(studentTCdf(0, 7), 0.5, 1e-12, "cdf at 0");
  close(studentTCdf(2.228138852, 10), 0.975, 1e-9, "cdf inverts the quantile");
  close(logGamma(5), Math.log(24), 1e-12, "lnΓ(5)");
  close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12, "lnΓ(1/2)");
  assert.throws(() => studentTQuantile(1, 3), /p must be in/);
});

test("least squares and the slope's interval match a hand-computed example", () => {
  // x = 1..5, y = 2 4 5 4 5: slope 0.6, intercept 2.2 (Python statistics.linear_regression),
  // SSE 2.4, residual sd √0.8, slope se √0.8/√10, residual lag-1 autocorrelation −0.36/2.4
  const fit = linearFit([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]);
  close(fit.slope, 0.6, 1e-12, "slope");
  close(fit.intercept, 2.2, 1e-12, "intercept");
  close(fit.meanY, 4, 1e-12, "mean");
  close(fit.residualSd, Math.sqrt(0.8), 1e-12, "residual sd");
  close(fit.slopeStdErr, Math.sqrt(0.08), 1e-12, "slope se");
  close(fit.lag1Autocorrelation, -0.15, 1e-12, "lag-1 autocorrelation");
  // negative autocorrelation does not narrow the interval: t(0.975, 3) · se
  const ci = slopeInterval(fit);
  close(ci.high - ci.slope, 0.9001317437, 1e-8, "half width");
  close(ci.low, 0.6 - 0.9001317437, 1e-8, "low");
  assert.equal(ci.effectiveN, 5);
  assert.equal(ci.degreesOfFreedom, 3);
  assert.throws(() => linearFit([1, 1, 1], [1, 2, 3]), /every x is the same/);
  assert.throws(() => linearFit([1, 2], [1, 2]), /at least 3 points/);
});

test("autocorrelated wobble widens the interval that independent noise would not", () => {
  // a tiny trend under a slow square wave (period 600 points): the residuals are strongly
  // correlated, so 1800 samples carry little more information than a handful of cycles
  const xs = Array.from({ length: 1800 }, (_, i) => i);
  const ys = xs.map((x) => 0.001 * x + (Math.floor(x / 300) % 2 === 0 ? 1 : -1));
  const fit = linearFit(xs, ys);
  assert.ok(fit.lag1Autocorrelation > 0.99, `r = ${fit.lag1Autocorrelation}`);
  const naive = slopeInterval(fit, { autocorrelation: false });
  const corrected = slopeInterval(fit);
  assert.ok(naive.low > 0, `the naive interval excludes 0: [${naive.low}, ${naive.high}]`);
  assert.ok(corrected.low < 0 && corrected.high > 0, `[${corrected.low}, ${corrected.high}]`);
  assert.ok(corrected.effectiveN < 10, `effective n ${corrected.effectiveN}`);
  // an exact line: zero width
  const exact = slopeInterval(
    linearFit(
      xs,
      xs.map((x) => 3 + 2 * x),
    ),
  );
  close(exact.low, 2, 1e-9, "exact low");
  close(exact.high, 2, 1e-9, "exact high");
});

test("block means: equal spans of x, empty ones left out", () => {
  const xs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  assert.deepEqual(
    blockMeans(
      xs,
      xs.map((x) => 2 * x),
      5,
    ),
    { bx: [0.5, 2.5, 4.5, 6.5, 8.5], by: [1, 5, 9, 13, 17] },
  );
  // a gap in x: the spans stay equal in x, the empty one is dropped
  assert.deepEqual(blockMeans([0, 1, 8, 9], [0, 0, 1, 1], 3), { bx: [0.5, 8.5], by: [0, 1] });
  assert.throws(() => blockMeans([1, 2], [1], 3), /2 x values but 1 y values/);
  assert.throws(() => blockMeans([1, 2, 3], [1, 2, 3], 2), /integer ≥ 3/);
  assert.throws(
    () => blockSlopeInterval([0, 1, 8, 9], [0, 0, 1, 1], { blocks: 3 }),
    /at least 3 non-empty blocks/,
  );
  const exact = blockSlopeInterval(
    xs,
    xs.map((x) => 3 + 2 * x),
    { blocks: 5 },
  );
  close(exact.low, 2, 1e-9, "an exact line: low");
  close(exact.high, 2, 1e-9, "an exact line: high");
  assert.equal(exact.blocks, 5);
});

test("a step under noise: the per-sample fit is sure of a slope, the block means are not", () => {
  // 6,000 samples, flat with ±0.25 of white noise, one step of 1.6 at 40 %: the lag-1
  // correction sees the noise's short memory only and keeps nearly every point
  let seed = 5;
  const noise = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return (seed / 2 ** 32 - 0.5) * 0.5;
  };
  const xs = Array.from({ length: 6000 }, (_, i) => i);
  const ys = xs.map((x) => 96 + noise() + (x > 2400 ? 1.6 : 0));
  const perSample = slopeInterval(linearFit(xs, ys));
  const blocks = blockSlopeInterval(xs, ys);
  assert.ok(perSample.effectiveN > 100, `per-sample effective n ${perSample.effectiveN}`);
  const width = (ci: { low: number; high: number }) => ci.high - ci.low;
  assert.ok(width(blocks) > 5 * width(perSample), `${width(blocks)} vs ${width(perSample)}`);
  close(blocks.slope, perSample.slope, 0.1 * perSample.slope, "the same slope");
});
