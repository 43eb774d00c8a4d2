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
 * the decayed total. The slots live in a binary min-heap by count (each slot knows its place,
 * a key -> slot map finds it); an evicted slot is reused for the new key, so a hit costs
 * O(log slots) and memory is fixed at `slots` entries whatever the number of distinct keys.
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

/** One monitored client: its (decayed) count, its bucket, and where it sits in the heap. */
interface Slot {
  key: string;
  count: number;
  tokens: number;
  refilledAt: number;
  at: number;
}

export class HeavyHitterBuckets {
  readonly slots: number;
  readonly #halfLifeMs: number;
  readonly #byKey = new Map<string, Slot>();
  /** min-heap by count: the root is the smallest */
  readonly #heap: Slot[] = [];
  #t0: number | undefined;

  constructor(slots: number, halfLifeMs = 60_000) {
    if (!(Number.isInteger(slots) && slots >= 1))
      throw new RangeError(`slots must be an integer >= 1, got ${slots}`);
    if (!(halfLifeMs > 0)) throw new RangeError(`half-life must be > 0, got ${halfLifeMs}`);
    this.slots = slots;
    this.#halfLifeMs = halfLifeMs;
  }

  /** Keys monitored now (never more than `slots`). */
  get size(): number {
    return this.#heap.length;
  }

  /** Is `key` monitored (has a bucket of its own)? */
  monitors(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Counts `key`'s request and takes one token from its bucket. */
  take(key: string, spec: ClientBucketSpec, nowMs: number): ClientTake {
    const slot = this.#hit(key, this.#weight(nowMs), spec, nowMs);
    const elapsedMs = Math.max(0, nowMs - slot.refilledAt);
    const tokens = Math.min(spec.burst, slot.tokens + (elapsedMs / 1000) * spec.rate);
    slot.refilledAt = Math.max(nowMs, slot.refilledAt);
    if (tokens >= 1 - 1e-9) {
      slot.tokens = tokens - 1;
      return { ok: true };
    }
    slot.tokens = tokens;
    return { ok: false, retryAfterMs: Math.ceil(((1 - tokens) / spec.rate) * 1000) };
  }

  /** The slot of `key` after counting `weight` for it (evicting the smallest when full). */
  #hit(key: string, weight: number, spec: ClientBucketSpec, nowMs: number): Slot {
    let slot = this.#byKey.get(key);
    if (slot) {
      slot.count += weight;
      this.#down(slot.at);
      return slot;
    }
    if (this.#heap.length < this.slots) {
      slot = { key, count: weight, tokens: spec.burst, refilledAt: nowMs, at: this.#heap.length };
      this.#heap.push(slot);
      this.#byKey.set(key, slot);
      this.#up(slot.at);
      return slot;
    }
    // full: the root (the smallest count) goes, and the new key inherits its count
    slot = this.#heap[0]!;
    this.#byKey.delete(slot.key);
    slot.key = key;
    slot.count += weight;
    slot.tokens = spec.burst;
    slot.refilledAt = nowMs;
    this.#byKey.set(key, slot);
    this.#down(0);
    return slot;
  }

  /** The weight of a hit now; rescales every count when it grows too large. */
  #weight(nowMs: number): number {
    this.#t0 ??= nowMs;
    let w = 2 ** (Math.max(0, nowMs - this.#t0) / this.#halfLifeMs);
    if (w > RESCALE_AT) {
      for (const slot of this.#heap) slot.count /= w;
      this.#t0 = nowMs;
      w = 1;
    }
    return w;
  }

  #up(i: number): void {
    const heap = this.#heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.count <= heap[i]!.count) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const heap = this.#heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let least = i;
      if (left < heap.length && heap[left]!.count < heap[least]!.count) least = left;
      if (right < heap.length && heap[right]!.count < heap[least]!.count) least = right;
      if (least === i) return;
      this.#swap(i, least);
      i = least;
    }
  }

  #swap(a: number, b: number): void {
    const sa = this.#heap[a]!;
    const sb = this.#heap[b]!;
    this.#heap[a] = sb;
    this.#heap[b] = sa;
    sa.at = b;
    sb.at = a;
  }
}
