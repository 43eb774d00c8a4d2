import type { Histogram } from "hdr-histogram-js";
import { encodeHistogram, newLatencyHistogram, recordMs } from "./histogram.ts";
import { DROPPED, OK } from "./outcome.ts";

/**
 * What one lane (thread) of the generator measured, in a form that crosses thread
 * boundaries (plain data, histograms encoded) and merges by addition.
 */
export type Outcomes = Record<string, number>;

export type SecondPartial = {
  /** seconds since the plan's start */
  second: number;
  /** requests whose scheduled time fell in this second */
  scheduled: number;
  /** outcomes that happened in this second (completion time; dropped at scheduled time) */
  outcomes: Outcomes;
  /** latency of the ok responses completed in this second */
  histogram: string;
};

export type TenantPartial = { tenant: string; scheduled: number; outcomes: Outcomes; histogram: string };

export type LanePartial = {
  tenants: TenantPartial[];
  /** latency (ok responses) of every tenant together */
  histogram: string;
  /** dispatch time minus scheduled time: the generator's own lateness */
  sendLag: string;
  sent: number;
  firstSendEpochMs: number;
  lastSendEpochMs: number;
  peakInFlight: number;
};

type SecondBucket = { scheduled: number; outcomes: Outcomes; histogram: Histogram | undefined };
type TenantState = { scheduled: number; outcomes: Outcomes; histogram: Histogram };

const bump = (outcomes: Outcomes, label: string) => {
  outcomes[label] = (outcomes[label] ?? 0) + 1;
};

/** Records one lane's events; times are this thread's performance.now() milliseconds. */
export class LaneRecorder {
  readonly #startMs: number;
  readonly #toEpoch: number;
  readonly #tenants: TenantState[];
  readonly #names: string[];
  readonly #seconds = new Map<number, SecondBucket>();
  readonly #total = newLatencyHistogram();
  readonly #sendLag = newLatencyHistogram();
  #sent = 0;
  #firstSend = Number.NaN;
  #lastSend = Number.NaN;
  peakInFlight = 0;

  constructor(tenantNames: string[], startMs: number, timeOrigin: number) {
    this.#names = tenantNames;
    this.#startMs = startMs;
    this.#toEpoch = timeOrigin;
    this.#tenants = tenantNames.map(() => ({
      scheduled: 0,
      outcomes: {},
      histogram: newLatencyHistogram("packed"),
    }));
  }

  #bucket(atMs: number): SecondBucket {
    const second = Math.max(0, Math.floor((atMs - this.#startMs) / 1000));
    let bucket = this.#seconds.get(second);
    if (!bucket) {
      bucket = { scheduled: 0, outcomes: {}, histogram: undefined };
      this.#seconds.set(second, bucket);
    }
    return bucket;
  }

  sent(tenant: number, scheduledMs: number, nowMs: number): void {
    this.#tenants[tenant]!.scheduled++;
    this.#bucket(scheduledMs).scheduled++;
    recordMs(this.#sendLag, Math.max(0, nowMs - scheduledMs));
    this.#sent++;
    if (Number.isNaN(this.#firstSend)) this.#firstSend = nowMs;
    this.#lastSend = nowMs;
  }

  dropped(tenant: number, scheduledMs: number): void {
    const state = this.#tenants[tenant]!;
    state.scheduled++;
    bump(state.outcomes, DROPPED);
    const bucket = this.#bucket(scheduledMs);
    bucket.scheduled++;
    bump(bucket.outcomes, DROPPED);
  }

  /** `fromMs`: the earlier of the scheduled and the actual send time. */
  completed(tenant: number, fromMs: number, doneMs: number, outcome: string): void {
    const state = this.#tenants[tenant]!;
    bump(state.outcomes, outcome);
    const bucket = this.#bucket(doneMs);
    bump(bucket.outcomes, outcome);
    if (outcome !== OK) return;
    const latency = doneMs - fromMs;
    recordMs(state.histogram, latency);
    recordMs(this.#total, latency);
    bucket.histogram ??= newLatencyHistogram();
    recordMs(bucket.histogram, latency);
  }

  /** Hands over every second that ended at least 2 s before `nowMs` (or all of them). */
  takeSeconds(nowMs: number, all = false): SecondPartial[] {
    const current = Math.floor((nowMs - this.#startMs) / 1000);
    const out: SecondPartial[] = [];
    for (const [second, bucket] of this.#seconds) {
      if (!all && second > current - 2) continue;
      this.#seconds.delete(second);
      const histogram = bucket.histogram ? encodeHistogram(bucket.histogram) : "";
      out.push({ second, scheduled: bucket.scheduled, outcomes: bucket.outcomes, histogram });
    }
    return out;
  }

  finish(): LanePartial {
    return {
      tenants: this.#tenants.map((t, i) => ({
        tenant: this.#names[i]!,
        scheduled: t.scheduled,
        outcomes: t.outcomes,
        histogram: t.histogram.totalCount > 0 ? encodeHistogram(t.histogram) : "",
      })),
      histogram: this.#total.totalCount > 0 ? encodeHistogram(this.#total) : "",
      sendLag: this.#sendLag.totalCount > 0 ? encodeHistogram(this.#sendLag) : "",
      sent: this.#sent,
      firstSendEpochMs: this.#firstSend + this.#toEpoch,
      lastSendEpochMs: this.#lastSend + this.#toEpoch,
      peakInFlight: this.peakInFlight,
    };
  }
}
