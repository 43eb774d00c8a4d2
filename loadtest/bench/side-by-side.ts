import type { Table } from "../report/model.ts";
import { type CompareResult, type ContenderResult, median } from "./compare.ts";

/**
 * The side-by-side result of a comparison as the bench scenarios report it: per contender its
 * max throughput (median of rounds), the cores its own processes used at that max, throughput
 * per core, the ratios to a baseline contender (throughput and per core) and to direct, and
 * p50/p99/p99.9, p99 added over direct and CPU microseconds per request at the latency load
 * (and the baseline's CPU per request over this one's: above 1, cheaper than the baseline).
 * Metrics are `bench.<contender>.<name>`; the baseline ratios are `ratio_vs_<baseline>`,
 * `per_core_ratio_vs_<baseline>` and `cpu_ratio_vs_<baseline>` with the baseline's dashes as
 * underscores.
 */
const perCore = (rps: number, cores: number) => (cores > 0.05 ? rps / cores : Number.NaN);
const fmt = (v: number, digits = 2) => (Number.isFinite(v) ? v.toFixed(digits) : "—");

function row(r: ContenderResult, baseline: ContenderResult | undefined, directMax: number) {
  const max = median(r.maxRps);
  const cores = median(r.cores);
  return {
    max,
    cores,
    perCore: perCore(max, cores),
    vsBaseline: baseline ? max / median(baseline.maxRps) : Number.NaN,
    perCoreVsBaseline: baseline
      ? perCore(max, cores) / perCore(median(baseline.maxRps), median(baseline.cores))
      : Number.NaN,
    vsDirect: max / directMax,
    p50: median(r.p50Ms),
    p99: median(r.p99Ms),
    p999: median(r.p999Ms),
    added: median(r.addedP99Ms),
    cpuUs: median(r.cpuUsPerRequest),
    cpuVsBaseline: baseline ? median(baseline.cpuUsPerRequest) / median(r.cpuUsPerRequest) : Number.NaN,
  };
}

export function sideBySide(
  compared: CompareResult,
  o: { baseline: string; title: string },
): { metrics: Record<string, number>; table: Table } {
  const byName = new Map(compared.results.map((r) => [r.name, r]));
  const directMax = median(byName.get("direct")?.maxRps ?? [Number.NaN]);
  const vs = o.baseline.replaceAll("-", "_");
  const metrics: Record<string, number> = {
    "bench.load_rps": compared.loadRps,
    "bench.errors": compared.results.reduce((s, r) => s + r.errors, 0),
  };
  const rows: Array<Array<string | number>> = [];
  for (const r of compared.results) {
    const x = row(r, byName.get(o.baseline), directMax);
    Object.assign(metrics, {
      [`bench.${r.name}.max_rps`]: x.max,
      [`bench.${r.name}.cores`]: x.cores,
      [`bench.${r.name}.per_core_rps`]: x.perCore,
      [`bench.${r.name}.ratio_vs_${vs}`]: x.vsBaseline,
      [`bench.${r.name}.per_core_ratio_vs_${vs}`]: x.perCoreVsBaseline,
      [`bench.${r.name}.ratio_vs_direct`]: x.vsDirect,
      [`bench.${r.name}.p99_ms`]: x.p99,
      [`bench.${r.name}.added_p99_ms`]: x.added,
      [`bench.${r.name}.cpu_us_per_request`]: x.cpuUs,
      [`bench.${r.name}.cpu_ratio_vs_${vs}`]: x.cpuVsBaseline,
    });
    rows.push([
      r.name,
      Math.round(x.max),
      fmt(x.cores),
      fmt(x.perCore, 0),
      fmt(x.vsBaseline),
      fmt(x.perCoreVsBaseline),
      fmt(x.vsDirect),
      fmt(x.p50, 3),
      fmt(x.p99, 3),
      fmt(x.p999, 3),
      fmt(x.added, 3),
      fmt(x.cpuUs, 1),
      fmt(x.cpuVsBaseline),
      r.maxRps.map(Math.round).join(" / "),
    ]);
  }
  const columns = [
    "contender",
    "max rps",
    "cores used",
    "rps per core",
    `vs ${o.baseline}`,
    `per core vs ${o.baseline}`,
    "vs direct",
    "p50 ms",
    "p99 ms",
    "p99.9 ms",
    "added p99 ms",
    "CPU µs per request",
    `CPU per request: ${o.baseline} / it`,
    "max per round",
  ];
  return { metrics, table: { title: o.title, columns, rows } };
}
