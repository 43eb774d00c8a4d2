/** A tenant's routes. Every query is scoped by tenant_id; the upstream must be the tenant's own. */
import { randomBytes } from "node:crypto";
import type { StreamingSetting } from "../../proto/route-streaming.ts";
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
  /** keyless: reached by host without an API key (names its hosts) */
  public: boolean;
  /** POST/PATCH with Idempotency-Key (gRPC: unary calls with idempotency-key metadata) run once, the first answer replayed */
  idempotency: boolean;
  /** the per-client-address bucket of a public route; null: none */
  clientLimits: RouteLimits | null;
  createdAt: string;
  /** accepts WebSocket upgrades */
  websocket: boolean;
  /** the streaming settings; 0: the node's default (proto/route-streaming.ts) */
  websocketIdleTimeoutMs: number;
  websocketMaxConnections: number;
  streamIdleTimeoutMs: number;
  websocketMaxMessageBytes: number;
}

type StreamingInput = Partial<Pick<Route, StreamingSetting | "websocket">>;

export type NewRoute = Omit<
  Route,
  "id" | "tenantId" | "createdAt" | "limits" | "clientLimits" | "retries" | StreamingSetting | "websocket"
> & {
  limits?: RouteLimits;
  clientLimits?: RouteLimits;
  retries?: RouteRetries;
} & StreamingInput;

/**
 * What a PATCH may change: any field of a new route; `limits: null` / `clientLimits: null` remove
 * a bucket.
 */
export type RoutePatch = Partial<Omit<NewRoute, "limits" | "clientLimits">> & {
  limits?: RouteLimits | null;
  clientLimits?: RouteLimits | null;
};

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
  public: boolean;
  idempotency: boolean;
  client_rate: number | null;
  client_burst: number | null;
  created_at: Date;
  websocket: boolean;
  websocket_idle_timeout_ms: number | null;
  websocket_max_connections: number | null;
  stream_idle_timeout_ms: number | null;
  websocket_max_message_bytes: number | null;
}

const COLUMNS =
  "id, tenant_id, path_prefix, hosts, methods, upstream_id, timeout_ms, protocol, strip_prefix, rate, burst, " +
  "retry_attempts, retry_statuses, public, idempotency, client_rate, client_burst, created_at, " +
  "websocket, websocket_idle_timeout_ms, websocket_max_connections, stream_idle_timeout_ms, websocket_max_message_bytes";

function bucket(rate: number | null, burst: number | null): RouteLimits | null {
  return rate === null || burst === null ? null : { rate, burst };
}

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
    limits: bucket(r.rate, r.burst),
    retries: { attempts: r.retry_attempts, statuses: r.retry_statuses },
    public: r.public,
    idempotency: r.idempotency,
    clientLimits: bucket(r.client_rate, r.client_burst),
    createdAt: r.created_at.toISOString(),
    websocket: r.websocket,
    websocketIdleTimeoutMs: r.websocket_idle_timeout_ms ?? 0,
    websocketMaxConnections: r.websocket_max_connections ?? 0,
    streamIdleTimeoutMs: r.stream_idle_timeout_ms ?? 0,
    websocketMaxMessageBytes: r.websocket_max_message_bytes ?? 0,
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
    r.public,
    r.idempotency,
    r.clientLimits?.rate ?? null,
    r.clientLimits?.burst ?? null,
    r.websocket ?? false,
    // 0 (or absent): the node's default, stored as NULL
    r.websocketIdleTimeoutMs || null,
    r.websocketMaxConnections || null,
    r.streamIdleTimeoutMs || null,
    r.websocketMaxMessageBytes || null,
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
                                   strip_prefix, rate, burst, retry_attempts, retry_statuses, public,
                                   idempotency, client_rate, client_burst, websocket, websocket_idle_timeout_ms,
                                   websocket_max_connections, stream_idle_timeout_ms, websocket_max_message_bytes)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
                       $20, $21, $22) RETURNING ${COLUMNS}`;
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
                      retry_statuses = $13, public = $14, idempotency = $15, client_rate = $16,
                      client_burst = $17, websocket = $18, websocket_idle_timeout_ms = $19,
                      websocket_max_connections = $20, stream_idle_timeout_ms = $21,
                      websocket_max_message_bytes = $22
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
