import { type ContenderResult, compareContenders, median } from "../bench/compare.ts";
import { nodeScript, startChild } from "../bench/child-process.ts";
import { type Contender, direct } from "../bench/contenders.ts";
import { dataPlane } from "../bench/data-plane-contender.ts";
import type { MaxMethod } from "../bench/max-throughput.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * gRPC unary (corral.demo.v1.Echo/Echo) through the data plane vs straight to the
 * upstream, same form as bench-proxies: alternating rounds, max throughput with the CPU
 * the data plane used, and p99 added over direct at 50 % of the slower one's max. The
 * data plane has everything on (bench/data-plane-contender.ts) and proxies h2c to the
 * upstream over a pooled HTTP/2 session.
 */
const UPSTREAM = new URL("../bench/echo-grpc-main.ts", import.meta.url);
const CONTENDERS: Contender[] = [direct, dataPlane];
const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "—");

function row(r: ContenderResult, directMax: number) {
  const max = median(r.maxRps);
  const cores = median(r.cores);
  return {
    max,
    cores,
    perCore: cores > 0.05 ? max / cores : Number.NaN,
    vsDirect: max / directMax,
    p50: median(r.p50Ms),
    p99: median(r.p99Ms),
    p999: median(r.p999Ms),
    added: median(r.addedP99Ms),
  };
}

export default defineScenario({
  name: "bench-grpc",
  description: "gRPC unary through the data plane vs direct: max throughput, CPU, p99 added at 50 % load",
  params: {
    rounds: 2,
    method: "closed",
    connections: 16,
    maxSec: 3,
    latencySec: 4,
    loadFraction: 0.5,
    upstreamDelayMs: 0,
  },
  thresholds: [
    { metric: "bench.errors", description: "no errors in any run", max: 0 },
    { metric: "bench.direct.max_rps", description: "the harness measured a throughput", min: 100 },
    {
      metric: "bench.data-plane.added_p99_ms",
      description: "DP p99 over direct at 50 % load, ms (target 1)",
      max: 1,
    },
  ],
  async run(ctx) {
    const p = ctx.params;
    if (p.method !== "closed" && p.method !== "open")
      throw new Error(`--method must be closed or open, got ${p.method}`);
    const upstream = await startChild<{ address: string }>(
      nodeScript(UPSTREAM, [`--delay-ms=${p.upstreamDelayMs}`]),
    );
    ctx.onCleanup(() => upstream.stop());
    ctx.sampler.add({ name: "echo-upstream", pid: upstream.pid });
    const compared = await compareContenders({
      contenders: CONTENDERS,
      upstreamUrl: `http://${upstream.ready.address}`,
      upstreamGrpc: upstream.ready.address,
      protocol: "grpc",
      rounds: p.rounds,
      method: p.method as MaxMethod,
      connections: p.connections,
      maxSec: p.maxSec,
      latencySec: p.latencySec,
      loadFraction: p.loadFraction,
      runLoad: ctx.runLoad,
      log: ctx.log,
      onStarted: (name, running) => {
        for (const pid of running.pids) ctx.sampler.add({ name, pid });
      },
    });
    const directMax = median(compared.results.find((r) => r.name === "direct")?.maxRps ?? [Number.NaN]);
    const metrics: Record<string, number> = {
      "bench.load_rps": compared.loadRps,
      "bench.errors": compared.results.reduce((s, r) => s + r.errors, 0),
    };
    const rows: Array<Array<string | number>> = [];
    for (const r of compared.results) {
      const x = row(r, directMax);
      Object.assign(metrics, {
        [`bench.${r.name}.max_rps`]: x.max,
        [`bench.${r.name}.cores`]: x.cores,
        [`bench.${r.name}.ratio_vs_direct`]: x.vsDirect,
        [`bench.${r.name}.p99_ms`]: x.p99,
        [`bench.${r.name}.added_p99_ms`]: x.added,
      });
      rows.push([
        r.name,
        Math.round(x.max),
        fmt(x.cores),
        fmt(x.perCore, 0),
        fmt(x.vsDirect),
        fmt(x.p50, 3),
        fmt(x.p99, 3),
        fmt(x.p999, 3),
        fmt(x.added, 3),
        r.maxRps.map(Math.round).join(" / "),
      ]);
    }
    ctx.addTable({
      title: `gRPC unary side by side (${p.rounds} alternating rounds, ${p.method}-loop max with ${p.connections} channels; latency at ${Math.round(compared.loadRps)} rps)`,
      columns: [
        "contender",
        "max rps",
        "cores used",
        "rps per core",
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
