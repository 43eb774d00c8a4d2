/** A tenant's upstream services. Every query is scoped by tenant_id. */
import { randomBytes } from "node:crypto";
import { DEFAULT_OUTLIER } from "../../proto/upstream-policy.ts";
import { CorralError } from "../errors.ts";
import { type Queryable, SQLSTATE, sqlState } from "./db.ts";

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

const COLUMNS =
  "id, tenant_id, name, targets, connect_timeout_ms, weights, health_check, outlier, retry_budget_percent, " +
  "retry_budget_min_per_second, retry_budget_window_ms, created_at";

function toUpstream(r: UpstreamRow): Upstream {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    targets: r.targets,
    connectTimeoutMs: r.connect_timeout_ms,
    weights: r.weights,
    healthCheck: r.health_check,
    outlier: r.outlier ?? { ...DEFAULT_OUTLIER },
    retryBudget: {
      percent: r.retry_budget_percent,
      minPerSecond: r.retry_budget_min_per_second,
      windowMs: r.retry_budget_window_ms,
    },
    createdAt: r.created_at.toISOString(),
  };
}

export function newUpstreamId(): string {
  return `up_${randomBytes(8).toString("hex")}`;
}

function upstreamValues(u: NewUpstream): unknown[] {
  const budget = u.retryBudget ?? DEFAULT_RETRY_BUDGET;
  return [
    u.name,
    u.targets,
    u.connectTimeoutMs,
    u.weights ?? null,
    u.healthCheck ? JSON.stringify(u.healthCheck) : null,
    JSON.stringify(u.outlier),
    budget.percent,
    budget.minPerSecond,
    budget.windowMs,
  ];
}

/** Runs an INSERT or UPDATE ... RETURNING; taking a name the tenant already uses is a conflict. */
async function writeUpstream(q: Queryable, sql: string, values: unknown[], name: string) {
  try {
    const { rows } = await q.query<UpstreamRow>(sql, values);
    return rows[0] && toUpstream(rows[0]);
  } catch (err) {
    if (sqlState(err) === SQLSTATE.uniqueViolation)
      throw new CorralError("CORRAL_ADMIN_CONFLICT", `upstream ${JSON.stringify(name)} already exists`);
    throw err;
  }
}

/** Caller has checked the tenant exists (assertTenantExists) in the same transaction. */
export async function insertUpstream(q: Queryable, tenantId: string, u: NewUpstream): Promise<Upstream> {
  const sql = `INSERT INTO upstreams (id, tenant_id, name, targets, connect_timeout_ms, weights, health_check, outlier,
                                      retry_budget_percent, retry_budget_min_per_second, retry_budget_window_ms)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${COLUMNS}`;
  return (await writeUpstream(q, sql, [newUpstreamId(), tenantId, ...upstreamValues(u)], u.name))!;
}

/** Replaces the upstream's fields with `u` (the caller merged the patch); undefined: no such upstream in this tenant. */
export function replaceUpstream(
  q: Queryable,
  tenantId: string,
  id: string,
  u: NewUpstream,
): Promise<Upstream | undefined> {
  const sql = `UPDATE upstreams SET name = $3, targets = $4, connect_timeout_ms = $5, weights = $6,
                      health_check = $7, outlier = $8, retry_budget_percent = $9,
                      retry_budget_min_per_second = $10, retry_budget_window_ms = $11
                WHERE tenant_id = $2 AND id = $1 RETURNING ${COLUMNS}`;
  return writeUpstream(q, sql, [id, tenantId, ...upstreamValues(u)], u.name);
}

export async function listUpstreams(q: Queryable, tenantId: string): Promise<Upstream[]> {
  const { rows } = await q.query<UpstreamRow>(
    `SELECT ${COLUMNS} FROM upstreams WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
  return rows.map(toUpstream);
}

export async function getUpstream(q: Queryable, tenantId: string, id: string): Promise<Upstream | undefined> {
  const { rows } = await q.query<UpstreamRow>(
    `SELECT ${COLUMNS} FROM upstreams WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id],
  );
  return rows[0] && toUpstream(rows[0]);
}

/** false when there is no such upstream in this tenant; CORRAL_ADMIN_IN_USE while a route uses it. */
export async function deleteUpstream(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  try {
    const { rowCount } = await q.query("DELETE FROM upstreams WHERE tenant_id = $1 AND id = $2", [
      tenantId,
      id,
    ]);
    return (rowCount ?? 0) > 0;
  } catch (err) {
    if (sqlState(err) === SQLSTATE.foreignKeyViolation)
      throw new CorralError(
        "CORRAL_ADMIN_IN_USE",
        `upstream ${id} is used by a route; delete the route first`,
      );
    throw err;
  }
}
