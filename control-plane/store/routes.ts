/** A tenant's routes. Every query is scoped by tenant_id; the upstream must be the tenant's own. */
import { STREAMING_SETTINGS, type StreamingSetting } from "../../proto/route-streaming.ts";
import { CorralError } from "../errors.ts";
import { SQLSTATE } from "./db.ts";
import { columnOf, tenantTable } from "./tenant-resource.ts";

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

/** Fields stored as they are, each in the column of its snake_case name. */
const PLAIN = [
  "pathPrefix",
  "hosts",
  "methods",
  "upstreamId",
  "timeoutMs",
  "protocol",
  "stripPrefix",
  "public",
  "idempotency",
] as const;

/** A bucket's two columns (`rate`, `burst` under a prefix); either NULL: no bucket. */
function bucketColumns(prefix: string, of: (r: NewRoute) => RouteLimits | undefined) {
  return {
    [`${prefix}rate`]: (r: NewRoute) => of(r)?.rate ?? null,
    [`${prefix}burst`]: (r: NewRoute) => of(r)?.burst ?? null,
  };
}

function bucket(rate: number | null, burst: number | null): RouteLimits | null {
  return rate === null || burst === null ? null : { rate, burst };
}

/** The streaming settings: 0 (or absent) is the node's default, stored as NULL. */
const streamingColumns = Object.fromEntries(
  STREAMING_SETTINGS.map((s) => [columnOf(s), (r: NewRoute) => r[s] || null]),
);

function streamingFields(r: RouteRow): Pick<Route, StreamingSetting> {
  const stored = r as unknown as Record<string, number | null>;
  return Object.fromEntries(STREAMING_SETTINGS.map((s) => [s, stored[columnOf(s)] ?? 0])) as Pick<
    Route,
    StreamingSetting
  >;
}

/** The statements of the routes table; naming another tenant's (or no) upstream is a validation error. */
export const routeTable = tenantTable<RouteRow, Route, NewRoute, (typeof PLAIN)[number]>({
  table: "routes",
  idPrefix: "rt_",
  plain: PLAIN,
  columns: {
    ...bucketColumns("", (r) => r.limits),
    retry_attempts: (r) => (r.retries ?? NO_RETRIES).attempts,
    retry_statuses: (r) => (r.retries ?? NO_RETRIES).statuses,
    ...bucketColumns("client_", (r) => r.clientLimits),
    websocket: (r) => r.websocket ?? false,
    ...streamingColumns,
  },
  fields: (r) => ({
    limits: bucket(r.rate, r.burst),
    retries: { attempts: r.retry_attempts, statuses: r.retry_statuses },
    clientLimits: bucket(r.client_rate, r.client_burst),
    websocket: r.websocket,
    ...streamingFields(r),
  }),
  writeRefusals: {
    [SQLSTATE.foreignKeyViolation]: (r, tenantId) =>
      new CorralError(
        "CORRAL_ADMIN_VALIDATION",
        `upstream ${r.upstreamId} does not exist in tenant ${tenantId}`,
      ),
  },
});
