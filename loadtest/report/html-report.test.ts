import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startFixedLatencyServer } from "../bench/fixed-latency-server.ts";
import { FaultTimeline } from "../faults/timeline.ts";
import { runLoad } from "../generator/run-load.ts";
import { renderHtml } from "./html-report.ts";
import type { Report } from "./model.ts";
import { soakVerdict } from "./soak-verdict.ts";
import { downsample, niceStep } from "./svg-chart.ts";
import { writeReport } from "./write-report.ts";

async function sampleReport(): Promise<Report> {
  const server = await startFixedLatencyServer({
    delayMs: 2,
    reply: (n) => (n % 10 === 9 ? { status: 429, headers: { "corral-reason": "quota" } } : { status: 200 }),
  });
  const start = performance.timeOrigin + performance.now();
  // the fault is marked 0.5 s into the run by the timeline's injected clock, with no wait
  const timeline = new FaultTimeline(() => start + 500);
  const load = runLoad({
    tenants: [
      { tenant: "tenant-<big>", rate: 60, target: { kind: "http", url: `${server.url}/a` } },
      { tenant: "tenant-small", rate: 20, target: { kind: "http", url: `${server.url}/b` } },
    ],
    durationSec: 1.5,
  });
  timeline.begin("SIGSTOP dp-1", "signal")();
  const result = await load;
  await server.close();
  const end = performance.timeOrigin + performance.now();
  const processes = Array.from({ length: 30 }, (_, i) => ({
    atEpochMs: start + i * 50,
    name: "dp-0",
    pid: 42,
    alive: true,
    rssBytes: (100 + i) * 1024 * 1024,
    heapUsedBytes: 50 * 1024 * 1024,
    externalBytes: 5 * 1024 * 1024,
    arrayBuffersBytes: (2 + i) * 1024 * 1024,
    fds: 30,
    eventLoopDelayP99Ms: 11,
  }));
  return {
    scenario: "unit",
    description: "rendered by the report test",
    params: { rate: 80 },
    startedAt: new Date(start).toISOString(),
    startEpochMs: start,
    endEpochMs: end,
    durationSec: (end - start) / 1000,
    loads: [{ label: "main", result }],
    processes,
    faults: timeline.markers(),
    configVersions: [
      { atEpochMs: start, node: "dp-0", version: 7 },
      { atEpochMs: start + 800, node: "dp-0", version: 8 },
    ],
    charts: [
      {
        title: "Admission decisions (node metrics)",
        unit: "per s",
        series: [{ name: "shed", points: [[start, 1]] }],
      },
    ],
    tables: [{ title: "Extra", columns: ["a", "b"], rows: [["x", 1]] }],
    metrics: { "latency.p99_ms": result.totals.latency.p99Ms },
    thresholds: [
      { metric: "error_rate", description: "errors", op: "<=", limit: 0.2, value: 0.1, pass: true },
    ],
    soak: soakVerdict(processes, { startEpochMs: start, endEpochMs: end, warmupSec: 0 }),
    pass: true,
  };
}

test("the HTML report is self-contained and carries every series", async () => {
  const report = await sampleReport();
  const html = renderHtml(report);
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i, "no external resources");
  assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i, "no scripts or fetched resources");
  for (const chart of [
    "Throughput — main",
    "Latency p50 / p99 / p99.9 — main",
    "Rejections and errors by reason — main",
    "Config version per node",
    "RSS per process",
    "Heap used per process",
    "External memory per process",
    "Array buffers per process",
    "Event-loop delay p99 per process",
    "Open file descriptors per process",
    "Admission decisions (node metrics)",
  ])
    assert.ok(html.includes(`data-chart="${chart}"`), `chart ${chart}`);
  for (const series of ["ok/s", "p50", "p99", "p99.9", "quota", "dp-0", "shed"])
    assert.match(
      html,
      new RegExp(`data-series="${series.replace(".", "\\.")}" class="line"`),
      `series ${series}`,
    );
  assert.ok(html.includes("tenant-&#60;big&#62;"), "tenant names are escaped");
  assert.ok(html.includes("SIGSTOP dp-1"), "fault marker drawn");
  assert.match(html, /class="fault"/);
  assert.ok(html.includes("Soak verdict"));
  assert.ok(html.includes("Memory slope per process (95 % interval)"), "slope table");
  assert.match(html, /RSS %\/h/);
  const quota = report.loads[0]!.result.totals.outcomes.quota ?? 0;
  assert.ok(quota >= 10, `quota rejections recorded: ${quota}`);
});

test("reports are written as JSON and HTML named after the scenario", async () => {
  const dir = await mkdtemp(join(tmpdir(), "corral-report-"));
  try {
    const report = await sampleReport();
    const { jsonPath, htmlPath } = await writeReport(report, dir);
    assert.match(jsonPath, /unit-\d{4}-\d\d-\d\dT[\d-]+Z\.json$/);
    const parsed = JSON.parse(await readFile(jsonPath, "utf8")) as Report;
    assert.equal(parsed.loads[0]!.result.totals.scheduled, report.loads[0]!.result.totals.scheduled);
    assert.equal(parsed.loads[0]!.result.tenants.length, 2);
    assert.ok((await readFile(htmlPath, "utf8")).startsWith("<!doctype html>"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("chart helpers: nice ticks and spike-preserving downsampling", () => {
  assert.equal(niceStep(100), 20);
  assert.equal(niceStep(7), 2);
  assert.equal(niceStep(0.3), 0.1);
  assert.equal(niceStep(10), 2);
  assert.equal(niceStep(12), 5);
  const points = Array.from({ length: 10_000 }, (_, i): [number, number] => [i, i === 5555 ? 999 : 1]);
  const thinned = downsample(points, 100);
  assert.ok(thinned.length <= 100);
  assert.ok(
    thinned.some(([, y]) => y === 999),
    "the spike survives",
  );
});
