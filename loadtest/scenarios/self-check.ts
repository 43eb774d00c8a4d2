import { nodeScript, startChild } from "../bench/child-process.ts";
import { freezeFor } from "../faults/signals.ts";
import type { TenantLoad } from "../generator/plan.ts";
import { zipfRates } from "../generator/zipf.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * The harness checks itself, no platform needed: a fixed-latency upstream in its own
 * process, a Zipf spread of tenants, and two phases. "steady": the generator must
 * report the offered rate within 2 % and the upstream's delay within 1 ms (p50).
 * "stall": the upstream is frozen (SIGSTOP) for `stallMs` mid-run; requests scheduled
 * during the freeze must be charged the wait, so p99.9 must show the stall.
 */
const UPSTREAM = new URL("../bench/fixed-latency-server.ts", import.meta.url);

export default defineScenario({
  name: "self-check",
  description: "Generator accuracy and coordinated-omission check against a local fixed-latency upstream",
  params: { rate: 300, tenants: 10, zipf: 1, delayMs: 20, durationSec: 5, stallMs: 2000, workers: 0 },
  thresholds: [
    { metric: "steady.rate_error_pct", description: "sent rate vs offered, %", max: 2 },
    { metric: "steady.p50_error_ms", description: "p50 minus the upstream's delay, |ms|", max: 1 },
    { metric: "steady.error_rate", description: "errors in the steady phase", max: 0 },
    { metric: "stall.p999_ms", description: "p99.9 shows the stall", min: (p) => 0.9 * p.stallMs },
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
    ctx.log(`stall: freezing the upstream for ${p.stallMs} ms`);
    const stalled = ctx.runLoad("stall", { ...plan, durationSec: p.durationSec });
    await new Promise((r) => setTimeout(r, ((p.durationSec * 1000 - p.stallMs) / 2) | 0));
    await freezeFor(upstream.pid, p.stallMs, ctx.timeline, `SIGSTOP upstream ${p.stallMs} ms`);
    const stall = await stalled;
    const rateError = (sent: number) => (Math.abs(sent - p.rate) / p.rate) * 100;
    return {
      metrics: {
        "steady.rate_error_pct": rateError(steady.totals.sentRps),
        "steady.p50_error_ms": Math.abs(steady.totals.latency.p50Ms - p.delayMs),
        "stall.rate_error_pct": rateError(stall.totals.sentRps),
      },
    };
  },
});
