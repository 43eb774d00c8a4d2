/**
 * Where a tenant request is served (docs/design.md §4), as a pure decision over the snapshot's shard
 * table. A node serves the tenants whose shard holds its own slot; another tenant's request is
 * forwarded to a live member (default) or answered 421 with the shard (strict mode).
 *
 * Rules, in order:
 *  1. the tenant has no shard (no placement in the snapshot): serve here;
 *  2. this node is a member: serve here (a forwarded request included);
 *  3. the request was already forwarded (corral-forwarded-by), or strict mode: 421 misdirected.
 *     A forwarded request is never forwarded again, so forwarding cannot loop; and a client
 *     that forges the header gains nothing (a non-member never serves it);
 *  4. members that are live and have an address for the request's protocol (the HTTP ingress URL,
 *     or the gRPC ingress host:port): forward, trying them in a rotating order (each node
 *     round-robins its forwards over the live members);
 *  5. no live member: 503 shard_unavailable. Not served here: a tenant whose requests crash
 *     nodes would otherwise walk through the whole fleet once its own shard is down.
 */

export interface ShardMember {
  slot: string;
  zone: string;
  /** HTTP ingress URL other nodes forward to ("" when the slot has not reported one) */
  url: string;
  /** gRPC ingress host:port other nodes forward gRPC calls to ("" when not reported) */
  grpcAddress: string;
  live: boolean;
}

/** Which ingress a request came in on: forwards go to the same ingress of the member. */
export type PlacementProtocol = "http" | "grpc";

export type PlacementDecision =
  | { kind: "local" }
  | { kind: "forward"; peers: ShardMember[] }
  | { kind: "misdirected"; shard: ShardMember[] }
  | { kind: "unavailable"; shard: ShardMember[] };

export interface PlacementInput {
  /** this node's slot */
  self: string;
  /** the tenant's shard, in the snapshot's preference order */
  shard: readonly ShardMember[];
  strict: boolean;
  /** the forwarding node's slot, when the request carries a verified hop (ingress/client-origin.ts) */
  forwardedBy: string | undefined;
  /** any non-negative integer; the live members are tried from index start % count */
  start: number;
  protocol: PlacementProtocol;
}

export const LOCAL: PlacementDecision = Object.freeze({ kind: "local" });

/** Where a member takes requests of this protocol ("" when it has not reported an address). */
export function memberAddress(member: ShardMember, protocol: PlacementProtocol): string {
  return protocol === "grpc" ? member.grpcAddress : member.url;
}

/** Members a request may be forwarded to: live, with an address for its protocol, not this node. */
export function forwardable(
  shard: readonly ShardMember[],
  self: string,
  protocol: PlacementProtocol,
): ShardMember[] {
  return shard.filter((m) => m.live && memberAddress(m, protocol) !== "" && m.slot !== self);
}

/** The live members rotated to begin at start % count (the order forwards are tried in). */
export function rotate<T>(items: readonly T[], start: number): T[] {
  if (items.length === 0) return [];
  const at = Math.abs(Math.trunc(start)) % items.length;
  return [...items.slice(at), ...items.slice(0, at)];
}

export function decidePlacement(input: PlacementInput): PlacementDecision {
  const { shard, self } = input;
  if (shard.length === 0 || shard.some((m) => m.slot === self)) return LOCAL;
  if (input.forwardedBy !== undefined || input.strict) return { kind: "misdirected", shard: [...shard] };
  const peers = forwardable(shard, self, input.protocol);
  if (peers.length === 0) return { kind: "unavailable", shard: [...shard] };
  return { kind: "forward", peers: rotate(peers, input.start) };
}
