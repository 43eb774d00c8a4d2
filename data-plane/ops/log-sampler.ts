/**
 * Which answered requests get a log line (docs/design.md §9.1: one per request, by default). With
 * CORRAL_LOG_SAMPLE_RATE below 1 only that share of successful requests is logged, drawn at
 * random (a counter would alias with regular traffic: every 100th request of a round-robin
 * over 100 tenants is always the same tenant). Rejections and errors are always logged:
 * anything with a corral-reason other than a success, and every status of 500 or more.
 */
export type LogSampler = (status: number, reason: string) => boolean;

/** corral-reasons of requests that went where they should: the upstream, or a shard member. */
const SUCCESS_REASONS: ReadonlySet<string> = new Set(["upstream", "forwarded"]);

export function alwaysLogged(status: number, reason: string): boolean {
  return status >= 500 || !SUCCESS_REASONS.has(reason);
}

/** rate: 0..1, the share of successes logged; random: uniform in [0, 1). */
export function logSampler(rate: number, random: () => number): LogSampler {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`log sample rate must be 0..1, got ${rate}`);
  if (rate === 1) return () => true;
  return (status, reason) => alwaysLogged(status, reason) || random() < rate;
}
