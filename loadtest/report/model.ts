import type { FaultMarker } from "../faults/timeline.ts";
import type { LoadResult } from "../generator/merge.ts";
import type { ProcessSample } from "../sampler/process-sampler.ts";
import type { SoakVerdict } from "./soak-verdict.ts";

/**
 * Everything a run produced, as written to <scenario>-<timestamp>.json and rendered
 * to the HTML page. Times are epoch milliseconds; the page plots them as seconds
 * since `startEpochMs`.
 */
export type ParamValue = number | string | boolean;

export type ConfigVersionPoint = { atEpochMs: number; node: string; version: number };

/** An extra time series chart fed by a scenario (e.g. admission decisions read from a node's metrics). */
export type CustomChart = {
  title: string;
  unit: string;
  series: Array<{ name: string; points: Array<[atEpochMs: number, value: number]> }>;
};

export type Table = { title: string; columns: string[]; rows: Array<Array<string | number>> };

export type ThresholdResult = {
  metric: string;
  description: string;
  op: "<=" | ">=";
  limit: number;
  /** null when the run did not produce the metric: that is a miss */
  value: number | null;
  pass: boolean;
};

export type LoadSection = { label: string; result: LoadResult };

export type Report = {
  scenario: string;
  description: string;
  params: Record<string, ParamValue>;
  startedAt: string;
  startEpochMs: number;
  endEpochMs: number;
  durationSec: number;
  loads: LoadSection[];
  processes: ProcessSample[];
  faults: FaultMarker[];
  configVersions: ConfigVersionPoint[];
  charts: CustomChart[];
  tables: Table[];
  metrics: Record<string, number>;
  thresholds: ThresholdResult[];
  soak?: SoakVerdict;
  /** an exception that ended the run early, if any */
  error?: string;
  pass: boolean;
};
