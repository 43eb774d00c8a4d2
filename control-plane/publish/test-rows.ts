/** Row fixtures for the compiler's unit tests and the in-process compile benchmark. */
import type { TenantRow } from "../store/tenants.ts";

export const ROWS_T0 = new Date("2025-01-01T00:00:00Z");

/** A tenant row with no overrides (each may be given in `over`). */
export function tenantRow(id: string, over: Partial<TenantRow> = {}): TenantRow {
  return {
    id,
    name: id.toUpperCase(),
    plan: "standard",
    status: "active",
    rate: null,
    burst: null,
    concurrency: null,
    priority: null,
    shard_size: null,
    limits_shadow: null,
    limits_disabled: null,
    egress_allow: [],
    created_at: ROWS_T0,
    updated_at: ROWS_T0,
    ...over,
  };
}

/** A route row's streaming columns when nothing is set (NULL: the node's defaults). */
export const NO_STREAMING_ROW = {
  websocket: false,
  websocket_idle_timeout_ms: null,
  websocket_max_connections: null,
  stream_idle_timeout_ms: null,
  websocket_max_message_bytes: null,
} as const;
