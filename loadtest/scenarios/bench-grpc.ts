import {
  GRPC_CONTENDERS,
  measureOptions,
  pickContenders,
  SIDE_BY_SIDE_DEFAULTS,
  sideBySideThresholds,
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
    ...SIDE_BY_SIDE_DEFAULTS,
    connections: 16,
  },
  thresholds: sideBySideThresholds({
    metric: "bench.data-plane.ratio_vs_h2_passthrough",
    description: "DP throughput / the bare node:http2 passthrough's, same run (target 0.8)",
    min: 0.8,
  }),
  async run(ctx) {
    const p = ctx.params;
    const measured = measureOptions(ctx);
    const contenders = pickContenders(p.contenders, GRPC_CONTENDERS);
    const upstream = await startGrpcBenchUpstream(ctx);
    const compared = await compareContenders({
      contenders,
      upstreamUrl: `http://${upstream}`,
      upstreamGrpc: upstream,
      protocol: "grpc",
      ...measured,
      latencySec: p.latencySec,
      loadFraction: p.loadFraction,
    });
    const { metrics, table } = sideBySide(compared, {
      baseline: BASELINE,
      title: `gRPC unary side by side (${p.rounds} alternating rounds, ${p.method}-loop max with ${p.connections} channels; latency at ${Math.round(compared.loadRps)} rps)`,
    });
    ctx.addTable(table);
    return { metrics };
  },
});
