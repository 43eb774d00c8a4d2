/**
 * The event-loop delay the load shedder sees: perf_hooks' monitorEventLoopDelay, sampled every
 * `windowMs`, as the mean delay of a window — the smaller of the last two windows' means. The
 * mean, not the max: a loop that is really saturated delays every tick and shows in every
 * window. Two windows, not one: a pause longer than the window (the OS not running the process
 * for a second on a loaded machine; a SIGSTOP) leaves the window it ends in with a handful of
 * ticks, one of them the whole pause, so that window's mean is the pause itself (a 1 s stop read
 * 250 ms); alone it would make the shedder refuse the requests that queued during the pause,
 * at a loop that is idle again. A pause shows in one window only; saturation shows in every
 * one, so it is shed one window later. The histogram records the whole time between its
 * timer's ticks, so the timer's own period (the resolution) is taken off.
 */
import { type ELDHistogram, monitorEventLoopDelay } from "node:perf_hooks";

export interface EventLoopDelayOptions {
  /** sampling timer of the histogram; default 10 ms */
  resolutionMs?: number;
  /** default 500 ms */
  windowMs?: number;
}

export class EventLoopDelaySampler {
  readonly #histogram: ELDHistogram;
  readonly #timer: NodeJS.Timeout;
  readonly #resolutionMs: number;
  #delayMs = 0;
  /** mean of the last window alone */
  #lastWindowMs = 0;
  #samples = 0;

  constructor(options: EventLoopDelayOptions = {}) {
    this.#resolutionMs = options.resolutionMs ?? 10;
    this.#histogram = monitorEventLoopDelay({ resolution: this.#resolutionMs });
    this.#histogram.enable();
    this.#timer = setInterval(() => this.#sample(), options.windowMs ?? 500);
    this.#timer.unref();
  }

  /** Windows sampled so far (a test waits for the next one). */
  get samples(): number {
    return this.#samples;
  }

  /** Event-loop delay in ms: the smaller of the last two windows' means. */
  get delayMs(): number {
    return this.#delayMs;
  }

  #sample(): void {
    const mean = this.#histogram.mean;
    const ok = Number.isFinite(mean) && this.#histogram.count > 0;
    const windowMs = ok ? Math.max(0, mean / 1e6 - this.#resolutionMs) : 0;
    this.#delayMs = Math.min(windowMs, this.#lastWindowMs);
    this.#lastWindowMs = windowMs;
    this.#histogram.reset();
    this.#samples++;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}
