import type { SeriesPoint } from "../generator/merge.ts";
import { OK } from "../generator/outcome.ts";
import type { Outcomes } from "../generator/recorder.ts";
import type { Table } from "./model.ts";

/**
 * What the failed requests of a load were, so a run's errors are named, not just counted:
 * each outcome label is the platform's `corral-reason` (`shed`, `quota`, `deadline`, …), the
 * status when there was none (`http_502`), or the client's error code (`timeout`,
 * `econnreset`, `und_err_socket`). Pure.
 */

/** "shed 22, econnreset 1" (largest first), "" with no errors. */
export function errorKinds(outcomes: Outcomes): string {
  return Object.entries(outcomes)
    .filter(([label, n]) => label !== OK && n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([label, n]) => `${label} ${n}`)
    .join(", ");
}

/** One second of the run with errors, and how long after the last config change it began. */
export type ErrorSecond = {
  /** seconds since the load's start */
  second: number;
  errors: number;
  kinds: string;
  /**
   * ms from the last config change made before the second ended to the second's start
   * (negative: the change came during the second); undefined before the first change
   */
  sinceChangeMs: number | undefined;
};

/**
 * The seconds of a load that had errors, each with its kinds and its distance from the last
 * config change (`changesEpochMs`, any order), at most `limit` of them, in time order. Errors
 * that cluster a few hundred ms after changes point at the apply path; anywhere else, not.
 */
export function errorSeconds(
  series: readonly SeriesPoint[],
  loadStartEpochMs: number,
  changesEpochMs: readonly number[],
  limit = 100,
): ErrorSecond[] {
  const changes = [...changesEpochMs].sort((a, b) => a - b);
  const result: ErrorSecond[] = [];
  for (const point of series) {
    if (point.errors === 0) continue;
    if (result.length >= limit) break;
    const startMs = loadStartEpochMs + point.second * 1000;
    let last: number | undefined;
    for (const at of changes) {
      if (at > startMs + 1000) break;
      last = at;
    }
    result.push({
      second: point.second,
      errors: point.errors,
      kinds: errorKinds(point.outcomes),
      sinceChangeMs: last === undefined ? undefined : Math.round(startMs - last),
    });
  }
  return result;
}

/** The report table of `errorSeconds`. */
export function errorSecondsTable(label: string, rows: readonly ErrorSecond[]): Table {
  return {
    title: `${label}: seconds with errors, and the last config change`,
    columns: ["second", "errors", "kinds", "ms since the last config change"],
    rows: rows.map((r) => [r.second, r.errors, r.kinds, r.sinceChangeMs ?? "none yet"]),
  };
}
