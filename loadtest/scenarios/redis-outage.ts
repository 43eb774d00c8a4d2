import { Redis } from "ioredis";
import { startRedis } from "../../test/support/redis.ts";
import { startToxiproxy } from "../faults/toxiproxy.ts";
import { runningNodes, tenantLoads } from "../platform/load-tenants.ts";
import { adminShard } from "../platform/placement.ts";
import { openFleet } from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * Redis goes away mid-run (docs/design.md §5.5: members share per-tenant demand through Redis and
 * rebalance their shares of a tenant's limit; without Redis they keep their last shares).
 * A rate-limited tenant sends `skewedLoad` of its limit, all of it to ONE member of its
 * shard: only demand-based rebalancing lets that member admit it all (an even split
 * admits limit/k there). So before the outage it must see no error (rebalancing works),
 * during the outage still none (shares kept), and after Redis returns none. The other
 * tenants have no limit and must never see an error. `--fault=stop` stops the Redis
 * server; `--fault=partition` cuts it off behind a private toxiproxy.
 * A control run at the end sends 3x the limit spread over the whole shard: the admitted
 * rate must be the tenant's limit, which shows the limiter is on and split over the shard
 * (so the skewed member admitting more than limit/k is rebalancing, not a missing limit).
 */
async function redisClients(url: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 2000 });
  try {
    await client.connect();
    const info = await client.info("clients");
    return Number(/connected_clients:(\d+)/.exec(info)?.[1] ?? 0) - 1;
  } finally {
    client.disconnect();
  }
}

export default defineScenario({
  name: "redis-outage",
  description:
    "Stop (or partition) Redis mid-run: admission keeps its last shares, no errors for well-behaved tenants",
  params: {
    dataPlanes: 3,
    tenants: 10,
    shardSize: 2,
    rate: 200,
    skewedLimit: 40,
    skewedLoad: 0.75,
    fault: "stop",
    rebalanceSec: 5,
    phaseSec: 8,
    upstreamDelayMs: 1,
  },
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "redis.dp_clients", description: "connections the data planes hold to Redis", min: (p) => p.dataPlanes },
    { metric: "before.error_rate", description: "no errors with Redis up (skewed tenant rebalanced)", max: 0 },
    { metric: "outage.error_rate", description: "no errors with Redis gone (last shares kept)", max: 0 },
    { metric: "after.error_rate", description: "no errors once Redis is back", max: 0 },
    { metric: "control.admitted_ratio", description: "3x the limit over the shard: admitted (less the burst) / limit", min: 0.8 },
    { metric: "control.admitted_ratio", description: "3x the limit over the shard: admitted (less the burst) / limit", max: 1.2 },
  ],
  async run(ctx) {
    const p = ctx.params;
    if (p.fault !== "stop" && p.fault !== "partition")
      throw new Error(`--fault must be stop or partition, got ${p.fault}`);
    const redis = await startRedis();
    ctx.onCleanup(() => redis.destroy());
    if (redis.pid) ctx.sampler.add({ name: "redis", pid: redis.pid });
    let redisUrl = redis.url;
    let partition: (() => Promise<() => Promise<void>>) | undefined;
    if (p.fault === "partition") {
      const toxiproxy = await startToxiproxy({ timeline: ctx.timeline });
      ctx.onCleanup(() => toxiproxy.stop());
      const proxy = await toxiproxy.createProxy("redis", `127.0.0.1:${redis.port}`);
      redisUrl = `redis://${proxy.listen}`;
      partition = () => toxiproxy.partition("redis");
    }
    const session = await openFleet(ctx, {
      tenants: p.tenants + 1,
      dpEnv: { CORRAL_REDIS_URL: redisUrl },
      tenantSpec: (i) => (i === p.tenants ? { limits: { rate: p.skewedLimit, burst: p.skewedLimit } } : {}),
    });
    const skewed = session.tenants[p.tenants]!;
    const shard = await adminShard(session.rig.admin, skewed.id, runningNodes(session.rig));
    const oneMember = { ...skewed, shard: { ...shard, origins: shard.origins.slice(0, 1) } };
    ctx.log(
      `${skewed.id}: ${p.skewedLimit} rps limit over ${shard.slots.join(", ")}; all its traffic to ${shard.slots[0]}`,
    );
    const plan = {
      tenants: [
        ...session.loads(p.rate, 1, session.tenants.slice(0, p.tenants)),
        ...tenantLoads([oneMember], [p.skewedLimit * p.skewedLoad]),
      ],
      timeoutMs: 5000,
    };
    await ctx.runLoad("rebalance", { ...plan, durationSec: p.rebalanceSec });
    const clients = await redisClients(redis.url);
    await ctx.runLoad("before", { ...plan, durationSec: p.phaseSec });
    let heal: () => Promise<void>;
    if (partition) heal = await partition();
    else {
      await redis.stop();
      const end = ctx.timeline.begin("Redis stopped", "outage");
      heal = async () => {
        await redis.start();
        if (redis.pid) ctx.sampler.add({ name: "redis", pid: redis.pid });
        end();
      };
    }
    await ctx.runLoad("outage", { ...plan, durationSec: p.phaseSec });
    await heal();
    await ctx.runLoad("after", { ...plan, durationSec: p.phaseSec });
    const control = await ctx.runLoad("control", {
      tenants: tenantLoads([{ ...skewed, shard }], [3 * p.skewedLimit]),
      durationSec: p.phaseSec,
      timeoutMs: 5000,
    });
    // the burst bucket starts full: what it lets through comes on top of the sustained rate
    const admitted = ((control.tenants[0]?.ok ?? 0) - p.skewedLimit) / p.phaseSec;
    return {
      metrics: {
        ...(await session.finish()),
        "redis.dp_clients": clients,
        "control.admitted_ratio": admitted / p.skewedLimit,
      },
    };
  },
});
