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
  "id" | "tenantId" | "createdAt" | "limits" | "clientLimits" | StreamingSetting | "websocket"
> & {
  limits?: RouteLimits;
  clientLimits?: RouteLimits;
} & StreamingInput;

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
  "public, idempotency, client_rate, client_burst, created_at, " +
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

/** Caller has checked the tenant exists (assertTenantExists) in the same transaction. */
export async function insertRoute(q: Queryable, tenantId: string, r: NewRoute): Promise<Route> {
  try {
    const { rows } = await q.query<RouteRow>(
      `INSERT INTO routes (id, tenant_id, path_prefix, hosts, methods, upstream_id, timeout_ms, protocol,
                           strip_prefix, rate, burst, public, idempotency, client_rate, client_burst,
                           websocket, websocket_idle_timeout_ms, websocket_max_connections,
                           stream_idle_timeout_ms, websocket_max_message_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
       RETURNING ${COLUMNS}`,
      [
        newRouteId(),
        tenantId,
        r.pathPrefix,
        r.hosts,
        r.methods,
        r.upstreamId,
        r.timeoutMs,
        r.protocol,
        r.stripPrefix,
        r.limits?.rate ?? null,
        r.limits?.burst ?? null,
        r.public,
        r.idempotency,
        r.clientLimits?.rate ?? null,
        r.clientLimits?.burst ?? null,
        r.websocket ?? false,
        r.websocketIdleTimeoutMs ?? null,
        r.websocketMaxConnections ?? null,
        r.streamIdleTimeoutMs ?? null,
        r.websocketMaxMessageBytes ?? null,
      ],
    );
    return toRoute(rows[0]!);
  } catch (err) {
    if (sqlState(err) === SQLSTATE.foreignKeyViolation) {
      throw new CorralError(
        "CORRAL_ADMIN_VALIDATION",
        `upstream ${r.upstreamId} does not exist in tenant ${tenantId}`,
      );
    }
    throw err;
  }
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
