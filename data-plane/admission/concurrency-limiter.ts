/**
 * Per-tenant in-flight cap on this node. acquire() admits and counts the request, returning a
 * `release` to call when it ends (calling it twice is harmless); over the cap it refuses with
 * 429 / RESOURCE_EXHAUSTED, reason `concurrency`, Retry-After 1 s.
 * A limit of 0 means unlimited (proto3's unset value) and is not tracked. In shadow mode
 * requests over the cap are admitted and counted (in flight, and as shadow rejections).
 */
import { type AdmissionDecision, combineModes, type LimiterMode, reject } from "./decision.ts";

export type ConcurrencyLimit = LimiterMode & { concurrency: number };
export type ConcurrencyStats = { admitted: number; rejected: number; shadowRejected: number };

const RETRY_AFTER_S = 1;

export class ConcurrencyLimiter {
  readonly #inFlight = new Map<string, number>();
  readonly #stats: ConcurrencyStats = { admitted: 0, rejected: 0, shadowRejected: 0 };
  #mode: LimiterMode;

  constructor(options: { mode?: LimiterMode } = {}) {
    this.#mode = { ...options.mode };
  }

  setMode(mode: LimiterMode): void {
    this.#mode = { ...mode };
  }

  inFlight(key: string): number {
    return this.#inFlight.get(key) ?? 0;
  }

  stats(): ConcurrencyStats {
    return { ...this.#stats };
  }

  acquire(key: string, limit: ConcurrencyLimit): AdmissionDecision {
    const { concurrency } = limit;
    if (!(Number.isInteger(concurrency) && concurrency >= 0)) {
      throw new RangeError(`concurrency limit must be an integer >= 0, got ${concurrency}`);
    }
    const mode = combineModes(this.#mode, limit);
    if (mode.disabled || concurrency === 0) return { admit: true };
    const current = this.inFlight(key);
    if (current < concurrency) {
      this.#stats.admitted++;
      return { admit: true, release: this.#hold(key) };
    }
    if (mode.shadow) {
      this.#stats.shadowRejected++;
      return { admit: true, release: this.#hold(key), shadowed: ["concurrency"] };
    }
    this.#stats.rejected++;
    return reject(
      "concurrency",
      `tenant ${key} has ${current} requests in flight, its limit is ${concurrency}`,
      {
        retryAfterS: RETRY_AFTER_S,
      },
    );
  }

  #hold(key: string): () => void {
    this.#inFlight.set(key, this.inFlight(key) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.inFlight(key) - 1;
      if (left > 0) this.#inFlight.set(key, left);
      else this.#inFlight.delete(key);
    };
  }
}
