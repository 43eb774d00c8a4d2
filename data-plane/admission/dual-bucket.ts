/**
 * The pair of buckets that limits one tenant (or route) on one node. Both must admit.
 *
 * With r = rate x share and b = burst x share (share = this node's part of the limit, 1/k
 * unless rebalanced by demand):
 *  - sustained bucket: refills at r, capacity max(1, r x sustainedWindowS, b). It holds the
 *    long-run rate: over any interval T at most capacity + r*T requests pass.
 *  - burst bucket: capacity max(1, b), refills at r x peakFactor. It bounds how many requests
 *    may arrive at once (b) and how fast saved-up sustained tokens may be spent (peak rate).
 * So `burst` is the largest clump a client can send after being idle, `rate` the long-run rate,
 * and sustainedWindowS (default 0.25 s) only matters when the burst is smaller than a quarter
 * second of traffic: it keeps a little slack so evenly paced traffic at the rate is not refused.
 */
import { policyOf, type RateLimitState } from "./rate-limit-headers.ts";
import { type BucketSpec, TokenBucket } from "./token-bucket.ts";

export type DualBucketOptions = { sustainedWindowS?: number; peakFactor?: number };
export type DualBucketSpecs = { sustained: BucketSpec; burst: BucketSpec };
export type DualTake = { ok: boolean; retryAfterMs: number; state: RateLimitState };

export const DEFAULT_SUSTAINED_WINDOW_S = 0.25;
export const DEFAULT_PEAK_FACTOR = 2;

export function dualBucketSpecs(rate: number, burst: number, share: number, options: DualBucketOptions = {}) {
  const window = options.sustainedWindowS ?? DEFAULT_SUSTAINED_WINDOW_S;
  const peak = options.peakFactor ?? DEFAULT_PEAK_FACTOR;
  const r = rate * share;
  const b = burst * share;
  return {
    sustained: { rate: r, capacity: Math.max(1, r * window, b) },
    burst: { rate: r * peak, capacity: Math.max(1, b) },
  } satisfies DualBucketSpecs;
}

const sameSpec = (bucket: TokenBucket, spec: BucketSpec) =>
  bucket.rate === spec.rate && bucket.capacity === spec.capacity;

export class DualBucket {
  readonly #sustained: TokenBucket;
  readonly #burst: TokenBucket;

  constructor(specs: DualBucketSpecs, nowMs: number) {
    this.#sustained = new TokenBucket(specs.sustained, nowMs);
    this.#burst = new TokenBucket(specs.burst, nowMs);
  }

  /** Apply new specs (limits or share changed); tokens stay, capped by the new capacities. */
  update(specs: DualBucketSpecs, nowMs: number): void {
    if (!sameSpec(this.#sustained, specs.sustained)) this.#sustained.reconfigure(specs.sustained, nowMs);
    if (!sameSpec(this.#burst, specs.burst)) this.#burst.reconfigure(specs.burst, nowMs);
  }

  /** Take `cost` from both buckets, or from neither. */
  take(cost: number, nowMs: number): DualTake {
    const sustained = this.#sustained.check(cost, nowMs);
    const burst = this.#burst.check(cost, nowMs);
    const ok = sustained.ok && burst.ok;
    if (ok) {
      this.#sustained.take(cost, nowMs);
      this.#burst.take(cost, nowMs);
    }
    return {
      ok,
      retryAfterMs: Math.max(sustained.retryAfterMs, burst.retryAfterMs),
      state: this.#state(nowMs),
    };
  }

  /** True when both buckets are full: dropping this state changes nothing. */
  isFull(nowMs: number): boolean {
    return (
      this.#sustained.tokens(nowMs) >= this.#sustained.capacity &&
      this.#burst.tokens(nowMs) >= this.#burst.capacity
    );
  }

  #state(nowMs: number): RateLimitState {
    const { quota, windowS } = policyOf(this.#sustained.rate, this.#sustained.capacity);
    const remaining = Math.min(this.#sustained.tokens(nowMs), this.#burst.tokens(nowMs));
    return { quota, windowS, remaining, resetS: this.#sustained.msUntilFull(nowMs) / 1000 };
  }
}
