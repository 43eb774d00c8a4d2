/**
 * Node load shedding by priority class, with hysteresis.
 *
 * Pressure = max(inFlight / maxInflight, eventLoopDelayMs / maxEventLoopDelayMs); 1.0 is "full".
 * Each class has a high-water and a low-water mark on that pressure: it starts shedding when the
 * pressure rises above its high-water mark and stops only once it falls below its low-water mark.
 * Defaults: batch 0.6 / 0.5, standard 0.8 / 0.7, critical 1.0 / 0.9, so batch goes first and
 * critical last; marks must be ordered that way, and a class never sheds while a lower one admits.
 * Rejections are 503 / UNAVAILABLE, reason `shed`, with a Retry-After drawn uniformly from
 * [min, max] whole seconds (injected random) so refused clients do not come back in step.
 */
import {
  type AdmissionDecision,
  admitShadowed,
  type LimiterMode,
  type Priority,
  reject,
} from "./decision.ts";

export const PRIORITIES: readonly Priority[] = ["batch", "standard", "critical"];

export type WaterMarks = { high: number; low: number };
export type NodeLoad = { inFlight: number; eventLoopDelayMs: number };
export type LoadShedderOptions = {
  maxInflight?: number;
  maxEventLoopDelayMs?: number;
  marks?: Record<Priority, WaterMarks>;
  retryAfterS?: { min: number; max: number };
  /** uniform in [0, 1) */
  random: () => number;
  mode?: LimiterMode;
};
export type ShedStats = Record<Priority, { shed: number; shadowShed: number }>;

export const DEFAULT_MAX_INFLIGHT = 1000;
export const DEFAULT_MAX_EVENT_LOOP_DELAY_MS = 200;
export const DEFAULT_MARKS: Readonly<Record<Priority, WaterMarks>> = Object.freeze({
  batch: { high: 0.6, low: 0.5 },
  standard: { high: 0.8, low: 0.7 },
  critical: { high: 1.0, low: 0.9 },
});

function checkMarks(marks: Record<Priority, WaterMarks>): void {
  PRIORITIES.forEach((priority, i) => {
    const { high, low } = marks[priority];
    if (!(low > 0 && low < high && Number.isFinite(high))) {
      throw new RangeError(`${priority} water marks need 0 < low < high, got low ${low}, high ${high}`);
    }
    const lower = PRIORITIES[i - 1];
    if (lower && (marks[lower].high > high || marks[lower].low > low)) {
      throw new RangeError(`${priority} water marks must not be below ${lower}'s`);
    }
  });
}

function checkPositive(name: string, value: number): number {
  if (!(Number.isFinite(value) && value > 0))
    throw new RangeError(`${name} must be a number > 0, got ${value}`);
  return value;
}

export class LoadShedder {
  readonly #maxInflight: number;
  readonly #maxDelay: number;
  readonly #marks: Record<Priority, WaterMarks>;
  readonly #retry: { min: number; max: number };
  readonly #random: () => number;
  readonly #shedding: Record<Priority, boolean> = { batch: false, standard: false, critical: false };
  readonly #stats: ShedStats = {
    batch: { shed: 0, shadowShed: 0 },
    standard: { shed: 0, shadowShed: 0 },
    critical: { shed: 0, shadowShed: 0 },
  };
  #mode: LimiterMode;
  #pressure = 0;

  constructor(options: LoadShedderOptions) {
    this.#maxInflight = checkPositive("maxInflight", options.maxInflight ?? DEFAULT_MAX_INFLIGHT);
    this.#maxDelay = checkPositive(
      "maxEventLoopDelayMs",
      options.maxEventLoopDelayMs ?? DEFAULT_MAX_EVENT_LOOP_DELAY_MS,
    );
    this.#marks = structuredClone(options.marks ?? DEFAULT_MARKS);
    checkMarks(this.#marks);
    this.#retry = options.retryAfterS ?? { min: 1, max: 5 };
    if (!(Number.isInteger(this.#retry.min) && this.#retry.min >= 1 && this.#retry.max >= this.#retry.min)) {
      throw new RangeError("retryAfterS needs integer 1 <= min <= max");
    }
    this.#random = options.random;
    this.#mode = { ...options.mode };
  }

  setMode(mode: LimiterMode): void {
    this.#mode = { ...mode };
  }

  /** Feed the current load (in-flight requests not counting the new one, loop delay). */
  observe(load: NodeLoad): void {
    const pressure = Math.max(load.inFlight / this.#maxInflight, load.eventLoopDelayMs / this.#maxDelay);
    this.#pressure = Number.isFinite(pressure) ? Math.max(0, pressure) : 1;
    for (const priority of PRIORITIES) {
      const { high, low } = this.#marks[priority];
      if (this.#pressure > high) this.#shedding[priority] = true;
      else if (this.#pressure < low) this.#shedding[priority] = false;
    }
  }

  get pressure(): number {
    return this.#pressure;
  }

  /** Whether this class is being shed: its own state, or that of any higher class. */
  isShedding(priority: Priority): boolean {
    return PRIORITIES.slice(PRIORITIES.indexOf(priority)).some((p) => this.#shedding[p]);
  }

  /** Decide for one request of this class; pass the load to observe it first. */
  admit(priority: Priority, load?: NodeLoad): AdmissionDecision {
    if (load) this.observe(load);
    if (this.#mode.disabled || !this.isShedding(priority)) return { admit: true };
    if (this.#mode.shadow) {
      this.#stats[priority].shadowShed++;
      return admitShadowed("shed");
    }
    this.#stats[priority].shed++;
    const retryAfterS = this.#jitteredRetryAfter();
    return reject(
      "shed",
      `node overloaded (pressure ${this.#pressure.toFixed(2)}), shedding ${priority} requests`,
      {
        retryAfterS,
      },
    );
  }

  stats(): ShedStats {
    return structuredClone(this.#stats);
  }

  #jitteredRetryAfter(): number {
    const { min, max } = this.#retry;
    return Math.min(max, min + Math.floor(this.#random() * (max - min + 1)));
  }
}

/** A request may lower its priority below its plan's (header), never raise it. */
export function effectivePriority(plan: string | undefined, requested: string | undefined): Priority {
  const planPriority = parsePriority(plan) ?? "standard";
  const asked = parsePriority(requested);
  if (!asked) return planPriority;
  return PRIORITIES.indexOf(asked) < PRIORITIES.indexOf(planPriority) ? asked : planPriority;
}

export function parsePriority(value: string | undefined): Priority | undefined {
  const lowered = value?.trim().toLowerCase();
  return PRIORITIES.find((p) => p === lowered);
}
