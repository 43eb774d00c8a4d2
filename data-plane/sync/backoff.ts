/** Reconnect delays: exponential backoff with full jitter (a uniform pick in [0, min(cap, base*2^n))). */
import type { Random } from "../clock.ts";

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = Object.freeze({ baseMs: 200, capMs: 30_000 });

export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(attempt, 30));
}

export function backoffDelay(attempt: number, policy: BackoffPolicy, random: Random): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}
