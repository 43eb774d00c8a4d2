/**
 * Prometheus metrics of one node (own registry: several nodes may share a process in tests).
 * Label values are bounded: reasons and error codes come from errors.ts, status is a class.
 */
import { collectDefaultMetrics, Counter, Gauge, type Histogram, Registry } from "prom-client";
import type { ConnectionCaps } from "../../runtime/http-limits.ts";
import { registerArrayBuffersGauge, registerLiveHeapGauge } from "../../runtime/memory-metrics.ts";
import { type MetricMakers, metricMakers, REQUEST_SECONDS_BUCKETS } from "../../runtime/metric-makers.ts";
import type { NodeState } from "../node-state.ts";
import type { RetryMetrics } from "../retry/retrier.ts";
import { BatchedCounter, type CountCell } from "./batched-counter.ts";

export interface DataPlaneMetrics {
  readonly registry: Registry;
  readonly requests: Counter<"reason" | "status_class">;
  readonly requestSeconds: Histogram<"status_class">;
  /** gRPC calls by the status the client got (lower-case code name) and corral-reason */
  readonly grpcCalls: Counter<"code" | "reason">;
  readonly applySeconds: Histogram<"result">;
  readonly applyFailures: Counter<"code">;
  readonly syncConnections: Counter<"event">;
  /** upstream connections the egress policy refused, by protocol (http, grpc) */
  readonly egressDenied: Counter<"protocol">;
  /** attempts at upstreams, retries (by cause) and retries the budget refused, by protocol (http, grpc) */
  readonly retries: RetryMetrics;
  /** keyed requests on idempotent routes, by outcome (idempotency/idempotent-proxy.ts) */
  readonly idempotency: Counter<"outcome">;
  /**
   * One answered request in `requests` and `requestSeconds`, the cheap way (the request path
   * calls this; the counts reach `requests` when it is collected).
   */
  recordRequest(reason: string, status: number, seconds: number): void;
  /** One answered gRPC call in `grpcCalls`, the cheap way (code: lower-case code name, or "none"). */
  recordGrpcCall(code: string, reason: string): void;
}

const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"] as const;

function statusClassIndex(status: number): number {
  return status >= 100 && status < 600 ? Math.floor(status / 100) - 1 : 5;
}

export function statusClass(status: number): string {
  return STATUS_CLASSES[statusClassIndex(status)]!;
}

/** Request counts by reason and status class (cells bound once per reason), and the duration histogram. */
function requestRecorder(
  requests: BatchedCounter<"reason" | "status_class">,
  seconds: Histogram<"status_class">,
): DataPlaneMetrics["recordRequest"] {
  const rows = new Map<string, CountCell[]>();
  const classLabels = STATUS_CLASSES.map((c) => Object.freeze({ status_class: c }));
  return (reason, status, s) => {
    let row = rows.get(reason);
    if (!row) {
      row = STATUS_CLASSES.map((c) => requests.cell({ reason, status_class: c }));
      rows.set(reason, row);
    }
    const i = statusClassIndex(status);
    row[i]!.n++;
    seconds.observe(classLabels[i]!, s);
  };
}

/** gRPC call counts by code and reason: a cell bound once per pair, both from bounded lists. */
function grpcCallRecorder(calls: BatchedCounter<"code" | "reason">): DataPlaneMetrics["recordGrpcCall"] {
  const byReason = new Map<string, Map<string, CountCell>>();
  return (code, reason) => {
    let row = byReason.get(reason);
    if (!row) {
      row = new Map();
      byReason.set(reason, row);
    }
    let cell = row.get(code);
    if (!cell) {
      cell = calls.cell({ code, reason });
      row.set(code, cell);
    }
    cell.n++;
  };
}

function stateGauges(make: MetricMakers, state: NodeState): void {
  const gauge = (name: string, help: string, read: () => number) =>
    make.gauge(name, help, (g) => g.set(read()));
  gauge("corral_dp_config_version", "snapshot version this node serves (0 = none)", () => state.version);
  gauge(
    "corral_dp_config_age_seconds",
    "time since the control plane last confirmed the served config",
    () => {
      const age = state.configAgeMs();
      return age === null ? -1 : age / 1000;
    },
  );
  gauge("corral_dp_ready", "1 when the node has a config and is not draining", () => (state.ready ? 1 : 0));
  gauge("corral_dp_cp_connected", "1 while the sync connection to the control plane is open", () =>
    state.connected ? 1 : 0,
  );
  gauge("corral_dp_inflight_requests", "tenant requests in progress", () => state.inflight);
  gauge("corral_dp_tenants", "tenants in the served config", () => state.config()?.tenantCount ?? 0);
  gauge(
    "corral_dp_tenants_decoded",
    "tenants of the served config decoded so far (first use)",
    () => state.config()?.decodedCount ?? 0,
  );
  gauge("corral_dp_fetch_error", "1 while the last fetch from the config source failed", () =>
    state.fetchError ? 1 : 0,
  );
}

/** Attempts, retries and budget refusals, batched: cells bound once per protocol (and cause). */
function retryMetrics(registry: Registry): RetryMetrics {
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) =>
    new BatchedCounter<L>({ name, help, labelNames, registers: [registry] });
  const attempts = counter("corral_dp_upstream_attempts_total", "attempts at upstream targets, by protocol", [
    "protocol",
  ]);
  const retries = counter(
    "corral_dp_upstream_retries_total",
    "retried attempts, by protocol and cause (connect, reset, status)",
    ["protocol", "cause"],
  );
  const exhausted = counter(
    "corral_dp_retry_budget_exhausted_total",
    "retries the policy allowed but the upstream's retry budget refused, by protocol",
    ["protocol"],
  );
  /** one cell per label set, found without building JSON (BatchedCounter.cell's key) per count */
  const cellsOf = (c: BatchedCounter<string>) => {
    const cells = new Map<string, CountCell>();
    return (protocol: string, cause?: string) => {
      const key = cause === undefined ? protocol : `${protocol} ${cause}`;
      let cell = cells.get(key);
      if (!cell) {
        cell = c.cell(cause === undefined ? { protocol } : { protocol, cause });
        cells.set(key, cell);
      }
      return cell;
    };
  };
  const [attemptCell, retryCell, exhaustedCell] = [cellsOf(attempts), cellsOf(retries), cellsOf(exhausted)];
  return {
    attempt: (protocol) => attemptCell(protocol).n++,
    retry: (protocol, cause) => retryCell(protocol, cause).n++,
    budgetExhausted: (protocol) => exhaustedCell(protocol).n++,
  };
}

export function createMetrics(state: NodeState): DataPlaneMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "corral_dp_" });
  registerArrayBuffersGauge(registry, "corral_dp_");
  registerLiveHeapGauge(registry, "corral_dp_");
  const make = metricMakers(registry);
  stateGauges(make, state);
  const requests = new BatchedCounter<"reason" | "status_class">({
    name: "corral_dp_requests_total",
    help: "tenant requests (HTTP and gRPC) answered, by corral-reason (upstream = proxied) and status class (gRPC: of the status's HTTP equivalent)",
    labelNames: ["reason", "status_class"],
    registers: [registry],
  });
  // biome-ignore format: one metric a line
  const requestSeconds = make.histogram("corral_dp_request_duration_seconds", "time from request to the end of the response (HTTP and gRPC)", [...REQUEST_SECONDS_BUCKETS, 10, 30], ["status_class"]);
  const grpcCalls = new BatchedCounter<"code" | "reason">({
    name: "corral_dp_grpc_calls_total",
    help: "gRPC calls answered, by the grpc-status the client got (lower-case code name) and corral-reason (upstream = the upstream's own status, forwarded = a shard member's answer)",
    labelNames: ["code", "reason"],
    registers: [registry],
  });
  // biome-ignore format: one metric a line
  const applySeconds = make.histogram("corral_dp_apply_seconds", "duration of successful applies (result: changed = new version swapped in, same = re-verified)", [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], ["result"]);
  // biome-ignore format: one metric a line
  const applyFailures = make.counter("corral_dp_apply_failures_total", "applies that failed, by error code", ["code"]);
  // biome-ignore format: one metric a line
  const syncConnections = make.counter("corral_dp_sync_connections_total", "sync connection events (open, close)", ["event"]);
  // biome-ignore format: one metric a line
  const egressDenied = make.counter("corral_dp_egress_denied_total", "upstream connections the egress policy refused (an internal address or name), by protocol", ["protocol"]);
  // biome-ignore format: one metric a line
  const idempotency = make.counter("corral_dp_idempotency_total", "requests with an Idempotency-Key on routes that opt in, by outcome (executed, replayed, in_flight, mismatch, spent, unavailable, invalid, too_large)", ["outcome"]);
  return {
    registry,
    requests: requests.counter,
    requestSeconds,
    recordRequest: requestRecorder(requests, requestSeconds),
    grpcCalls: grpcCalls.counter,
    recordGrpcCall: grpcCallRecorder(grpcCalls),
    applySeconds,
    applyFailures,
    syncConnections,
    retries: retryMetrics(registry),
    egressDenied,
    idempotency,
  };
}

/** The client connection caps of the node's ingresses (by protocol), read on each scrape. */
export function registerConnectionCapMetrics(registry: Registry, caps: Record<string, ConnectionCaps>): void {
  const protocols = Object.entries(caps);
  new Gauge({
    name: "corral_dp_client_connections_busiest_source",
    help: "connections the busiest client address holds now, by protocol (per-source cap: CORRAL_MAX_CONNECTIONS_PER_SOURCE; 0 without one)",
    labelNames: ["protocol"],
    registers: [registry],
    collect() {
      for (const [protocol, c] of protocols) this.set({ protocol }, c.busiestSource());
    },
  });
  new Counter({
    name: "corral_dp_client_connections_refused_total",
    help: "client connections closed as they arrived, by protocol and cap (server: CORRAL_MAX_CONNECTIONS, source: CORRAL_MAX_CONNECTIONS_PER_SOURCE)",
    labelNames: ["protocol", "cap"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [protocol, c] of protocols) {
        this.inc({ protocol, cap: "server" }, c.refusedByServerCap());
        this.inc({ protocol, cap: "source" }, c.refusedBySourceCap());
      }
    },
  });
}
