/**
 * When a failed attempt at an upstream is tried again (docs/design.md §5, "Proxying"). Pure:
 * randomness and the budget are passed in.
 *
 * - Only requests that are safe to send twice: the idempotent methods of RFC 9110 §9.2.2 (GET,
 *   HEAD, OPTIONS, PUT, DELETE), or any method carrying an `Idempotency-Key`; and only when the
 *   request's body can be sent again (none, or fully buffered within RETRY_BODY_LIMIT).
 * - Only failures before any response byte reached the client: the connection failed or was
 *   reset before the answer's head, or the head carries one of the route's retry statuses
 *   (HTTP: default 502, 503, 504; gRPC: UNAVAILABLE) and was held back, not relayed.
 * - At most the route's `retries` retries, each after an exponential backoff with full jitter
 *   (a random wait in [0, min(cap, base × 2^(n-1))) before the n-th retry), and only when the
 *   wait ends before the request's deadline.
 * - Last, the upstream's retry budget (retry-budget.ts) must grant it: asked only when
 *   everything else allows the retry, since asking spends it.
 */
import type { BudgetParams, RetryBudget } from "./retry-budget.ts";

/** RFC 9110 §9.2.2 idempotent methods the gateway retries (TRACE is never proxied as such). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);
/** HTTP statuses retried when the route names none */
export const DEFAULT_HTTP_RETRY_STATUSES: readonly number[] = Object.freeze([502, 503, 504]);
/** gRPC status codes retried when the route names none (UNAVAILABLE) */
export const DEFAULT_GRPC_RETRY_CODES: readonly number[] = Object.freeze([14]);
/** largest request body buffered so that it can be sent again (a larger or streamed body is not retried) */
export const RETRY_BODY_LIMIT = 64 * 1024;

export interface Backoff {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: Readonly<Backoff> = Object.freeze({ baseMs: 25, capMs: 250 });

/** The wait before retry number `retry` (1-based): uniform in [0, min(cap, base × 2^(retry-1))). */
export function backoffMs(retry: number, random: () => number, b: Backoff = DEFAULT_BACKOFF): number {
  const ceiling = Math.min(b.capMs, b.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

/** Whether the request may be sent twice at all (its method, or an Idempotency-Key). */
export function retryableRequest(method: string, hasIdempotencyKey: boolean): boolean {
  return hasIdempotencyKey || IDEMPOTENT_METHODS.has(method);
}

/** How an attempt failed before any response byte went to the client. */
export type AttemptFailure =
  | { kind: "connect" }
  | { kind: "reset" }
  /** an HTTP status, or a gRPC status code on gRPC routes */
  | { kind: "status"; status: number };

export interface RetryInput {
  failure: AttemptFailure;
  /** retryableRequest() and the body can be sent again */
  replayable: boolean;
  /** retries already made for this request */
  retriesDone: number;
  /** the route's retries */
  maxRetries: number;
  /** statuses (or gRPC codes) retried */
  statuses: readonly number[];
  /** ms left before the request's deadline; undefined: it has none */
  remainingMs: number | undefined;
}

export type RetryVerdict =
  | { retry: true; delayMs: number }
  | { retry: false; why: "not_replayable" | "exhausted" | "status" | "deadline" | "budget" };

/** Everything but the budget: whether this failure may be retried, and after which wait. */
export function retryWait(input: RetryInput, random: () => number): RetryVerdict {
  if (input.retriesDone >= input.maxRetries) return { retry: false, why: "exhausted" };
  if (!input.replayable) return { retry: false, why: "not_replayable" };
  const f = input.failure;
  if (f.kind === "status" && !input.statuses.includes(f.status)) return { retry: false, why: "status" };
  const delayMs = backoffMs(input.retriesDone + 1, random);
  if (input.remainingMs !== undefined && delayMs >= input.remainingMs)
    return { retry: false, why: "deadline" };
  return { retry: true, delayMs };
}

/** The whole decision: retryWait, then the upstream's budget (spent only on a retry). */
export function decideRetry(
  input: RetryInput,
  random: () => number,
  budget: RetryBudget,
  params: BudgetParams,
): RetryVerdict {
  const verdict = retryWait(input, random);
  if (!verdict.retry) return verdict;
  return budget.tryRetry(params) ? verdict : { retry: false, why: "budget" };
}
