/**
 * Keeps a long loop on the event loop from holding it (issue 14): a compile after the slot set
 * changed computes every tenant's shard, at 100,000 tenants over 1,000 slots 20–40 s of CPU;
 * in one turn that starves the lease renewal (the replica lost its 10 s lease mid-compile),
 * the sync pings and the admin API. The loop asks `due()` (cheap: the clock is read every
 * `every` calls) and, when its turn has run past `budgetMs`, awaits `yield()`, which lets the
 * rest of the event loop run. A short compile never yields. The clock is injected.
 */
import { setImmediate as nextTurn } from "node:timers/promises";

export class TurnBudget {
  readonly #budgetMs: number;
  readonly #every: number;
  readonly #now: () => number;
  #start: number;
  #calls = 0;
  /** how many times the loop gave the event loop its turn */
  yields = 0;

  constructor(opts: { budgetMs?: number; every?: number; now?: () => number } = {}) {
    this.#budgetMs = opts.budgetMs ?? 20;
    this.#every = opts.every ?? 256;
    this.#now = opts.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  due(): boolean {
    if (++this.#calls % this.#every !== 0) return false;
    return this.#now() - this.#start >= this.#budgetMs;
  }

  async yield(): Promise<void> {
    this.yields++;
    await nextTurn();
    this.#start = this.#now();
  }
}
