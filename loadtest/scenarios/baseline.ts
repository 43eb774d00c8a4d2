import {
  FLEET_PARAMS,
  NO_FAILED_REQUEST,
  NODES_ON_NEWEST,
  openFleet,
} from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * Steady Zipf load over many tenants through a real control plane and data planes,
 * placement-aware: the reference run the fault scenarios are compared with. A warm-up
 * load (JIT, connections, first decode of each tenant) precedes the judged one.
 */
export default defineScenario({
  name: "baseline",
  description: "Steady Zipf load over many tenants, placement-aware, no faults",
  params: { ...FLEET_PARAMS, tenants: 50, rate: 400, warmupSec: 5, durationSec: 60, workers: 0 },
  // biome-ignore format: one threshold a line
  thresholds: [
    NO_FAILED_REQUEST,
    { metric: "main.p99_ms", description: "p99 latency, ms", max: 50 },
    { metric: "main.sent_rps", description: "the generator kept the offered rate", min: (p) => 0.97 * p.rate },
    { metric: "main.send_lag_p99_ms", description: "generator lateness p99 (machine not saturated)", max: 20 },
    NODES_ON_NEWEST,
  ],
  async run(ctx) {
    const p = ctx.params;
    const session = await openFleet(ctx);
    const plan = { tenants: session.loads(p.rate, p.zipf), workers: p.workers, timeoutMs: 5000 };
    await ctx.runLoad("warmup", { ...plan, durationSec: p.warmupSec });
    await ctx.runLoad("main", { ...plan, durationSec: p.durationSec });
    return { metrics: await session.finish() };
  },
});
