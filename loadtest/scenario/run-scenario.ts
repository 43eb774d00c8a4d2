import { FaultTimeline } from "../faults/timeline.ts";
import type { LoadResult } from "../generator/merge.ts";
import { nowEpochMs, runLoad } from "../generator/run-load.ts";
import type { ConfigVersionPoint, CustomChart, LoadSection, Report, Table } from "../report/model.ts";
import { soakVerdict } from "../report/soak-verdict.ts";
import { writeReport } from "../report/write-report.ts";
import { ProcessSampler } from "../sampler/process-sampler.ts";
import { checkThresholds } from "./thresholds.ts";
import type { ChartHandle, Params, Scenario, ScenarioContext } from "./types.ts";

/**
 * Runs one scenario: builds its context (timeline, sampler, load runner, report
 * feeds), runs it, always runs its cleanups, then checks thresholds and writes the
 * JSON and HTML reports. A run that throws is reported as failed, never lost.
 */
export type RunOptions = { reportDir: string; signal?: AbortSignal; log?: (message: string) => void };

export type RunOutcome = { report: Report; jsonPath: string; htmlPath: string };

/** The standard metrics of one load, prefixed with its label. */
export function loadMetrics(label: string, r: LoadResult): Record<string, number> {
  const t = r.totals;
  const figures: Record<string, number> = {
    sent_rps: t.sentRps,
    ok_rps: t.okRps,
    error_rate: t.errorRate,
    p50_ms: t.latency.p50Ms,
    p99_ms: t.latency.p99Ms,
    p999_ms: t.latency.p999Ms,
    max_ms: t.latency.maxMs,
    send_lag_p99_ms: t.sendLag.p99Ms,
  };
  return Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${label}.${k}`, v]));
}

type Collected = {
  loads: LoadSection[];
  configVersions: ConfigVersionPoint[];
  charts: Map<string, CustomChart>;
  tables: Table[];
  cleanups: Array<() => unknown>;
  soakWarmupSec?: number;
};

function makeContext<P extends Params>(
  params: P,
  collected: Collected,
  signal: AbortSignal,
  log: (m: string) => void,
): ScenarioContext<P> {
  const chart = (title: string, unit: string): ChartHandle => {
    const c = collected.charts.get(title) ?? { title, unit, series: [] };
    collected.charts.set(title, c);
    return {
      point(series, value, atEpochMs = nowEpochMs()) {
        let s = c.series.find((x) => x.name === series);
        if (!s) {
          s = { name: series, points: [] };
          c.series.push(s);
        }
        s.points.push([atEpochMs, value]);
      },
    };
  };
  return {
    params,
    signal,
    timeline: new FaultTimeline(),
    sampler: new ProcessSampler(),
    log,
    async runLoad(label, plan) {
      const result = await runLoad(plan, signal);
      collected.loads.push({ label, result });
      return result;
    },
    recordConfigVersion: (node, version, atEpochMs = nowEpochMs()) => {
      collected.configVersions.push({ atEpochMs, node, version });
    },
    chart,
    addTable: (table) => {
      collected.tables.push(table);
    },
    judgeSoak: ({ warmupSec }) => {
      collected.soakWarmupSec = warmupSec;
    },
    onCleanup: (cleanup) => {
      collected.cleanups.push(cleanup);
    },
  };
}

async function runCleanups(cleanups: Array<() => unknown>, log: (m: string) => void): Promise<void> {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (err) {
      log(`cleanup failed: ${(err as Error).message}`);
    }
  }
}

export async function runScenario<P extends Params>(
  scenario: Scenario<P>,
  params: P,
  options: RunOptions,
): Promise<RunOutcome> {
  const log = options.log ?? (() => {});
  const collected: Collected = { loads: [], configVersions: [], charts: new Map(), tables: [], cleanups: [] };
  const ctx = makeContext(params, collected, options.signal ?? new AbortController().signal, log);
  const startEpochMs = nowEpochMs();
  ctx.sampler.start();
  await ctx.sampler.sampleNow();
  let metrics: Record<string, number> = {};
  let error: string | undefined;
  try {
    metrics = (await scenario.run(ctx)).metrics ?? {};
  } catch (err) {
    error = (err as Error).stack ?? String(err);
    log(`run failed: ${(err as Error).message}`);
  } finally {
    await runCleanups(collected.cleanups, log);
    await ctx.sampler.stop();
  }
  const endEpochMs = nowEpochMs();
  const report = buildReport(scenario, params, collected, ctx, { startEpochMs, endEpochMs, metrics, error });
  const paths = await writeReport(report, options.reportDir);
  return { report, ...paths };
}

function buildReport<P extends Params>(
  scenario: Scenario<P>,
  params: P,
  collected: Collected,
  ctx: ScenarioContext<P>,
  run: { startEpochMs: number; endEpochMs: number; metrics: Record<string, number>; error?: string },
): Report {
  const processes = ctx.sampler.samples();
  const soak =
    collected.soakWarmupSec === undefined
      ? undefined
      : soakVerdict(processes, { ...run, warmupSec: collected.soakWarmupSec });
  const metrics: Record<string, number> = {};
  for (const { label, result } of collected.loads) Object.assign(metrics, loadMetrics(label, result));
  if (soak) {
    metrics["soak.memory_growth"] = soak.memoryGrowth ? 1 : 0;
    metrics["soak.fd_growth"] = soak.fdGrowth ? 1 : 0;
    const judged = soak.memory.filter((m) => m.judged);
    metrics["soak.judged_processes"] = new Set(judged.map((m) => m.process)).size;
    // the largest upper bound of a judged process's RSS slope, %/h (informational)
    if (judged.length > 0)
      metrics["soak.rss_slope_high_pct_per_hour"] = Math.max(...judged.map((m) => m.highPctPerHour));
    for (const m of soak.memory.filter((x) => !x.judged))
      metrics[`soak.${m.process}.rss_slope_pct_per_hour`] = m.slopePctPerHour;
  }
  Object.assign(metrics, run.metrics);
  const thresholds = checkThresholds(scenario.thresholds, metrics, params);
  return {
    scenario: scenario.name,
    description: scenario.description,
    params,
    startedAt: new Date(run.startEpochMs).toISOString(),
    startEpochMs: run.startEpochMs,
    endEpochMs: run.endEpochMs,
    durationSec: (run.endEpochMs - run.startEpochMs) / 1000,
    loads: collected.loads,
    processes,
    faults: ctx.timeline.markers(),
    configVersions: collected.configVersions,
    charts: [...collected.charts.values()],
    tables: collected.tables,
    metrics,
    thresholds,
    soak,
    error: run.error,
    pass: run.error === undefined && thresholds.every((t) => t.pass),
  };
}
