/**
 * The snapshot's protobuf payload built from pieces (pure). A repeated message field is, on
 * the wire, the concatenation of its elements each as (tag, length, bytes), and Snapshot.encode
 * writes its fields in field order: version, epoch, createdAtMs, slots, then tenants (field 5),
 * then settings. So the payload is the frame's fields before the tenants, each tenant's
 * encoded entry in snapshot order, then the frame's fields after them — byte for byte what
 * Snapshot.encode gives for the whole message. One tenant's entry can be kept between
 * versions and reused as long as nothing in it changed.
 */
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Snapshot, Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";

/** field 5 (tenants), wire type 2 (length-delimited) */
const TENANTS_TAG = (5 << 3) | 2;

/** One tenant as an element of Snapshot.tenants: tag, length, encoded Tenant. */
export function tenantEntry(tenant: Tenant): Uint8Array {
  const writer = new BinaryWriter();
  Tenant.encode(tenant, writer.uint32(TENANTS_TAG).fork()).join();
  return writer.finish();
}

/** The encoded Snapshot of `frame` (its own tenants ignored) with these tenant entries. */
export function assemblePayload(frame: Snapshot, entries: readonly Uint8Array[]): Buffer {
  const head = Snapshot.encode({ ...frame, tenants: [], settings: undefined }).finish();
  const tail = Snapshot.encode({
    version: 0,
    epoch: 0,
    createdAtMs: 0,
    slots: [],
    tenants: [],
    settings: frame.settings,
  }).finish();
  return Buffer.concat([head, ...entries, tail]);
}
