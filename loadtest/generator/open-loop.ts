import { performance } from "node:perf_hooks";
import { DueHeap } from "./due-heap.ts";
import { UNFINISHED } from "./outcome.ts";
import type { ResolvedPlan } from "./plan.ts";
import { type LanePartial, LaneRecorder, type SecondPartial } from "./recorder.ts";
import { createSender, type Sender } from "./senders.ts";

/**
 * The open-loop engine for one lane (one thread). Every tenant's requests are
 * scheduled at start + i·(1000/rate) ms, whatever happens to earlier requests; each
 * tick sends every request whose time has passed (in batches), and latency is
 * measured from the scheduled time, so a stalled target or a late generator shows
 * up in the latency instead of silently lowering the rate (coordinated omission).
 *
 * Timer precision: Node timers wake up to ~1 ms late, which would add ~0.7 ms to
 * every latency at moderate rates. Instead the engine sleeps to the nearest
 * millisecond and sends requests due within EARLY_MS of now; a request sent early
 * is charged from its actual send time (the earlier of scheduled and sent), so no
 * latency is ever under-reported, the long-run rate is exact, and no CPU is spent
 * spinning. Measured: mean charged lateness ~0.2 ms at 100–400 rps, ~3 % of a core.
 */
const MAX_BATCH = 2000;
const GOLDEN = 0.6180339887498949;

/**
 * Tenant t's k-th request is due at start + (k + phase(t)) · interval: the phases
 * (golden-ratio sequence, deterministic) keep tenants from all firing at the same
 * instant and make each tenant's count over the run r·D on average.
 */
export function tenantPhase(tenant: number): number {
  return (tenant * GOLDEN) % 1;
}

export const EARLY_MS = 0.5;
const FLUSH_EVERY_MS = 250;

export type LaneOptions = {
  /** receives closed seconds while the run goes on (for cross-thread streaming) */
  onSeconds: (seconds: SecondPartial[]) => void;
  signal?: AbortSignal;
  sender?: Sender;
};

/** One lane's schedule (a heap of each tenant's next due time), in-flight counts and bounds. */
class OpenLoopLane {
  readonly #plan: ResolvedPlan;
  readonly #sender: Sender;
  readonly #recorder: LaneRecorder;
  readonly #signal: AbortSignal | undefined;
  readonly #startMs: number;
  readonly #endMs: number;
  readonly #intervals: number[];
  readonly #heap = new DueHeap();
  readonly #nextIndex: number[];
  readonly #inFlight: number[];
  #totalInFlight = 0;
  #budget: number;
  #finished = false;

  constructor(plan: ResolvedPlan, sender: Sender, signal: AbortSignal | undefined) {
    this.#plan = plan;
    this.#sender = sender;
    this.#signal = signal;
    this.#startMs = plan.startEpochMs - performance.timeOrigin;
    this.#endMs = this.#startMs + plan.durationSec * 1000;
    this.#intervals = plan.tenants.map((t) => 1000 / t.rate);
    this.#recorder = new LaneRecorder(
      plan.tenants.map((t) => t.tenant),
      this.#startMs,
      performance.timeOrigin,
    );
    this.#nextIndex = plan.tenants.map(() => plan.lane);
    this.#inFlight = plan.tenants.map(() => 0);
    this.#budget = plan.maxRequests;
    for (let t = 0; t < plan.tenants.length; t++) this.#enqueue(t);
  }

  get recorder(): LaneRecorder {
    return this.#recorder;
  }

  get inFlight(): number {
    return this.#totalInFlight;
  }

  /** Puts tenant t's next request on the heap, unless it falls after the end. */
  #enqueue(t: number): void {
    const due = this.#startMs + (this.#nextIndex[t]! + tenantPhase(t)) * this.#intervals[t]!;
    if (due < this.#endMs) this.#heap.push(due, t);
  }

  #fire(t: number, scheduledMs: number, nowMs: number): void {
    this.#budget--;
    if (this.#totalInFlight >= this.#plan.maxInFlight) {
      this.#recorder.dropped(t, scheduledMs);
      return;
    }
    this.#inFlight[t]!++;
    this.#totalInFlight++;
    this.#recorder.peakInFlight = Math.max(this.#recorder.peakInFlight, this.#totalInFlight);
    this.#recorder.sent(t, scheduledMs, nowMs);
    const chargedFrom = Math.min(scheduledMs, nowMs);
    this.#sender.send(this.#plan.tenants[t]!.target).then((outcome) => {
      if (this.#finished) return;
      this.#inFlight[t]!--;
      this.#totalInFlight--;
      this.#recorder.completed(t, chargedFrom, performance.now(), outcome);
    });
  }

  /** Sends everything due by now + EARLY_MS (at most MAX_BATCH); returns the next due time. */
  sendDue(): number {
    const now = performance.now();
    for (let n = 0; n < MAX_BATCH && this.#budget > 0 && this.#heap.peekDue() <= now + EARLY_MS; n++) {
      const scheduledMs = this.#heap.peekDue();
      const t = this.#heap.pop();
      this.#fire(t, scheduledMs, now);
      this.#nextIndex[t]! += this.#plan.lanes;
      this.#enqueue(t);
    }
    const more = this.#budget > 0 && !this.#signal?.aborted;
    return more ? this.#heap.peekDue() : Number.POSITIVE_INFINITY;
  }

  /** Stops counting completions; whatever is still in flight is recorded as unfinished. */
  finish(): void {
    this.#finished = true;
    for (const [t, n] of this.#inFlight.entries())
      for (let i = 0; i < n; i++) this.#recorder.completed(t, 0, performance.now(), UNFINISHED);
  }
}

export async function runLane(plan: ResolvedPlan, options: LaneOptions): Promise<LanePartial> {
  const sender = options.sender ?? createSender({ connections: plan.connections, timeoutMs: plan.timeoutMs });
  const lane = new OpenLoopLane(plan, sender, options.signal);
  const flush = (all = false) => options.onSeconds(lane.recorder.takeSeconds(performance.now(), all));
  try {
    await schedule(() => lane.sendDue(), flush);
    await drain(() => lane.inFlight, plan.timeoutMs + 1000);
  } finally {
    lane.finish();
    flush(true);
    if (!options.sender) await sender.close();
  }
  return lane.recorder.finish();
}

/**
 * Calls `sendDue` whenever something is due, sleeping with setTimeout in between and
 * yielding to I/O with setImmediate when behind; resolves when nothing is left.
 */
function schedule(sendDue: () => number, flush: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let lastFlush = performance.now();
    const tick = () => {
      try {
        const next = sendDue();
        const now = performance.now();
        if (now - lastFlush >= FLUSH_EVERY_MS) {
          flush();
          lastFlush = now;
        }
        if (next === Number.POSITIVE_INFINITY) return resolve();
        const wait = next - EARLY_MS - now;
        if (wait <= 0) setImmediate(tick);
        else setTimeout(tick, Math.max(1, Math.round(wait)));
      } catch (err) {
        reject(err);
      }
    };
    tick();
  });
}

/** Waits until nothing is in flight, at most `limitMs`. */
async function drain(inFlight: () => number, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (inFlight() > 0 && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
}
