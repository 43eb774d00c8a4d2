/**
 * A token bucket with lazy refill: no timers, the state is (tokens, last refill time), and each
 * call first adds rate * elapsed tokens, capped at capacity.
 *
 * Clock going backwards: the bucket keeps the latest time it has seen and refills only past it,
 * so an earlier `now` neither throws nor mints tokens (the same interval is never counted twice).
 * Cost larger than capacity: always rejected, with retryAfterMs = Infinity, since no wait can
 * ever make it fit; callers must not advertise a retry time then.
 */
export type TakeResult = { ok: boolean; retryAfterMs: number; remaining: number };
export type BucketSpec = { rate: number; capacity: number };

/** Slack for floating-point refill: a take that is short by less than this succeeds. */
const EPSILON = 1e-9;

export function checkBucketSpec(spec: BucketSpec): void {
  if (!(Number.isFinite(spec.rate) && spec.rate > 0))
    throw new RangeError(`bucket rate must be > 0, got ${spec.rate}`);
  if (!(Number.isFinite(spec.capacity) && spec.capacity > 0)) {
    throw new RangeError(`bucket capacity must be > 0, got ${spec.capacity}`);
  }
}

export class TokenBucket {
  #rate: number;
  #capacity: number;
  #tokens: number;
  #last: number;

  /** Starts full unless `tokens` is given. `rate` is tokens per second; times are ms. */
  constructor(spec: BucketSpec, nowMs: number, tokens?: number) {
    checkBucketSpec(spec);
    checkTime(nowMs);
    this.#rate = spec.rate;
    this.#capacity = spec.capacity;
    this.#tokens = Math.min(spec.capacity, Math.max(0, tokens ?? spec.capacity));
    this.#last = nowMs;
  }

  get rate(): number {
    return this.#rate;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Tokens available at `nowMs`. */
  tokens(nowMs: number): number {
    this.#refill(nowMs);
    return this.#tokens;
  }

  /** Would `cost` be admitted now? Changes nothing but the refill. */
  check(cost: number, nowMs: number): TakeResult {
    checkCost(cost);
    this.#refill(nowMs);
    if (cost > this.#capacity)
      return { ok: false, retryAfterMs: Number.POSITIVE_INFINITY, remaining: this.#tokens };
    if (this.#tokens + EPSILON >= cost) return { ok: true, retryAfterMs: 0, remaining: this.#tokens - cost };
    return {
      ok: false,
      retryAfterMs: Math.ceil(((cost - this.#tokens) / this.#rate) * 1000),
      remaining: this.#tokens,
    };
  }

  /** Take `cost` tokens if available; otherwise take nothing and say how long to wait. */
  take(cost: number, nowMs: number): TakeResult {
    const result = this.check(cost, nowMs);
    if (result.ok) this.#tokens = Math.max(0, this.#tokens - cost);
    return result;
  }

  /** Milliseconds until the bucket is full again. */
  msUntilFull(nowMs: number): number {
    this.#refill(nowMs);
    return Math.ceil(((this.#capacity - this.#tokens) / this.#rate) * 1000);
  }

  /**
   * Change rate (and optionally capacity), e.g. when the node's share of a tenant's limit is
   * rebalanced. Tokens earned so far count at the old rate; current tokens stay, capped at the
   * new capacity, so a change never mints tokens.
   */
  reconfigure(spec: BucketSpec, nowMs: number): void {
    checkBucketSpec(spec);
    this.#refill(nowMs);
    this.#rate = spec.rate;
    this.#capacity = spec.capacity;
    this.#tokens = Math.min(this.#tokens, spec.capacity);
  }

  /** Change only the rate; see reconfigure. */
  setRate(rate: number, nowMs: number): void {
    this.reconfigure({ rate, capacity: this.#capacity }, nowMs);
  }

  #refill(nowMs: number): void {
    checkTime(nowMs);
    if (nowMs <= this.#last) return;
    this.#tokens = Math.min(this.#capacity, this.#tokens + ((nowMs - this.#last) / 1000) * this.#rate);
    this.#last = nowMs;
  }
}

function checkTime(nowMs: number): void {
  if (!Number.isFinite(nowMs)) throw new RangeError(`time must be a finite number of ms, got ${nowMs}`);
}

function checkCost(cost: number): void {
  if (!(Number.isFinite(cost) && cost >= 0))
    throw new RangeError(`cost must be a finite number >= 0, got ${cost}`);
}
