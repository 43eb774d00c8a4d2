import { killAndWait } from "../faults/signals.ts";
import { waitServed } from "../platform/load-tenants.ts";
import { fetchStatus, type NodeStatus } from "../platform/node-watch.ts";
import type { PlatformSession } from "../platform/session.ts";
import { FLEET_PARAMS, openFleet } from "../platform/platform-scenario.ts";
import { defineScenario, type Params, type ScenarioContext } from "../scenario/types.ts";

/**
 * Static stability (docs/design.md §3.3): SIGKILL every control-plane replica and Postgres in the
 * middle of a run. The data planes must keep serving every existing tenant without a
 * single failed request, stay ready, keep their config version, and report the growing
 * staleness (config age) instead of acting on it. With `restartNode`, one node is then
 * restarted while everything is still down (after the load: the nodes forward to each
 * other, so a restart under load fails forwarded requests whatever the control plane
 * does) and must serve every tenant from its disk cache alone.
 */
function statuses<P extends Params>(session: PlatformSession<P>): Promise<Array<NodeStatus | undefined>> {
  return Promise.all(session.rig.nodes().map((n) => fetchStatus(n.ops)));
}

/** Restarts a node with nothing but its disk cache to boot from; returns how many tenants it serves. */
async function restartFromCache<P extends Params>(
  ctx: ScenarioContext<P>,
  session: PlatformSession<P>,
  slot: string,
): Promise<number> {
  const node = session.rig.nodes().find((n) => n.slot === slot)!;
  const end = ctx.timeline.begin(`restart ${slot} (no CP, no Postgres)`, "restart");
  await node.restart();
  session.rig.watchProcesses();
  end();
  let served = 0;
  for (const t of session.tenants) {
    const alone = { ...t, shard: { ...t.shard, origins: [node.url] } };
    try {
      await waitServed(alone, 15_000);
      served++;
    } catch (err) {
      ctx.log((err as Error).message);
    }
  }
  ctx.log(`${slot} restarted during the outage and serves ${served}/${session.tenants.length} tenants`);
  return served;
}

export default defineScenario({
  name: "cp-outage",
  description: "Kill every CP replica and Postgres mid-run: zero failed requests, nodes keep their config",
  params: { ...FLEET_PARAMS, controlPlanes: 2, beforeSec: 5, outageSec: 15, restartNode: true },
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "main.error_rate", description: "no failed request, before or during the outage", max: 0 },
    { metric: "outage.nodes_not_ready", description: "nodes that stopped being ready", max: 0 },
    { metric: "outage.nodes_changed_version", description: "nodes whose version moved during the outage", max: 0 },
    { metric: "outage.min_config_age_s", description: "staleness reported: every node's config age covers most of the outage", min: (p) => 0.5 * p.outageSec },
    { metric: "outage.restarted_node_tenants_served", description: "tenants the node restarted during the outage serves from its disk cache", min: (p) => (p.restartNode ? p.tenants : 0) },
  ],
  async run(ctx) {
    const p = ctx.params;
    const session = await openFleet(ctx, { controlPlanes: p.controlPlanes });
    const { platform, postgres } = session.rig;
    if (!postgres.pid)
      throw new Error("Postgres is external (CORRAL_TEST_PG_URL): the scenario cannot kill it");
    const plan = { tenants: session.loads(p.rate, p.zipf), timeoutMs: 5000 };
    await ctx.runLoad("warmup", { ...plan, durationSec: p.warmupSec });
    const load = ctx.runLoad("main", { ...plan, durationSec: p.beforeSec + p.outageSec });
    await new Promise((r) => setTimeout(r, p.beforeSec * 1000));
    const before = await statuses(session);
    for (const cp of platform.cps) if (cp.pid) await killAndWait(cp.pid, ctx.timeline, `SIGKILL ${cp.name}`);
    await killAndWait(postgres.pid, ctx.timeline, "SIGKILL postgres");
    await load;
    const after = await statuses(session);
    const changed = after.filter((s, i) => s?.version !== before[i]?.version).length;
    const spare = session.rig.nodes().at(-1)!.slot;
    const served = p.restartNode ? await restartFromCache(ctx, session, spare) : 0;
    return {
      metrics: {
        "outage.nodes_not_ready": after.filter((s) => !s?.ready).length,
        "outage.nodes_changed_version": changed,
        "outage.min_config_age_s": Math.min(...after.map((s) => (s?.configAgeMs ?? 0) / 1000)),
        "outage.restarted_node_tenants_served": served,
      },
    };
  },
});
