import {
  addEncoded,
  type LatencySummary,
  newLatencyHistogram,
  summarize,
  encodeHistogram,
} from "./histogram.ts";
import { OK } from "./outcome.ts";
import type { ResolvedPlan } from "./plan.ts";
import type { LanePartial, Outcomes, SecondPartial } from "./recorder.ts";

/** One second of the run, all tenants and lanes together. */
export type SeriesPoint = {
  second: number;
  scheduled: number;
  ok: number;
  errors: number;
  outcomes: Outcomes;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
};

export type TenantResult = {
  tenant: string;
  offeredRps: number;
  scheduled: number;
  ok: number;
  errors: number;
  errorRate: number;
  outcomes: Outcomes;
  latency: LatencySummary;
};

export type LoadTotals = {
  scheduled: number;
  sent: number;
  ok: number;
  errors: number;
  errorRate: number;
  outcomes: Outcomes;
  /** measured dispatch rate: sent / (dispatch span + one mean interval) */
  sentRps: number;
  okRps: number;
  latency: LatencySummary;
  /** how late the generator dispatched requests against their schedule */
  sendLag: LatencySummary;
  peakInFlight: number;
};

export type LoadResult = {
  startEpochMs: number;
  durationSec: number;
  offeredRps: number;
  workers: number;
  totals: LoadTotals;
  tenants: TenantResult[];
  series: SeriesPoint[];
  /** encoded histogram of every ok latency (µs), to merge runs later */
  histogram: string;
};

export function addOutcomes(into: Outcomes, from: Outcomes): Outcomes {
  for (const [label, n] of Object.entries(from)) into[label] = (into[label] ?? 0) + n;
  return into;
}

const count = (outcomes: Outcomes) => Object.values(outcomes).reduce((a, b) => a + b, 0);

/** Sums second partials (from any lanes, possibly several per second) into the series. */
export function mergeSeries(partials: SecondPartial[]): SeriesPoint[] {
  const bySecond = new Map<number, { scheduled: number; outcomes: Outcomes; histograms: string[] }>();
  for (const p of partials) {
    const slot = bySecond.get(p.second) ?? { scheduled: 0, outcomes: {}, histograms: [] };
    slot.scheduled += p.scheduled;
    addOutcomes(slot.outcomes, p.outcomes);
    slot.histograms.push(p.histogram);
    bySecond.set(p.second, slot);
  }
  return [...bySecond.entries()]
    .sort(([a], [b]) => a - b)
    .map(([second, slot]) => {
      const histogram = newLatencyHistogram();
      for (const h of slot.histograms) addEncoded(histogram, h);
      const s = summarize(histogram);
      const ok = slot.outcomes[OK] ?? 0;
      const errors = count(slot.outcomes) - ok;
      return { second, scheduled: slot.scheduled, ok, errors, outcomes: slot.outcomes, ...pick(s) };
    });
}

const pick = (s: LatencySummary) => ({ p50Ms: s.p50Ms, p99Ms: s.p99Ms, p999Ms: s.p999Ms, maxMs: s.maxMs });

function mergeTenants(plan: ResolvedPlan, lanes: LanePartial[]): TenantResult[] {
  return plan.tenants.map((t, i) => {
    const outcomes: Outcomes = {};
    const histogram = newLatencyHistogram();
    let scheduled = 0;
    for (const lane of lanes) {
      const part = lane.tenants[i]!;
      scheduled += part.scheduled;
      addOutcomes(outcomes, part.outcomes);
      addEncoded(histogram, part.histogram);
    }
    const ok = outcomes[OK] ?? 0;
    const errors = count(outcomes) - ok;
    const errorRate = scheduled > 0 ? errors / scheduled : 0;
    return {
      tenant: t.tenant,
      offeredRps: t.rate,
      scheduled,
      ok,
      errors,
      errorRate,
      outcomes,
      latency: summarize(histogram),
    };
  });
}

/** Folds every lane's partials into the result of the whole run. */
export function mergeLanes(plan: ResolvedPlan, lanes: LanePartial[], seconds: SecondPartial[]): LoadResult {
  const tenants = mergeTenants(plan, lanes);
  const outcomes: Outcomes = {};
  for (const t of tenants) addOutcomes(outcomes, t.outcomes);
  const total = newLatencyHistogram();
  const sendLag = newLatencyHistogram();
  for (const lane of lanes) {
    addEncoded(total, lane.histogram);
    addEncoded(sendLag, lane.sendLag);
  }
  const offeredRps = plan.tenants.reduce((s, t) => s + t.rate, 0);
  const sent = lanes.reduce((s, l) => s + l.sent, 0);
  const first = Math.min(...lanes.map((l) => l.firstSendEpochMs).filter(Number.isFinite));
  const last = Math.max(...lanes.map((l) => l.lastSendEpochMs).filter(Number.isFinite));
  const spanSec = sent > 0 ? (last - first) / 1000 + 1 / offeredRps : 0;
  const scheduled = tenants.reduce((s, t) => s + t.scheduled, 0);
  const ok = outcomes[OK] ?? 0;
  const errors = count(outcomes) - ok;
  return {
    startEpochMs: plan.startEpochMs,
    durationSec: plan.durationSec,
    offeredRps,
    workers: plan.workers,
    totals: {
      scheduled,
      sent,
      ok,
      errors,
      errorRate: scheduled > 0 ? errors / scheduled : 0,
      outcomes,
      sentRps: spanSec > 0 ? sent / spanSec : 0,
      okRps: spanSec > 0 ? ok / spanSec : 0,
      latency: summarize(total),
      sendLag: summarize(sendLag),
      peakInFlight: Math.max(...lanes.map((l) => l.peakInFlight)),
    },
    tenants,
    series: mergeSeries(seconds),
    histogram: total.totalCount > 0 ? encodeHistogram(total) : "",
  };
}
