import { killAndWait } from "../faults/signals.ts";
import { fetchStatus } from "../platform/node-watch.ts";
import { FLEET_PARAMS, openFleet } from "../platform/platform-scenario.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * SIGKILL one data-plane node under load. Only the requests in flight on it may fail:
 * the placement-aware client finds the node refusing connections and sends the tenant's
 * next requests to another member of its shard (HttpTarget.origins), and the surviving
 * nodes must not fail requests they forward either. Failures are split in two:
 *   - transport errors at the client (reset, socket closed): requests that were on a
 *     connection to the victim, so in flight on it by definition; at most one per
 *     connection (no pipelining);
 *   - answers with a corral-reason from a surviving node (e.g. upstream_error): requests
 *     it forwarded to the victim; allowed up to the victim's in-flight count read from its
 *     /status just before the kill plus what the rate brings in during `raceMs`.
 * Nothing may fail later than one second after the kill.
 */
const TRANSPORT = /^(econn|epipe|und_err|ehostunreach|enetunreach|timeout$|error$)/;
export default defineScenario({
  name: "node-kill",
  description: "SIGKILL a DP node under load: only its in-flight requests may fail, clients route around it",
  params: { ...FLEET_PARAMS, durationSec: 20, killAtSec: 8, victim: "dp-1", raceMs: 20, connections: 32 },
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "kill.transport_errors", description: "requests lost on connections to the victim (at most one per connection)", max: (p) => p.connections },
    { metric: "kill.forwarded_errors_over_allowance", description: "failures answered by surviving nodes beyond the victim's in-flight requests", max: 0 },
    { metric: "kill.errors_after_1s", description: "failed requests completed 1 s or more after the kill", max: 0 },
    { metric: "main.p99_ms", description: "p99 latency, ms (failover must be quick)", max: 100 },
    { metric: "config.nodes_behind", description: "surviving nodes not on the newest config version", max: 0 },
  ],
  async run(ctx) {
    const p = ctx.params;
    const session = await openFleet(ctx);
    const victim = session.rig.nodes().find((n) => n.slot === p.victim);
    if (!victim?.pid) throw new Error(`no running data plane ${p.victim}`);
    const plan = { tenants: session.loads(p.rate, p.zipf), timeoutMs: 5000, connections: p.connections };
    await ctx.runLoad("warmup", { ...plan, durationSec: p.warmupSec });
    const load = ctx.runLoad("main", { ...plan, durationSec: p.durationSec });
    const loadStart = Date.now();
    await new Promise((r) => setTimeout(r, p.killAtSec * 1000));
    const inflight = (await fetchStatus(victim.ops, 200))?.inflight ?? 0;
    await killAndWait(victim.pid, ctx.timeline, `SIGKILL ${p.victim}`);
    const killSecond = (Date.now() - loadStart) / 1000;
    ctx.log(`killed ${p.victim} at ${killSecond.toFixed(2)} s with ${inflight} requests in flight`);
    const result = await load;
    const allowance = inflight + Math.ceil((p.rate * p.raceMs) / 1000);
    const late = result.series.filter((s) => s.second >= Math.ceil(killSecond) + 1);
    const failures = Object.entries(result.totals.outcomes).filter(([label]) => label !== "ok");
    const transport = failures.filter(([label]) => TRANSPORT.test(label)).reduce((s, [, n]) => s + n, 0);
    const forwarded = result.totals.errors - transport;
    return {
      metrics: {
        ...(await session.finish()),
        "kill.inflight_at_kill": inflight,
        "kill.allowance": allowance,
        "kill.errors": result.totals.errors,
        "kill.transport_errors": transport,
        "kill.forwarded_errors": forwarded,
        "kill.forwarded_errors_over_allowance": Math.max(0, forwarded - allowance),
        "kill.errors_after_1s": late.reduce((sum, s) => sum + s.errors, 0),
      },
    };
  },
});
