/**
 * A retry budget for one upstream on one node (after Finagle's RetryBudget and Envoy's
 * retry_budget): over a sliding window, retries may be at most `ratio` of the requests sent
 * there plus a floor of `floorPerSecond` per second of the window, so when every target fails
 * the retries add at most that share to the outage's load instead of multiplying it.
 *
 * The window is kept as SLICES + 1 slices of windowMs / SLICES each (two counters per slice,
 * fixed memory whatever the traffic). Retries are counted over the current slice and the SLICES
 * before it (a span of at least windowMs), requests over the current slice and the SLICES - 1
 * before it (a span within the last windowMs): so at every retry granted at time t,
 * retries in (t - windowMs, t] <= ratio × requests in (t - windowMs, t] + floor × windowMs / 1000.
 * Pure: the clock (monotonic ms) is injected.
 */

export interface BudgetParams {
  /** share of the requests that may be retried, 0..1 */
  ratio: number;
  /** retries allowed per second of the window whatever the requests */
  floorPerSecond: number;
  windowMs: number;
}

export const DEFAULT_BUDGET: Readonly<BudgetParams> = Object.freeze({
  ratio: 0.1,
  floorPerSecond: 3,
  windowMs: 10_000,
});

const SLICES = 10;

export class RetryBudget {
  readonly #clock: () => number;
  readonly #requests = new Float64Array(SLICES + 1);
  readonly #retries = new Float64Array(SLICES + 1);
  /** which slice number each ring cell currently counts */
  readonly #stamps = new Float64Array(SLICES + 1).fill(-1);
  #windowMs = 0;
  /** last time anything was recorded (for sweeping idle budgets) */
  lastUsed = 0;

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** Records one request (a first attempt) sent to the upstream. */
  onRequest(params: BudgetParams): void {
    this.#requests[this.#cell(params)]!++;
  }

  /** Grants one retry (and records it) if the budget allows it now; false when it is spent. */
  tryRetry(params: BudgetParams): boolean {
    const cell = this.#cell(params);
    const slice = this.#stamps[cell]!;
    const retries = this.#sum(this.#retries, slice, SLICES);
    const requests = this.#sum(this.#requests, slice, SLICES - 1);
    const allowed = params.ratio * requests + (params.floorPerSecond * params.windowMs) / 1000;
    if (retries + 1 > allowed) return false;
    this.#retries[cell]!++;
    return true;
  }

  /** The ring cell of the current slice, emptied if it held an older slice. */
  #cell(params: BudgetParams): number {
    if (params.windowMs !== this.#windowMs) this.#reset(params.windowMs);
    const now = this.#clock();
    this.lastUsed = now;
    const slice = Math.floor(now / (this.#windowMs / SLICES));
    const cell = slice % (SLICES + 1);
    if (this.#stamps[cell] !== slice) {
      this.#stamps[cell] = slice;
      this.#requests[cell] = 0;
      this.#retries[cell] = 0;
    }
    return cell;
  }

  /** Sum of `counts` over slice and the `back` slices before it. */
  #sum(counts: Float64Array, slice: number, back: number): number {
    let n = 0;
    for (let s = slice - back; s <= slice; s++) {
      const cell = s % (SLICES + 1);
      if (s >= 0 && this.#stamps[cell] === s) n += counts[cell]!;
    }
    return n;
  }

  #reset(windowMs: number): void {
    this.#windowMs = windowMs;
    this.#stamps.fill(-1);
    this.#requests.fill(0);
    this.#retries.fill(0);
  }
}

/**
 * The budgets of a node's upstreams, by tenant and upstream id (two map lookups, no key string
 * per request). Budgets untouched for a window are dropped on a sweep every minute, so removed
 * upstreams do not linger.
 */
export class RetryBudgets {
  readonly #clock: () => number;
  readonly #byTenant = new Map<string, Map<string, RetryBudget>>();
  #sweptAt = 0;

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  get size(): number {
    let n = 0;
    for (const m of this.#byTenant.values()) n += m.size;
    return n;
  }

  for(tenantId: string, upstreamId: string): RetryBudget {
    this.#sweep();
    let byUpstream = this.#byTenant.get(tenantId);
    if (!byUpstream) {
      byUpstream = new Map();
      this.#byTenant.set(tenantId, byUpstream);
    }
    let budget = byUpstream.get(upstreamId);
    if (!budget) {
      budget = new RetryBudget(this.#clock);
      byUpstream.set(upstreamId, budget);
    }
    return budget;
  }

  #sweep(): void {
    const now = this.#clock();
    if (now - this.#sweptAt < 60_000) return;
    this.#sweptAt = now;
    for (const [tenantId, byUpstream] of this.#byTenant) {
      for (const [id, budget] of byUpstream) if (now - budget.lastUsed > 60_000) byUpstream.delete(id);
      if (byUpstream.size === 0) this.#byTenant.delete(tenantId);
    }
  }
}
