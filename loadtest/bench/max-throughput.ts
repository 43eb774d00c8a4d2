import { closedLoop } from "../generator/closed-loop.ts";
import type { LoadResult } from "../generator/merge.ts";
import type { LoadPlan, Target } from "../generator/plan.ts";

/**
 * Two ways to find a target's maximum throughput.
 *
 * closed: `connections` closed loops for `durationSec` (after a short warm-up); the
 *   completion rate at saturation. Fast and repeatable; the number it gives is "as
 *   fast as it goes with N requests in flight".
 * open: ramp an open-loop rate by `growth` per step of `stepSec`, starting at
 *   `startRps`, until a step breaks — p99 above `p99LimitMs`, error rate above
 *   `maxErrorRate`, or completions below 97 % of the offered rate — and return the
 *   last rate that held. Slower; the number it gives is "the highest rate it
 *   sustains within a latency bound", which is what capacity planning wants. A
 *   first unjudged step at half the start rate warms the target up.
 */
export type MaxMethod = "closed" | "open";

export type MaxOptions = {
  url: string;
  /** what to send (e.g. with headers, or gRPC); default a plain GET of `url` */
  target?: Target;
  method: MaxMethod;
  connections: number;
  durationSec: number;
  startRps?: number;
  growth?: number;
  p99LimitMs?: number;
  maxErrorRate?: number;
  maxSteps?: number;
  /** the open-loop runner (the scenario's ctx.runLoad, so steps land in the report) */
  runLoad?: (label: string, plan: LoadPlan) => Promise<LoadResult>;
};

export type MaxStep = { rps: number; okRps: number; p99Ms: number; errorRate: number; held: boolean };
export type MaxResult = { maxRps: number; errors: number; steps: MaxStep[] };

export async function findMaxThroughput(o: MaxOptions): Promise<MaxResult> {
  if (o.method === "closed") {
    const r = await closedLoop({
      target: o.target ?? { kind: "http", url: o.url },
      connections: o.connections,
      durationSec: o.durationSec,
    });
    const step = {
      rps: r.rps,
      okRps: r.rps,
      p99Ms: r.serviceTime.p99Ms,
      errorRate: r.errors / Math.max(1, r.ok + r.errors),
      held: true,
    };
    return { maxRps: r.rps, errors: r.errors, steps: [step] };
  }
  return rampOpenLoop(o);
}

async function rampOpenLoop(o: MaxOptions): Promise<MaxResult> {
  if (!o.runLoad) throw new Error("open-loop ramp needs runLoad");
  const steps: MaxStep[] = [];
  let rps = o.startRps ?? 500;
  let best = 0;
  const target: Target = o.target ?? { kind: "http", url: o.url };
  // a first step at half the start rate, not judged: JIT and connection warm-up
  await o.runLoad("ramp-warmup", { tenants: [{ tenant: "bench", rate: rps / 2, target }], durationSec: 1 });
  for (let i = 0; i < (o.maxSteps ?? 15); i++) {
    const r = await o.runLoad(`ramp-${Math.round(rps)}`, {
      tenants: [{ tenant: "bench", rate: rps, target }],
      durationSec: o.durationSec,
      connections: o.connections,
      timeoutMs: 5000,
    });
    const step = {
      rps,
      okRps: r.totals.okRps,
      p99Ms: r.totals.latency.p99Ms,
      errorRate: r.totals.errorRate,
      held: false,
    };
    step.held =
      step.p99Ms <= (o.p99LimitMs ?? 50) &&
      step.errorRate <= (o.maxErrorRate ?? 0.001) &&
      step.okRps >= 0.97 * rps;
    steps.push(step);
    if (!step.held) break;
    best = rps;
    rps *= o.growth ?? 1.3;
  }
  return { maxRps: best, errors: 0, steps };
}
