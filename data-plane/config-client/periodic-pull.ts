/**
 * The constant-work pull: every interval (jittered ±20 % so a fleet does not pull in lockstep)
 * ask for a full apply of LATEST, whether or not anything changed.
 */
import type { Random, TimerHandle, Timers } from "../clock.ts";

export function jitteredDelay(intervalMs: number, random: Random): number {
  return Math.round(intervalMs * (0.8 + 0.4 * random()));
}

export class PeriodicPull {
  private readonly intervalMs: number;
  private readonly timers: Timers;
  private readonly random: Random;
  private readonly tick: () => void;
  private timer: TimerHandle | undefined;
  private stopped = true;

  constructor(intervalMs: number, timers: Timers, random: Random, tick: () => void) {
    this.intervalMs = intervalMs;
    this.timers = timers;
    this.random = random;
    this.tick = tick;
  }

  /** Pulls at once, then every jittered interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.fire();
  }

  stop(): void {
    this.stopped = true;
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private fire(): void {
    if (this.stopped) return;
    this.tick();
    this.timer = this.timers.setTimeout(() => this.fire(), jitteredDelay(this.intervalMs, this.random));
  }
}
