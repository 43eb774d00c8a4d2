/**
 * The loop that keeps a node's period-quota counts in step with the shard (docs/design.md §5.6):
 * every ~250 ms (jittered) it takes the ledger's batch (new counts, counters to read back),
 * sends it to the store in one round trip and hands the totals back to the ledger. A flush
 * that fails or takes longer than `timeoutMs` puts the ledger in local mode (each member its
 * share); its counts stay pending and go with the next flush that works. Flushes never
 * overlap; the request path never waits for one. close() tries one last flush.
 */
import type { QuotaLedger } from "../admission/period-quota.ts";
import { JitteredLoop, type Random, type Timers, withTimeout } from "../clock.ts";
import type { QuotaStore } from "./quota-store.ts";

export interface QuotaFlusherOptions {
  ledger: QuotaLedger;
  store: QuotaStore;
  timers: Timers;
  random: Random;
  /** default 250 ms */
  intervalMs?: number;
  /** a flush taking longer counts as failed; default 1000 ms */
  timeoutMs?: number;
  onError?: (err: unknown) => void;
  onFlush?: (counters: number) => void;
}

const TIMED_OUT = new Error("quota flush timed out");

export class QuotaFlusher {
  readonly #o: QuotaFlusherOptions;
  readonly #loop: JitteredLoop;

  constructor(options: QuotaFlusherOptions) {
    this.#o = options;
    this.#loop = new JitteredLoop(options.timers, options.random, options.intervalMs ?? 250, () =>
      this.#flush(),
    );
  }

  start(): void {
    this.#loop.start();
  }

  /** One flush; resolves when done (errors are reported, never thrown). */
  tick(): Promise<void> {
    return this.#loop.tick();
  }

  /** Stops the loop, flushes once more and closes the store. */
  async close(): Promise<void> {
    await this.#loop.stop();
    await this.tick();
    await this.#o.store.close();
  }

  async #flush(): Promise<void> {
    const { ledger, store, timers } = this.#o;
    const items = ledger.beginFlush(timers.now());
    if (!items || items.length === 0) return;
    try {
      const totals = await withTimeout(timers, store.add(items), this.#o.timeoutMs ?? 1000, TIMED_OUT);
      ledger.flushed(totals);
      this.#o.onFlush?.(items.length);
    } catch (err) {
      ledger.flushFailed();
      this.#o.onError?.(err);
    }
  }
}
