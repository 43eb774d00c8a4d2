/**
 * The event-loop delay the load shedder sees: perf_hooks' monitorEventLoopDelay, sampled every
 * `windowMs`, as the mean delay over the last window. The mean, not the max: one long pause
 * (a GC, the OS giving the core to another process) barely moves it, while a loop that is
 * really saturated delays every tick and shows at once. The histogram records the whole time
 * between its timer's ticks, so the timer's own period (the resolution) is taken off.
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

  /** Mean event-loop delay of the last window, in ms. */
  get delayMs(): number {
    return this.#delayMs;
  }

  #sample(): void {
    const mean = this.#histogram.mean;
    const ok = Number.isFinite(mean) && this.#histogram.count > 0;
    this.#delayMs = ok ? Math.max(0, mean / 1e6 - this.#resolutionMs) : 0;
    this.#histogram.reset();
    this.#samples++;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}
