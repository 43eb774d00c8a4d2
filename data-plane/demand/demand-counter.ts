/**
 * Per-tenant demand on this node: requests that reached the tenant's rate limiter (admitted or
 * not), as a rate over the last window. Pure: time is passed in.
 *
 * The window is the current slice and the `buckets - 1` before it (slices of `sliceMs`), so it
 * spans between (buckets - 1) and buckets slices, up to now; a tenant seen for less time than
 * that is measured over the time since its first request (at least MIN_SPAN_MS). So a member
 * that has just started to get a tenant's traffic reports it at once, instead of a demand of 0
 * that would shrink its share while the other members report theirs.
 * A tenant stays "active" for `activeMs` after its last request, so it keeps reporting (a
 * falling demand, down to 0) for a while after its traffic moves elsewhere; after that it is
 * forgotten, by active() or, on a node that never asks (no demand exchange), by note() once
 * per `activeMs`: the entries follow the tenants in use, not every tenant id ever seen.
 */
export interface DemandCounterOptions {
  /** default 250 ms */
  sliceMs?: number;
  /** default 4 (a 1 s window) */
  buckets?: number;
  /** default 5000 ms */
  activeMs?: number;
  /** most tenants tracked at once (the least recently seen is dropped); default 100000 */
  maxTenants?: number;
}

interface Entry {
  counts: number[];
  /** index of the slice counts were last written in */
  slice: number;
  firstAtMs: number;
  lastAtMs: number;
}

/** Shortest span a rate is measured over (one request in 1 ms is not 1000 req/s). */
const MIN_SPAN_MS = 100;

export class DemandCounter {
  readonly #sliceMs: number;
  readonly #buckets: number;
  readonly #activeMs: number;
  readonly #maxTenants: number;
  readonly #entries = new Map<string, Entry>();
  #nextForgetAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: DemandCounterOptions = {}) {
    this.#sliceMs = options.sliceMs ?? 250;
    this.#buckets = options.buckets ?? 4;
    this.#activeMs = options.activeMs ?? 5000;
    this.#maxTenants = options.maxTenants ?? 100_000;
    if (!(this.#sliceMs > 0 && Number.isInteger(this.#buckets) && this.#buckets >= 1))
      throw new RangeError("sliceMs must be > 0 and buckets an integer >= 1");
  }

  get size(): number {
    return this.#entries.size;
  }

  /** One request of this tenant reached the limiter. */
  note(tenant: string, nowMs: number): void {
    if (nowMs >= this.#nextForgetAtMs) this.active(nowMs);
    let entry = this.#entries.get(tenant);
    if (entry) this.#entries.delete(tenant);
    else {
      if (this.#entries.size >= this.#maxTenants) this.#entries.delete(this.#entries.keys().next().value!);
      entry = {
        counts: new Array<number>(this.#buckets).fill(0),
        slice: 0,
        firstAtMs: nowMs,
        lastAtMs: nowMs,
      };
    }
    this.#entries.set(tenant, entry); // re-inserted: the map stays in least-recently-seen order
    const slice = Math.max(entry.slice, Math.floor(nowMs / this.#sliceMs)); // never backwards
    this.#advance(entry, slice);
    entry.counts[slice % entry.counts.length]!++;
    entry.lastAtMs = Math.max(entry.lastAtMs, nowMs);
  }

  /** Requests per second over the window up to now (0 for an unknown tenant). */
  rate(tenant: string, nowMs: number): number {
    const entry = this.#entries.get(tenant);
    if (!entry) return 0;
    const current = Math.max(entry.slice, Math.floor(nowMs / this.#sliceMs));
    this.#advance(entry, current);
    let sum = 0;
    for (const count of entry.counts) sum += count;
    const windowStart = Math.max((current - this.#buckets + 1) * this.#sliceMs, entry.firstAtMs);
    return sum / (Math.max(MIN_SPAN_MS, nowMs - windowStart) / 1000);
  }

  /** Tenants seen within activeMs; forgets the others. */
  active(nowMs: number): string[] {
    this.#nextForgetAtMs = nowMs + this.#activeMs;
    const out: string[] = [];
    for (const [tenant, entry] of this.#entries) {
      if (nowMs - entry.lastAtMs <= this.#activeMs) out.push(tenant);
      else this.#entries.delete(tenant);
    }
    return out;
  }

  /** Zeroes the slices between the last write and `slice` (time moved on). */
  #advance(entry: Entry, slice: number): void {
    if (slice <= entry.slice) return;
    const ring = entry.counts.length;
    const gap = Math.min(slice - entry.slice, ring);
    for (let i = 1; i <= gap; i++) entry.counts[(entry.slice + i) % ring] = 0;
    entry.slice = slice;
  }
}
