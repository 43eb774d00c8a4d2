/** A tenant's routes. Every query is scoped by tenant_id; the upstream must be the tenant's own. */
import { randomBytes } from "node:crypto";
import { CorralError } from "../errors.ts";
import { type Queryable, SQLSTATE, sqlState } from "./db.ts";

export type RouteProtocol = "http" | "grpc";

/** The route's own token bucket (whole tenant, split over its shard like the tenant's) */
export interface RouteLimits {
  rate: number;
  burst: number;
}

/** How a failed attempt is retried (data-plane/retry/retry-policy.ts) */
export interface RouteRetries {
  /** retries after the first attempt, 0-10 (0: none) */
  attempts: number;
  /** HTTP statuses (http routes) or gRPC codes (grpc routes) retried; empty: the default */
  statuses: number[];
}

export const NO_RETRIES: Readonly<RouteRetries> = Object.freeze({ attempts: 0, statuses: [] });

export interface Route {
  id: string;
  tenantId: string;
  pathPrefix: string;
  hosts: string[];
  methods: string[];
  upstreamId: string;
  timeoutMs: number;
  protocol: RouteProtocol;
  stripPrefix: boolean;
  /** null: no route bucket */
  limits: RouteLimits | null;
  retries: RouteRetries;
  createdAt: string;
}

export type NewRoute = Omit<Route, "id" | "tenantId" | "createdAt" | "limits" | "retries"> & {
  limits?: RouteLimits;
  retries?: RouteRetries;
};

/** What a PATCH may change: any field of a new route; `limits: null` removes the route bucket. */
export type RoutePatch = Partial<Omit<NewRoute, "limits">> & { limits?: RouteLimits | null };

export interface RouteRow {
  id: string;
  tenant_id: string;
  path_prefix: string;
  hosts: string[];
  methods: string[];
  upstream_id: string;
  timeout_ms: number;
  protocol: RouteProtocol;
  strip_prefix: boolean;
  rate: number | null;
  burst: number | null;
  retry_attempts: number;
  retry_statuses: number[];
  created_at: Date;
}

const COLUMNS =
  "id, tenant_id, path_prefix, hosts, methods, upstream_id, timeout_ms, protocol, strip_prefix, rate, burst, " +
  "retry_attempts, retry_statuses, created_at";

function toRoute(r: RouteRow): Route {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    pathPrefix: r.path_prefix,
    hosts: r.hosts,
    methods: r.methods,
    upstreamId: r.upstream_id,
    timeoutMs: r.timeout_ms,
    protocol: r.protocol,
    stripPrefix: r.strip_prefix,
    limits: r.rate === null || r.burst === null ? null : { rate: r.rate, burst: r.burst },
    retries: { attempts: r.retry_attempts, statuses: r.retry_statuses },
    createdAt: r.created_at.toISOString(),
  };
}

export function newRouteId(): string {
  return `rt_${randomBytes(8).toString("hex")}`;
}

/** The columns after id and tenant_id, in order ($3...), of a route as stored. */
function routeValues(r: NewRoute): unknown[] {
  const retries = r.retries ?? NO_RETRIES;
  return [
    r.pathPrefix,
    r.hosts,
    r.methods,
    r.upstreamId,
    r.timeoutMs,
    r.protocol,
    r.stripPrefix,
    r.limits?.rate ?? null,
    r.limits?.burst ?? null,
    retries.attempts,
    retries.statuses,
  ];
}

/** Runs an INSERT or UPDATE ... RETURNING; naming another tenant's (or no) upstream is a validation error. */
async function writeRoute(
  q: Queryable,
  sql: string,
  values: unknown[],
  tenantId: string,
  upstreamId: string,
) {
  try {
    const { rows } = await q.query<RouteRow>(sql, values);
    return rows[0] && toRoute(rows[0]);
  } catch (err) {
    if (sqlState(err) === SQLSTATE.foreignKeyViolation) {
      throw new CorralError(
        "CORRAL_ADMIN_VALIDATION",
        `upstream ${upstreamId} does not exist in tenant ${tenantId}`,
      );
    }
    throw err;
  }
}

/** Caller has checked the tenant exists (assertTenantExists) in the same transaction. */
export async function insertRoute(q: Queryable, tenantId: string, r: NewRoute): Promise<Route> {
  const sql = `INSERT INTO routes (id, tenant_id, path_prefix, hosts, methods, upstream_id, timeout_ms, protocol,
                                   strip_prefix, rate, burst, retry_attempts, retry_statuses)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${COLUMNS}`;
  return (await writeRoute(q, sql, [newRouteId(), tenantId, ...routeValues(r)], tenantId, r.upstreamId))!;
}

/** Replaces the route's fields with `r` (the caller merged the patch); undefined: no such route in this tenant. */
export function replaceRoute(
  q: Queryable,
  tenantId: string,
  id: string,
  r: NewRoute,
): Promise<Route | undefined> {
  const sql = `UPDATE routes SET path_prefix = $3, hosts = $4, methods = $5, upstream_id = $6, timeout_ms = $7,
                      protocol = $8, strip_prefix = $9, rate = $10, burst = $11, retry_attempts = $12,
                      retry_statuses = $13
                WHERE tenant_id = $2 AND id = $1 RETURNING ${COLUMNS}`;
  return writeRoute(q, sql, [id, tenantId, ...routeValues(r)], tenantId, r.upstreamId);
}

export async function listRoutes(q: Queryable, tenantId: string): Promise<Route[]> {
  const { rows } = await q.query<RouteRow>(
    `SELECT ${COLUMNS} FROM routes WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
  return rows.map(toRoute);
}

export async function getRoute(q: Queryable, tenantId: string, id: string): Promise<Route | undefined> {
  const { rows } = await q.query<RouteRow>(`SELECT ${COLUMNS} FROM routes WHERE tenant_id = $1 AND id = $2`, [
    tenantId,
    id,
  ]);
  return rows[0] && toRoute(rows[0]);
}

export async function deleteRoute(q: Queryable, tenantId: string, id: string): Promise<boolean> {
  const { rowCount } = await q.query("DELETE FROM routes WHERE tenant_id = $1 AND id = $2", [tenantId, id]);
  return (rowCount ?? 0) > 0;
}
