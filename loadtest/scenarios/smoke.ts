import { NO_FAILED_REQUEST, NODES_ON_NEWEST, openFleet } from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * The CI check, in seconds: a real Postgres, one control plane and two data planes as
 * child processes, a few tenants created through the admin API, then open-loop HTTP
 * through the data planes, placement-aware: a one-second warm-up (JIT, first use of
 * each tenant's config), then the judged load. Fails on any error, a p99 above a generous
 * bound, a node not on the newest config version at the end, or a run (start-up
 * included) longer than `maxWallSec`.
 */
export default defineScenario({
  name: "smoke",
  description:
    "CI check in seconds: real CP + Postgres + DPs, tenants via the admin API, HTTP through the DPs",
  params: {
    dataPlanes: 2,
    tenants: 4,
    shardSize: 2,
    rate: 200,
    warmupSec: 1,
    durationSec: 5,
    upstreamDelayMs: 1,
    maxWallSec: 50,
  },
  // biome-ignore format: one threshold a line
  thresholds: [
    NO_FAILED_REQUEST,
    { metric: "main.p99_ms", description: "p99 latency (generous: CI machines are slow and shared)", max: 250 },
    { metric: "main.sent_rps", description: "the generator kept the offered rate", min: (p) => 0.95 * p.rate },
    NODES_ON_NEWEST,
    { metric: "smoke.wall_sec", description: "start-up, load and checks, seconds", max: (p) => p.maxWallSec },
  ],
  async run(ctx) {
    const started = performance.now();
    const p = ctx.params;
    const session = await openFleet(ctx);
    const plan = { tenants: session.loads(p.rate), timeoutMs: 5000 };
    await ctx.runLoad("warmup", { ...plan, durationSec: p.warmupSec });
    await ctx.runLoad("main", { ...plan, durationSec: p.durationSec });
    const metrics = await session.finish(10_000);
    return { metrics: { ...metrics, "smoke.wall_sec": (performance.now() - started) / 1000 } };
  },
});
