/**
 * The shape of an indexed snapshot (built by config-client/snapshot-index.ts in the snapshot
 * worker, read by router/live-config.ts): the decompressed payload, where each tenant's bytes
 * are in it, and flat key and tenant tables (router/binary-tables.ts), all in ArrayBuffers that
 * are transferred between threads, not copied.
 */
import type { PlainConfigMeta } from "./plain-config.ts";

export interface TenantTables {
  /** tenant table slots */
  slots: Uint8Array;
  /** UTF-8 ids back to back */
  ids: Uint8Array;
  /** start of id i at idOffsets[i], end at idOffsets[i + 1] */
  idOffsets: Uint32Array;
}

export interface SnapshotIndex {
  meta: PlainConfigMeta;
  /** the decompressed protobuf Snapshot */
  payload: Uint8Array;
  /** tenant i's Tenant message is payload[ranges[2i], ranges[2i+1]) */
  tenantRanges: Uint32Array;
  /** SHA-256 of every invoke-scoped key -> (tenant index, ordinal of the key) */
  keyTable: Uint8Array;
  /** SHA-256 of every public host -> (tenant index, 0): the key table's layout */
  publicHosts: Uint8Array;
  tenants: TenantTables;
}
