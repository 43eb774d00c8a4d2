/**
 * Period quotas on this node (docs/design.md §5.6): one counter per quota scope (a tenant, or
 * one of its keys) and period start. Pure: time is passed in, and the shared store is reached
 * by a flusher (../quota/quota-flusher.ts) that asks for a batch and reports how it went.
 *
 * Two ways to decide, chosen by whether the last exchange with the store worked:
 *  - shared: the fleet's total as last read back from the store, plus what this node admitted
 *    since it last added its counts; admitted while that is below the limit. The other members'
 *    admissions since the last read are unseen: the fleet overshoots by at most one batch
 *    interval of their traffic. A counter not read yet (new on this node) gets the local rule
 *    until its first read.
 *  - local (no store, the store down, or not reached yet): this node admits its share of what
 *    was left of the limit when it lost sight of the fleet (the whole limit when it never saw
 *    it). Shares of a shard sum to 1, so the members together stay near the limit.
 * Counts made in local mode stay pending and are added to the store when it is back (the
 * reconciliation), so the fleet's total is right again after one exchange. A store that comes
 * back without its data (a count lower than one read before) gets each member's earlier
 * counts again too.
 *
 * Counters are keyed by period start, not by limit: a new limit applies to the count so far.
 * A counter is forgotten once its period has ended and its counts are in the store; at most
 * `maxCounters` live at once (the least recently used goes first).
 */
import type { QuotaWindow } from "../../runtime/quota-period.ts";

export interface QuotaAsk {
  /** the counter's name: its key in the store (runtime/quota-keys.ts), or a local-only name */
  key: string;
  /** the counter is kept in the store too (false: this node's count only) */
  shared: boolean;
  /** requests allowed in the period, fleet-wide */
  limit: number;
  window: QuotaWindow;
  /** this node's part of the limit while it cannot see the fleet's count, in (0, 1] */
  share: number;
}

/** What a quota looks like to the client after the decision (RateLimit headers). */
export interface QuotaView {
  limit: number;
  remaining: number;
  /** ms until the period ends */
  resetMs: number;
  /** length of the period, ms */
  windowMs: number;
}

export type QuotaOutcome =
  | { ok: true; views: QuotaView[]; overQuota: boolean }
  | { ok: false; views: QuotaView[]; exhausted: number };

/** One counter's part of a flush: add `add` to `key` (0 = only read it), expire it at `expireAtMs`. */
export interface FlushItem {
  key: string;
  add: number;
  expireAtMs: number;
}

export interface QuotaLedgerOptions {
  /** most counters at once; default 100000 */
  maxCounters?: number;
  /** counters used within this long are read back even without new counts; default 10000 ms */
  readActiveMs?: number;
  /** a counter lives this long in the store after its period ends; default 60000 ms */
  expirySlackMs?: number;
}

interface Counter {
  key: string;
  shared: boolean;
  endMs: number;
  /** the fleet's count as last read back from the store (this node's added counts included) */
  total: number;
  /** admitted here and not yet added to the store */
  pending: number;
  /** the part of `pending` in the flush under way */
  sending: number;
  /** what this node has added to the store in this period (added again if the store loses it) */
  mine: number;
  /** the store's count has been read at least once (until then this node admits only its share) */
  read: boolean;
  /** local mode: the count this node believed when it lost the store, and `pending` then */
  base: { used: number; pending: number } | undefined;
  lastUsedMs: number;
}

export class QuotaLedger {
  readonly #counters = new Map<string, Counter>();
  readonly #maxCounters: number;
  readonly #readActiveMs: number;
  readonly #expirySlackMs: number;
  #shared = false;
  #inFlight: { counter: Counter; add: number }[] | undefined;

  constructor(options: QuotaLedgerOptions = {}) {
    this.#maxCounters = options.maxCounters ?? 100_000;
    this.#readActiveMs = options.readActiveMs ?? 10_000;
    this.#expirySlackMs = options.expirySlackMs ?? 60_000;
  }

  /** true while the last exchange with the store worked */
  get shared(): boolean {
    return this.#shared;
  }

  get size(): number {
    return this.#counters.size;
  }

  /**
   * Admits a request under every quota in `asks` (the tenant's, and its key's when it has one)
   * and counts it in each, or refuses it and counts it nowhere. With `enforce` false (shadow
   * mode) it is always admitted and counted; `overQuota` says whether it would have been refused.
   */
  admit(asks: readonly QuotaAsk[], nowMs: number, enforce = true): QuotaOutcome {
    const counters = asks.map((ask) => this.#counter(ask, nowMs));
    const left = asks.map((ask, i) => this.#left(ask, counters[i]!));
    const exhausted = left.findIndex((n) => n < 1);
    if (exhausted >= 0 && enforce) {
      return { ok: false, views: asks.map((ask, i) => view(ask, left[i]!, nowMs)), exhausted };
    }
    for (const c of counters) c.pending++;
    return {
      ok: true,
      views: asks.map((ask, i) => view(ask, left[i]! - 1, nowMs)),
      overQuota: exhausted >= 0,
    };
  }

  /**
   * The counts to add to the store and the counters to read back; null while a flush is under
   * way; [] when there is nothing to exchange (then no flush begins).
   */
  beginFlush(nowMs: number, maxItems = 10_000): FlushItem[] | null {
    if (this.#inFlight) return null;
    this.sweep(nowMs);
    const withCounts: Counter[] = [];
    const readOnly: Counter[] = [];
    for (const c of this.#counters.values()) {
      if (!c.shared) continue;
      if (c.pending > 0) withCounts.push(c);
      else if (nowMs - c.lastUsedMs <= this.#readActiveMs && nowMs < c.endMs) readOnly.push(c);
    }
    const chosen = [...withCounts, ...readOnly].slice(0, maxItems);
    if (chosen.length === 0) return [];
    this.#inFlight = chosen.map((counter) => ({ counter, add: counter.pending }));
    for (const c of chosen) c.sending = c.pending;
    return chosen.map((c) => ({ key: c.key, add: c.sending, expireAtMs: c.endMs + this.#expirySlackMs }));
  }

  /**
   * The flush worked: `totals[i]` is the store's count of item i after the addition, undefined
   * where that one command failed (its counts stay pending).
   */
  flushed(totals: readonly (number | undefined)[]): void {
    const inFlight = this.#inFlight;
    if (!inFlight) return;
    this.#inFlight = undefined;
    inFlight.forEach(({ counter, add }, i) => {
      const total = totals[i];
      counter.sending = 0;
      if (total === undefined || !Number.isSafeInteger(total) || total < 0) return;
      counter.pending -= add;
      if (counter.read && total < counter.total + add) {
        // the store's count went down: it lost its data (a restart without persistence);
        // this node adds what it had added before again, with the next flush
        counter.pending += counter.mine;
        counter.mine = 0;
      }
      counter.mine += add;
      counter.total = total;
      counter.read = true;
      counter.base = undefined;
    });
    this.#shared = true;
  }

  /** The flush failed (or the store is unreachable): local mode from now on, counts kept pending. */
  flushFailed(): void {
    for (const { counter } of this.#inFlight ?? []) counter.sending = 0;
    this.#inFlight = undefined;
    if (!this.#shared) return;
    this.#shared = false;
    for (const c of this.#counters.values()) {
      if (c.shared) c.base = { used: c.total + c.pending, pending: c.pending };
    }
  }

  /** Forgets counters whose period has ended and whose counts are in the store (or local only). */
  sweep(nowMs: number): number {
    let dropped = 0;
    for (const [key, c] of this.#counters) {
      if (nowMs >= c.endMs && c.sending === 0 && (c.pending === 0 || !c.shared)) {
        this.#counters.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  #counter(ask: QuotaAsk, nowMs: number): Counter {
    const name = `${ask.key}@${ask.window.startMs}`;
    let c = this.#counters.get(name);
    if (c) this.#counters.delete(name);
    else {
      if (this.#counters.size >= this.#maxCounters) this.#evictOldest();
      c = {
        key: ask.key,
        shared: ask.shared,
        endMs: ask.window.endMs,
        total: 0,
        pending: 0,
        sending: 0,
        mine: 0,
        read: false,
        base: undefined,
        lastUsedMs: nowMs,
      };
    }
    this.#counters.set(name, c); // re-inserted: the map stays in least-recently-used order
    c.lastUsedMs = nowMs;
    return c;
  }

  #evictOldest(): void {
    for (const [name, c] of this.#counters) {
      if (c.sending > 0) continue;
      this.#counters.delete(name);
      return;
    }
  }

  /** How many more requests this node may admit under `ask` now (may be fractional or negative). */
  #left(ask: QuotaAsk, c: Counter): number {
    if (this.#shared && c.read) return ask.limit - (c.total + c.pending);
    const base = c.base ?? { used: 0, pending: 0 };
    return ask.share * Math.max(0, ask.limit - base.used) - (c.pending - base.pending);
  }
}

function view(ask: QuotaAsk, left: number, nowMs: number): QuotaView {
  return {
    limit: ask.limit,
    remaining: Math.max(0, Math.floor(left)),
    resetMs: Math.max(0, ask.window.endMs - nowMs),
    windowMs: ask.window.endMs - ask.window.startMs,
  };
}
