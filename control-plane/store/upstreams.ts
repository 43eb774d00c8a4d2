/** A tenant's upstream services. Every query is scoped by tenant_id. */
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import { CorralError } from "../errors.ts";
import { SQLSTATE } from "./db.ts";
import { tenantTable } from "./tenant-resource.ts";

/** Each node's retry budget for the upstream: retries <= percent of requests over the window + a floor. */
export interface RetryBudget {
  percent: number;
  minPerSecond: number;
  windowMs: number;
}

export const DEFAULT_RETRY_BUDGET: Readonly<RetryBudget> = Object.freeze({
  percent: 10,
  minPerSecond: 3,
  windowMs: 10_000,
});

/** Active health checks of the targets (the APIs fill every field). */
export interface HealthCheckSettings {
  protocol: "http" | "grpc";
  /** HTTP: the path to GET (2xx = healthy) */
  path: string;
  /** gRPC: the service asked about with grpc.health.v1 ("" = the whole server) */
  service: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** Passive outlier ejection and slow start (the APIs fill every field). */
export interface OutlierSettings {
  consecutiveFailures: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  maxEjectedPercent: number;
  slowStartMs: number;
}

export interface Upstream {
  id: string;
  tenantId: string;
  name: string;
  targets: string[];
  connectTimeoutMs: number;
  /** per target, in order; null = all equal */
  weights: number[] | null;
  healthCheck: HealthCheckSettings | null;
  outlier: OutlierSettings;
  retryBudget: RetryBudget;
  createdAt: string;
}

export interface NewUpstream {
  name: string;
  targets: string[];
  connectTimeoutMs: number;
  weights?: number[];
  healthCheck?: HealthCheckSettings;
  outlier: OutlierSettings;
  retryBudget?: RetryBudget;
}

/** What a PATCH may change: any field of a new upstream; `healthCheck: null` turns the checks off. */
export type UpstreamPatch = Partial<Omit<NewUpstream, "healthCheck">> & {
  healthCheck?: HealthCheckSettings | null;
};

export interface UpstreamRow {
  id: string;
  tenant_id: string;
  name: string;
  targets: string[];
  connect_timeout_ms: number;
  weights: number[] | null;
  health_check: HealthCheckSettings | null;
  /** null for upstreams made before the column: the defaults */
  outlier: OutlierSettings | null;
  retry_budget_percent: number;
  retry_budget_min_per_second: number;
  retry_budget_window_ms: number;
  created_at: Date;
}

/** The statements of the upstreams table; a name the tenant already uses is a conflict. */
export const upstreamTable = tenantTable<
  UpstreamRow,
  Upstream,
  NewUpstream,
  "name" | "targets" | "connectTimeoutMs"
>({
  table: "upstreams",
  idPrefix: "up_",
  plain: ["name", "targets", "connectTimeoutMs"],
  columns: {
    weights: (u) => u.weights ?? null,
    health_check: (u) => (u.healthCheck ? JSON.stringify(u.healthCheck) : null),
    outlier: (u) => JSON.stringify(u.outlier),
    retry_budget_percent: (u) => (u.retryBudget ?? DEFAULT_RETRY_BUDGET).percent,
    retry_budget_min_per_second: (u) => (u.retryBudget ?? DEFAULT_RETRY_BUDGET).minPerSecond,
    retry_budget_window_ms: (u) => (u.retryBudget ?? DEFAULT_RETRY_BUDGET).windowMs,
  },
  fields: (r) => ({
    weights: r.weights,
    healthCheck: r.health_check,
    outlier: r.outlier ?? { ...DEFAULT_OUTLIER },
    retryBudget: {
      percent: r.retry_budget_percent,
      minPerSecond: r.retry_budget_min_per_second,
      windowMs: r.retry_budget_window_ms,
    },
  }),
  writeRefusals: {
    [SQLSTATE.uniqueViolation]: (u) =>
      new CorralError("CORRAL_ADMIN_CONFLICT", `upstream ${JSON.stringify(u.name)} already exists`),
  },
  deleteRefusals: {
    [SQLSTATE.foreignKeyViolation]: (id) =>
      new CorralError("CORRAL_ADMIN_IN_USE", `upstream ${id} is used by a route; delete the route first`),
  },
});
