import type { ProcessSampler } from "../sampler/process-sampler.ts";
import type { Params, ScenarioContext, Threshold } from "../scenario/types.ts";
import { nodeScript, startChild } from "../process/child-process.ts";
import {
  type Contender,
  bareNodeProxy,
  direct,
  h2Passthrough,
  nginx,
  type RunningContender,
} from "./contenders.ts";
import { dataPlaneContender } from "./data-plane-contender.ts";
import type { MaxMethod } from "./max-throughput.ts";
import { type CorePinning, pinHarness, pinProcess } from "./pin-cores.ts";

/**
 * What the HTTP bench scenarios (bench-proxies, bench-latency) share: contenders and upstream.
 * Their data plane runs with the defaults a user gets (every request logged, issue 14).
 */
export const HTTP_CONTENDERS: Contender[] = [direct, bareNodeProxy, nginx, dataPlaneContender()];
const UPSTREAM = new URL("./fixed-latency-server.ts", import.meta.url);
/** bench-grpc's contenders: the data plane beside a bare node:http2 passthrough and direct. */
export const GRPC_CONTENDERS: Contender[] = [
  direct,
  h2Passthrough,
  dataPlaneContender({ CORRAL_LOG_SAMPLE_RATE: "0.01" }),
];
const GRPC_UPSTREAM = new URL("./echo-grpc-main.ts", import.meta.url);

/**
 * The contenders a `--contenders` list names (out of `all`, HTTP_CONTENDERS by default), in
 * the canonical order; direct must be one.
 */
export function pickContenders(list: string, all: Contender[] = HTTP_CONTENDERS): Contender[] {
  const wanted = list.split(",").map((n) => n.trim());
  const contenders = all.filter((c) => wanted.includes(c.name));
  if (contenders.length !== wanted.length || !wanted.includes("direct"))
    throw new Error(`--contenders: a list of ${all.map((c) => c.name).join(", ")} including direct`);
  return contenders;
}

type DelayParams = { upstreamDelayMs: number };

/** Starts an upstream script with the run's delay, sampled as `name` and stopped with the run. */
async function startSampledUpstream<R>(
  ctx: ScenarioContext<DelayParams>,
  script: URL,
  name: string,
): Promise<R> {
  const upstream = await startChild<R>(nodeScript(script, [`--delay-ms=${ctx.params.upstreamDelayMs}`]));
  ctx.onCleanup(() => upstream.stop());
  ctx.sampler.add({ name, pid: upstream.pid });
  return upstream.ready;
}

/** Starts the fixed-latency upstream, sampled and stopped with the run; returns its URL. */
export async function startBenchUpstream<P extends DelayParams>(ctx: ScenarioContext<P>): Promise<string> {
  return (await startSampledUpstream<{ url: string }>(ctx, UPSTREAM, "upstream")).url;
}

/** Starts the gRPC Echo upstream, sampled and stopped with the run; returns its host:port. */
export async function startGrpcBenchUpstream<P extends DelayParams>(
  ctx: ScenarioContext<P>,
): Promise<string> {
  return (await startSampledUpstream<{ address: string }>(ctx, GRPC_UPSTREAM, "echo-upstream")).address;
}

/** An onStarted hook that samples a started contender's processes (and pins them, with `pin`). */
export function sampleContender(sampler: ProcessSampler, pin?: CorePinning) {
  return (name: string, running: RunningContender) => {
    for (const [i, pid] of running.pids.entries()) {
      sampler.add({ name: `${name}${i ? `-${i}` : ""}`, pid });
      if (pin) pinProcess(pid, pin.proxyCore);
    }
  };
}

/** The `--method` of the max-throughput phase. */
export function maxMethod(value: string): MaxMethod {
  if (value !== "closed" && value !== "open")
    throw new Error(`--method must be closed or open, got ${value}`);
  return value;
}

/** Parameters every side-by-side bench has (bench-proxies, bench-grpc, bench-latency). */
type MeasureParams = Params & {
  rounds: number;
  warmupSec: number;
  method: string;
  connections: number;
  maxSec: number;
  /** `--pin` (bench/pin-cores.ts), for the benches that have it */
  pin?: string;
};

/**
 * The options of compareContenders / withMeasuredContenders a bench takes straight from its
 * parameters and context (throws on a bad `--method`, so call it before starting anything:
 * with `--pin` it pins the harness, whose children then inherit the load core).
 */
export function measureOptions<P extends MeasureParams>(ctx: ScenarioContext<P>) {
  const p = ctx.params;
  const method = maxMethod(p.method);
  const pin = p.pin === undefined ? undefined : pinHarness(p.pin, ctx.log);
  return {
    rounds: p.rounds,
    warmupSec: p.warmupSec,
    method,
    connections: p.connections,
    maxSec: p.maxSec,
    runLoad: ctx.runLoad,
    log: ctx.log,
    onStarted: sampleContender(ctx.sampler, pin),
  };
}

/** The parameter defaults bench-proxies and bench-grpc share (connections is each one's own). */
export const SIDE_BY_SIDE_DEFAULTS = {
  rounds: 2,
  warmupSec: 2,
  method: "closed",
  maxSec: 3,
  latencySec: 4,
  loadFraction: 0.5,
  upstreamDelayMs: 0,
};

/**
 * The thresholds of bench-proxies and bench-grpc: no errors, a measured throughput, the data
 * plane's own throughput target (`target`, against each one's baseline) and p99 added <= 1 ms.
 */
export function sideBySideThresholds<P extends Params>(target: Threshold<P>): Threshold<P>[] {
  return [
    { metric: "bench.errors", description: "no errors in any run", max: 0 },
    { metric: "bench.direct.max_rps", description: "the harness measured a throughput", min: 100 },
    target,
    {
      metric: "bench.data-plane.added_p99_ms",
      description: "DP p99 over direct at 50 % load, ms (target 1)",
      max: 1,
    },
  ];
}
