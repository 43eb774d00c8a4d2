/**
 * Inline SVG line charts, generated here so a report is one self-contained file (no
 * scripts, no CDN). Pure: a spec in, an SVG string out. x values are seconds since
 * the run's start; fault markers are drawn as vertical lines (spans as bands).
 */
export type Point = [x: number, y: number];
export type Series = { name: string; points: Point[]; step?: boolean };
export type Marker = { x: number; endX?: number; label: string };

export type ChartSpec = {
  title: string;
  yLabel: string;
  series: Series[];
  markers?: Marker[];
  width?: number;
  height?: number;
};

const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#7f7f7f",
];
const MAX_POINTS = 1500;
const PAD = { left: 64, right: 16, top: 28, bottom: 36 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A "nice" tick step (1, 2 or 5 × 10^n) giving about `count` ticks over `range`. */
export function niceStep(range: number, count = 5): number {
  if (!(range > 0)) return 1;
  const raw = range / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  const nice = normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10;
  return nice * magnitude;
}

/** Keeps at most `max` points, the highest of each bucket, so spikes survive thinning. */
export function downsample(points: Point[], max = MAX_POINTS): Point[] {
  if (points.length <= max) return points;
  const size = Math.ceil(points.length / max);
  const out: Point[] = [];
  for (let i = 0; i < points.length; i += size) {
    let best = points[i]!;
    for (let j = i + 1; j < Math.min(i + size, points.length); j++)
      if (points[j]![1] > best[1]) best = points[j]!;
    out.push(best);
  }
  return out;
}

export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e9) return `${+(value / 1e9).toFixed(2)}G`;
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(2)}M`;
  if (abs >= 1e4) return `${+(value / 1e3).toFixed(1)}k`;
  if (abs >= 100 || abs === 0) return String(Math.round(value));
  return String(+value.toPrecision(3));
}

type Scale = { x: (v: number) => number; y: (v: number) => number; xMax: number; yMax: number };

function scales(spec: ChartSpec, w: number, h: number): Scale {
  const all = spec.series.flatMap((s) => s.points);
  const markerX = (spec.markers ?? []).flatMap((m) => [m.x, m.endX ?? m.x]);
  const xMax = Math.max(1, ...all.map((p) => p[0]), ...markerX);
  const yMax = Math.max(1e-9, ...all.map((p) => p[1])) * 1.05;
  return {
    x: (v) => PAD.left + (v / xMax) * (w - PAD.left - PAD.right),
    y: (v) => h - PAD.bottom - (v / yMax) * (h - PAD.top - PAD.bottom),
    xMax,
    yMax,
  };
}

function axes(s: Scale, w: number, h: number, yLabel: string): string {
  const parts: string[] = [];
  const yStep = niceStep(s.yMax);
  for (let v = 0; v <= s.yMax; v += yStep) {
    const y = s.y(v).toFixed(1);
    parts.push(`<line x1="${PAD.left}" x2="${w - PAD.right}" y1="${y}" y2="${y}" class="grid"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${y}" class="ytick">${formatNumber(v)}</text>`);
  }
  const xStep = niceStep(s.xMax, 8);
  for (let v = 0; v <= s.xMax; v += xStep)
    parts.push(
      `<text x="${s.x(v).toFixed(1)}" y="${h - PAD.bottom + 16}" class="xtick">${formatNumber(v)}</text>`,
    );
  parts.push(`<text x="${w - PAD.right}" y="${h - 4}" class="xlabel">seconds</text>`);
  parts.push(`<text x="12" y="${PAD.top - 10}" class="ylabel">${escapeXml(yLabel)}</text>`);
  return parts.join("");
}

function seriesPath(series: Series, s: Scale): string {
  const points = downsample([...series.points].sort((a, b) => a[0] - b[0]));
  let d = "";
  let prevY: string | undefined;
  for (const [i, [x, y]] of points.entries()) {
    const px = s.x(x).toFixed(1);
    const py = s.y(y).toFixed(1);
    if (i === 0) d += `M${px},${py}`;
    else d += series.step ? `H${px}V${py}` : `L${px},${py}`;
    prevY = py;
  }
  return prevY === undefined ? "" : d;
}

function markerLines(markers: Marker[], s: Scale, h: number): string {
  return markers
    .map((m) => {
      const x = s.x(m.x);
      const band =
        m.endX !== undefined
          ? `<rect x="${x.toFixed(1)}" y="${PAD.top}" width="${Math.max(1, s.x(m.endX) - x).toFixed(1)}" height="${h - PAD.top - PAD.bottom}" class="fault-band"/>`
          : "";
      return `${band}<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${PAD.top}" y2="${h - PAD.bottom}" class="fault"><title>${escapeXml(m.label)}</title></line><text x="${(x + 3).toFixed(1)}" y="${PAD.top + 10}" class="fault-label">${escapeXml(m.label)}</text>`;
    })
    .join("");
}

function legend(series: Series[], w: number): string {
  return series
    .map((sr, i) => {
      const x = PAD.left + (i % 4) * ((w - PAD.left) / 4);
      const y = 14 + Math.floor(i / 4) * 14;
      const color = PALETTE[i % PALETTE.length];
      return `<rect x="${x.toFixed(0)}" y="${y - 8}" width="10" height="3" fill="${color}"/><text x="${(x + 14).toFixed(0)}" y="${y}" class="legend">${escapeXml(sr.name)}</text>`;
    })
    .join("");
}

/** One chart as an <svg> element with a data-chart attribute naming it. */
export function lineChart(spec: ChartSpec): string {
  const w = spec.width ?? 900;
  const legendRows = Math.ceil(spec.series.length / 4);
  const h = (spec.height ?? 260) + legendRows * 14;
  const s = scales(spec, w, h - legendRows * 14);
  const paths = spec.series
    .map((sr, i) => {
      const d = seriesPath(sr, s);
      const color = PALETTE[i % PALETTE.length];
      return d ? `<path d="${d}" stroke="${color}" data-series="${escapeXml(sr.name)}" class="line"/>` : "";
    })
    .join("");
  const empty = spec.series.every((sr) => sr.points.length === 0)
    ? `<text x="${w / 2}" y="${h / 2}" class="empty">no data</text>`
    : "";
  return `<figure><figcaption>${escapeXml(spec.title)}</figcaption><svg viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" data-chart="${escapeXml(spec.title)}"><title>${escapeXml(spec.title)}</title><g transform="translate(0,${legendRows * 14})">${axes(s, w, h - legendRows * 14, spec.yLabel)}${markerLines(spec.markers ?? [], s, h - legendRows * 14)}${paths}${empty}</g>${legend(spec.series, w)}</svg></figure>`;
}
