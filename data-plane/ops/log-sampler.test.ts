import assert from "node:assert/strict";
import { test } from "node:test";
import { alwaysLogged, logSampler } from "./log-sampler.ts";

/** A deterministic stand-in for Math.random: cycles through the given values. */
function cycle(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

test("rate 1 logs every request without drawing a number", () => {
  const sample = logSampler(1, () => assert.fail("no draw at rate 1"));
  assert.ok(sample(200, "upstream") && sample(404, "upstream") && sample(429, "quota"));
});

test("successes are logged when the draw falls below the rate", () => {
  const sample = logSampler(0.25, cycle([0.1, 0.3, 0.24, 0.25, 0.9]));
  assert.deepEqual(
    Array.from({ length: 5 }, () => sample(200, "upstream")),
    [true, false, true, false, false],
  );
});

test("about rate x n successes are logged with real randomness", () => {
  const sample = logSampler(0.01, Math.random);
  let logged = 0;
  for (let i = 0; i < 100_000; i++) if (sample(200, "forwarded")) logged++;
  assert.ok(logged > 800 && logged < 1200, `${logged} of 100000 at 1 %`);
});

test("rejections, errors and 5xx answers are always logged, even at rate 0", () => {
  const sample = logSampler(0, () => assert.fail("rejections need no draw"));
  for (const [status, reason] of [
    [429, "quota"],
    [503, "shed"],
    [401, "unauthorized"],
    [502, "upstream_error"],
    [499, "client_gone"],
    [500, "internal"],
    [503, "upstream"],
    [500, "forwarded"],
  ] as const)
    assert.ok(sample(status, reason), `${status} ${reason}`);
  assert.equal(alwaysLogged(404, "upstream"), false, "the upstream's own 4xx is a success for Corral");
  assert.equal(logSampler(0, Math.random)(200, "upstream"), false);
});

test("a rate outside 0..1 is refused", () => {
  for (const rate of [-0.1, 1.1, Number.NaN]) assert.throws(() => logSampler(rate, Math.random), RangeError);
});
