/**
 * A tenant's shard as nodes and clients see it: each member slot with its zone, ingress URL, gRPC
 * address and liveness from the snapshot's slot table (pure). A member the slot table does not list (it
 * cannot happen in a validated snapshot with slots) shows as not live, without an address.
 */
import type { Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { memberAddress, type PlacementProtocol, type ShardMember } from "./forwarding.ts";

export function slotTable(slots: readonly Slot[]): ReadonlyMap<string, Slot> {
  return new Map(slots.map((s) => [s.name, s]));
}

export function shardMembers(shard: readonly string[], slots: ReadonlyMap<string, Slot>): ShardMember[] {
  return shard.map((name) => {
    const slot = slots.get(name);
    return slot
      ? { slot: name, zone: slot.zone, url: slot.httpUrl, grpcAddress: slot.grpcAddress, live: slot.live }
      : { slot: name, zone: "", url: "", grpcAddress: "", live: false };
  });
}

/** The body of GET /.well-known/corral/placement/<tenant>. */
export interface PlacementView {
  tenant: string;
  /** config version the answer comes from */
  version: number;
  shard: ShardMember[];
}

/**
 * `corral-shard` header (or gRPC metadata) value: the members' addresses for the protocol (HTTP
 * ingress URLs, gRPC host:port), comma separated, members without one left out.
 */
export function shardHeader(shard: readonly ShardMember[], protocol: PlacementProtocol): string {
  return shard
    .map((m) => memberAddress(m, protocol))
    .filter((u) => u !== "")
    .join(", ");
}
