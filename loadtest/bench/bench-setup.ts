import type { ProcessSampler } from "../sampler/process-sampler.ts";
import type { ScenarioContext } from "../scenario/types.ts";
import { nodeScript, startChild } from "./child-process.ts";
import {
  type Contender,
  bareNodeProxy,
  direct,
  h2Passthrough,
  nginx,
  type RunningContender,
} from "./contenders.ts";
import { dataPlane } from "./data-plane-contender.ts";
import type { MaxMethod } from "./max-throughput.ts";

/** What the HTTP bench scenarios (bench-proxies, bench-latency) share: contenders and upstream. */
export const HTTP_CONTENDERS: Contender[] = [direct, bareNodeProxy, nginx, dataPlane];
const UPSTREAM = new URL("./fixed-latency-server.ts", import.meta.url);
/** bench-grpc's contenders: the data plane beside a bare node:http2 passthrough and direct. */
export const GRPC_CONTENDERS: Contender[] = [direct, h2Passthrough, dataPlane];
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

/** Starts the fixed-latency upstream, sampled and stopped with the run; returns its URL. */
export async function startBenchUpstream<P extends { upstreamDelayMs: number }>(
  ctx: ScenarioContext<P>,
): Promise<string> {
  const upstream = await startChild<{ url: string }>(
    nodeScript(UPSTREAM, [`--delay-ms=${ctx.params.upstreamDelayMs}`]),
  );
  ctx.onCleanup(() => upstream.stop());
  ctx.sampler.add({ name: "upstream", pid: upstream.pid });
  return upstream.ready.url;
}

/** Starts the gRPC Echo upstream, sampled and stopped with the run; returns its host:port. */
export async function startGrpcBenchUpstream<P extends { upstreamDelayMs: number }>(
  ctx: ScenarioContext<P>,
): Promise<string> {
  const upstream = await startChild<{ address: string }>(
    nodeScript(GRPC_UPSTREAM, [`--delay-ms=${ctx.params.upstreamDelayMs}`]),
  );
  ctx.onCleanup(() => upstream.stop());
  ctx.sampler.add({ name: "echo-upstream", pid: upstream.pid });
  return upstream.ready.address;
}

/** An onStarted hook that samples a started contender's processes. */
export function sampleContender(sampler: ProcessSampler) {
  return (name: string, running: RunningContender) => {
    for (const [i, pid] of running.pids.entries()) sampler.add({ name: `${name}${i ? `-${i}` : ""}`, pid });
  };
}

/** The `--method` of the max-throughput phase. */
export function maxMethod(value: string): MaxMethod {
  if (value !== "closed" && value !== "open")
    throw new Error(`--method must be closed or open, got ${value}`);
  return value;
}
