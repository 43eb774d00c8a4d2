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

/**
 * The encoded Snapshot of `frame` (its own tenants ignored) with these tenant entries.
 * `placed(i, view)` is told where entry i landed in the payload: a caller that keeps the
 * views instead of the entries hands them back next time, and entries that lie back to back
 * in one buffer are copied as one run (a version that changes a few of 100,000 tenants then
 * copies a few long runs instead of 100,000 small pieces).
 */
export function assemblePayload(
  frame: Snapshot,
  entries: readonly Uint8Array[],
  placed?: (index: number, view: Uint8Array) => void,
): Buffer {
  const head = Snapshot.encode({ ...frame, tenants: [], settings: undefined }).finish();
  const tail = Snapshot.encode({
    version: 0,
    epoch: 0,
    createdAtMs: 0,
    slots: [],
    tenants: [],
    settings: frame.settings,
  }).finish();
  let total = head.length + tail.length;
  for (const e of entries) total += e.byteLength;
  // not from the shared pool: views into it are kept for the next version
  const out = Buffer.allocUnsafeSlow(total);
  out.set(head, 0);
  let at = head.length;
  for (let i = 0; i < entries.length; ) {
    const first = entries[i]!;
    let end = first.byteOffset + first.byteLength;
    let j = i + 1;
    for (; j < entries.length && entries[j]!.buffer === first.buffer && entries[j]!.byteOffset === end; j++)
      end += entries[j]!.byteLength;
    out.set(new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset), at);
    for (; i < j; i++) {
      const len = entries[i]!.byteLength;
      placed?.(i, new Uint8Array(out.buffer, out.byteOffset + at, len));
      at += len;
    }
  }
  out.set(tail, at);
  return out;
}
