import { AdminApiError } from "../../bin/admin/admin-client.ts";
import {
  FLEET_PARAMS,
  NO_FAILED_REQUEST,
  NODES_ON_NEWEST_AT_END,
  openFleet,
} from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * Admin changes every `churnMs` under load. The changes hit a tenant outside the load
 * (rename; add and remove a route) and, every `loadedEvery`-th change, a tenant under
 * load (rename: its config is replaced while its requests flow). Every change publishes
 * a new version (debounced); each node must keep applying them — the longest time any
 * node serves one version must stay short — while no request fails.
 */
export default defineScenario({
  name: "config-churn",
  description:
    "Admin changes every 100 ms under load: no errors, config versions keep advancing on every node",
  params: { ...FLEET_PARAMS, durationSec: 20, churnMs: 100, loadedEvery: 5, maxVersionGapSec: 3 },
  // biome-ignore format: one threshold a line
  thresholds: [
    NO_FAILED_REQUEST,
    { metric: "churn.admin_errors", description: "admin calls that failed", max: 0 },
    { metric: "churn.max_version_gap_s", description: "longest time a node served one version while changes flowed, s", max: (p) => p.maxVersionGapSec },
    { metric: "config.min_versions_per_node", description: "versions each node went through (at least one per 2 s of churn)", min: (p) => p.durationSec / 2 },
    NODES_ON_NEWEST_AT_END,
  ],
  async run(ctx) {
    const p = ctx.params;
    const session = await openFleet(ctx, { tenants: p.tenants + 1 });
    const loaded = session.tenants.slice(0, p.tenants);
    const churned = session.tenants[p.tenants]!;
    const plan = { tenants: session.loads(p.rate, p.zipf, loaded), timeoutMs: 5000 };
    await ctx.runLoad("warmup", { ...plan, durationSec: p.warmupSec });
    const admin = session.rig.admin;
    const base = `/admin/v1/tenants/${churned.id}`;
    const counts = { ops: 0, errors: 0 };
    let extraRoute: string | undefined;
    const change = async (n: number) => {
      if (n % p.loadedEvery === 0)
        return admin.patch(`/admin/v1/tenants/${loaded[n % loaded.length]!.id}`, {
          name: `load change ${n}`,
        });
      if (n % 3 === 1 && !extraRoute) {
        const route = await admin.post<{ id: string }>(`${base}/routes`, {
          pathPrefix: `/churn/${n}`,
          upstreamId: churned.upstreamId,
        });
        extraRoute = route.id;
        return;
      }
      if (n % 3 === 2 && extraRoute) {
        const id = extraRoute;
        extraRoute = undefined;
        return admin.delete(`${base}/routes/${id}`);
      }
      return admin.patch(base, { name: `churn ${n}` });
    };
    const from = Date.now();
    const load = ctx.runLoad("main", { ...plan, durationSec: p.durationSec });
    const end = ctx.timeline.begin(`admin change every ${p.churnMs} ms`, "churn");
    for (let n = 0; Date.now() - from < p.durationSec * 1000; n++) {
      const due = from + n * p.churnMs;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      counts.ops++;
      await change(n).catch((err: Error) => {
        counts.errors++;
        if (counts.errors <= 5)
          ctx.log(`admin change ${n} failed: ${err instanceof AdminApiError ? err.message : err}`);
      });
    }
    end();
    await load;
    const to = Date.now();
    const slots = session.rig.nodes().map((n) => n.slot);
    const metrics = await session.finish();
    return {
      metrics: {
        ...metrics,
        "churn.admin_ops": counts.ops,
        "churn.admin_errors": counts.errors,
        "churn.max_version_gap_s": session.watch.longestWithoutChange(slots, from + 2000, to) / 1000,
      },
    };
  },
});
