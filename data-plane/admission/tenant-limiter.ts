/**
 * Per-tenant rate limit on this node: a sustained and a burst bucket per tenant (see
 * dual-bucket.ts), each node enforcing its share of the tenant's limit (1/k, or the share the
 * demand rebalancer sets with setShare). 429 / RESOURCE_EXHAUSTED with Retry-After, RateLimit and
 * RateLimit-Policy on rejection; RateLimit headers on admission too.
 */
import { KeyedBucketLimiter, type KeyedBucketLimiterOptions } from "./keyed-bucket-limiter.ts";

export class TenantLimiter extends KeyedBucketLimiter {
  constructor(options: KeyedBucketLimiterOptions = {}) {
    super("tenant", options);
  }
}
