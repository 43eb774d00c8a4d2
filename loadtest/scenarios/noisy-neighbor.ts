import type { LoadResult } from "../generator/merge.ts";
import { tenantLoads } from "../platform/load-tenants.ts";
import { FLEET_PARAMS, NODES_ON_NEWEST, openFleet } from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * One tenant floods at `noisyFactor` times its rate limit while the others stay well
 * behaved (docs/design.md §5, issue 4's isolation test). The well-behaved tenants run alone
 * before and after ("quiet", "quiet-after"), and alongside the flood ("with-noisy");
 * they must see no error and a p99 within `p99Ratio` of the mean of the quiet runs. The
 * noisy tenant must be held to its limit (spread over its shard, each member enforcing
 * rate/k) and be rejected with corral-reason `quota`.
 */
const okRps = (r: LoadResult) => (r.tenants[0]?.ok ?? 0) / r.durationSec;
/** Sustained admitted rate: the burst bucket starts full and lets `burst` through on top. */
const sustainedRps = (r: LoadResult, burst: number) =>
  Math.max(0, (r.tenants[0]?.ok ?? 0) - burst) / r.durationSec;

export default defineScenario({
  name: "noisy-neighbor",
  description: "A tenant at 20x its rate limit next to well-behaved ones: their errors and p99 must not move",
  params: { ...FLEET_PARAMS, noisyLimit: 25, noisyFactor: 20, durationSec: 10, p99Ratio: 1.5 },
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "quiet.error_rate", description: "well-behaved tenants alone: no errors", max: 0 },
    { metric: "with-noisy.error_rate", description: "well-behaved tenants next to the flood: no errors", max: 0 },
    { metric: "isolation.p99_ratio", description: "their p99 with the flood / mean p99 of the quiet runs", max: (p) => p.p99Ratio },
    { metric: "noisy.admitted_ratio", description: "noisy tenant's ok rate less its burst / its limit", max: 1.1 },
    { metric: "noisy.admitted_ratio", description: "noisy tenant's ok rate less its burst / its limit", min: 0.9 },
    { metric: "noisy.quota_share", description: "share of the noisy tenant's rejections that are quota", min: 0.95 },
    NODES_ON_NEWEST,
  ],
  async run(ctx) {
    const p = ctx.params;
    const session = await openFleet(ctx, {
      tenants: p.tenants + 1,
      tenantSpec: (i) => (i === p.tenants ? { limits: { rate: p.noisyLimit, burst: p.noisyLimit } } : {}),
    });
    const quietTenants = session.tenants.slice(0, p.tenants);
    const noisyTenant = session.tenants[p.tenants]!;
    const quiet = { tenants: session.loads(p.rate, p.zipf, quietTenants), timeoutMs: 5000 };
    const noisy = { tenants: tenantLoads([noisyTenant], [p.noisyLimit * p.noisyFactor]), timeoutMs: 5000 };
    await ctx.runLoad("warmup", { ...quiet, durationSec: p.warmupSec });
    const before = await ctx.runLoad("quiet", { ...quiet, durationSec: p.durationSec });
    ctx.timeline.mark(`${noisyTenant.id} floods at ${p.noisyFactor}x its limit`, "flood");
    const [alongside, flood] = await Promise.all([
      ctx.runLoad("with-noisy", { ...quiet, durationSec: p.durationSec }),
      ctx.runLoad("noisy", { ...noisy, durationSec: p.durationSec, maxInFlight: 2000 }),
    ]);
    ctx.timeline.mark("flood over", "flood");
    const after = await ctx.runLoad("quiet-after", { ...quiet, durationSec: p.durationSec });
    const quietP99 = (before.totals.latency.p99Ms + after.totals.latency.p99Ms) / 2;
    const outcomes = flood.totals.outcomes;
    const rejected = flood.totals.errors;
    return {
      metrics: {
        ...(await session.finish()),
        "isolation.p99_ratio": alongside.totals.latency.p99Ms / quietP99,
        "noisy.admitted_rps": okRps(flood),
        "noisy.admitted_ratio": sustainedRps(flood, p.noisyLimit) / p.noisyLimit,
        "noisy.quota_share": rejected > 0 ? (outcomes.quota ?? 0) / rejected : 0,
      },
    };
  },
});
