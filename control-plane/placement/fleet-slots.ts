/**
 * The fleet's slot table (docs/design.md §4), from what operators declared and what nodes reported.
 * Pure: rows and a clock in, slots out.
 *
 *  - A declared slot is always part of the fleet, connected or not.
 *  - A slot only a node registered (by its Hello) stays while it is live, and for the forget
 *    delay after its node was last seen (placement/effective-slots.ts); then it drops out.
 *  - live: a CP replica holds the node's sync connection and has seen it within the liveness
 *    window. Replicas refresh last_seen of their connections every ping interval (15 s), so a
 *    window of 4 ping intervals (60 s) outlasts two missed pongs; a replica that died without
 *    clearing its connections stops refreshing them and its nodes turn dead after the window.
 *  - Zone and addresses: the declaration wins where it sets them, else the node's Hello.
 */
import type { Slot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { effectiveSlots, type KnownSlot } from "./effective-slots.ts";

export { DEFAULT_FORGET_DELAY_MS } from "./effective-slots.ts";
export const DEFAULT_LIVE_WINDOW_MS = 60_000;

export interface DeclaredSlotRow {
  name: string;
  zone: string;
  http_url: string;
  grpc_address: string;
  created_at: Date;
  updated_at: Date;
}

/** What the fleet view needs of a node's row (store/nodes.ts NodeRow has these and more). */
export interface NodeSighting {
  slot: string;
  zone: string;
  http_url: string;
  grpc_address: string;
  last_seen: Date;
  connected_cp: string | null;
}

export interface SlotPolicy {
  /** wall clock of the database that wrote last_seen */
  nowMs: number;
  liveWindowMs: number;
  forgetDelayMs: number;
}

/** What the admin API shows of one slot. */
export interface SlotView {
  name: string;
  zone: string;
  httpUrl: string;
  grpcAddress: string;
  declared: boolean;
  registered: boolean;
  /** the zone the node reported, when one did */
  reportedZone: string | null;
  live: boolean;
  lastSeen: string | null;
  /** part of placements now */
  inFleet: boolean;
  /** when this slot drops out of placements unless its node comes back (undeclared, not live) */
  forgetAt: string | null;
}

export function isNodeLive(node: NodeSighting, nowMs: number, liveWindowMs: number): boolean {
  return node.connected_cp !== null && nowMs - node.last_seen.getTime() <= liveWindowMs;
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Names of the registered-only slots still inside their forget delay. */
function rememberedNodes(
  nodes: readonly NodeSighting[],
  declared: ReadonlyMap<string, DeclaredSlotRow>,
  policy: SlotPolicy,
): Set<string> {
  const known: KnownSlot[] = nodes
    .filter((n) => !declared.has(n.slot))
    .map((n) => ({
      name: n.slot,
      zone: n.zone,
      lastSeenMs: n.last_seen.getTime(),
      live: isNodeLive(n, policy.nowMs, policy.liveWindowMs),
    }));
  return new Set(effectiveSlots(known, policy.nowMs, policy.forgetDelayMs).map((s) => s.name));
}

/** Every slot known from either source, merged, sorted by name. */
export function slotViews(
  declaredRows: readonly DeclaredSlotRow[],
  nodes: readonly NodeSighting[],
  policy: SlotPolicy,
): SlotView[] {
  const declared = new Map(declaredRows.map((d) => [d.name, d]));
  const registered = new Map(nodes.map((n) => [n.slot, n]));
  const remembered = rememberedNodes(nodes, declared, policy);
  const names = new Set([...declared.keys(), ...registered.keys()]);
  return [...names]
    .map((name) => mergeSlot(name, declared.get(name), registered.get(name), remembered.has(name), policy))
    .sort(byName);
}

function mergeSlot(
  name: string,
  d: DeclaredSlotRow | undefined,
  n: NodeSighting | undefined,
  remembered: boolean,
  policy: SlotPolicy,
): SlotView {
  const live = n ? isNodeLive(n, policy.nowMs, policy.liveWindowMs) : false;
  const lastSeenMs = n?.last_seen.getTime();
  return {
    name,
    zone: d?.zone ?? n!.zone,
    httpUrl: d?.http_url || n?.http_url || "",
    grpcAddress: d?.grpc_address || n?.grpc_address || "",
    declared: d !== undefined,
    registered: n !== undefined,
    reportedZone: n?.zone ?? null,
    live,
    lastSeen: lastSeenMs === undefined ? null : new Date(lastSeenMs).toISOString(),
    inFleet: d !== undefined || remembered,
    forgetAt:
      d === undefined && !live && lastSeenMs !== undefined
        ? new Date(lastSeenMs + policy.forgetDelayMs).toISOString()
        : null,
  };
}

/** The snapshot's slot table: the slots in the fleet now, sorted by name. */
export function fleetSlots(
  declaredRows: readonly DeclaredSlotRow[],
  nodes: readonly NodeSighting[],
  policy: SlotPolicy,
): Slot[] {
  return slotViews(declaredRows, nodes, policy)
    .filter((v) => v.inFleet)
    .map((v) => ({
      name: v.name,
      zone: v.zone,
      httpUrl: v.httpUrl,
      grpcAddress: v.grpcAddress,
      live: v.live,
      lastSeenMs: v.lastSeen === null ? 0 : Date.parse(v.lastSeen),
    }));
}

/**
 * What of a slot table matters to the fleet: membership, zones, addresses and liveness, not
 * last-seen times (which move with every heartbeat). Equal fingerprints need no new version.
 */
export function slotTableFingerprint(slots: readonly Slot[]): string {
  return JSON.stringify(slots.map((s) => [s.name, s.zone, s.httpUrl, s.grpcAddress, s.live]));
}
