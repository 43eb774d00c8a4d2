import type { ThresholdResult } from "../report/model.ts";
import type { Params, Threshold } from "./types.ts";

/** Checks every threshold against the run's metrics; a metric that is absent is a miss. Pure. */
export function checkThresholds<P extends Params>(
  thresholds: Threshold<P>[],
  metrics: Record<string, number>,
  params: P,
): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const t of thresholds) {
    const raw = metrics[t.metric];
    const value = raw === undefined || Number.isNaN(raw) ? null : raw;
    const bounds: Array<["<=" | ">=", number | ((p: P) => number) | undefined]> = [
      ["<=", t.max],
      [">=", t.min],
    ];
    for (const [op, bound] of bounds) {
      if (bound === undefined) continue;
      const limit = typeof bound === "function" ? bound(params) : bound;
      const pass = value !== null && (op === "<=" ? value <= limit : value >= limit);
      results.push({ metric: t.metric, description: t.description, op, limit, value, pass });
    }
  }
  return results;
}
