/**
 * A tenant of a snapshot, validated and normalised (config-client/validate-snapshot.ts): what the main thread
 * decodes from the tenant's bytes on first use.
 */
import type {
  FleetSettings,
  Limits,
  Quota,
  Slot,
  Tenant,
} from "../../proto/gen/corral/snapshot/v1/snapshot.ts";

export interface PlainTarget {
  /** as configured, e.g. http://10.0.0.1:8080/base or 10.0.0.1:9000 (gRPC) */
  url: string;
  /** scheme://host:port the connection pool is keyed by */
  origin: string;
  /** path the target was configured with, without a trailing slash ("" for none) */
  basePath: string;
}

export interface PlainUpstream {
  id: string;
  name: string;
  targets: PlainTarget[];
  connectTimeoutMs: number;
}

export type RouteProtocol = "http" | "grpc";

export interface PlainRoute {
  id: string;
  /** lower case, no port; empty = any host */
  hosts: string[];
  /** starts with "/", no trailing slash except the root "/" */
  pathPrefix: string;
  /** upper case; empty = any method */
  methods: string[];
  upstreamId: string;
  timeoutMs: number;
  protocol: RouteProtocol;
  public: boolean;
  limits: Limits | undefined;
  idempotency: boolean;
  retries: number;
  stripPrefix: boolean;
  /** the route accepts WebSocket upgrades; the settings below are the node's defaults for 0 */
  websocket: boolean;
  websocketIdleTimeoutMs: number;
  /** open sockets of this route on this node */
  websocketMaxConnections: number;
  websocketMaxMessageBytes: number;
  /** after the response head, the longest pause in its body (the route timeout no longer applies) */
  streamIdleTimeoutMs: number;
  /** public routes: each client address's bucket (per node), requests per second; 0 = none */
  clientRate: number;
  clientBurst: number;
}

/** A key's hash lives only in the key table (router/binary-tables.ts). */
export interface PlainKey {
  id: string;
  /** the key may call the tenant's routes (scope invoke) */
  invoke: boolean;
  /** the key's own period quota, checked beside the tenant's (absent: only the tenant's) */
  quota?: Quota;
}

export type TenantStatus = "active" | "suspended";

export interface PlainTenant {
  id: string;
  name: string;
  status: TenantStatus;
  plan: string;
  limits: Limits | undefined;
  shard: string[];
  keys: PlainKey[];
  routes: PlainRoute[];
  upstreams: PlainUpstream[];
  /** the tenant's own egress exceptions (canonical allow entries), added to the fleet's */
  egressAllow: string[];
}

/** Validates and normalises a decoded tenant (config-client/validate-snapshot.ts plainTenant). */
export type ReadTenant = (tenant: Tenant) => PlainTenant;

/** Everything about a snapshot except its tenants, which stay bytes until first use. */
export interface PlainConfigMeta {
  version: number;
  epoch: number;
  createdAtMs: number;
  /** hex SHA-256 of the payload (from the signed header): identifies the content */
  digestHex: string;
  slots: Slot[];
  settings: FleetSettings | undefined;
  tenantCount: number;
}
