import { measureOptions, pickContenders, startBenchUpstream } from "../bench/bench-setup.ts";
import { benchTarget, type ContenderResult, slowestMax, withMeasuredContenders } from "../bench/compare.ts";
import type { RunningContender } from "../bench/contenders.ts";
import { loadavg } from "node:os";
import { longestStallCluster, MIN_REQUESTS_PER_SECOND } from "../bench/stall-cluster.ts";
import type { LoadResult } from "../generator/merge.ts";
import { defineScenario, type ScenarioContext } from "../scenario/types.ts";

/**
 * Tail latency under constant open-loop load (issue 14): direct vs bare Node proxy vs nginx
 * vs the data plane, at fixed fractions (25/50/75 %) of the slowest contender's max found
 * in the same run, each window long enough (30 s; 60 s at the judged 50 %, `stallWindowSec`)
 * that periodic work (the data plane's config pull every 10 s, GC) falls inside it. Windows
 * alternate contenders at each rate so drift on a shared machine hits all alike; with
 * `--pin` (default 0:1) each contender runs on one core and the generator and upstream on
 * the other (bench/pin-cores.ts). Reports p50/p99/p99.9/max and the longest stall cluster
 * (the worst per-second p99, bench/stall-cluster.ts) with the second it happened in, and the
 * 1-minute load average at the end of each window. During the data plane's windows a config
 * change is published every `changeEverySec`, so it applies new versions as well as
 * re-verifying unchanged ones; the node's own apply counts (pulls, changes applied) in the
 * window are reported and judged, so the periodic work is known to have happened. The data
 * plane runs with a user's defaults (bench/data-plane-contender.ts). Targets at 50 %: DP p99
 * <= 3x nginx's, DP's longest stall cluster <= 20 ms.
 */
type Window = {
  name: string;
  fraction: number;
  rps: number;
  result: LoadResult;
  changes: number;
  /** the node's applies in the window: pulls (every apply) and changed versions swapped in */
  applies?: { pulls: number; changed: number };
  loadAvg: number;
};

/** The rate the targets are judged at; its windows last `stallWindowSec`. */
const JUDGED_FRACTION = 0.5;

const pct = (fraction: number) => Math.round(fraction * 100);
const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "—");

type WindowParams = {
  windowSec: number;
  stallWindowSec: number;
  connections: number;
  changeEverySec: number;
};

async function window<P extends WindowParams>(
  ctx: ScenarioContext<P>,
  name: string,
  running: RunningContender,
  fraction: number,
  rps: number,
): Promise<Window> {
  const { windowSec, stallWindowSec, connections, changeEverySec } = ctx.params;
  const durationSec = fraction === JUDGED_FRACTION ? Math.max(windowSec, stallWindowSec) : windowSec;
  const appliesBefore = await running.applies?.();
  let changes = 0;
  const change = running.changeConfig;
  const timer =
    change && changeEverySec > 0
      ? setInterval(() => {
          changes += 1;
          change().catch((err: Error) => ctx.log(`config change failed: ${err.message}`));
        }, changeEverySec * 1000)
      : undefined;
  try {
    const result = await ctx.runLoad(`latency-${pct(fraction)}-${name}`, {
      tenants: [{ tenant: name, rate: rps, target: benchTarget(running) }],
      durationSec,
      connections,
    });
    const loadAvg = loadavg()[0]!;
    const after = await running.applies?.();
    const applies =
      appliesBefore && after
        ? {
            pulls: after.same + after.changed - appliesBefore.same - appliesBefore.changed,
            changed: after.changed - appliesBefore.changed,
          }
        : undefined;
    return { name, fraction, rps, result, changes, applies, loadAvg };
  } finally {
    clearInterval(timer);
  }
}

function summarize(windows: Window[]) {
  const metrics: Record<string, number> = {};
  const rows: Array<Array<string | number>> = [];
  for (const w of windows) {
    const lat = w.result.totals.latency;
    const stall = longestStallCluster(w.result.series);
    const nginx = windows.find((x) => x.name === "nginx" && x.fraction === w.fraction);
    const vsNginx = nginx ? lat.p99Ms / nginx.result.totals.latency.p99Ms : Number.NaN;
    const key = `latency.${pct(w.fraction)}.${w.name}`;
    Object.assign(metrics, {
      [`${key}.p50_ms`]: lat.p50Ms,
      [`${key}.p99_ms`]: lat.p99Ms,
      [`${key}.p999_ms`]: lat.p999Ms,
      [`${key}.max_ms`]: lat.maxMs,
      // no second with enough requests to judge: not a pass (raise the rate or the load)
      [`${key}.stall_cluster_ms`]: stall.second < 0 ? Number.NaN : stall.ms,
      [`${key}.p99_vs_nginx`]: vsNginx,
      [`${key}.errors`]: w.result.totals.errors,
      [`${key}.load_avg`]: w.loadAvg,
    });
    if (w.applies)
      Object.assign(metrics, {
        [`${key}.pulls`]: w.applies.pulls,
        [`${key}.applied_changes`]: w.applies.changed,
      });
    rows.push([
      `${pct(w.fraction)} %`,
      Math.round(w.rps),
      w.name,
      fmt(lat.p50Ms, 3),
      fmt(lat.p99Ms, 3),
      fmt(lat.p999Ms, 3),
      fmt(lat.maxMs, 1),
      stall.second < 0
        ? `— (no second with ${MIN_REQUESTS_PER_SECOND} requests)`
        : `${fmt(stall.ms, 1)} @ ${stall.second} s`,
      fmt(vsNginx),
      w.applies ? `${w.changes} / ${w.applies.pulls} / ${w.applies.changed}` : "—",
      w.result.totals.errors,
      fmt(w.loadAvg),
    ]);
  }
  metrics["bench.errors"] = windows.reduce((s, w) => s + w.result.totals.errors, 0);
  return { metrics, rows };
}

export default defineScenario({
  name: "bench-latency",
  description:
    "Tail latency and stall clusters at fixed open-loop rates: direct vs bare Node proxy vs nginx vs the data plane, alternating 30 s windows",
  params: {
    contenders: "direct,node-proxy,nginx,data-plane",
    fractions: "0.25,0.5,0.75",
    windowSec: 30,
    stallWindowSec: 60,
    changeEverySec: 10,
    pin: "0:1",
    rounds: 1,
    warmupSec: 2,
    method: "closed",
    connections: 32,
    maxSec: 3,
    upstreamDelayMs: 0,
  },
  // biome-ignore format: one threshold a line
  thresholds: [
    { metric: "bench.errors", description: "no errors in any window", max: 0 },
    { metric: "latency.50.data-plane.p99_vs_nginx", description: "DP p99 / nginx p99 at 50 % load, same run (target 3)", max: 3 },
    { metric: "latency.50.data-plane.stall_cluster_ms", description: "DP longest stall cluster at 50 % load with pulls and config changes, ms (target 20)", max: 20 },
    { metric: "latency.50.data-plane.pulls", description: "the node pulled (and applied or re-verified) its config during the judged window (at least one per 12 s, the 10 s period's jitter)", min: (p) => Math.floor(Math.max(p.windowSec, p.stallWindowSec) / 12) },
    { metric: "latency.50.data-plane.applied_changes", description: "the node swapped in changed versions during the judged window", min: 1 },
  ],
  async run(ctx) {
    const p = ctx.params;
    const measured = measureOptions(ctx);
    const fractions = p.fractions.split(",").map(Number);
    if (fractions.some((f) => !(f > 0 && f <= 1)))
      throw new Error(`--fractions: fractions of the slowest max in (0, 1], got ${p.fractions}`);
    const contenders = pickContenders(p.contenders);
    const windows = await withMeasuredContenders(
      {
        contenders,
        upstreamUrl: await startBenchUpstream(ctx),
        ...measured,
      },
      async (running, results: ContenderResult[]) => {
        const max = slowestMax(results);
        const done: Window[] = [];
        for (const fraction of fractions) {
          const rps = Math.max(1, fraction * max);
          for (const [i, c] of contenders.entries()) {
            const w = await window(ctx, c.name, running[i]!, fraction, rps);
            const lat = w.result.totals.latency;
            ctx.log(
              `${pct(fraction)} % (${Math.round(rps)} rps) ${c.name}: p99 ${lat.p99Ms} ms, max ${lat.maxMs} ms`,
            );
            done.push(w);
          }
        }
        return done;
      },
    );
    const { metrics, rows } = summarize(windows);
    ctx.addTable({
      title: `Open-loop tail latency, ${p.windowSec} s windows (${Math.max(p.windowSec, p.stallWindowSec)} s at ${pct(JUDGED_FRACTION)} %) alternating contenders (rates: fractions of the slowest max)`,
      columns: [
        "load",
        "rps",
        "contender",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "longest stall cluster",
        "p99 vs nginx",
        "config changes / pulls / applied",
        "errors",
        "load avg (1 min)",
      ],
      rows,
    });
    return { metrics };
  },
});
