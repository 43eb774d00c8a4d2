/**
 * Per-client token buckets in fixed memory: a Space-Saving summary (Metwally, Agrawal, El Abbadi,
 * "Efficient computation of frequent and top-k elements in data streams", 2005) of at most
 * `slots` client keys, each monitored key carrying its own token bucket. Pure: the clock comes
 * with every call.
 *
 * Space-Saving: a key already monitored adds its weight; a new key, when every slot is taken,
 * replaces the key with the smallest count and inherits that count (plus its own weight). Any
 * key's estimate overcounts by at most the smallest count, which is at most N/slots (N: the
 * total weight seen), so every key whose share of the traffic exceeds 1/slots is always
 * monitored: its bucket is never dropped and it is limited exactly. A key below that share may
 * be evicted; when it comes back it gets a fresh (full) bucket, so it can get at most one extra
 * burst per eviction, and only while it is too small to matter.
 *
 * Counts decay (forward decay, Cormode et al. 2009): a hit at time t weighs 2^((t - t0) / halfLife),
 * so old traffic fades with the half-life without touching every slot; when weights grow large
 * every count is scaled down at once (the order, all that matters, is kept). N above is then
 * the decayed total. The slots live in an indexed binary min-heap (parallel arrays plus a
 * key -> position map): a hit costs O(log slots); memory is fixed at `slots` entries whatever
 * the number of distinct keys.
 */

export interface ClientBucketSpec {
  /** tokens (requests) per second */
  rate: number;
  /** bucket size */
  burst: number;
}

export type ClientTake = { ok: true } | { ok: false; retryAfterMs: number };

/** Rescale the counts when a hit would weigh more than this (2^64). */
const RESCALE_AT = 2 ** 64;

export class HeavyHitterBuckets {
  readonly slots: number;
  readonly #halfLifeMs: number;
  readonly #position = new Map<string, number>();
  readonly #keys: string[] = [];
  readonly #counts: Float64Array;
  readonly #tokens: Float64Array;
  readonly #refilledAt: Float64Array;
  #size = 0;
  #t0: number | undefined;

  constructor(slots: number, halfLifeMs = 60_000) {
    if (!(Number.isInteger(slots) && slots >= 1))
      throw new RangeError(`slots must be an integer >= 1, got ${slots}`);
    if (!(halfLifeMs > 0)) throw new RangeError(`half-life must be > 0, got ${halfLifeMs}`);
    this.slots = slots;
    this.#halfLifeMs = halfLifeMs;
    this.#counts = new Float64Array(slots);
    this.#tokens = new Float64Array(slots);
    this.#refilledAt = new Float64Array(slots);
  }

  /** Keys monitored now (never more than `slots`). */
  get size(): number {
    return this.#size;
  }

  /** Is `key` monitored (has a bucket of its own)? */
  monitors(key: string): boolean {
    return this.#position.has(key);
  }

  /** Counts `key`'s request and takes one token from its bucket. */
  take(key: string, spec: ClientBucketSpec, nowMs: number): ClientTake {
    const at = this.#hit(key, this.#weight(nowMs), spec, nowMs);
    const elapsedMs = Math.max(0, nowMs - this.#refilledAt[at]!);
    const tokens = Math.min(spec.burst, this.#tokens[at]! + (elapsedMs / 1000) * spec.rate);
    this.#refilledAt[at] = Math.max(nowMs, this.#refilledAt[at]!);
    if (tokens >= 1 - 1e-9) {
      this.#tokens[at] = tokens - 1;
      return { ok: true };
    }
    this.#tokens[at] = tokens;
    return { ok: false, retryAfterMs: Math.ceil(((1 - tokens) / spec.rate) * 1000) };
  }

  /** The slot of `key` after counting `weight` for it (evicting the smallest when full). */
  #hit(key: string, weight: number, spec: ClientBucketSpec, nowMs: number): number {
    const known = this.#position.get(key);
    if (known !== undefined) {
      this.#counts[known]! += weight;
      return this.#down(known);
    }
    const evict = this.#size === this.slots;
    // full: the root (the smallest count) goes, and the new key inherits its count
    const at = evict ? 0 : this.#size++;
    if (evict) this.#position.delete(this.#keys[0]!);
    this.#keys[at] = key;
    this.#position.set(key, at);
    this.#counts[at] = (evict ? this.#counts[0]! : 0) + weight;
    this.#tokens[at] = spec.burst;
    this.#refilledAt[at] = nowMs;
    return evict ? this.#down(0) : this.#up(at);
  }

  /** The weight of a hit now; rescales every count when it grows too large. */
  #weight(nowMs: number): number {
    this.#t0 ??= nowMs;
    let w = 2 ** (Math.max(0, nowMs - this.#t0) / this.#halfLifeMs);
    if (w > RESCALE_AT) {
      for (let i = 0; i < this.#size; i++) this.#counts[i]! /= w;
      this.#t0 = nowMs;
      w = 1;
    }
    return w;
  }

  #up(i: number): number {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#counts[parent]! <= this.#counts[i]!) break;
      this.#swap(i, parent);
      i = parent;
    }
    return i;
  }

  #down(i: number): number {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < this.#size && this.#counts[left]! < this.#counts[least]!) least = left;
      if (right < this.#size && this.#counts[right]! < this.#counts[least]!) least = right;
      if (least === i) return i;
      this.#swap(i, least);
      i = least;
    }
  }

  #swap(a: number, b: number): void {
    const keyA = this.#keys[a]!;
    const keyB = this.#keys[b]!;
    this.#keys[a] = keyB;
    this.#keys[b] = keyA;
    this.#position.set(keyB, a);
    this.#position.set(keyA, b);
    swapIn(this.#counts, a, b);
    swapIn(this.#tokens, a, b);
    swapIn(this.#refilledAt, a, b);
  }
}

function swapIn(column: Float64Array, a: number, b: number): void {
  const x = column[a]!;
  column[a] = column[b]!;
  column[b] = x;
}
