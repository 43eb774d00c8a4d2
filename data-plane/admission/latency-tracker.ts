/**
 * What a route usually takes, for the deadline check: the median (or another quantile) of its
 * last `size` upstream latencies that are younger than `maxAgeMs`, once there are `minSamples`
 * of them. Time is injected (`nowMs`); no timers.
 */
export type LatencyWindowOptions = {
  size?: number;
  maxAgeMs?: number;
  minSamples?: number;
  quantile?: number;
};

/** How old a sample may be and still count, by default. */
const DEFAULT_MAX_AGE_MS = 60_000;

export class LatencyWindow {
  readonly #size: number;
  readonly #maxAgeMs: number;
  readonly #minSamples: number;
  readonly #quantile: number;
  readonly #values: number[] = [];
  readonly #times: number[] = [];
  /** where estimate() sorts the recent samples: asked on every request with a deadline, so no allocation */
  readonly #scratch: Float64Array;
  #next = 0;
  /** time of the newest sample */
  #lastAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: LatencyWindowOptions = {}) {
    this.#size = options.size ?? 64;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.#minSamples = options.minSamples ?? 5;
    this.#quantile = options.quantile ?? 0.5;
    if (!(Number.isInteger(this.#size) && this.#size >= 1))
      throw new RangeError("size must be an integer >= 1");
    if (!(this.#quantile >= 0 && this.#quantile <= 1)) throw new RangeError("quantile must be in [0, 1]");
    this.#scratch = new Float64Array(this.#size);
  }

  record(latencyMs: number, nowMs: number): void {
    if (!(Number.isFinite(latencyMs) && latencyMs >= 0)) return;
    this.#values[this.#next] = latencyMs;
    this.#times[this.#next] = nowMs;
    this.#next = (this.#next + 1) % this.#size;
    this.#lastAtMs = Math.max(this.#lastAtMs, nowMs);
  }

  /** No sample is young enough to count: the window answers as a fresh one would. */
  isStale(nowMs: number): boolean {
    return nowMs - this.#lastAtMs > this.#maxAgeMs;
  }

  /** The quantile of recent samples, or undefined when there are too few. */
  estimate(nowMs: number): number | undefined {
    let n = 0;
    for (let i = 0; i < this.#values.length; i++)
      if (nowMs - this.#times[i]! <= this.#maxAgeMs) this.#scratch[n++] = this.#values[i]!;
    if (n < Math.max(1, this.#minSamples)) return undefined;
    return kthSmallest(this.#scratch, n, Math.min(n - 1, Math.floor(this.#quantile * n)));
  }
}

/**
 * The k-th smallest (0-based) of a[0..n): what a[k] would be after sorting them, found by
 * Wirth's selection in place (a's order changes), linear on average where a sort is n log n:
 * the deadline stage asks for the estimate on every call with a deadline.
 */
export function kthSmallest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[k]!;
    let i = lo;
    let j = hi;
    do {
      while (a[i]! < pivot) i++;
      while (pivot < a[j]!) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    } while (i <= j);
    if (j < k) lo = i;
    if (k < i) hi = j;
  }
  return a[k]!;
}

export type RouteLatencyOptions = LatencyWindowOptions & { floorMs?: number; maxRoutes?: number };

/**
 * One LatencyWindow per route, for routes that carried traffic within the samples' maximum
 * age: a window with no sample that young answers as an absent one, so record() drops such
 * windows once per that age (routes the config dropped, routes gone quiet), and the number of
 * windows follows the routes in use, not every route id ever seen. Past `maxRoutes` windows in
 * use at once, the oldest route is forgotten first.
 */
export class RouteLatency {
  readonly #windows = new Map<string, LatencyWindow>();
  readonly #options: LatencyWindowOptions;
  readonly #floorMs: number;
  readonly #maxRoutes: number;
  readonly #maxAgeMs: number;
  #nextSweepAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: RouteLatencyOptions = {}) {
    this.#options = options;
    this.#floorMs = options.floorMs ?? 1;
    this.#maxRoutes = options.maxRoutes ?? 10_000;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
  }

  /** Routes with a window. */
  get size(): number {
    return this.#windows.size;
  }

  record(routeId: string, latencyMs: number, nowMs: number): void {
    if (nowMs >= this.#nextSweepAtMs) this.sweep(nowMs);
    let window = this.#windows.get(routeId);
    if (!window) {
      if (this.#windows.size >= this.#maxRoutes) this.#windows.delete(this.#windows.keys().next().value!);
      window = new LatencyWindow(this.#options);
      this.#windows.set(routeId, window);
    }
    window.record(latencyMs, nowMs);
  }

  /** Drops the windows without a sample young enough to count (record() calls it once per maximum age). */
  sweep(nowMs: number): number {
    this.#nextSweepAtMs = nowMs + this.#maxAgeMs;
    let dropped = 0;
    for (const [routeId, window] of this.#windows) {
      if (!window.isStale(nowMs)) continue;
      this.#windows.delete(routeId);
      dropped++;
    }
    return dropped;
  }

  /** Expected time for a request on this route: max(floor, recent median). */
  expectedMs(routeId: string, nowMs: number): number {
    return Math.max(this.#floorMs, this.#windows.get(routeId)?.estimate(nowMs) ?? 0);
  }
}
