/** The propagation benchmark's figures as report tables and threshold metrics. Pure. */
import type { Table } from "../report/model.ts";
import type { ApplyFigures } from "./apply-bench.ts";
import type { CompileFigures } from "./compile-size.ts";
import type { RoundResult } from "./propagation-round.ts";
import { median, round, spread } from "./stats.ts";

const MIB = 1024 * 1024;
const ms = (v: number) => round(v, 1);

export function roundsTable(rounds: readonly RoundResult[], nodes: number): Table {
  return {
    title: `Admin call -> Ack, ${nodes} simulated nodes (ms from just before the admin call)`,
    columns: [
      "round",
      "version",
      "published",
      "CP compile",
      "CP publish",
      "announce p50",
      "announce p99",
      "ack p50",
      "ack p99",
      "last ack",
      "fetch+check p50",
      "versions in the round",
    ],
    rows: rounds.map((r) => [
      r.round,
      r.version,
      ms(r.publishedMs),
      ms(r.cpCompileMs),
      ms(r.cpPublishMs),
      ms(r.announce.p50),
      ms(r.announce.p99),
      ms(r.ack.p50),
      ms(r.ack.p99),
      ms(r.ack.max),
      ms(r.checkMsMedian),
      r.published.map((v) => `${v.version} (${v.source})`).join(", "),
    ]),
  };
}

export function roundsMetrics(rounds: readonly RoundResult[]): Record<string, number> {
  const all = spread(rounds.flatMap((r) => r.ackMs));
  return {
    "propagation.rounds": rounds.length,
    "propagation.p50_ms": ms(all.p50),
    "propagation.p99_ms": ms(all.p99),
    "propagation.max_ms": ms(all.max),
    "propagation.last_ack_median_ms": ms(median(rounds.map((r) => r.ack.max))),
    "propagation.published_median_ms": ms(median(rounds.map((r) => r.publishedMs))),
    "propagation.announce_p99_median_ms": ms(median(rounds.map((r) => r.announce.p99))),
    "propagation.check_median_ms": ms(median(rounds.map((r) => r.checkMsMedian))),
    "propagation.cp_compile_median_ms": ms(median(rounds.map((r) => r.cpCompileMs))),
    "propagation.cp_publish_median_ms": ms(median(rounds.map((r) => r.cpPublishMs))),
  };
}

export function compileTable(figures: readonly CompileFigures[]): Table {
  return {
    title:
      "Compile and encode in-process (wall / CPU ms; synthetic rows: 1 key, 1 route, 1 upstream per tenant)",
    columns: [
      "tenants",
      "slots",
      "compile cold",
      "compile warm",
      "gzip",
      "frame + sign",
      "payload bytes",
      "capacity",
      "fits",
      "capacity needed",
    ],
    rows: figures.map((f) => [
      f.tenants,
      f.slots,
      `${ms(f.compileCold.wallMs)} / ${ms(f.compileCold.cpuMs)}`,
      `${ms(f.compileWarm.wallMs)} / ${ms(f.compileWarm.cpuMs)}`,
      `${ms(f.compress.wallMs)} / ${ms(f.compress.cpuMs)}`,
      `${ms(f.frameAndSign.wallMs)} / ${ms(f.frameAndSign.cpuMs)}`,
      f.payloadBytes,
      `${round(f.capacityBytes / MIB, 2)} MiB`,
      f.fits ? "yes" : "no",
      `${f.capacityNeededBytes / MIB} MiB`,
    ]),
  };
}

export function compileMetrics(figures: readonly CompileFigures[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of figures) {
    const p = `compile.${f.tenants}`;
    out[`${p}.cold_cpu_ms`] = ms(f.compileCold.cpuMs);
    out[`${p}.warm_cpu_ms`] = ms(f.compileWarm.cpuMs);
    out[`${p}.gzip_cpu_ms`] = ms(f.compress.cpuMs);
    out[`${p}.payload_bytes`] = f.payloadBytes;
    out[`${p}.capacity_needed_bytes`] = f.capacityNeededBytes;
    out[`${p}.fits`] = f.fits ? 1 : 0;
  }
  return out;
}

export function applyTable(a: ApplyFigures): Table {
  const row = (what: string, r: ApplyFigures["first"]) => [
    what,
    r.applyMs,
    r.longestStallCpuMs,
    r.longestStallWallMs,
    r.loopDelayP99Ms,
    r.loopDelayMaxMs,
  ];
  return {
    title: `Data-plane apply, ${a.tenants} tenants x ${a.perTenant} routes + keys (payload ${a.payloadBytes} bytes, blob ${a.blobBytes} bytes): ${a.command}`,
    columns: [
      "apply",
      "apply ms",
      "longest turn, main-thread CPU ms",
      "longest turn, wall ms",
      "loop delay p99 ms",
      "loop delay max ms",
    ],
    rows: [row("new version", a.first), row("same version (constant-work pull)", a.same)],
  };
}

export function applyMetrics(a: ApplyFigures): Record<string, number> {
  const p = `dp.apply.${a.tenants}`;
  return {
    [`${p}.ms`]: a.first.applyMs,
    [`${p}.stall_cpu_ms`]: a.first.longestStallCpuMs,
    [`${p}.stall_wall_ms`]: a.first.longestStallWallMs,
    [`${p}.same_version_ms`]: a.same.applyMs,
    [`${p}.blob_bytes`]: a.blobBytes,
  };
}

export function rssMetrics(rss: { idle: number; connected: number; after: number }, nodes: number) {
  return {
    "cp.rss_idle_mb": round(rss.idle / MIB, 1),
    "cp.rss_connected_mb": round(rss.connected / MIB, 1),
    "cp.rss_after_rounds_mb": round(rss.after / MIB, 1),
    "cp.rss_per_connection_kb": round((rss.connected - rss.idle) / 1024 / nodes, 1),
  };
}
