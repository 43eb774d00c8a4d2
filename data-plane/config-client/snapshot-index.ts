/**
 * What the snapshot worker hands to the main thread: the decompressed payload, where each
 * tenant's bytes are in it, and flat key and tenant tables (router/binary-tables.ts). All of
 * it lives in ArrayBuffers that are transferred, not copied; tenants are decoded on the main
 * thread only when a request first needs them. Pure.
 */
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { publicHosts } from "../../proto/snapshot-consistency.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import {
  buildKeyTable,
  buildTenantTables,
  DuplicateKeyError,
  hashHost,
  type KeyRef,
} from "../router/binary-tables.ts";
import { ConfigApplyError } from "../errors.ts";
import type { PlainConfigMeta } from "../model/plain-config.ts";
import type { SnapshotIndex } from "../model/snapshot-index.ts";

const TENANTS_FIELD = 5; // Snapshot.tenants

/** Byte ranges of the top-level repeated `tenants` field, in order. */
export function scanTenantRanges(payload: Uint8Array): Uint32Array {
  const reader = new BinaryReader(payload);
  const ranges: number[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === TENANTS_FIELD && wireType === WireType.LengthDelimited) {
      const length = reader.uint32();
      ranges.push(reader.pos, reader.pos + length);
      reader.pos += length;
    } else {
      reader.skip(wireType, field);
    }
  }
  if (reader.pos !== reader.len) throw new Error("payload ends inside a field");
  return Uint32Array.from(ranges);
}

function invokeKeys(snapshot: Snapshot): KeyRef[] {
  const keys: KeyRef[] = [];
  snapshot.tenants.forEach((t, tenantIndex) => {
    t.keys.forEach((k, ordinal) => {
      if (k.scopes.includes("invoke")) keys.push({ hash: k.hash, tenantIndex, ordinal });
    });
  });
  return keys;
}

function keyTable(snapshot: Snapshot): Uint8Array {
  try {
    return buildKeyTable(invokeKeys(snapshot));
  } catch (err) {
    if (!(err instanceof DuplicateKeyError)) throw err;
    const t = snapshot.tenants[err.key.tenantIndex]!;
    const where = `tenant ${JSON.stringify(t.id)} key ${JSON.stringify(t.keys[err.key.ordinal]?.id)}`;
    throw new ConfigApplyError(
      "CORRAL_DP_CONFIG_INVALID",
      `${where}: key hash appears twice in the snapshot`,
    );
  }
}

/**
 * Public host -> tenant, in the key table's layout. The consistency check already refused a host
 * public for two tenants; a duplicate here is refused again rather than resolved by order.
 */
function publicHostTable(snapshot: Snapshot): Uint8Array {
  const hosts: KeyRef[] = [];
  snapshot.tenants.forEach((t, tenantIndex) => {
    for (const host of publicHosts(t)) hosts.push({ hash: hashHost(host), tenantIndex, ordinal: 0 });
  });
  try {
    return buildKeyTable(hosts);
  } catch (err) {
    if (!(err instanceof DuplicateKeyError)) throw err;
    const t = snapshot.tenants[err.key.tenantIndex]!;
    throw new ConfigApplyError(
      "CORRAL_DP_CONFIG_INVALID",
      `tenant ${JSON.stringify(t.id)}: public host taken`,
    );
  }
}

/** Builds the index of a snapshot that has already been validated. */
export function buildSnapshotIndex(
  meta: PlainConfigMeta,
  payload: Uint8Array,
  snapshot: Snapshot,
): SnapshotIndex {
  const tenantRanges = scanTenantRanges(payload);
  if (tenantRanges.length / 2 !== snapshot.tenants.length)
    throw new Error("tenant ranges do not match the tenants");
  return {
    meta,
    payload,
    tenantRanges,
    keyTable: keyTable(snapshot),
    publicHosts: publicHostTable(snapshot),
    tenants: buildTenantTables(snapshot.tenants.map((t) => t.id)),
  };
}

/** The typed arrays of an index, for a transfer list. */
export function indexArrays(index: SnapshotIndex): Uint8Array[] {
  const { payload, tenantRanges, keyTable, publicHosts, tenants } = index;
  return [
    payload,
    new Uint8Array(tenantRanges.buffer),
    keyTable,
    publicHosts,
    tenants.slots,
    tenants.ids,
    new Uint8Array(tenants.idOffsets.buffer),
  ];
}
