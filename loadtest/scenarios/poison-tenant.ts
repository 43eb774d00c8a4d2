import { freezeFor } from "../faults/signals.ts";
import type { LoadResult } from "../generator/merge.ts";
import { runningNodes, tenantLoads } from "../platform/load-tenants.ts";
import { adminShard } from "../platform/placement.ts";
import { POISON_HEADER } from "../platform/poison-upstream.ts";
import { startUpstream } from "../platform/rig.ts";
import { FLEET_PARAMS, openFleet } from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * A poison tenant, and shuffle sharding containing it (docs/design.md §4, issue 4).
 *   calm:        every tenant, the poison one behaving (the reference p99);
 *   hang:        its upstream frozen (SIGSTOP): its requests pile up to its route timeout
 *                and concurrency limit; the others must see no error and a p99 within
 *                `p99Ratio` of calm;
 *   node-crash:  its requests turn deadly: its upstream marks the answers with the header
 *                the data planes crash on (CORRAL_FAULT_CRASH_ON_HEADER, the data plane's
 *                test-only fault hook), so each node that proxies one dies. Only the nodes
 *                of its shard may die (the client and the nodes never resend a request
 *                that reached a node);
 *   after-crash: the other tenants alone: only those the control plane's blast-radius
 *                analysis names (whole shard on the dead nodes) may fail.
 */
const failing = (r: LoadResult) => new Set(r.tenants.filter((t) => t.errors > 0).map((t) => t.tenant));

export default defineScenario({
  name: "poison-tenant",
  description:
    "A tenant's upstream hangs, then its requests crash nodes: only its shard dies, others unharmed",
  params: {
    ...FLEET_PARAMS,
    dataPlanes: 4,
    tenants: 24,
    zipf: 0.5,
    poisonRate: 20,
    poisonTimeoutMs: 1000,
    poisonConcurrency: 10,
    phaseSec: 8,
    p99Ratio: 1.5,
  },
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "others-calm.error_rate", description: "no errors before the poison", max: 0 },
    { metric: "others-hang.error_rate", description: "others: no errors while its upstream hangs", max: 0 },
    { metric: "hang.p99_ratio", description: "others' p99 while it hangs / calm p99", max: (p) => p.p99Ratio },
    { metric: "crash.poison_shard_dead", description: "nodes of its shard its requests crashed", min: (p) => p.shardSize },
    { metric: "crash.dead_outside_shard", description: "nodes outside its shard that died", max: 0 },
    { metric: "crash.unexpected_failing_tenants", description: "tenants failing after the crash although a member of their shard lives", max: 0 },
  ],
  async run(ctx) {
    const p = ctx.params;
    const poisonUpstream = await startUpstream(ctx, "poison-upstream", p.upstreamDelayMs, "poison");
    const session = await openFleet(ctx, {
      tenants: p.tenants + 1,
      dpEnv: { CORRAL_FAULT_CRASH_ON_HEADER: POISON_HEADER },
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
    const poisonLoad = (path: string) => ({
      tenants: tenantLoads([{ ...poison, path }], [p.poisonRate]),
      timeoutMs: 5000,
    });
    const phase = (name: string, path = poison.path) =>
      Promise.all([
        ctx.runLoad(`others-${name}`, { ...others, durationSec: p.phaseSec }),
        ctx.runLoad(`poison-${name}`, { ...poisonLoad(path), durationSec: p.phaseSec }),
      ]);
    await ctx.runLoad("warmup", { ...others, durationSec: p.warmupSec });
    const [calm] = await phase("calm");
    const hanging = phase("hang");
    await freezeFor(poisonUpstream.pid, p.phaseSec * 1000, ctx.timeline, "SIGSTOP poison upstream");
    const [hang] = await hanging;
    const shard = await adminShard(session.rig.admin, poison.id, runningNodes(session.rig));
    ctx.timeline.mark(`${poison.id}'s answers turn deadly (shard ${shard.slots.join(", ")})`, "poison");
    await phase("crash", `${poison.path}/poison`);
    const dead = session.rig
      .nodes()
      .filter((n) => !n.running)
      .map((n) => n.slot);
    const analysis = await session.rig.admin.get<{ failure: { tenantsLosingWholeShard: string[] } }>(
      `/admin/v1/placement/analysis?failed=${dead.join(",")}`,
    );
    const predicted = new Set(analysis.failure.tenantsLosingWholeShard);
    ctx.log(
      `dead: ${dead.join(", ") || "none"}; tenants losing their whole shard: ${[...predicted].join(", ")}`,
    );
    const after = await ctx.runLoad("after-crash", { ...others, durationSec: p.phaseSec });
    const unexpected = [...failing(after)].filter((t) => !predicted.has(t));
    if (unexpected.length) ctx.log(`failing although a shard member lives: ${unexpected.join(", ")}`);
    return {
      metrics: {
        "hang.p99_ratio": hang.totals.latency.p99Ms / calm.totals.latency.p99Ms,
        "crash.poison_shard_dead": dead.filter((s) => shard.slots.includes(s)).length,
        "crash.dead_outside_shard": dead.filter((s) => !shard.slots.includes(s)).length,
        "crash.predicted_failing_tenants": [...predicted].filter((t) => t !== poison.id).length,
        "crash.failing_tenants": failing(after).size,
        "crash.unexpected_failing_tenants": unexpected.length,
      },
    };
  },
});
