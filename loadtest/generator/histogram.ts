import * as hdr from "hdr-histogram-js";
import type { Histogram } from "hdr-histogram-js";

/**
 * Latency histograms: values are recorded in microseconds (integers), summaries are
 * reported in milliseconds. The plain JS build is used (no WebAssembly init needed);
 * recording costs about 0.1 µs (dense) or 0.7 µs (packed, for per-tenant histograms
 * where thousands of tenants would otherwise cost ~100 KB each).
 */
export type LatencySummary = {
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
};

/** Highest latency recorded exactly: one hour; auto-resize keeps larger values too. */
const HIGHEST_US = 3_600_000_000;

export function newLatencyHistogram(kind: "dense" | "packed" = "dense"): Histogram {
  return hdr.build({
    bitBucketSize: kind === "packed" ? "packed" : 32,
    numberOfSignificantValueDigits: 3,
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_US,
    autoResize: true,
  });
}

/** Records a latency given in (fractional) milliseconds. */
export function recordMs(histogram: Histogram, ms: number): void {
  histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Adds an encoded histogram (from encodeHistogram, possibly from another thread) into `into`. */
export function addEncoded(into: Histogram, encoded: string): void {
  if (encoded === "") return;
  into.add(hdr.decodeFromCompressedBase64(encoded, 32));
}

export function decodeHistogram(encoded: string): Histogram {
  const histogram = newLatencyHistogram();
  addEncoded(histogram, encoded);
  return histogram;
}

const round3 = (us: number): number => Math.round(us) / 1000;

export function summarize(histogram: Histogram): LatencySummary {
  if (histogram.totalCount === 0)
    return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0 };
  return {
    count: histogram.totalCount,
    minMs: round3(histogram.minNonZeroValue),
    meanMs: round3(histogram.mean),
    p50Ms: round3(histogram.getValueAtPercentile(50)),
    p90Ms: round3(histogram.getValueAtPercentile(90)),
    p99Ms: round3(histogram.getValueAtPercentile(99)),
    p999Ms: round3(histogram.getValueAtPercentile(99.9)),
    maxMs: round3(histogram.maxValue),
  };
}
