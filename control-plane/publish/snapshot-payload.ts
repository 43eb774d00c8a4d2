/**
 * The snapshot's protobuf payload built from pieces (pure). A repeated message field is, on
 * the wire, the concatenation of its elements each as (tag, length, bytes), and Snapshot.encode
 * writes its fields in field order: version, epoch, createdAtMs, slots, then tenants (field 5),
 * then settings. So the payload is the frame's fields before the tenants, each tenant's
 * encoded entry in snapshot order, then the frame's fields after them — byte for byte what
 * Snapshot.encode gives for the whole message. One tenant's entry can be kept between
 * versions (as its place in the last payload) and reused as long as nothing in it changed.
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
 * A tenant's entry in a payload: its own bytes (`entry`, freshly encoded), or where it lies in
 * the previous payload (`at`, `len`). Assembly moves `at` to where it lies in the new one and
 * drops `entry` (the bytes live in the payload from then on).
 */
export interface PlacedEntry {
  entry?: Uint8Array | undefined;
  at: number;
  len: number;
}

/**
 * The encoded Snapshot of `frame` (its own tenants ignored) with these tenant entries in order.
 * Entries without their own bytes are copied from `previous`, back-to-back ones as one run (a
 * version that changes a few of 100,000 tenants copies a few long runs and writes one number per
 * tenant, without an object per tenant). With `spare`, the payload is written into that memory
 * when it fits (it must not overlap `previous`).
 */
export function assemblePayload(
  frame: Snapshot,
  entries: readonly PlacedEntry[],
  previous?: Uint8Array,
  spare?: ArrayBuffer,
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
  for (const e of entries) total += e.entry ? e.entry.byteLength : e.len;
  // the memory of a payload nothing uses any more when it is large enough, else new memory with
  // room to grow (tens of MB a version otherwise: V8 answers such external allocation with
  // full garbage collections, hundreds of ms of marking at 100,000 tenants)
  const out =
    spare && spare.byteLength >= total
      ? Buffer.from(spare, 0, total)
      : Buffer.from(new ArrayBuffer(total + (total >>> 4)), 0, total);
  out.set(head, 0);
  let at = head.length;
  for (let i = 0; i < entries.length; ) {
    const first = entries[i]!;
    if (first.entry) {
      out.set(first.entry, at);
      first.len = first.entry.byteLength;
      first.entry = undefined;
      first.at = at;
      at += first.len;
      i++;
      continue;
    }
    if (!previous) throw new Error("a kept entry needs the previous payload");
    const from = first.at;
    let end = from;
    for (; i < entries.length && !entries[i]!.entry && entries[i]!.at === end; i++) {
      const e = entries[i]!;
      end += e.len;
      e.at = at + (e.at - from);
    }
    out.set(previous.subarray(from, end), at);
    at += end - from;
  }
  out.set(tail, at);
  return out;
}
