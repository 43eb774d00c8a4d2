import { SELF, type ProcessSample } from "../sampler/process-sampler.ts";
import { blockSlopeInterval } from "./linear-trend.ts";

/**
 * The soak verdict: does any process grow in memory or descriptors over the steady
 * phase? Steady phase = after the warm-up until the end. Each process (each pid of it: a
 * restarted process starts a new series) is judged on its own samples.
 *
 * Memory is judged by the RSS *slope*: a least-squares line through the means of 10
 * equal spans of the steady phase ("batch means", linear-trend.ts blockSlopeInterval),
 * its 95 % interval from Student's t with the blocks' degrees of freedom, both expressed
 * as % of the process's mean steady RSS per hour. Flat when the interval includes 0 or
 * its upper bound is below `rssSlopeLimitPctPerHour` (1 %/h); growing when the whole
 * interval is above 0 and its upper bound reaches the limit — over the whole steady
 * phase *and* over each of its halves on its own. A leak grows all the time; a step
 * (an old space resized, a malloc arena grown to its working size) happens once and
 * stays. Fitted through once-a-second samples with independent (or AR(1)) errors, a
 * step read as a slope with a narrow interval: the 2-hour soak of 2026-12-08 flagged
 * the fixed-latency upstream fixture, a few dozen lines that cannot leak, at +0.90
 * [+0.72, +1.07] %/h. Block means leave a handful of honest points, and a step lies in
 * one half only, so it is not flagged; a leak of 3 %/h is, in either form (a line, or a
 * staircase of steps every 10 minutes) over 2 hours. The price: growth confined to one
 * half of the steady phase (a leak that starts late) is shown, not flagged, and a
 * 30-minute soak cannot tell a staircase of 2 or 3 steps from single steps; the 2-hour
 * soak is the judge. Comparing the first and last part of the phase instead (the oldest
 * verdict) flagged the slow, decelerating warm-up of a heap that had not yet reached
 * its working size as a leak, and says nothing about how sure it is. The slopes of heap used, heap total, external memory and array buffers are
 * reported beside it (bytes per hour): they say where a growing RSS goes.
 *
 * The load generator (`generator`) is fitted and shown, but not judged: it keeps what
 * it records for the report — a latency histogram and outcome counts per second, one
 * sample of every process per second, node status twice a second — so it grows by
 * design, linearly with the run's length, and its memory is not the platform's.
 * Whether it kept up is judged elsewhere: by `send_lag` and its event-loop delay.
 *
 * Open fds are judged the same way, in fds per hour: growing when the interval lies
 * above 0 and reaches max(`fdGrowthAbs`, `fdGrowthPct` % of the mean) per hour (5 or
 * 10 %/h). Connection pools open and idle-close descriptors in bursts; first-vs-last
 * means of a short run took a burst for a leak. Too few samples gives "insufficient",
 * not a pass.
 */
export type SoakOptions = {
  startEpochMs: number;
  endEpochMs: number;
  warmupSec: number;
  /** RSS growth (% of the mean per hour) the upper bound of the interval must stay below */
  rssSlopeLimitPctPerHour?: number;
  confidence?: number;
  /** spans of the steady phase (and of each half) whose means the line is fitted through */
  blocks?: number;
  /** processes whose growth is expected (fitted and shown, not judged) */
  expectedGrowth?: readonly string[];
  /** fd growth per hour (% of the mean, or absolute, whichever is larger) that is a leak */
  fdGrowthPct?: number;
  fdGrowthAbs?: number;
  minSamples?: number;
};

/** A slope with its interval, in bytes per hour. */
export type Trend = { slopePerHour: number; lowPerHour: number; highPerHour: number };

/** A slope with its interval in % of the mean per hour. */
export type PctTrend = { slopePctPerHour: number; lowPctPerHour: number; highPctPerHour: number };

export type MemoryComponent = "heapUsed" | "heapTotal" | "heapLive" | "external" | "arrayBuffers";

export type MemoryTrend = {
  process: string;
  pid: number;
  samples: number;
  /** seconds of steady samples fitted */
  spanSec: number;
  meanRssBytes: number;
  /** RSS slope and its interval, bytes per hour */
  rss: Trend;
  /** the same as % of the mean RSS per hour */
  slopePctPerHour: number;
  lowPctPerHour: number;
  highPctPerHour: number;
  /** points after the autocorrelation correction (of the block means) */
  effectiveSamples: number;
  /** the RSS slope over the first and the second half of the steady phase (% of the whole mean) */
  halves: PctTrend[];
  /** slopes of the memoryUsage() parts the process exposes (bytes per hour) */
  components: Partial<Record<MemoryComponent, Trend>>;
  /** false: expected growth (the generator), shown but not part of the verdict */
  judged: boolean;
  flagged: boolean;
  note?: string;
};

export type FdTrend = {
  process: string;
  pid: number;
  samples: number;
  meanFds: number;
  /** open-fd slope and its interval, fds per hour */
  fds: Trend;
  /** the same over the first and the second half of the steady phase */
  halves: Trend[];
  /** growth per hour the interval's upper bound must stay below */
  limitPerHour: number;
  flagged: boolean;
};

export type SoakVerdict = {
  steadyFromEpochMs: number;
  steadyToEpochMs: number;
  confidence: number;
  rssSlopeLimitPctPerHour: number;
  memory: MemoryTrend[];
  fds: FdTrend[];
  memoryGrowth: boolean;
  fdGrowth: boolean;
  /** processes without enough steady samples to judge */
  insufficient: string[];
  verdict: "pass" | "memory-growth" | "fd-growth" | "memory-and-fd-growth" | "insufficient-data";
};

const HOUR_MS = 3_600_000;

const EXPECTED_GROWTH_NOTE =
  "expected growth, not judged: keeps every per-second series it records for the report";

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

type Fit = { trend: Trend; values: number[]; effectiveN: number; spanSec: number };

/** Slope ± interval of one field over time (units per hour) on block means; undefined with too few. */
function trendOf(
  samples: ProcessSample[],
  read: (s: ProcessSample) => number | undefined,
  o: Required<SoakOptions>,
): Fit | undefined {
  const xs: number[] = [];
  const values: number[] = [];
  const t0 = samples[0]?.atEpochMs ?? 0;
  for (const s of samples) {
    const v = read(s);
    if (v === undefined) continue;
    xs.push((s.atEpochMs - t0) / HOUR_MS);
    values.push(v);
  }
  if (values.length < o.blocks || xs[0] === xs.at(-1)) return undefined;
  const ci = blockSlopeInterval(xs, values, { blocks: o.blocks, confidence: o.confidence });
  return {
    trend: { slopePerHour: ci.slope, lowPerHour: ci.low, highPerHour: ci.high },
    values,
    effectiveN: ci.effectiveN,
    spanSec: ((xs.at(-1)! - xs[0]!) * HOUR_MS) / 1000,
  };
}

/**
 * The whole steady phase's fit and those of its two halves (split at the middle of its
 * time span); undefined unless all three can be fitted.
 */
function trendWithHalves(
  samples: ProcessSample[],
  read: (s: ProcessSample) => number | undefined,
  o: Required<SoakOptions>,
): { whole: Fit; halves: Trend[] } | undefined {
  const whole = trendOf(samples, read, o);
  if (!whole) return undefined;
  const middle = (samples[0]!.atEpochMs + samples.at(-1)!.atEpochMs) / 2;
  const first = trendOf(
    samples.filter((s) => s.atEpochMs < middle),
    read,
    o,
  );
  const second = trendOf(
    samples.filter((s) => s.atEpochMs >= middle),
    read,
    o,
  );
  if (!first || !second) return undefined;
  return { whole, halves: [first.trend, second.trend] };
}

/** Growing in the whole steady phase and in each half (see the top). Pure. */
function growsThroughout(trends: Trend[], toUnit: (perHour: number) => number, limit: number): boolean {
  return trends.every((t) => isGrowing(toUnit(t.lowPerHour), toUnit(t.highPerHour), limit));
}

const COMPONENTS: Array<[MemoryComponent, (s: ProcessSample) => number | undefined]> = [
  ["heapUsed", (s) => s.heapUsedBytes],
  ["heapTotal", (s) => s.heapTotalBytes],
  ["heapLive", (s) => s.heapLiveBytes],
  ["external", (s) => s.externalBytes],
  ["arrayBuffers", (s) => s.arrayBuffersBytes],
];

function memoryTrend(sorted: ProcessSample[], o: Required<SoakOptions>): MemoryTrend | undefined {
  const fits = trendWithHalves(sorted, (s) => s.rssBytes, o);
  if (!fits) return undefined;
  const fit = fits.whole;
  const { name, pid } = sorted[0]!;
  const meanRssBytes = mean(fit.values);
  const pct = (bytesPerHour: number) => (meanRssBytes > 0 ? (bytesPerHour / meanRssBytes) * 100 : 0);
  const components: MemoryTrend["components"] = {};
  for (const [component, read] of COMPONENTS) {
    const t = trendOf(sorted, read, o);
    if (t) components[component] = t.trend;
  }
  const lowPctPerHour = pct(fit.trend.lowPerHour);
  const highPctPerHour = pct(fit.trend.highPerHour);
  const judged = !o.expectedGrowth.includes(name);
  const halves = fits.halves.map((t) => ({
    slopePctPerHour: pct(t.slopePerHour),
    lowPctPerHour: pct(t.lowPerHour),
    highPctPerHour: pct(t.highPerHour),
  }));
  return {
    process: name,
    pid,
    samples: fit.values.length,
    spanSec: fit.spanSec,
    meanRssBytes,
    rss: fit.trend,
    slopePctPerHour: pct(fit.trend.slopePerHour),
    lowPctPerHour,
    highPctPerHour,
    effectiveSamples: fit.effectiveN,
    halves,
    components,
    judged,
    flagged: judged && growsThroughout([fit.trend, ...fits.halves], pct, o.rssSlopeLimitPctPerHour),
    ...(judged ? {} : { note: EXPECTED_GROWTH_NOTE }),
  };
}

/** "+1.23 [−0.40, +2.86]": a slope and its interval, each already scaled. Pure. */
export function withInterval(slope: number, low: number, high: number, digits: number): string {
  const f = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(digits)}`;
  return `${f(slope)} [${f(low)}, ${f(high)}]`;
}

/** One line per process: its RSS slope in %/h with the interval, and the judgement. Pure. */
export function memoryLines(verdict: SoakVerdict): string[] {
  return verdict.memory.map(
    (m) =>
      `  ${m.process} (pid ${m.pid}): RSS ${withInterval(m.slopePctPerHour, m.lowPctPerHour, m.highPctPerHour, 2)} %/h of ${(m.meanRssBytes / 2 ** 20).toFixed(0)} MiB over ${Math.round(m.spanSec)} s — ${m.judged ? (m.flagged ? "GROWTH" : "flat") : "not judged (expected growth)"}; halves ${halvesText(m.halves)} %/h${liveHeapNote(m.components.heapLive)}`,
  );
}

/** "+0.10 [−0.20, +0.40] / +1.30 [+0.20, +2.40]": the slopes of the two halves, %/h. Pure. */
export function halvesText(halves: readonly PctTrend[]): string {
  return halves.map((h) => withInterval(h.slopePctPerHour, h.lowPctPerHour, h.highPctPerHour, 2)).join(" / ");
}

/** "; live heap +0.12 [−0.30, +0.54] MiB/h" when the process reports its heap after full GCs. Pure. */
function liveHeapNote(t: Trend | undefined): string {
  if (!t) return "";
  const mib = (x: number) => x / 2 ** 20;
  return `; live heap ${withInterval(mib(t.slopePerHour), mib(t.lowPerHour), mib(t.highPerHour), 2)} MiB/h`;
}

/** Growing: the interval lies above 0 and reaches the limit (same unit). Pure. */
export function isGrowing(lowPctPerHour: number, highPctPerHour: number, limitPctPerHour: number): boolean {
  return lowPctPerHour > 0 && highPctPerHour >= limitPctPerHour;
}

function fdTrend(sorted: ProcessSample[], o: Required<SoakOptions>): FdTrend | undefined {
  const fits = trendWithHalves(sorted, (s) => s.fds, o);
  if (!fits) return undefined;
  const fit = fits.whole;
  const meanFds = mean(fit.values);
  const limitPerHour = Math.max(o.fdGrowthAbs, (meanFds * o.fdGrowthPct) / 100);
  return {
    process: sorted[0]!.name,
    pid: sorted[0]!.pid,
    samples: fit.values.length,
    meanFds,
    fds: fit.trend,
    halves: fits.halves,
    limitPerHour,
    flagged: growsThroughout([fit.trend, ...fits.halves], (x) => x, limitPerHour),
  };
}

function groupByProcess(samples: ProcessSample[]): Map<string, ProcessSample[]> {
  const groups = new Map<string, ProcessSample[]>();
  for (const s of samples) {
    const key = `${s.name}\u0000${s.pid}`;
    const group = groups.get(key);
    if (group) group.push(s);
    else groups.set(key, [s]);
  }
  return groups;
}

export function soakVerdict(samples: ProcessSample[], options: SoakOptions): SoakVerdict {
  const o: Required<SoakOptions> = {
    rssSlopeLimitPctPerHour: 1,
    confidence: 0.95,
    blocks: 10,
    expectedGrowth: [SELF],
    fdGrowthPct: 10,
    fdGrowthAbs: 5,
    minSamples: 20,
    ...options,
  };
  const from = o.startEpochMs + o.warmupSec * 1000;
  const steady = samples.filter((s) => s.alive && s.atEpochMs >= from && s.atEpochMs <= o.endEpochMs);
  const memory: MemoryTrend[] = [];
  const fds: FdTrend[] = [];
  const insufficient: string[] = [];
  for (const group of groupByProcess(steady).values()) {
    const { name, pid } = group[0]!;
    const sorted = [...group].sort((a, b) => a.atEpochMs - b.atEpochMs);
    const rssCount = sorted.filter((s) => s.rssBytes !== undefined).length;
    const trend = rssCount >= o.minSamples ? memoryTrend(sorted, o) : undefined;
    if (trend) memory.push(trend);
    else insufficient.push(`${name} (pid ${pid}): ${rssCount} samples`);
    const fdCount = sorted.filter((s) => s.fds !== undefined).length;
    const fd = fdCount >= o.minSamples ? fdTrend(sorted, o) : undefined;
    if (fd) fds.push(fd);
  }
  const memoryGrowth = memory.some((m) => m.flagged);
  const fdGrowth = fds.some((c) => c.flagged);
  let verdict: SoakVerdict["verdict"] = "pass";
  if (memoryGrowth && fdGrowth) verdict = "memory-and-fd-growth";
  else if (memoryGrowth) verdict = "memory-growth";
  else if (fdGrowth) verdict = "fd-growth";
  else if (!memory.some((m) => m.judged)) verdict = "insufficient-data";
  return {
    steadyFromEpochMs: from,
    steadyToEpochMs: o.endEpochMs,
    confidence: o.confidence,
    rssSlopeLimitPctPerHour: o.rssSlopeLimitPctPerHour,
    memory,
    fds,
    memoryGrowth,
    fdGrowth,
    insufficient,
    verdict,
  };
}
