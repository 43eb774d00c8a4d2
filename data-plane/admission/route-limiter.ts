/**
 * Per-route rate limit on this node: the same sustained + burst buckets as the tenant limiter,
 * keyed by route id, applied after the tenant's buckets. A route without limits (rate 0) is not
 * limited. Route limits are split over the tenant's shard like the tenant's own.
 */
import { KeyedBucketLimiter, type KeyedBucketLimiterOptions } from "./keyed-bucket-limiter.ts";

export class RouteLimiter extends KeyedBucketLimiter {
  constructor(options: KeyedBucketLimiterOptions = {}) {
    super("route", options);
  }
}
