import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  checkQuotaOffset,
  isQuotaPeriod,
  QUOTA_PERIODS,
  type QuotaPeriod,
  quotaWindow,
  SHORTEST_PERIOD_MS,
} from "./quota-period.ts";

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const windowIso = (now: string, period: QuotaPeriod, offsetMs = 0) => {
  const w = quotaWindow(at(now), period, offsetMs);
  return [iso(w.startMs), iso(w.endMs)];
};
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test("minute, hour and day windows are the calendar units in UTC", () => {
  assert.deepEqual(windowIso("2026-12-08T00:22:25.123Z", "minute"), [
    "2026-12-08T00:22:00.000Z",
    "2026-12-08T00:23:00.000Z",
  ]);
  assert.deepEqual(windowIso("2026-12-08T00:22:25.123Z", "hour"), [
    "2026-12-08T00:00:00.000Z",
    "2026-12-08T01:00:00.000Z",
  ]);
  assert.deepEqual(windowIso("2026-12-08T23:59:59.999Z", "day"), [
    "2026-12-08T00:00:00.000Z",
    "2026-12-09T00:00:00.000Z",
  ]);
  assert.deepEqual(windowIso("2026-12-09T00:00:00.000Z", "day"), [
    "2026-12-09T00:00:00.000Z",
    "2026-12-10T00:00:00.000Z",
  ]);
});

test("weeks start on Monday 00:00 UTC", () => {
  // 2026-12-08 is a Tuesday; 2026-12-13 a Sunday; 2026-12-14 a Monday.
  assert.deepEqual(windowIso("2026-12-08T12:00:00Z", "week"), [
    "2026-12-07T00:00:00.000Z",
    "2026-12-14T00:00:00.000Z",
  ]);
  assert.deepEqual(windowIso("2026-12-13T23:59:59.999Z", "week"), [
    "2026-12-07T00:00:00.000Z",
    "2026-12-14T00:00:00.000Z",
  ]);
  assert.deepEqual(windowIso("2026-12-14T00:00:00Z", "week"), [
    "2026-12-14T00:00:00.000Z",
    "2026-12-21T00:00:00.000Z",
  ]);
  assert.deepEqual(windowIso("1970-01-01T00:00:00Z", "week"), [
    "1969-12-29T00:00:00.000Z",
    "1970-01-05T00:00:00.000Z",
  ]);
});

test("months have their calendar lengths, leap years included", () => {
  assert.deepEqual(windowIso("2028-02-29T10:00:00Z", "month"), [
    "2028-02-01T00:00:00.000Z",
    "2028-03-01T00:00:00.000Z",
  ]);
  assert.deepEqual(windowIso("2026-02-28T23:59:59.999Z", "month"), [
    "2026-02-01T00:00:00.000Z",
    "2026-03-01T00:00:00.000Z",
  ]);
  assert.deepEqual(windowIso("2026-12-31T23:00:00Z", "month"), [
    "2026-12-01T00:00:00.000Z",
    "2027-01-01T00:00:00.000Z",
  ]);
  const feb = quotaWindow(at("2028-02-10T00:00:00Z"), "month", 0);
  assert.equal(feb.endMs - feb.startMs, 29 * DAY);
  const apr = quotaWindow(at("2026-04-10T00:00:00Z"), "month", 0);
  assert.equal(apr.endMs - apr.startMs, 30 * DAY);
});

test("the offset shifts the start later, across midnight and month ends", () => {
  // A day from 06:00 UTC: at 03:00 we are still in yesterday's window.
  assert.deepEqual(windowIso("2026-12-08T03:00:00Z", "day", 6 * HOUR), [
    "2026-12-07T06:00:00.000Z",
    "2026-12-08T06:00:00.000Z",
  ]);
  assert.deepEqual(windowIso("2026-12-08T06:00:00Z", "day", 6 * HOUR), [
    "2026-12-08T06:00:00.000Z",
    "2026-12-09T06:00:00.000Z",
  ]);
  // An hour from :30 crossing midnight.
  assert.deepEqual(windowIso("2026-12-09T00:10:00Z", "hour", 30 * 60_000), [
    "2026-12-08T23:30:00.000Z",
    "2026-12-09T00:30:00.000Z",
  ]);
  // A month from the 15th 12:00: on March 1st we are in the February 15th window (29 days in 2028).
  const w = quotaWindow(at("2028-03-01T00:00:00Z"), "month", 14 * DAY + 12 * HOUR);
  assert.deepEqual([iso(w.startMs), iso(w.endMs)], ["2028-02-15T12:00:00.000Z", "2028-03-15T12:00:00.000Z"]);
  // A week from Wednesday 00:00 (offset 2 days): on Tuesday we are in last Wednesday's week.
  assert.deepEqual(windowIso("2026-12-08T12:00:00Z", "week", 2 * DAY), [
    "2026-12-02T00:00:00.000Z",
    "2026-12-09T00:00:00.000Z",
  ]);
});

test("offsets outside [0, shortest period) are refused", () => {
  for (const period of QUOTA_PERIODS) {
    assert.throws(() => quotaWindow(0, period, -1), RangeError);
    assert.throws(() => quotaWindow(0, period, SHORTEST_PERIOD_MS[period]), RangeError);
    assert.throws(() => quotaWindow(0, period, 0.5), RangeError);
    checkQuotaOffset(period, SHORTEST_PERIOD_MS[period] - 1);
  }
  assert.throws(() => quotaWindow(0, "month", 28 * DAY), /\[0, 2419200000\)/);
  assert.throws(() => quotaWindow(Number.NaN, "day", 0), RangeError);
  assert.throws(() => quotaWindow(0, "year" as QuotaPeriod, 0), /unknown quota period/);
  assert.deepEqual(["week", "year", "", "toString"].map(isQuotaPeriod), [true, false, false, false]);
});

test("property: every instant lies in its window, and the next window starts where it ends", () => {
  const periodAndOffset = fc
    .constantFrom(...QUOTA_PERIODS)
    .chain((period) =>
      fc.tuple(fc.constant(period), fc.integer({ min: 0, max: SHORTEST_PERIOD_MS[period] - 1 })),
    );
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: at("2200-01-01T00:00:00Z") }),
      periodAndOffset,
      (now, [period, offset]) => {
        const w = quotaWindow(now, period, offset);
        assert.ok(w.startMs <= now && now < w.endMs);
        assert.ok((w.startMs - offset) % 60_000 === 0, "starts on a whole minute plus the offset");
        assert.equal(quotaWindow(w.endMs, period, offset).startMs, w.endMs);
        assert.deepEqual(quotaWindow(w.endMs - 1, period, offset), w);
        assert.ok(w.endMs - w.startMs >= SHORTEST_PERIOD_MS[period]);
      },
    ),
  );
});
