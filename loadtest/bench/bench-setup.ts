import type { ProcessSampler } from "../sampler/process-sampler.ts";
import type { ScenarioContext } from "../scenario/types.ts";
import { nodeScript, startChild } from "./child-process.ts";
import { type Contender, bareNodeProxy, direct, nginx, type RunningContender } from "./contenders.ts";
import { dataPlane } from "./data-plane-contender.ts";
import type { MaxMethod } from "./max-throughput.ts";

/** What the HTTP bench scenarios (bench-proxies, bench-latency) share: contenders and upstream. */
export const HTTP_CONTENDERS: Contender[] = [direct, bareNodeProxy, nginx, dataPlane];
const UPSTREAM = new URL("./fixed-latency-server.ts", import.meta.url);

/** The contenders a `--contenders` list names, in the canonical order; direct must be one. */
export function pickContenders(list: string): Contender[] {
  const wanted = list.split(",").map((n) => n.trim());
  const contenders = HTTP_CONTENDERS.filter((c) => wanted.includes(c.name));
  if (contenders.length !== wanted.length || !wanted.includes("direct"))
    throw new Error(
      `--contenders: a list of ${HTTP_CONTENDERS.map((c) => c.name).join(", ")} including direct`,
    );
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
