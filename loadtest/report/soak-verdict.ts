import type { ProcessSample } from "../sampler/process-sampler.ts";

/**
 * The soak verdict: does any process grow in memory or descriptors over the steady
 * phase? Steady phase = after the warm-up until the end. For each process (each pid
 * of it: a restarted process starts a new series) the mean of the first and of the
 * last `windowFraction` of its steady samples are compared: RSS growth above
 * `rssGrowthPct` % flags memory growth; fd growth above max(`fdGrowthAbs`,
 * `fdGrowthPct` %) flags fd growth. Too few samples gives "insufficient", not a pass.
 */
export type SoakOptions = {
  startEpochMs: number;
  endEpochMs: number;
  warmupSec: number;
  rssGrowthPct?: number;
  fdGrowthPct?: number;
  fdGrowthAbs?: number;
  windowFraction?: number;
  minSamples?: number;
};

export type GrowthCheck = {
  process: string;
  pid: number;
  metric: "rss" | "fds";
  samples: number;
  firstMean: number;
  lastMean: number;
  growthPct: number;
  flagged: boolean;
};

export type SoakVerdict = {
  steadyFromEpochMs: number;
  steadyToEpochMs: number;
  checks: GrowthCheck[];
  memoryGrowth: boolean;
  fdGrowth: boolean;
  /** processes without enough steady samples to judge */
  insufficient: string[];
  verdict: "pass" | "memory-growth" | "fd-growth" | "memory-and-fd-growth" | "insufficient-data";
};

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;

function windowMeans(values: number[], fraction: number): [number, number] {
  const n = Math.max(1, Math.floor(values.length * fraction));
  return [mean(values.slice(0, n)), mean(values.slice(-n))];
}

function check(
  process: string,
  pid: number,
  metric: "rss" | "fds",
  values: number[],
  o: Required<SoakOptions>,
) {
  const [firstMean, lastMean] = windowMeans(values, o.windowFraction);
  const growth = lastMean - firstMean;
  const growthPct = firstMean > 0 ? (growth / firstMean) * 100 : 0;
  const flagged =
    metric === "rss"
      ? growthPct > o.rssGrowthPct
      : growth > Math.max(o.fdGrowthAbs, (firstMean * o.fdGrowthPct) / 100);
  return { process, pid, metric, samples: values.length, firstMean, lastMean, growthPct, flagged };
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
    rssGrowthPct: 5,
    fdGrowthPct: 10,
    fdGrowthAbs: 5,
    windowFraction: 0.1,
    minSamples: 20,
    ...options,
  };
  const from = o.startEpochMs + o.warmupSec * 1000;
  const steady = samples.filter((s) => s.alive && s.atEpochMs >= from && s.atEpochMs <= o.endEpochMs);
  const checks: GrowthCheck[] = [];
  const insufficient: string[] = [];
  for (const group of groupByProcess(steady).values()) {
    const { name, pid } = group[0]!;
    const sorted = [...group].sort((a, b) => a.atEpochMs - b.atEpochMs);
    const rss = sorted.flatMap((s) => (s.rssBytes === undefined ? [] : [s.rssBytes]));
    const fds = sorted.flatMap((s) => (s.fds === undefined ? [] : [s.fds]));
    if (rss.length < o.minSamples) insufficient.push(`${name} (pid ${pid}): ${rss.length} samples`);
    else checks.push(check(name, pid, "rss", rss, o));
    if (fds.length >= o.minSamples) checks.push(check(name, pid, "fds", fds, o));
  }
  const memoryGrowth = checks.some((c) => c.metric === "rss" && c.flagged);
  const fdGrowth = checks.some((c) => c.metric === "fds" && c.flagged);
  let verdict: SoakVerdict["verdict"] = "pass";
  if (memoryGrowth && fdGrowth) verdict = "memory-and-fd-growth";
  else if (memoryGrowth) verdict = "memory-growth";
  else if (fdGrowth) verdict = "fd-growth";
  else if (checks.length === 0) verdict = "insufficient-data";
  return {
    steadyFromEpochMs: from,
    steadyToEpochMs: o.endEpochMs,
    checks,
    memoryGrowth,
    fdGrowth,
    insufficient,
    verdict,
  };
}
