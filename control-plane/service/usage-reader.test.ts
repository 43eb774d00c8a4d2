import assert from "node:assert/strict";
import { test } from "node:test";
import { reportWindow } from "./usage-reader.ts";

const H = 3_600_000;
const D = 24 * H;
const NOW = Date.UTC(2028, 1, 29, 13, 20); // a leap day, 13:20 UTC
const iso = (ms: number) => new Date(ms).toISOString();

test("defaults: the last day of hours, or 30 days of days, ending at the next boundary", () => {
  const hourly = reportWindow({}, NOW);
  assert.deepEqual(hourly, {
    fromMs: Date.UTC(2028, 1, 28, 14),
    toMs: Date.UTC(2028, 1, 29, 14),
    granularity: "hour",
  });
  const daily = reportWindow({ granularity: "day" }, NOW);
  assert.deepEqual([daily.toMs, daily.toMs - daily.fromMs], [Date.UTC(2028, 2, 1), 30 * D]);
});

test("bounds are rounded out to the granularity", () => {
  const w = reportWindow(
    { from: "2028-02-01T10:30:00Z", to: "2028-02-03T00:00:01Z", granularity: "day" },
    NOW,
  );
  assert.deepEqual([iso(w.fromMs), iso(w.toMs)], ["2028-02-01T00:00:00.000Z", "2028-02-04T00:00:00.000Z"]);
});

test("bad windows are 400 naming the field", () => {
  const bad: [Parameters<typeof reportWindow>[0], RegExp][] = [
    [{ from: iso(NOW), to: iso(NOW - 2 * H) }, /from must be before to/],
    [{ from: iso(NOW - 32 * D), to: iso(NOW) }, /at most 31 days/],
    [{ from: iso(NOW - 401 * D), to: iso(NOW), granularity: "day" }, /at most 400 days/],
    [{ from: "last tuesday" }, /querystring\/from must be an RFC 3339/],
    [{ to: "2028-13-45" }, /querystring\/to must be an RFC 3339/],
  ];
  for (const [q, message] of bad)
    assert.throws(
      () => reportWindow(q, NOW),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "CORRAL_ADMIN_VALIDATION");
        assert.match(err.message, message);
        return true;
      },
    );
  assert.ok(reportWindow({ from: iso(NOW - 31 * D + H), to: iso(NOW) }, NOW), "31 days is allowed");
});
