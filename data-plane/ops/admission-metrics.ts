/**
 * Metrics of admission and placement (registered in the node's registry). Labels are bounded:
 * stages, outcomes and placement decisions are fixed lists, priorities are the three classes.
 */
import { Counter, Gauge, type Registry } from "prom-client";
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

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]) {
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function loadGauges(registry: Registry, load: LoadGauges): void {
  new Gauge({
    name: "corral_dp_event_loop_delay_seconds",
    help: "mean event-loop delay over the last window, as the load shedder sees it",
    registers: [registry],
    collect() {
      this.set(load.eventLoopDelayMs() / 1000);
    },
  });
  new Gauge({
    name: "corral_dp_shed_pressure",
    help: "load shedder pressure: max(in flight / max, loop delay / max); classes shed from 0.6 up",
    registers: [registry],
    collect() {
      this.set(load.shedPressure());
    },
  });
  new Gauge({
    name: "corral_dp_public_clients_tracked",
    help: "client addresses held by the per-client limits of public routes (fixed memory: at most 256 routes x CORRAL_PUBLIC_CLIENT_SLOTS)",
    registers: [registry],
    collect() {
      this.set(load.publicClients?.() ?? 0);
    },
  });
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
  const shed = counter(registry, "corral_dp_shed_total", "requests shed, by priority class", ["priority"]);
  const forward = counter(registry, "corral_dp_forwards_total", "forwards to shard members, by result", [
    "result",
  ]);
  const syncErrors = counter(
    registry,
    "corral_dp_demand_sync_errors_total",
    "demand exchanges with Redis that failed (shares kept)",
    [],
  );
  const syncs = counter(
    registry,
    "corral_dp_demand_sync_total",
    "demand exchanges with Redis that worked",
    [],
  );
  const quotaErrors = counter(
    registry,
    "corral_dp_quota_sync_errors_total",
    "period-quota flushes to Redis that failed (each member enforces its share meanwhile)",
    [],
  );
  const quotaSyncs = counter(
    registry,
    "corral_dp_quota_sync_total",
    "period-quota flushes to Redis that worked",
    [],
  );
  loadGauges(registry, load);
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
