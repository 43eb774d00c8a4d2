/**
 * Debounce with a cap: run `fire` once things have been quiet for `quietMs`, but never
 * later than `maxDelayMs` after the first trigger of a burst. With `leading`, a trigger after
 * quietMs of quiet (nothing pending, the last fire at least quietMs ago) fires at once: a lone
 * change is not held back by the window, the triggers that follow it within quietMs are
 * debounced as before (a burst costs at most one more fire). Timers are injected.
 */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export class Debouncer {
  private readonly fire: () => void;
  private readonly quietMs: number;
  private readonly maxDelayMs: number;
  private readonly timers: Timers;
  private readonly leading: boolean;
  private lastFire: number | undefined;
  private burstStart: number | undefined;
  private handle: unknown;

  constructor(
    fire: () => void,
    opts: { quietMs: number; maxDelayMs: number; timers?: Timers; leading?: boolean },
  ) {
    this.fire = fire;
    this.quietMs = opts.quietMs;
    this.maxDelayMs = opts.maxDelayMs;
    this.timers = opts.timers ?? realTimers;
    this.leading = opts.leading ?? false;
  }

  get pending(): boolean {
    return this.burstStart !== undefined;
  }

  trigger(): void {
    const now = this.timers.now();
    const quiet = this.lastFire === undefined || now - this.lastFire >= this.quietMs;
    if (this.leading && this.burstStart === undefined && quiet) {
      this.lastFire = now;
      this.fire();
      return;
    }
    this.burstStart ??= now;
    const due = Math.min(now + this.quietMs, this.burstStart + this.maxDelayMs);
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = this.timers.setTimeout(() => this.elapse(), Math.max(0, due - now));
  }

  cancel(): void {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    this.burstStart = undefined;
  }

  private elapse(): void {
    this.handle = undefined;
    this.burstStart = undefined;
    this.lastFire = this.timers.now();
    this.fire();
  }
}
