import {
  measureOptions,
  pickContenders,
  SIDE_BY_SIDE_DEFAULTS,
  sideBySideThresholds,
  startBenchUpstream,
} from "../bench/bench-setup.ts";
import { compareContenders } from "../bench/compare.ts";
import { sideBySide } from "../bench/side-by-side.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * Side by side, same upstream, alternating runs: direct vs a bare fastify +
 * reply-from proxy vs nginx (one worker). Reports each one's max throughput (median
 * of rounds), CPU cores its own processes used at that max and throughput per core,
 * the ratio to the bare Node proxy, and p50/p99/p99.9 and p99 added over direct at
 * 50 % of the slowest one's max.
 *
 * The data plane is the fourth contender, with everything on and a user's defaults (every
 * request logged; bench/data-plane-contender.ts). Its targets: throughput per core >= 1.0x
 * the bare Node proxy's and >= 0.4x nginx's (issue 14), and p99 added over direct <= 1 ms at
 * 50 % of the slowest contender's max (issue 5). `--contenders` picks a subset; `--pin`
 * (default 0:1) puts each contender on one core and the generator and upstream on the other
 * (bench/pin-cores.ts).
 */
const BASELINE = "node-proxy";

export default defineScenario({
  name: "bench-proxies",
  description:
    "Max throughput per core and p99 added latency: direct vs bare Node proxy vs nginx vs the data plane, alternating runs",
  params: {
    contenders: "direct,node-proxy,nginx,data-plane",
    ...SIDE_BY_SIDE_DEFAULTS,
    connections: 32,
    rampStartRps: 1000,
    rampGrowth: 1.3,
    rampP99LimitMs: 20,
    pin: "0:1",
  },
  thresholds: [
    ...sideBySideThresholds({
      metric: "bench.data-plane.per_core_ratio_vs_node_proxy",
      description: "DP throughput per core / bare Node proxy's (target 1.0)",
      min: 1,
    }),
    {
      metric: "bench.data-plane.per_core_ratio_vs_nginx",
      description: "DP throughput per core / nginx's (target 0.4)",
      min: 0.4,
    },
  ],
  async run(ctx) {
    const p = ctx.params;
    const measured = measureOptions(ctx);
    const contenders = pickContenders(p.contenders);
    const compared = await compareContenders({
      contenders,
      upstreamUrl: await startBenchUpstream(ctx),
      ...measured,
      latencySec: p.latencySec,
      loadFraction: p.loadFraction,
      ramp: { startRps: p.rampStartRps, growth: p.rampGrowth, p99LimitMs: p.rampP99LimitMs },
    });
    const { metrics, table } = sideBySide(compared, {
      baseline: BASELINE,
      title: `Side by side (${p.rounds} alternating rounds, ${p.method}-loop max with ${p.connections} connections; latency at ${Math.round(compared.loadRps)} rps)`,
    });
    ctx.addTable(table);
    metrics["bench.data-plane.per_core_ratio_vs_nginx"] =
      metrics["bench.data-plane.per_core_rps"]! / metrics["bench.nginx.per_core_rps"]!;
    // the same comparison at the 50 % load: nginx's CPU per request over the data plane's
    metrics["bench.data-plane.cpu_ratio_vs_nginx"] =
      metrics["bench.nginx.cpu_us_per_request"]! / metrics["bench.data-plane.cpu_us_per_request"]!;
    return { metrics };
  },
});
