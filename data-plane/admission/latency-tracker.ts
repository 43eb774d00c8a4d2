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

  constructor(options: LatencyWindowOptions = {}) {
    this.#size = options.size ?? 64;
    this.#maxAgeMs = options.maxAgeMs ?? 60_000;
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
  }

  /** The quantile of recent samples, or undefined when there are too few. */
  estimate(nowMs: number): number | undefined {
    let n = 0;
    for (let i = 0; i < this.#values.length; i++)
      if (nowMs - this.#times[i]! <= this.#maxAgeMs) this.#scratch[n++] = this.#values[i]!;
    if (n < Math.max(1, this.#minSamples)) return undefined;
    const recent = this.#scratch.subarray(0, n).sort(); // typed arrays sort numerically
    return recent[Math.min(n - 1, Math.floor(this.#quantile * n))];
  }
}

export type RouteLatencyOptions = LatencyWindowOptions & { floorMs?: number; maxRoutes?: number };

/** One LatencyWindow per route, bounded in number (the oldest route is forgotten first). */
export class RouteLatency {
  readonly #windows = new Map<string, LatencyWindow>();
  readonly #options: LatencyWindowOptions;
  readonly #floorMs: number;
  readonly #maxRoutes: number;

  constructor(options: RouteLatencyOptions = {}) {
    this.#options = options;
    this.#floorMs = options.floorMs ?? 1;
    this.#maxRoutes = options.maxRoutes ?? 10_000;
  }

  record(routeId: string, latencyMs: number, nowMs: number): void {
    let window = this.#windows.get(routeId);
    if (!window) {
      if (this.#windows.size >= this.#maxRoutes) this.#windows.delete(this.#windows.keys().next().value!);
      window = new LatencyWindow(this.#options);
      this.#windows.set(routeId, window);
    }
    window.record(latencyMs, nowMs);
  }

  /** Expected time for a request on this route: max(floor, recent median). */
  expectedMs(routeId: string, nowMs: number): number {
    return Math.max(this.#floorMs, this.#windows.get(routeId)?.estimate(nowMs) ?? 0);
  }
}
