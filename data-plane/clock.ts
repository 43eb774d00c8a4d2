/**
 * Time and randomness as injected dependencies: the config client, poller and sync client take
 * a Timers and a random() so tests can drive them step by step.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Timers {
  /** wall clock, ms since the epoch */
  now(): number;
  /** monotonic ms, for durations */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

export type Random = () => number;

export function systemTimers(): Timers {
  const live = new Map<number, NodeJS.Timeout>();
  let next = 0;
  return {
    now: () => Date.now(),
    monotonic: () => performance.now(),
    setTimeout(fn, ms) {
      const id = ++next;
      live.set(
        id,
        setTimeout(() => {
          live.delete(id);
          fn();
        }, ms),
      );
      return { id };
    },
    clearTimeout(handle) {
      if (!handle) return;
      clearTimeout(live.get(handle.id));
      live.delete(handle.id);
    },
  };
}

/** Deterministic timers for tests: time moves only when advance() is called. */
export class ManualTimers implements Timers {
  private time: number;
  private next = 0;
  private readonly due = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = 1_700_000_000_000) {
    this.time = startMs;
  }

  now(): number {
    return this.time;
  }

  monotonic(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.next;
    this.due.set(id, { at: this.time + Math.max(0, ms), fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    if (handle) this.due.delete(handle.id);
  }

  /** Delays of the timers still pending, soonest first. */
  pending(): number[] {
    return [...this.due.values()].map((t) => t.at - this.time).sort((a, b) => a - b);
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const [id, first] = [...this.due.entries()].sort((a, b) => a[1].at - b[1].at)[0] ?? [];
      if (id === undefined || !first || first.at > until) break;
      this.due.delete(id);
      this.time = first.at;
      first.fn();
    }
    this.time = until;
  }
}

/** `work`, or a rejection with `error` once `ms` have passed on `timers` (a late failure of `work` is not unhandled). */
export function withTimeout<T>(timers: Timers, work: Promise<T>, ms: number, error: Error): Promise<T> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = timers.setTimeout(() => reject(error), ms);
  });
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => timers.clearTimeout(timer));
}

/**
 * Runs `work` every `intervalMs` (jittered by ±10 %), one run at a time: tick() runs it now or
 * joins the run under way; the next run is scheduled when one ends. `work` must not throw.
 */
export class JitteredLoop {
  readonly #timers: Timers;
  readonly #random: Random;
  readonly #intervalMs: number;
  readonly #work: () => Promise<void>;
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(timers: Timers, random: Random, intervalMs: number, work: () => Promise<void>) {
    this.#timers = timers;
    this.#random = random;
    this.#intervalMs = intervalMs;
    this.#work = work;
  }

  start(): void {
    this.#schedule();
  }

  tick(): Promise<void> {
    this.#running ??= this.#work().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops scheduling and waits for the run under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timers.clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = this.#intervalMs * (0.9 + 0.2 * this.#random());
    this.#timer = this.#timers.setTimeout(() => {
      void this.tick().then(() => this.#schedule());
    }, delay);
  }
}
