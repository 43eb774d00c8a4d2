import { performance } from "node:perf_hooks";
import { addOutcomes } from "./merge.ts";
import { type LatencySummary, newLatencyHistogram, recordMs, summarize } from "./histogram.ts";
import { OK } from "./outcome.ts";
import type { Target } from "./plan.ts";
import { assertLoopbackAddress, assertLoopbackUrl } from "./loopback.ts";
import { createSender } from "./senders.ts";
import type { Outcomes } from "./recorder.ts";

/**
 * Closed-loop saturation: `connections` loops, each sending its next request as soon
 * as the previous one returns, for `durationSec` after a warm-up. The completion rate
 * is the target's saturation throughput at that concurrency. Its latencies are
 * service times only (closed loops hide queueing, i.e. coordinated omission): use
 * them for throughput, never as the latency result — that comes from open-loop runs.
 */
export type ClosedLoopOptions = {
  target: Target;
  connections: number;
  durationSec: number;
  warmupSec?: number;
  timeoutMs?: number;
};

export type ClosedLoopResult = {
  rps: number;
  ok: number;
  errors: number;
  outcomes: Outcomes;
  serviceTime: LatencySummary;
  durationSec: number;
};

export async function closedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  if (options.target.kind === "http") assertLoopbackUrl(options.target.url);
  else assertLoopbackAddress(options.target.address);
  const sender = createSender({ connections: options.connections, timeoutMs: options.timeoutMs ?? 10_000 });
  const histogram = newLatencyHistogram();
  const outcomes: Outcomes = {};
  const measureFrom = performance.now() + (options.warmupSec ?? 0.5) * 1000;
  const end = measureFrom + options.durationSec * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      const outcome = await sender.send(options.target);
      const done = performance.now();
      if (started < measureFrom || done > end) continue;
      addOutcomes(outcomes, { [outcome]: 1 });
      if (outcome === OK) recordMs(histogram, done - started);
    }
  };
  try {
    await Promise.all(Array.from({ length: options.connections }, loop));
  } finally {
    await sender.close();
  }
  const ok = outcomes[OK] ?? 0;
  const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
  return {
    rps: ok / options.durationSec,
    ok,
    errors: total - ok,
    outcomes,
    serviceTime: summarize(histogram),
    durationSec: options.durationSec,
  };
}
