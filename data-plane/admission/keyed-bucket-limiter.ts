/**
 * Rate limiting by key (tenant or route) with a DualBucket per key, the node's share of each
 * key's limit, a shadow mode and a kill switch. The base of TenantLimiter and RouteLimiter.
 *
 * Limits arrive with every call (they come from the current snapshot), so a config change takes
 * effect on the next request; tokens carry over, capped at the new capacities.
 * `rate` 0 means no limit (proto3's unset value). The share of a key is 1/shardSize unless
 * setShare() overrode it (the demand rebalancer).
 */
import {
  type AdmissionDecision,
  admitShadowed,
  combineModes,
  type LimiterMode,
  reject,
  retryAfterSeconds,
} from "./decision.ts";
import { DualBucket, type DualBucketOptions, dualBucketSpecs } from "./dual-bucket.ts";
import { rateLimitHeaders } from "./rate-limit-headers.ts";

export type RateLimits = LimiterMode & {
  /** sustained requests per second for the whole key, across its shard; 0 = unlimited */
  rate: number;
  /** largest clump of requests after idling, for the whole key */
  burst: number;
  /** members sharing the limit (k); default 1 */
  shardSize?: number;
};

export type LimiterStats = { admitted: number; rejected: number; shadowRejected: number };
export type KeyedBucketLimiterOptions = DualBucketOptions & { mode?: LimiterMode };

/** `what` and `key` name the limit in the error (joined only when there is one). */
function checkLimits(what: string, key: string, limits: RateLimits): void {
  const { rate, burst, shardSize = 1 } = limits;
  if (!(Number.isFinite(rate) && rate >= 0))
    throw new RangeError(`${what} ${key} rate must be a number >= 0, got ${rate}`);
  if (!(Number.isFinite(burst) && burst >= 0))
    throw new RangeError(`${what} ${key} burst must be a number >= 0, got ${burst}`);
  if (!(Number.isInteger(shardSize) && shardSize >= 1)) {
    throw new RangeError(`${what} ${key} shard size must be an integer >= 1, got ${shardSize}`);
  }
}

export class KeyedBucketLimiter {
  readonly #what: string;
  readonly #options: DualBucketOptions;
  readonly #buckets = new Map<string, DualBucket>();
  readonly #shares = new Map<string, number>();
  readonly #stats: LimiterStats = { admitted: 0, rejected: 0, shadowRejected: 0 };
  #mode: LimiterMode;

  constructor(what: string, options: KeyedBucketLimiterOptions = {}) {
    this.#what = what;
    this.#options = { sustainedWindowS: options.sustainedWindowS, peakFactor: options.peakFactor };
    this.#mode = { ...options.mode };
  }

  /** Fleet-wide switches from config; combined with each key's own (either one wins). */
  setMode(mode: LimiterMode): void {
    this.#mode = { ...mode };
  }

  /** This node's fraction of the key's limit, in (0, 1]; overrides 1/shardSize. */
  setShare(key: string, share: number): void {
    if (!(Number.isFinite(share) && share > 0 && share <= 1))
      throw new RangeError(`share must be in (0, 1], got ${share}`);
    this.#shares.set(key, share);
  }

  clearShare(key: string): void {
    this.#shares.delete(key);
  }

  shareOf(key: string, limits: Pick<RateLimits, "shardSize">): number {
    return this.#shares.get(key) ?? 1 / (limits.shardSize ?? 1);
  }

  stats(): LimiterStats {
    return { ...this.#stats };
  }

  admit(key: string, limits: RateLimits, nowMs: number, cost = 1): AdmissionDecision {
    checkLimits(this.#what, key, limits);
    const mode = combineModes(this.#mode, limits);
    if (mode.disabled || limits.rate === 0) return { admit: true };
    const taken = this.#bucketFor(key, limits, nowMs).take(cost, nowMs);
    if (taken.ok) {
      this.#stats.admitted++;
      return mode.shadow ? { admit: true } : { admit: true, headers: rateLimitHeaders(taken.state) };
    }
    if (mode.shadow) {
      this.#stats.shadowRejected++;
      return admitShadowed("quota");
    }
    this.#stats.rejected++;
    return this.#rejection(key, taken.retryAfterMs, rateLimitHeaders(taken.state));
  }

  /** Forget keys whose buckets are full (idle): a fresh bucket would behave the same. */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.isFull(nowMs)) {
        this.#buckets.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.#buckets.size;
  }

  #bucketFor(key: string, limits: RateLimits, nowMs: number): DualBucket {
    const specs = dualBucketSpecs(limits.rate, limits.burst, this.shareOf(key, limits), this.#options);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new DualBucket(specs, nowMs);
      this.#buckets.set(key, bucket);
    } else {
      bucket.update(specs, nowMs);
    }
    return bucket;
  }

  #rejection(key: string, retryAfterMs: number, headers: Record<string, string>): AdmissionDecision {
    if (!Number.isFinite(retryAfterMs)) {
      return reject("quota", `request cost exceeds the ${this.#what} limit of ${key}`, { headers });
    }
    const retryAfterS = retryAfterSeconds(retryAfterMs);
    return reject("quota", `${this.#what} ${key} is over its rate limit`, { retryAfterS, headers });
  }
}
