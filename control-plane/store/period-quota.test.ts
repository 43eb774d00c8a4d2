import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatIsoDuration, parseIsoDuration } from "./period-quota.ts";

test("ISO 8601 offsets: days, hours, minutes, seconds to the ms", () => {
  const cases: [string, number][] = [
    ["PT0S", 0],
    ["PT2H", 7_200_000],
    ["P1D", 86_400_000],
    ["P1DT2H30M", 95_400_000],
    ["PT90M", 5_400_000],
    ["PT1.5S", 1500],
    ["PT0.001S", 1],
    ["P27DT23H59M59.999S", 28 * 86_400_000 - 1],
  ];
  for (const [text, ms] of cases) assert.equal(parseIsoDuration(text), ms, text);
});

test("ISO 8601 offsets that are refused: months, years, weeks, signs, empty parts, long text", () => {
  for (const text of [
    "",
    "P",
    "PT",
    "P1DT",
    "P1M",
    "P1Y",
    "P1W",
    "-PT1H",
    "PT1H ",
    "pt1h",
    "PT1.0001S",
    "PT1,5S",
    `PT${"1".repeat(40)}S`,
    "P100D",
  ]) {
    assert.equal(parseIsoDuration(text), undefined, JSON.stringify(text));
  }
});

test("formatting gives the canonical form, and parsing it gives the ms back", () => {
  assert.equal(formatIsoDuration(0), "PT0S");
  assert.equal(formatIsoDuration(26 * 3_600_000), "P1DT2H");
  assert.equal(formatIsoDuration(1500), "PT1.5S");
  assert.throws(() => formatIsoDuration(-1), RangeError);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 28 * 86_400_000 - 1 }), (ms) => {
      assert.equal(parseIsoDuration(formatIsoDuration(ms)), ms);
    }),
  );
});
