/**
 * Metrics of admission and placement (registered in the node's registry). Labels are bounded:
 * stages, outcomes and placement decisions are fixed lists, priorities are the three classes.
 */
import type { Registry } from "prom-client";
import { type MetricMakers, metricMakers } from "../../runtime/metric-makers.ts";
import type { Priority } from "../admission/decision.ts";
import { BatchedCounter, type CountCell } from "./batched-counter.ts";

const STAGES = [
  "deadline",
  "shed",
  "concurrency",
  "tenant_rate",
  "route_rate",
  "quota",
  "client_rate",
] as const;
const OUTCOMES = ["admit", "reject", "shadow_reject"] as const;
const PLACEMENTS = ["local", "forward", "misdirected", "unavailable"] as const;
export type AdmissionStageName = (typeof STAGES)[number];
/** shadow_reject: a limiter in shadow mode would have rejected (the request went on) */
export type AdmissionOutcome = (typeof OUTCOMES)[number];
export type PlacementOutcome = (typeof PLACEMENTS)[number];
export type ForwardResult = "ok" | "connect_error" | "error" | "timeout";

export interface AdmissionMetrics {
  decision(stage: AdmissionStageName, outcome: AdmissionOutcome): void;
  shed(priority: Priority): void;
  placement(outcome: PlacementOutcome): void;
  forward(result: ForwardResult): void;
  demandSyncError(): void;
  demandSync(tenants: number): void;
  /** a period-quota flush to Redis failed (the node enforces its share meanwhile) */
  quotaSyncError(): void;
  quotaSync(counters: number): void;
}

export interface LoadGauges {
  eventLoopDelayMs(): number;
  shedPressure(): number;
  /** client addresses the per-client limiter of public routes holds (bounded by routes x slots) */
  publicClients?(): number;
}

function loadGauges(make: MetricMakers, load: LoadGauges): void {
  // biome-ignore format: one metric a line
  make.gauge("corral_dp_event_loop_delay_seconds", "event-loop delay as the load shedder sees it: the smaller of the last two windows' mean delays", (g) => g.set(load.eventLoopDelayMs() / 1000));
  // biome-ignore format: one metric a line
  make.gauge("corral_dp_shed_pressure", "load shedder pressure: max(in flight / max, loop delay / max); classes shed from 0.6 up", (g) => g.set(load.shedPressure()));
  // biome-ignore format: one metric a line
  make.gauge("corral_dp_public_clients_tracked", "client addresses held by the per-client limits of public routes (fixed memory: at most 256 routes x CORRAL_PUBLIC_CLIENT_SLOTS)", (g) => g.set(load.publicClients?.() ?? 0));
}

/** Cells per (stage, outcome) and per placement decision: counted on every request. */
function requestPathCounters(registry: Registry) {
  const decisions = new BatchedCounter<"stage" | "outcome">({
    name: "corral_dp_admission_decisions_total",
    help: "admission decisions by stage",
    labelNames: ["stage", "outcome"],
    registers: [registry],
  });
  const placement = new BatchedCounter<"decision">({
    name: "corral_dp_placement_total",
    help: "where tenant requests went",
    labelNames: ["decision"],
    registers: [registry],
  });
  const cells = (stage: AdmissionStageName) =>
    Object.fromEntries(OUTCOMES.map((outcome) => [outcome, decisions.cell({ stage, outcome })])) as Record<
      AdmissionOutcome,
      CountCell
    >;
  return {
    decisions: Object.fromEntries(STAGES.map((stage) => [stage, cells(stage)])) as Record<
      AdmissionStageName,
      Record<AdmissionOutcome, CountCell>
    >,
    placement: Object.fromEntries(PLACEMENTS.map((d) => [d, placement.cell({ decision: d })])) as Record<
      PlacementOutcome,
      CountCell
    >,
  };
}

export function createAdmissionMetrics(registry: Registry, load: LoadGauges): AdmissionMetrics {
  const cells = requestPathCounters(registry);
  const make = metricMakers(registry);
  const shed = make.counter("corral_dp_shed_total", "requests shed, by priority class", ["priority"]);
  // biome-ignore format: one metric a line
  const forward = make.counter("corral_dp_forwards_total", "forwards to shard members, by result", ["result"]);
  // biome-ignore format: one metric a line
  const syncErrors = make.counter("corral_dp_demand_sync_errors_total", "demand exchanges with Redis that failed (shares kept)");
  const syncs = make.counter("corral_dp_demand_sync_total", "demand exchanges with Redis that worked");
  // biome-ignore format: one metric a line
  const quotaErrors = make.counter("corral_dp_quota_sync_errors_total", "period-quota flushes to Redis that failed (each member enforces its share meanwhile)");
  const quotaSyncs = make.counter("corral_dp_quota_sync_total", "period-quota flushes to Redis that worked");
  loadGauges(make, load);
  return {
    decision: (stage, outcome) => {
      cells.decisions[stage][outcome].n++;
    },
    shed: (priority) => shed.inc({ priority }),
    placement: (decision) => {
      cells.placement[decision].n++;
    },
    forward: (result) => forward.inc({ result }),
    demandSyncError: () => syncErrors.inc(),
    demandSync: () => syncs.inc(),
    quotaSyncError: () => quotaErrors.inc(),
    quotaSync: () => quotaSyncs.inc(),
  };
}
