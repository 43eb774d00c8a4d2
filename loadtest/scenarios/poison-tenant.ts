import { freezeFor, killAndWait, sendSignal } from "../faults/signals.ts";
import type { LoadResult } from "../generator/merge.ts";
import { runningNodes, tenantLoads } from "../platform/load-tenants.ts";
import { adminShard } from "../platform/placement.ts";
import { startUpstream } from "../platform/rig.ts";
import { PlatformSession } from "../platform/session.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * A poison tenant, and shuffle sharding containing it (DESIGN §4, issue 4).
 *   calm:           every tenant, the poison one's upstream healthy (the reference p99);
 *   upstream-hang:  its upstream frozen (SIGSTOP): its requests pile up to its route
 *                   timeout and concurrency limit; the others must see no error and a p99
 *                   within `p99Ratio` of calm;
 *   upstream-crash: its upstream killed: fast upstream errors for it, nothing for others;
 *   node-crash:     its requests crash the nodes they reach. The data plane has no
 *                   request-of-death hook, so the harness does what such requests would
 *                   do: SIGKILL every node of the poison tenant's shard (from the control
 *                   plane's placement API). Only the tenants the control plane's blast-
 *                   radius analysis names (whole shard on those nodes) may fail.
 */
const failing = (r: LoadResult) => new Set(r.tenants.filter((t) => t.errors > 0).map((t) => t.tenant));

export default defineScenario({
  name: "poison-tenant",
  description: "A tenant's upstream hangs, then crashes, then its requests crash its shard: others unharmed",
  params: {
    dataPlanes: 4,
    tenants: 24,
    shardSize: 2,
    rate: 300,
    zipf: 0.5,
    poisonRate: 50,
    poisonTimeoutMs: 1000,
    poisonConcurrency: 10,
    warmupSec: 3,
    phaseSec: 8,
    p99Ratio: 1.5,
    upstreamDelayMs: 1,
  },
  thresholds: [
    { metric: "calm.error_rate", description: "no errors before the poison", max: 0 },
    { metric: "others-hang.error_rate", description: "others: no errors while its upstream hangs", max: 0 },
    {
      metric: "hang.p99_ratio",
      description: "others' p99 while it hangs / calm p99",
      max: (p) => p.p99Ratio,
    },
    { metric: "others-crash.error_rate", description: "others: no errors once its upstream crashed", max: 0 },
    {
      metric: "crash.unexpected_failing_tenants",
      description: "tenants failing after its shard died that still had a live member",
      max: 0,
    },
    { metric: "crash.poison_failed", description: "the poison tenant itself lost its shard", min: 1 },
  ],
  async run(ctx) {
    const p = ctx.params;
    const poisonUpstream = await startUpstream(ctx, "poison-upstream", p.upstreamDelayMs);
    const session = await PlatformSession.open(ctx, {
      dataPlanes: p.dataPlanes,
      tenants: p.tenants + 1,
      shardSize: p.shardSize,
      upstreamDelayMs: p.upstreamDelayMs,
      tenantSpec: (i) =>
        i === p.tenants
          ? {
              upstreamUrl: poisonUpstream.ready.url,
              timeoutMs: p.poisonTimeoutMs,
              limits: { concurrency: p.poisonConcurrency },
            }
          : {},
    });
    const others = {
      tenants: session.loads(p.rate, p.zipf, session.tenants.slice(0, p.tenants)),
      timeoutMs: 5000,
    };
    const poison = session.tenants[p.tenants]!;
    const poisonPlan = { tenants: tenantLoads([poison], [p.poisonRate]), timeoutMs: 5000 };
    const phase = (name: string) =>
      Promise.all([
        ctx.runLoad(`others-${name}`, { ...others, durationSec: p.phaseSec }),
        ctx.runLoad(`poison-${name}`, { ...poisonPlan, durationSec: p.phaseSec }),
      ]);
    await ctx.runLoad("warmup", { ...others, durationSec: p.warmupSec });
    const [calm] = await phase("calm");
    const hanging = phase("hang");
    await freezeFor(poisonUpstream.pid, p.phaseSec * 1000, ctx.timeline, "SIGSTOP poison upstream");
    const [hang] = await hanging;
    await killAndWait(poisonUpstream.pid, ctx.timeline, "SIGKILL poison upstream");
    await phase("crash");
    const nodes = runningNodes(session.rig);
    const shard = await adminShard(session.rig.admin, poison.id, nodes);
    const analysis = await session.rig.admin.get<{ failure: { tenantsLosingWholeShard: string[] } }>(
      `/admin/v1/placement/analysis?failed=${shard.slots.join(",")}`,
    );
    const predicted = new Set(analysis.failure.tenantsLosingWholeShard);
    ctx.log(
      `poison shard ${shard.slots.join(", ")}; tenants losing their whole shard: ${[...predicted].join(", ")}`,
    );
    for (const slot of shard.slots) {
      const node = session.rig.nodes().find((n) => n.slot === slot);
      if (node?.pid) sendSignal(node.pid, "SIGKILL", ctx.timeline, `SIGKILL ${slot} (poisoned)`);
    }
    await new Promise((r) => setTimeout(r, 500));
    const all = { tenants: [...others.tenants, ...poisonPlan.tenants], timeoutMs: 3000 };
    const after = await ctx.runLoad("node-crash", { ...all, durationSec: p.phaseSec });
    const failed = failing(after);
    const unexpected = [...failed].filter((t) => !predicted.has(t));
    if (unexpected.length) ctx.log(`failing although a shard member lived: ${unexpected.join(", ")}`);
    return {
      metrics: {
        "calm.error_rate": calm.totals.errorRate,
        "hang.p99_ratio": hang.totals.latency.p99Ms / calm.totals.latency.p99Ms,
        "crash.predicted_failing_tenants": predicted.size,
        "crash.failing_tenants": failed.size,
        "crash.unexpected_failing_tenants": unexpected.length,
        "crash.poison_failed": failed.has(poison.id) ? 1 : 0,
      },
    };
  },
});
