import { nodeScript, startChild } from "../process/child-process.ts";
import { loopbackRoundTripP50, upstreamHoldStats } from "../bench/known-latency.ts";
import { freezeFor } from "../faults/signals.ts";
import type { SeriesPoint } from "../generator/merge.ts";
import type { TenantLoad } from "../generator/plan.ts";
import { zipfRates } from "../generator/zipf.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * The harness checks itself, no platform needed: a fixed-latency upstream in its own
 * process, a Zipf spread of tenants, and two phases. "steady": the generator must
 * send the offered rate within 2 % overall and within 5 % in every inner second, and
 * its p50 must be within 1 ms of the known latency — what the upstream itself measured
 * holding each request plus the loopback round trip, both measured apart from the
 * generator. "stall": the upstream is frozen (SIGSTOP) for `stallMs` mid-run; requests
 * scheduled during the freeze must be charged the wait, so p99 and p99.9 must show the
 * stall, and the worst request must not be charged much more than the stall.
 * These are precise bounds: run it on a quiet machine. The generator's unit tests
 * (generator/open-loop.test.ts) keep only wide margins that a loaded machine holds.
 */
const UPSTREAM = new URL("../bench/fixed-latency-server.ts", import.meta.url);

export default defineScenario({
  name: "self-check",
  description: "Generator accuracy and coordinated-omission check against a local fixed-latency upstream",
  params: { rate: 300, tenants: 10, zipf: 1, delayMs: 20, durationSec: 5, stallMs: 2000, workers: 0 },
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "steady.rate_error_pct", description: "sent rate vs offered, %", max: 2 },
    { metric: "steady.worst_second_error_pct", description: "completions per inner second vs offered, %", max: 5 },
    { metric: "steady.p50_error_ms", description: "p50 minus the known latency (upstream's measured hold + loopback round trip), |ms|", max: 1 },
    { metric: "steady.error_rate", description: "errors in the steady phase", max: 0 },
    { metric: "stall.p999_ms", description: "p99.9 shows the stall", min: (p) => 0.9 * p.stallMs },
    { metric: "stall.p99_ms", description: "p99 shows the stall", min: (p) => 0.8 * p.stallMs },
    { metric: "stall.max_over_stall_ms", description: "worst latency minus the stall, ms", max: 600 },
    { metric: "stall.rate_error_pct", description: "the schedule is kept during the stall, %", max: 2 },
  ],
  async run(ctx) {
    const p = ctx.params;
    const upstream = await startChild<{ url: string }>(nodeScript(UPSTREAM, [`--delay-ms=${p.delayMs}`]));
    ctx.onCleanup(() => upstream.stop());
    ctx.sampler.add({ name: "upstream", pid: upstream.pid });
    const tenants: TenantLoad[] = zipfRates(p.rate, p.tenants, p.zipf).map((rate, i) => ({
      tenant: `tenant-${i}`,
      rate,
      target: { kind: "http", url: `${upstream.ready.url}/t/${i}` },
    }));
    const plan = { tenants, workers: p.workers };
    await ctx.runLoad("warmup", { ...plan, durationSec: 1 });
    ctx.log(`steady: ${p.rate} rps over ${p.tenants} tenants for ${p.durationSec} s`);
    const steady = await ctx.runLoad("steady", { ...plan, durationSec: p.durationSec });
    // the known latency, measured apart from the generator (the hold record includes the warm-up's)
    const heldP50 = (await upstreamHoldStats(upstream.ready.url)).p50Ms;
    const roundTripP50 = await loopbackRoundTripP50(upstream.ready.url);
    ctx.log(`stall: freezing the upstream for ${p.stallMs} ms`);
    const stalled = ctx.runLoad("stall", { ...plan, durationSec: p.durationSec });
    await new Promise((r) => setTimeout(r, ((p.durationSec * 1000 - p.stallMs) / 2) | 0));
    await freezeFor(upstream.pid, p.stallMs, ctx.timeline, `SIGSTOP upstream ${p.stallMs} ms`);
    const stall = await stalled;
    const rateError = (sent: number) => (Math.abs(sent - p.rate) / p.rate) * 100;
    return {
      metrics: {
        "steady.rate_error_pct": rateError(steady.totals.sentRps),
        "steady.worst_second_error_pct": worstSecondErrorPct(steady.series, p.rate, p.durationSec),
        "steady.upstream_held_p50_ms": heldP50,
        "steady.round_trip_p50_ms": roundTripP50,
        "steady.p50_error_ms": Math.abs(steady.totals.latency.p50Ms - (heldP50 + roundTripP50)),
        "stall.rate_error_pct": rateError(stall.totals.sentRps),
        "stall.max_over_stall_ms": stall.totals.latency.maxMs - p.stallMs,
      },
    };
  },
});

/**
 * The largest deviation of one second's completions from the offered rate, in %, over the
 * inner seconds (the first and the last hold the ramp and the tail; completions are
 * bucketed by when they finish, so a few cross a second's boundary either way).
 */
function worstSecondErrorPct(series: SeriesPoint[], rate: number, durationSec: number): number {
  const inner = series.filter((point) => point.second >= 1 && point.second < durationSec - 1);
  return Math.max(0, ...inner.map((point) => (Math.abs(point.ok - rate) / rate) * 100));
}
