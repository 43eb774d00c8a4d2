import {
  GRPC_CONTENDERS,
  maxMethod,
  pickContenders,
  sampleContender,
  startGrpcBenchUpstream,
} from "../bench/bench-setup.ts";
import { compareContenders } from "../bench/compare.ts";
import { sideBySide } from "../bench/side-by-side.ts";
import { defineScenario } from "../scenario/types.ts";

/**
 * gRPC unary (corral.demo.v1.Echo/Echo) through the data plane vs a bare `node:http2`
 * passthrough (bench/h2-passthrough.ts) vs straight to the upstream, same form as
 * bench-proxies: alternating rounds, max throughput with the CPU each used, the ratios to the
 * passthrough, and p99 added over direct at 50 % of the slowest one's max. The data plane has
 * everything on (bench/data-plane-contender.ts) and proxies h2c to the upstream over a pooled
 * HTTP/2 session. Target (issue 14): DP throughput >= 0.8x the passthrough's in the same run.
 * Start-up is shared with the HTTP benches (bench/bench-setup.ts); `--contenders` picks a subset.
 */
const BASELINE = "h2-passthrough";
export default defineScenario({
  name: "bench-grpc",
  description:
    "gRPC unary through the data plane vs a bare node:http2 passthrough vs direct: max throughput, CPU, p99 added at 50 % load",
  params: {
    contenders: GRPC_CONTENDERS.map((c) => c.name).join(","),
    rounds: 2,
    warmupSec: 2,
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
      metric: "bench.data-plane.ratio_vs_h2_passthrough",
      description: "DP throughput / the bare node:http2 passthrough's, same run (target 0.8)",
      min: 0.8,
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
    const contenders = pickContenders(p.contenders, GRPC_CONTENDERS);
    const upstream = await startGrpcBenchUpstream(ctx);
    const compared = await compareContenders({
      contenders,
      upstreamUrl: `http://${upstream}`,
      upstreamGrpc: upstream,
      protocol: "grpc",
      rounds: p.rounds,
      warmupSec: p.warmupSec,
      method,
      connections: p.connections,
      maxSec: p.maxSec,
      latencySec: p.latencySec,
      loadFraction: p.loadFraction,
      runLoad: ctx.runLoad,
      log: ctx.log,
      onStarted: sampleContender(ctx.sampler),
    });
    const { metrics, table } = sideBySide(compared, {
      baseline: BASELINE,
      title: `gRPC unary side by side (${p.rounds} alternating rounds, ${p.method}-loop max with ${p.connections} channels; latency at ${Math.round(compared.loadRps)} rps)`,
    });
    ctx.addTable(table);
    return { metrics };
  },
});
