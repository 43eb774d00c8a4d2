import type { LoadResult } from "../generator/merge.ts";
import type { ProcessSample } from "../sampler/process-sampler.ts";
import type { Report, Table } from "./model.ts";
import { halvesText, type Trend, withInterval } from "./soak-verdict.ts";
import { escapeXml, formatNumber, lineChart, type Marker, type Point, type Series } from "./svg-chart.ts";

/**
 * Renders a report as one self-contained HTML page: inline CSS and SVG only, no
 * scripts and no external resources, so it can be archived or mailed as is.
 */
const MAX_TENANT_ROWS = 500;
const MB = 1024 * 1024;

const STYLE = `body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:960px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
.pass{color:#1a7f37;font-weight:bold}.fail{color:#cf222e;font-weight:bold}
figure{margin:12px 0}figcaption{font-weight:600;margin-bottom:4px}
svg .grid{stroke:#eee}svg .line{fill:none;stroke-width:1.5}svg .fault{stroke:#cf222e;stroke-dasharray:4 3}
svg .fault-band{fill:#cf222e;opacity:.08}svg .fault-label{font-size:10px;fill:#cf222e}
svg text{font-size:11px;fill:#555}svg .ytick{text-anchor:end;dominant-baseline:middle}
svg .xtick{text-anchor:middle}svg .xlabel{text-anchor:end}svg .empty{text-anchor:middle}`;

export function renderTable(table: Table): string {
  const head = table.columns.map((c) => `<th>${escapeXml(c)}</th>`).join("");
  const rows = table.rows
    .map(
      (r) =>
        `<tr>${r.map((v) => `<td>${escapeXml(typeof v === "number" ? formatNumber(v) : v)}</td>`).join("")}</tr>`,
    )
    .join("");
  return `<h3>${escapeXml(table.title)}</h3><table><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

const passFail = (pass: boolean) =>
  `<span class="${pass ? "pass" : "fail"}">${pass ? "PASS" : "FAIL"}</span>`;

function summarySection(report: Report): string {
  const params = Object.entries(report.params).map(([k, v]) => [k, String(v)]);
  const thresholds = report.thresholds.map((t) => [
    t.metric,
    t.description,
    `${t.op} ${formatNumber(t.limit)}`,
    t.value === null ? "missing" : formatNumber(t.value),
    t.pass ? "pass" : "MISS",
  ]);
  const metrics = Object.entries(report.metrics).map(([k, v]) => [k, v]);
  return [
    `<h1>${escapeXml(report.scenario)} ${passFail(report.pass)}</h1>`,
    `<p>${escapeXml(report.description)}</p>`,
    `<p>started ${escapeXml(report.startedAt)}, ran ${formatNumber(report.durationSec)} s</p>`,
    report.error ? `<p class="fail">run failed: ${escapeXml(report.error)}</p>` : "",
    renderTable({
      title: "Thresholds",
      columns: ["metric", "meaning", "limit", "value", "result"],
      rows: thresholds,
    }),
    renderTable({ title: "Metrics", columns: ["metric", "value"], rows: metrics }),
    renderTable({ title: "Parameters", columns: ["parameter", "value"], rows: params }),
  ].join("\n");
}

function loadCharts(label: string, load: LoadResult, sec: (ms: number) => number, markers: Marker[]): string {
  const x = (second: number) => sec(load.startEpochMs + second * 1000);
  const pts = (f: (p: LoadResult["series"][number]) => number): Point[] =>
    load.series.map((p) => [x(p.second), f(p)]);
  const reasons = [...new Set(load.series.flatMap((p) => Object.keys(p.outcomes)))]
    .filter((r) => r !== "ok")
    .sort();
  const throughput: Series[] = [
    { name: "ok/s", points: pts((p) => p.ok) },
    { name: "errors/s", points: pts((p) => p.errors) },
    { name: "scheduled/s", points: pts((p) => p.scheduled) },
  ];
  // seconds without an ok response have no latency: leave them out rather than plot 0
  const answered = load.series.filter((p) => p.ok > 0);
  const lat = (f: (p: LoadResult["series"][number]) => number): Point[] =>
    answered.map((p) => [x(p.second), f(p)]);
  const latency: Series[] = [
    { name: "p50", points: lat((p) => p.p50Ms) },
    { name: "p99", points: lat((p) => p.p99Ms) },
    { name: "p99.9", points: lat((p) => p.p999Ms) },
  ];
  const byReason = reasons.map((r) => ({ name: r, points: pts((p) => p.outcomes[r] ?? 0) }));
  return [
    lineChart({ title: `Throughput — ${label}`, yLabel: "requests/s", series: throughput, markers }),
    lineChart({ title: `Latency p50 / p99 / p99.9 — ${label}`, yLabel: "ms", series: latency, markers }),
    lineChart({
      title: `Rejections and errors by reason — ${label}`,
      yLabel: "per second",
      series: byReason,
      markers,
    }),
  ].join("\n");
}

function tenantTable(label: string, load: LoadResult): string {
  const tenants = [...load.tenants].sort((a, b) => b.offeredRps - a.offeredRps);
  const rows = tenants.slice(0, MAX_TENANT_ROWS).map((t) => {
    const reasons = Object.entries(t.outcomes)
      .filter(([k]) => k !== "ok")
      .map(([k, n]) => `${k}: ${n}`)
      .join(", ");
    const l = t.latency;
    return [
      t.tenant,
      t.offeredRps,
      t.scheduled,
      t.ok,
      t.errors,
      `${(t.errorRate * 100).toFixed(2)} %`,
      l.p50Ms,
      l.p99Ms,
      l.p999Ms,
      l.maxMs,
      reasons,
    ];
  });
  const more =
    tenants.length > MAX_TENANT_ROWS
      ? ` (first ${MAX_TENANT_ROWS} of ${tenants.length}; all in the JSON)`
      : "";
  const tot = load.totals;
  return [
    `<p>offered ${formatNumber(load.offeredRps)} rps, sent ${formatNumber(tot.sentRps)} rps, ok ${formatNumber(tot.okRps)} rps; latency p50 ${tot.latency.p50Ms} ms, p99 ${tot.latency.p99Ms} ms, p99.9 ${tot.latency.p999Ms} ms, max ${tot.latency.maxMs} ms; generator send lag p99 ${tot.sendLag.p99Ms} ms; peak in flight ${tot.peakInFlight}</p>`,
    renderTable({
      title: `Per tenant — ${label}${more}`,
      columns: [
        "tenant",
        "offered rps",
        "scheduled",
        "ok",
        "errors",
        "error rate",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "errors by reason",
      ],
      rows,
    }),
  ].join("\n");
}

function processCharts(samples: ProcessSample[], sec: (ms: number) => number, markers: Marker[]): string {
  const names = [...new Set(samples.map((s) => s.name))].sort();
  const chart = (title: string, yLabel: string, f: (s: ProcessSample) => number | undefined) =>
    lineChart({
      title,
      yLabel,
      markers,
      series: names.map((name) => ({
        name,
        points: samples.flatMap((s): Point[] => {
          const v = s.name === name && s.alive ? f(s) : undefined;
          return v === undefined ? [] : [[sec(s.atEpochMs), v]];
        }),
      })),
    });
  return [
    chart("RSS per process", "MiB", (s) => (s.rssBytes === undefined ? undefined : s.rssBytes / MB)),
    chart("Heap used per process", "MiB", (s) =>
      s.heapUsedBytes === undefined ? undefined : s.heapUsedBytes / MB,
    ),
    chart("Live heap (after the last full GC) per process", "MiB", (s) =>
      s.heapLiveBytes === undefined ? undefined : s.heapLiveBytes / MB,
    ),
    chart("External memory per process", "MiB", (s) =>
      s.externalBytes === undefined ? undefined : s.externalBytes / MB,
    ),
    chart("Array buffers per process", "MiB", (s) =>
      s.arrayBuffersBytes === undefined ? undefined : s.arrayBuffersBytes / MB,
    ),
    chart("Event-loop delay p99 per process", "ms", (s) => s.eventLoopDelayP99Ms),
    chart("Open file descriptors per process", "fds", (s) => s.fds),
  ].join("\n");
}

function configVersionChart(report: Report, sec: (ms: number) => number, markers: Marker[]): string {
  const nodes = [...new Set(report.configVersions.map((c) => c.node))].sort();
  const series = nodes.map((node) => ({
    name: node,
    step: true,
    points: report.configVersions
      .filter((c) => c.node === node)
      .map((c): Point => [sec(c.atEpochMs), c.version]),
  }));
  return lineChart({ title: "Config version per node", yLabel: "version", series, markers });
}

function trendCell(t: Trend | undefined): string {
  return t ? withInterval(t.slopePerHour / MB, t.lowPerHour / MB, t.highPerHour / MB, 2) : "";
}

function soakSection(report: Report): string {
  if (!report.soak) return "";
  const v = report.soak;
  const memoryRows = v.memory.map((m) => [
    m.process,
    m.pid,
    m.samples,
    formatNumber(m.spanSec),
    (m.meanRssBytes / MB).toFixed(1),
    withInterval(m.slopePctPerHour, m.lowPctPerHour, m.highPctPerHour, 2),
    halvesText(m.halves),
    trendCell(m.rss),
    trendCell(m.components.heapUsed),
    trendCell(m.components.heapLive),
    trendCell(m.components.external),
    trendCell(m.components.arrayBuffers),
    formatNumber(m.effectiveSamples),
    m.judged ? (m.flagged ? "GROWTH" : "flat") : (m.note ?? "not judged"),
  ]);
  const fdRows = v.fds.map((c) => [
    c.process,
    c.pid,
    c.samples,
    c.meanFds.toFixed(1),
    withInterval(c.fds.slopePerHour, c.fds.lowPerHour, c.fds.highPerHour, 1),
    c.limitPerHour.toFixed(1),
    c.flagged ? "GROWTH" : "flat",
  ]);
  const confidence = `${Math.round(v.confidence * 100)} %`;
  return [
    `<h2>Soak verdict: <span class="${v.verdict === "pass" ? "pass" : "fail"}">${escapeXml(v.verdict)}</span></h2>`,
    `<p>RSS over the steady phase: a least-squares line through the means of equal spans of it (batch means); slope and its ${confidence} interval (Student's t with the blocks' degrees of freedom, widened for their autocorrelation), over the whole phase and over each half. Growing only when the interval lies above 0 and reaches ${v.rssSlopeLimitPctPerHour} %/h in the whole phase and in both halves: a leak grows all the time, a step happens once. Open fds the same.</p>`,
    renderTable({
      title: `Memory slope per process (${confidence} interval)`,
      columns: [
        "process",
        "pid",
        "samples",
        "span s",
        "mean RSS MiB",
        "RSS %/h",
        "RSS %/h by half",
        "RSS MiB/h",
        "heap used MiB/h",
        "live heap MiB/h",
        "external MiB/h",
        "array buffers MiB/h",
        "effective n",
        "verdict",
      ],
      rows: memoryRows,
    }),
    renderTable({
      title: `Open fd slope per process (${confidence} interval)`,
      columns: ["process", "pid", "samples", "mean fds", "fds/h", "limit fds/h", "verdict"],
      rows: fdRows,
    }),
    v.insufficient.length > 0 ? `<p>not enough samples: ${escapeXml(v.insufficient.join("; "))}</p>` : "",
  ].join("\n");
}

export function renderHtml(report: Report): string {
  const sec = (ms: number) => Math.max(0, (ms - report.startEpochMs) / 1000);
  const markers: Marker[] = report.faults.map((f) => ({
    x: sec(f.atEpochMs),
    endX: f.endEpochMs === undefined ? undefined : sec(f.endEpochMs),
    label: f.label,
  }));
  const faultRows = report.faults.map((f) => [
    formatNumber(sec(f.atEpochMs)),
    f.endEpochMs ? formatNumber(sec(f.endEpochMs)) : "",
    f.kind,
    f.label,
  ]);
  const body = [
    summarySection(report),
    ...report.loads.map(
      (l) =>
        `<h2>Load: ${escapeXml(l.label)}</h2>${loadCharts(l.label, l.result, sec, markers)}${tenantTable(l.label, l.result)}`,
    ),
    report.configVersions.length > 0
      ? `<h2>Configuration</h2>${configVersionChart(report, sec, markers)}`
      : "",
    report.processes.length > 0 ? `<h2>Processes</h2>${processCharts(report.processes, sec, markers)}` : "",
    ...report.charts.map((c) =>
      lineChart({
        title: c.title,
        yLabel: c.unit,
        markers,
        series: c.series.map((s) => ({ name: s.name, points: s.points.map(([t, v]): Point => [sec(t), v]) })),
      }),
    ),
    report.tables.length > 0 ? `<h2>Tables</h2>${report.tables.map(renderTable).join("\n")}` : "",
    soakSection(report),
    report.faults.length > 0
      ? `<h2>Faults</h2>${renderTable({ title: "Injected faults", columns: ["at s", "until s", "kind", "what"], rows: faultRows })}`
      : "",
  ].join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeXml(report.scenario)} — Corral load report</title><style>${STYLE}</style></head><body>${body}</body></html>\n`;
}
