/**
 * Per-tenant demand on this node: requests that reached the tenant's rate limiter (admitted or
 * not), as a rate over the last full window. Pure: time is passed in.
 *
 * The window is `buckets` slices of `sliceMs` each; the rate counts the complete slices before
 * the current one, so it is exact over the last `buckets x sliceMs` ms and lags by at most one
 * slice. A tenant stays "active" for `activeMs` after its last request, so it keeps reporting
 * (a falling demand, down to 0) for a while after its traffic moves elsewhere.
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
  lastAtMs: number;
}

export class DemandCounter {
  readonly #sliceMs: number;
  readonly #buckets: number;
  readonly #activeMs: number;
  readonly #maxTenants: number;
  readonly #entries = new Map<string, Entry>();

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
    let entry = this.#entries.get(tenant);
    if (entry) this.#entries.delete(tenant);
    else {
      if (this.#entries.size >= this.#maxTenants) this.#entries.delete(this.#entries.keys().next().value!);
      entry = { counts: new Array<number>(this.#buckets + 1).fill(0), slice: 0, lastAtMs: nowMs };
    }
    this.#entries.set(tenant, entry); // re-inserted: the map stays in least-recently-seen order
    const slice = Math.max(entry.slice, Math.floor(nowMs / this.#sliceMs)); // never backwards
    this.#advance(entry, slice);
    entry.counts[slice % entry.counts.length]!++;
    entry.lastAtMs = Math.max(entry.lastAtMs, nowMs);
  }

  /** Requests per second over the last full window (0 for an unknown tenant). */
  rate(tenant: string, nowMs: number): number {
    const entry = this.#entries.get(tenant);
    if (!entry) return 0;
    const current = Math.floor(nowMs / this.#sliceMs);
    this.#advance(entry, current);
    let sum = 0;
    for (let s = current - this.#buckets; s < current; s++) {
      if (s >= 0) sum += entry.counts[s % entry.counts.length]!;
    }
    return sum / ((this.#buckets * this.#sliceMs) / 1000);
  }

  /** Tenants seen within activeMs; forgets the others. */
  active(nowMs: number): string[] {
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
