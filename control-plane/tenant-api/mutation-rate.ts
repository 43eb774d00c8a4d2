/**
 * Per-tenant pacing of tenant-API changes (docs/design.md §8.8): one token bucket per tenant, filled at
 * `perMinute` tokens a minute up to `burst`; every change call (REST or gRPC, valid or not, a
 * replay or not) takes a token after authentication and before any database work, else it is
 * refused with CORRAL_TENANT_RATE_LIMITED and the seconds until a token is back. The state is
 * this replica's memory: with R replicas behind a balancer a tenant gets up to R times the rate.
 *
 * A small bucket of its own with lazy refill and an injected clock: the control plane may not
 * import the data plane's admission/token-bucket.ts. Only authenticated tenants get a bucket,
 * and buckets that are full again are dropped once SWEEP_AT tenants are tracked.
 */
import { CorralError } from "../errors.ts";

export interface MutationRateSpec {
  perMinute: number;
  burst: number;
}

interface Bucket {
  tokens: number;
  atMs: number;
}

export const SWEEP_AT = 10_000;

export class MutationRateLimiter {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(spec: MutationRateSpec, now: () => number = Date.now) {
    if (!(spec.perMinute > 0 && spec.burst >= 1)) throw new RangeError("perMinute must be > 0, burst >= 1");
    this.#perMs = spec.perMinute / 60_000;
    this.#burst = spec.burst;
    this.#now = now;
  }

  /** Takes one token of `tenantId`'s bucket or throws CORRAL_TENANT_RATE_LIMITED. */
  take(tenantId: string): void {
    const now = this.#now();
    const bucket = this.#refilled(tenantId, now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
    throw new CorralError(
      "CORRAL_TENANT_RATE_LIMITED",
      `this tenant's changes are limited to ${this.#perMs * 60_000} a minute (burst ${this.#burst}); retry in ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
  }

  /** tenants with a bucket (tests, metrics) */
  get tracked(): number {
    return this.#buckets.size;
  }

  #refilled(tenantId: string, now: number): Bucket {
    let bucket = this.#buckets.get(tenantId);
    if (!bucket) {
      if (this.#buckets.size >= SWEEP_AT) this.#sweep(now);
      bucket = { tokens: this.#burst, atMs: now };
      this.#buckets.set(tenantId, bucket);
      return bucket;
    }
    if (now > bucket.atMs) {
      bucket.tokens = Math.min(this.#burst, bucket.tokens + (now - bucket.atMs) * this.#perMs);
      bucket.atMs = now;
    }
    return bucket;
  }

  /** Drops the buckets that are full by now: forgetting them changes nothing. */
  #sweep(now: number): void {
    for (const [tenant, b] of this.#buckets) {
      if (b.tokens + Math.max(0, now - b.atMs) * this.#perMs >= this.#burst) this.#buckets.delete(tenant);
    }
  }
}
