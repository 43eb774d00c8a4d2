import type { SeriesPoint } from "../generator/merge.ts";

/** Seconds with fewer requests than this are not judged: their p99 would be one request. */
export const MIN_REQUESTS_PER_SECOND = 200;

export type StallCluster = { ms: number; second: number };

/**
 * The longest stall cluster of an open-loop run (pure): the highest p99 of any one second.
 * A pause of the proxy (a GC, a long event-loop turn) delays every request that arrives
 * during it, so it shows as a cluster of slow requests within one second; with at least
 * MIN_REQUESTS_PER_SECOND in the second, its p99 is high only when at least two requests
 * were slow there together, never for one lone outlier (that is what max is for).
 */
export function longestStallCluster(series: SeriesPoint[]): StallCluster {
  let worst: StallCluster = { ms: 0, second: -1 };
  for (const point of series) {
    if (point.ok + point.errors < MIN_REQUESTS_PER_SECOND) continue;
    if (point.p99Ms > worst.ms) worst = { ms: point.p99Ms, second: point.second };
  }
  return worst;
}
