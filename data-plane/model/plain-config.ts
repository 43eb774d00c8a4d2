/**
 * A tenant of a snapshot, validated and normalised (config-client/validate-snapshot.ts): what the main thread
 * decodes from the tenant's bytes on first use.
 */
import type {
  FleetSettings,
  HealthCheck,
  Limits,
  OutlierDetection,
  Quota,
  Route,
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
  /** its share of the upstream's traffic relative to the others' (1-100) */
  weight: number;
  /** what the node's down list knows it by: tenant id/upstream id and the origin */
  key: string;
}

export interface PlainUpstream {
  id: string;
  name: string;
  targets: PlainTarget[];
  connectTimeoutMs: number;
  /**
   * each node's retry budget for the upstream (retry/retry-budget.ts), defaults applied; absent
   * on the upstreams made for shard members (peer forwarding never retries)
   */
  retryBudget?: { ratio: number; floorPerSecond: number; windowMs: number };
  /** the down list keys of its targets, in order (the group the ejected share counts over) */
  targetKeys: string[];
  /** passive ejection and slow start (the snapshot's, else the defaults) */
  outlier: OutlierDetection;
  /** active checks by the shard's members; undefined: none */
  healthCheck: HealthCheck | undefined;
}

export type RouteProtocol = "http" | "grpc";

/**
 * A snapshot route (snapshot.proto Route, the same fields), validated and normalised: hosts lower
 * case without port (empty = any host), the path prefix starting with "/" with no trailing slash
 * except the root, methods upper case (empty = any), the protocol one of two, the retry statuses
 * with their defaults applied. Zero WebSocket and stream settings still mean the node's defaults;
 * clientRate / clientBurst are a public route's bucket per client address (0 = none).
 */
export interface PlainRoute extends Omit<Route, "protocol" | "retryStatuses"> {
  protocol: RouteProtocol;
  /** HTTP statuses (http routes) or gRPC codes (grpc routes) retried, defaults applied */
  retryStatuses: readonly number[];
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
