import { maxMethod, pickContenders, sampleContender, startBenchUpstream } from "../bench/bench-setup.ts";
import { type ContenderResult, compareContenders, median } from "../bench/compare.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * Side by side, same upstream, alternating runs: direct vs a bare fastify +
 * reply-from proxy vs nginx (one worker). Reports each one's max throughput (median
 * of rounds), CPU cores its own processes used at that max and throughput per core,
 * the ratio to the bare Node proxy, and p50/p99/p99.9 and p99 added over direct at
 * 50 % of the slowest one's max.
 *
 * The data plane is the fourth contender, with everything on (bench/data-plane-contender.ts).
 * Its targets (issue 5): throughput per core >= 0.85x the bare Node proxy's, and p99 added
 * over direct <= 1 ms at 50 % of the slowest contender's max. `--contenders` picks a subset.
 */
const BASELINE = "node-proxy";

const perCore = (rps: number, cores: number) => (cores > 0.05 ? rps / cores : Number.NaN);

function row(r: ContenderResult, baseline: ContenderResult | undefined, directMax: number) {
  const max = median(r.maxRps);
  const cores = median(r.cores);
  return {
    max,
    cores,
    perCore: perCore(max, cores),
    vsBaseline: baseline ? max / median(baseline.maxRps) : Number.NaN,
    perCoreVsBaseline: baseline
      ? perCore(max, cores) / perCore(median(baseline.maxRps), median(baseline.cores))
      : Number.NaN,
    vsDirect: max / directMax,
    p50: median(r.p50Ms),
    p99: median(r.p99Ms),
    p999: median(r.p999Ms),
    added: median(r.addedP99Ms),
  };
}

const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "—");

export default defineScenario({
  name: "bench-proxies",
  description:
    "Max throughput per core and p99 added latency: direct vs bare Node proxy vs nginx vs the data plane, alternating runs",
  params: {
    contenders: "direct,node-proxy,nginx,data-plane",
    rounds: 2,
    warmupSec: 2,
    method: "closed",
    connections: 32,
    maxSec: 3,
    latencySec: 4,
    loadFraction: 0.5,
    upstreamDelayMs: 0,
    rampStartRps: 1000,
    rampGrowth: 1.3,
    rampP99LimitMs: 20,
  },
  thresholds: [
    { metric: "bench.errors", description: "no errors in any run", max: 0 },
    { metric: "bench.direct.max_rps", description: "the harness measured a throughput", min: 100 },
    {
      metric: "bench.data-plane.per_core_ratio_vs_node_proxy",
      description: "DP throughput per core / bare Node proxy's (target 0.85)",
      min: 0.85,
    },
    {
      metric: "bench.data-plane.added_p99_ms",
      description: "DP p99 over direct at 50 % load, ms (target 1)",
      max: 1,
    },
  ],
  async run(ctx) {
    const p = ctx.params;
    const method = maxMethod(p.method);
    const contenders = pickContenders(p.contenders);
    const compared = await compareContenders({
      contenders,
      upstreamUrl: await startBenchUpstream(ctx),
      rounds: p.rounds,
      warmupSec: p.warmupSec,
      method,
      connections: p.connections,
      maxSec: p.maxSec,
      latencySec: p.latencySec,
      loadFraction: p.loadFraction,
      ramp: { startRps: p.rampStartRps, growth: p.rampGrowth, p99LimitMs: p.rampP99LimitMs },
      runLoad: ctx.runLoad,
      log: ctx.log,
      onStarted: sampleContender(ctx.sampler),
    });
    const byName = new Map(compared.results.map((r) => [r.name, r]));
    const directMax = median(byName.get("direct")?.maxRps ?? [Number.NaN]);
    const metrics: Record<string, number> = {
      "bench.load_rps": compared.loadRps,
      "bench.errors": compared.results.reduce((s, r) => s + r.errors, 0),
    };
    const rows: Array<Array<string | number>> = [];
    for (const r of compared.results) {
      const x = row(r, byName.get(BASELINE), directMax);
      Object.assign(metrics, {
        [`bench.${r.name}.max_rps`]: x.max,
        [`bench.${r.name}.cores`]: x.cores,
        [`bench.${r.name}.ratio_vs_node_proxy`]: x.vsBaseline,
        [`bench.${r.name}.per_core_ratio_vs_node_proxy`]: x.perCoreVsBaseline,
        [`bench.${r.name}.ratio_vs_direct`]: x.vsDirect,
        [`bench.${r.name}.p99_ms`]: x.p99,
        [`bench.${r.name}.added_p99_ms`]: x.added,
      });
      rows.push([
        r.name,
        Math.round(x.max),
        fmt(x.cores),
        fmt(x.perCore, 0),
        fmt(x.vsBaseline),
        fmt(x.perCoreVsBaseline),
        fmt(x.vsDirect),
        fmt(x.p50, 3),
        fmt(x.p99, 3),
        fmt(x.p999, 3),
        fmt(x.added, 3),
        r.maxRps.map(Math.round).join(" / "),
      ]);
    }
    ctx.addTable({
      title: `Side by side (${p.rounds} alternating rounds, ${p.method}-loop max with ${p.connections} connections; latency at ${Math.round(compared.loadRps)} rps)`,
      columns: [
        "contender",
        "max rps",
        "cores used",
        "rps per core",
        `vs ${BASELINE}`,
        `per core vs ${BASELINE}`,
        "vs direct",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "added p99 ms",
        "max per round",
      ],
      rows,
    });
    return { metrics };
  },
});
