import type { FaultTimeline } from "../faults/timeline.ts";
import type { LoadResult } from "../generator/merge.ts";
import type { LoadPlan } from "../generator/plan.ts";
import type { ParamValue, Table } from "../report/model.ts";
import type { ProcessSampler } from "../sampler/process-sampler.ts";

/**
 * The scenario contract. A scenario is a file loadtest/scenarios/<name>.ts whose
 * default export is `defineScenario({...})`: its parameters (with defaults, overridable
 * on the command line), its pass/fail thresholds over named metrics, and `run(ctx)`.
 * Everything the run does through `ctx` ends up in the report.
 */
export type Params = Record<string, ParamValue>;

/** A bound on one metric; a limit may depend on the parameters. A missing metric is a miss. */
export type Threshold<P extends Params> = {
  metric: string;
  description: string;
  max?: number | ((params: P) => number);
  min?: number | ((params: P) => number);
};

export type ChartHandle = { point(series: string, value: number, atEpochMs?: number): void };

export type ScenarioContext<P extends Params> = {
  readonly params: P;
  /** aborted on Ctrl-C: stop starting new work */
  readonly signal: AbortSignal;
  /** record fault markers here (the fault helpers take it as an argument) */
  readonly timeline: FaultTimeline;
  /** add the platform's processes here; the generator itself is always sampled */
  readonly sampler: ProcessSampler;
  log(message: string): void;
  /**
   * Runs an open-loop load and adds it to the report under `label`. Its figures become
   * metrics `<label>.sent_rps`, `.ok_rps`, `.error_rate`, `.p50_ms`, `.p99_ms`,
   * `.p999_ms`, `.max_ms`, `.send_lag_p99_ms`.
   */
  runLoad(label: string, plan: LoadPlan): Promise<LoadResult>;
  /** config version a node reported (e.g. from its status endpoint), for the version-per-node plot */
  recordConfigVersion(node: string, version: number, atEpochMs?: number): void;
  /** a custom time-series chart in the report (e.g. admission decisions read from node metrics) */
  chart(title: string, unit: string): ChartHandle;
  addTable(table: Table): void;
  /** judge memory and fd growth over the steady phase (after `warmupSec`) at the end */
  judgeSoak(options: { warmupSec: number }): void;
  /** runs at the end in reverse order, also when the run fails */
  onCleanup(cleanup: () => unknown): void;
};

export type ScenarioOutcome = { metrics?: Record<string, number> };

export type Scenario<P extends Params> = {
  name: string;
  description: string;
  params: P;
  thresholds: Threshold<P>[];
  run(ctx: ScenarioContext<P>): Promise<ScenarioOutcome>;
};

/** Identity with type inference: `export default defineScenario({ … })`. */
export function defineScenario<P extends Params>(scenario: Scenario<P>): Scenario<P> {
  return scenario;
}
