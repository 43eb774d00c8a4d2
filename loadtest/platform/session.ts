/**
 * What every platform scenario does first and last. First: start the platform (rig.ts), a
 * shared upstream, a plan and the tenants (through the admin API), and watch the nodes.
 * Last: check every node applied the newest version, and report placement and convergence
 * metrics. Scenarios add their own faults and loads in between.
 */
import type { StartedChild } from "../process/child-process.ts";
import { zipfRates } from "../generator/zipf.ts";
import type { TenantLoad } from "../generator/plan.ts";
import type { Params, ScenarioContext } from "../scenario/types.ts";
import { latestPublished, waitForVersion } from "./convergence.ts";
import {
  type LoadTenant,
  placementAwareCount,
  prepareTenants,
  runningNodes,
  tenantLoads,
} from "./load-tenants.ts";
import { NodeWatch } from "./node-watch.ts";
import { type Rig, type RigOptions, startRig, startUpstream } from "./rig.ts";
import { type LimitOverrides, type PlanLimits, putPlan, type TenantSpec } from "./tenants.ts";

export const LOAD_PLAN = "loadtest";

/** No rate or concurrency limit: admission runs but never rejects a well-behaved tenant. */
export const OPEN_LIMITS = { rate: 0, burst: 0, concurrency: 0, priority: "standard" } as const;

export type SessionOptions = RigOptions & {
  tenants: number;
  shardSize: number;
  upstreamDelayMs: number;
  /** the plan of every tenant (shard size from `shardSize`); default OPEN_LIMITS */
  plan?: Omit<PlanLimits, "shardSize">;
  /** per-tenant overrides and route timeouts, by tenant index */
  tenantSpec?: (
    index: number,
    id: string,
  ) => Partial<Pick<TenantSpec, "upstreamUrl" | "timeoutMs">> & {
    limits?: LimitOverrides;
  };
};

export class PlatformSession<P extends Params> {
  readonly rig: Rig;
  readonly tenants: LoadTenant[];
  readonly upstream: StartedChild<{ url: string }>;
  readonly watch: NodeWatch<P>;
  readonly #ctx: ScenarioContext<P>;

  private constructor(
    ctx: ScenarioContext<P>,
    parts: { rig: Rig; tenants: LoadTenant[]; upstream: StartedChild<{ url: string }>; watch: NodeWatch<P> },
  ) {
    this.#ctx = ctx;
    this.rig = parts.rig;
    this.tenants = parts.tenants;
    this.upstream = parts.upstream;
    this.watch = parts.watch;
  }

  static async open<P extends Params>(
    ctx: ScenarioContext<P>,
    o: SessionOptions,
  ): Promise<PlatformSession<P>> {
    const upstream = await startUpstream(ctx, "upstream", o.upstreamDelayMs);
    const rig = await startRig(ctx, o);
    const watch = new NodeWatch(ctx, () => rig.nodes()).start();
    ctx.onCleanup(() => watch.stop());
    await putPlan(rig.admin, LOAD_PLAN, { ...(o.plan ?? OPEN_LIMITS), shardSize: o.shardSize });
    const specs: TenantSpec[] = Array.from({ length: o.tenants }, (_, i) => {
      const id = `t${String(i).padStart(3, "0")}`;
      return { id, plan: LOAD_PLAN, upstreamUrl: upstream.ready.url, ...o.tenantSpec?.(i, id) };
    });
    const tenants = await prepareTenants(ctx, rig, specs);
    return new PlatformSession(ctx, { rig, tenants, upstream, watch });
  }

  /** Zipf-spread loads of `rate` over the tenants (or a subset), placement-aware. */
  loads(rate: number, zipf = 1, tenants: LoadTenant[] = this.tenants): TenantLoad[] {
    return tenantLoads(tenants, zipfRates(rate, tenants.length, zipf));
  }

  /**
   * Waits for the newest published version on every running node and returns
   * `config.latest_version`, `config.nodes_behind` (0 = all converged), `config.converge_ms`,
   * `config.min_versions_per_node` (distinct versions each node went through during the run)
   * and `placement.aware_tenants`.
   */
  async finish(timeoutMs = 15_000): Promise<Record<string, number>> {
    const nodes = runningNodes(this.rig);
    const latest = await latestPublished(this.rig.admin);
    const result = await waitForVersion(nodes, latest, timeoutMs);
    await this.watch.pollStatus();
    if (result.behind.length > 0)
      this.#ctx.log(`nodes behind version ${latest}: ${JSON.stringify(result.behind)}`);
    const running = new Set(nodes.map((n) => n.slot));
    const summaries = this.watch.summaries().filter((s) => running.has(s.slot));
    return {
      "config.latest_version": latest,
      "config.nodes_behind": result.behind.length,
      "config.converge_ms": result.ms,
      "config.min_versions_per_node": Math.min(...summaries.map((s) => s.versions)),
      "placement.aware_tenants": placementAwareCount(this.tenants),
    };
  }
}
