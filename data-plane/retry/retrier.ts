/**
 * The retry state of one request, for both proxies (http/http-proxy.ts, grpc/grpc-proxy.ts):
 * the targets already tried (the next attempt asks the target chooser to avoid them), the
 * retries made, and the decision after a failed attempt (retry-policy.ts) against the
 * upstream's budget (retry-budget.ts), counted in the metrics. The proxies do the I/O: they
 * send, hold back a retryable answer instead of relaying it, wait the backoff and send again.
 */
import type { PlainRoute } from "../model/plain-config.ts";
import type { CompiledRoute } from "../router/route-table.ts";
import { DEFAULT_BUDGET, type RetryBudget, RetryBudgets } from "./retry-budget.ts";
import { type AttemptFailure, decideRetry, type RetryVerdict } from "./retry-policy.ts";

/** Counts by upstream class (the route's protocol: http, grpc), never per tenant or upstream. */
export interface RetryMetrics {
  attempt(protocol: string): void;
  retry(protocol: string, cause: AttemptFailure["kind"]): void;
  budgetExhausted(protocol: string): void;
}

export interface RetrierOptions {
  /** monotonic ms */
  clock: () => number;
  random: () => number;
  metrics?: RetryMetrics;
}

/** One per node and protocol: the upstreams' budgets and what every request's retries share. */
export class Retrier {
  readonly #o: RetrierOptions;
  readonly #budgets: RetryBudgets;

  constructor(options: RetrierOptions) {
    this.#o = options;
    this.#budgets = new RetryBudgets(options.clock);
  }

  /**
   * A request to `route`'s upstream starts (counted in the upstream's budget). `replayable`: the
   * request may be sent twice (retryableRequest) and its body can be sent again.
   */
  begin(route: CompiledRoute, replayable: boolean): RetryAttempts {
    const budget = this.#budgets.for(route.tenantId, route.upstream.id);
    const params = route.upstream.retryBudget ?? DEFAULT_BUDGET;
    budget.onRequest(params);
    return new RetryAttempts(route, replayable && route.retries > 0, budget, params, this.#o);
  }
}

export class RetryAttempts {
  /** targets (origins) already tried; kept only while a retry is possible */
  tried: Set<string> | undefined;
  retries = 0;
  readonly #route: PlainRoute;
  readonly #replayable: boolean;
  readonly #budget: RetryBudget;
  readonly #params: typeof DEFAULT_BUDGET;
  readonly #o: RetrierOptions;

  constructor(
    route: PlainRoute,
    replayable: boolean,
    budget: RetryBudget,
    params: typeof DEFAULT_BUDGET,
    o: RetrierOptions,
  ) {
    this.#route = route;
    this.#replayable = replayable;
    this.#budget = budget;
    this.#params = params;
    this.#o = o;
  }

  /** Whether a failed attempt may be retried at all (cheap; decide() is the verdict). */
  get possible(): boolean {
    return this.#replayable && this.retries < this.#route.retries;
  }

  /** An attempt at `origin` starts. */
  attempt(origin: string): void {
    if (this.possible) {
      this.tried ??= new Set();
      this.tried.add(origin);
    }
    this.#o.metrics?.attempt(this.#route.protocol);
  }

  /** After a failed attempt: retry (the budget spent, the retry counted) after delayMs, or not. */
  decide(failure: AttemptFailure, remainingMs: number | undefined): RetryVerdict {
    if (!this.possible) return { retry: false, why: this.#replayable ? "exhausted" : "not_replayable" };
    const input = {
      failure,
      replayable: this.#replayable,
      retriesDone: this.retries,
      maxRetries: this.#route.retries,
      statuses: this.#route.retryStatuses,
      remainingMs,
    };
    const verdict = decideRetry(input, this.#o.random, this.#budget, this.#params);
    if (verdict.retry) {
      this.retries++;
      this.#o.metrics?.retry(this.#route.protocol, failure.kind);
    } else if (verdict.why === "budget") this.#o.metrics?.budgetExhausted(this.#route.protocol);
    return verdict;
  }
}
