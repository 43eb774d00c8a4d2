import { PlatformSession } from "../platform/session.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * Steady Zipf load over many tenants through a real control plane and data planes,
 * placement-aware: the reference run the fault scenarios are compared with. A warm-up
 * load (JIT, connections, first decode of each tenant) precedes the judged one.
 */
export default defineScenario({
  name: "baseline",
  description: "Steady Zipf load over many tenants, placement-aware, no faults",
  params: {
    dataPlanes: 3,
    tenants: 50,
    shardSize: 2,
    rate: 400,
    zipf: 1,
    warmupSec: 5,
    durationSec: 60,
    upstreamDelayMs: 1,
    workers: 0,
  },
  thresholds: [
    { metric: "main.error_rate", description: "no failed request", max: 0 },
    { metric: "main.p99_ms", description: "p99 latency, ms", max: 50 },
    {
      metric: "main.sent_rps",
      description: "the generator kept the offered rate",
      min: (p) => 0.97 * p.rate,
    },
    {
      metric: "main.send_lag_p99_ms",
      description: "generator lateness p99 (machine not saturated)",
      max: 20,
    },
    { metric: "config.nodes_behind", description: "nodes not on the newest config version", max: 0 },
  ],
  async run(ctx) {
    const p = ctx.params;
    const session = await PlatformSession.open(ctx, {
      dataPlanes: p.dataPlanes,
      tenants: p.tenants,
      shardSize: p.shardSize,
      upstreamDelayMs: p.upstreamDelayMs,
    });
    const plan = { tenants: session.loads(p.rate, p.zipf), workers: p.workers, timeoutMs: 5000 };
    await ctx.runLoad("warmup", { ...plan, durationSec: p.warmupSec });
    await ctx.runLoad("main", { ...plan, durationSec: p.durationSec });
    return { metrics: await session.finish() };
  },
});
