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
