/**
 * How many bytes one tenant adds to the snapshot's (uncompressed) protobuf payload. Pure.
 * Its shard depends on the fleet, which a tenant's change does not read, so it is counted as
 * k names of the longest slot name allowed: an upper bound on whatever the compiler puts there.
 */
import { Tenant } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";

/** Slot names are at most 63 characters (SLOT_NAME_PATTERN and the Hello's rule). */
export const MAX_SLOT_NAME_BYTES = 63;

function varintBytes(n: number): number {
  let bytes = 1;
  for (let v = n; v >= 0x80; v = Math.floor(v / 0x80)) bytes++;
  return bytes;
}

/** `tenant` as compileTenant builds it with an empty shard; the result counts its field tag and length. */
export function tenantPayloadBytes(tenant: Tenant): number {
  const shard = tenant.limits?.shardSize ?? 0;
  const body = Tenant.encode({ ...tenant, shard: [] }).finish().length + shard * (2 + MAX_SLOT_NAME_BYTES);
  return 1 + varintBytes(body) + body;
}
