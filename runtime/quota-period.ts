/**
 * Calendar periods of a quota, in UTC. Pure: the caller passes the time.
 *
 * A period's window is the calendar unit (minute, hour, day, week, month) shifted
 * later by `offsetMs`: a daily quota with offset 6 h runs 06:00–06:00 UTC, a monthly
 * quota with offset 1 day runs from the 2nd 00:00 UTC to the next month's 2nd.
 * Weeks start on Monday 00:00 UTC (ISO 8601). Months have their calendar length
 * (28–31 days, leap years included), so a monthly window is never a fixed span.
 *
 * The offset must be smaller than the shortest instance of its period (a month's is
 * 28 days), so every instant falls in exactly one window and windows follow each
 * other without gaps.
 */

export type QuotaPeriod = "minute" | "hour" | "day" | "week" | "month";

export interface QuotaWindow {
  startMs: number;
  endMs: number;
}

export const QUOTA_PERIODS: readonly QuotaPeriod[] = ["minute", "hour", "day", "week", "month"];

export function isQuotaPeriod(s: string): s is QuotaPeriod {
  return (QUOTA_PERIODS as readonly string[]).includes(s);
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-01 was a Thursday: the first Monday 00:00 UTC is 4 days later. */
const FIRST_MONDAY_MS = 4 * DAY_MS;

/** The shortest length each period can have; offsets must stay below it. */
export const SHORTEST_PERIOD_MS: Readonly<Record<QuotaPeriod, number>> = {
  minute: MINUTE_MS,
  hour: HOUR_MS,
  day: DAY_MS,
  week: WEEK_MS,
  month: 28 * DAY_MS,
};

/** The window of `period` (shifted by `offsetMs`) that contains `nowMs`. */
export function quotaWindow(nowMs: number, period: QuotaPeriod, offsetMs: number): QuotaWindow {
  checkQuotaOffset(period, offsetMs);
  if (!Number.isFinite(nowMs)) throw new RangeError(`quota time must be finite, got ${nowMs}`);
  const unshifted = nowMs - offsetMs;
  const start = calendarStart(unshifted, period);
  return { startMs: start + offsetMs, endMs: calendarNext(start, period) + offsetMs };
}

/** Throws a RangeError unless `offsetMs` is an integer in [0, shortest length of `period`). */
export function checkQuotaOffset(period: QuotaPeriod, offsetMs: number): void {
  const shortest = SHORTEST_PERIOD_MS[period];
  if (shortest === undefined) throw new RangeError(`unknown quota period ${String(period)}`);
  if (!Number.isInteger(offsetMs) || offsetMs < 0 || offsetMs >= shortest) {
    throw new RangeError(
      `quota offset for a ${period} period must be an integer in [0, ${shortest}) ms, got ${offsetMs}`,
    );
  }
}

function calendarStart(t: number, period: QuotaPeriod): number {
  switch (period) {
    case "minute":
      return floorTo(t, MINUTE_MS, 0);
    case "hour":
      return floorTo(t, HOUR_MS, 0);
    case "day":
      return floorTo(t, DAY_MS, 0);
    case "week":
      return floorTo(t, WEEK_MS, FIRST_MONDAY_MS);
    case "month": {
      const d = new Date(t);
      return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    }
  }
}

function calendarNext(start: number, period: QuotaPeriod): number {
  if (period !== "month") return start + SPAN_MS[period];
  const d = new Date(start);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

const SPAN_MS: Readonly<Record<Exclude<QuotaPeriod, "month">, number>> = {
  minute: MINUTE_MS,
  hour: HOUR_MS,
  day: DAY_MS,
  week: WEEK_MS,
};

function floorTo(t: number, span: number, origin: number): number {
  return Math.floor((t - origin) / span) * span + origin;
}
