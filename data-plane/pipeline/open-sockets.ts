/**
 * The WebSockets a node holds: counted per route (each route caps its own sockets on a node,
 * `websocketMaxConnections`), per tenant (`CORRAL_WS_MAX_SOCKETS_PER_TENANT`: a tenant with
 * many routes cannot fill the node) and for the node (`CORRAL_WS_MAX_SOCKETS`). A handshake reserves
 * its slot in the `sockets` stage, before the upstream is dialled, so concurrent handshakes
 * cannot race past a cap; the slot is released when the handshake fails or the socket closes.
 *
 * Config applies never touch an open socket, with two exceptions (reconcile): when the new
 * config no longer has the socket's route (deleted, or no longer `websocket: true`) or its
 * tenant is gone or suspended, the socket is closed with 1001 after the grace period
 * (`CORRAL_WS_CLOSE_GRACE_MS`). Which sockets those are is the pure `orphaned`.
 */
import type { TimerHandle, Timers } from "../clock.ts";
import type { LiveConfig } from "../router/live-config.ts";

/** What the registry closes: a relay between a client and its upstream (websocket-relay.ts). */
export interface ClosableSocket {
  close(code: number, reason: string): void;
}

export interface SocketSlot {
  readonly tenantId: string;
  readonly routeId: string;
  /** the open socket, once the handshake completed */
  readonly socket?: ClosableSocket;
  /** the handshake completed: closes go to this socket (at once, if one was due meanwhile) */
  attach(socket: ClosableSocket): void;
  /** closes the socket with 1001 (when it is attached, if it is not yet) */
  goAway(reason: string): void;
  /** gives the slot back (once; later calls do nothing) */
  release(): void;
}

export type Reservation = SocketSlot | "route_full" | "tenant_full" | "node_full";

/** What the registry needs of a config: is this tenant's websocket route still there? */
export type RouteStillServed = (tenantId: string, routeId: string) => boolean;

/** The open sockets whose route or tenant the config no longer serves. Pure. */
export function orphaned<S extends Pick<SocketSlot, "tenantId" | "routeId">>(
  slots: Iterable<S>,
  served: RouteStillServed,
): S[] {
  const out: S[] = [];
  for (const s of slots) if (!served(s.tenantId, s.routeId)) out.push(s);
  return out;
}

/** A LiveConfig as RouteStillServed: the tenant active and the route still a websocket route. */
export function servedBy(config: LiveConfig): RouteStillServed {
  return (tenantId, routeId) => {
    const t = config.tenant(tenantId);
    if (t?.status !== "active") return false;
    return t.routes.byId(routeId)?.websocket === true;
  };
}

export interface OpenSocketsOptions {
  /** sockets on this node at most, all routes together */
  maxSockets: number;
  /** sockets of one tenant on this node at most, all its routes together */
  maxSocketsPerTenant: number;
  /** ms between a config orphaning a socket and its close */
  closeGraceMs: number;
}

/** WebSocket close code for "going away": route removed, tenant suspended, node draining. */
export const GOING_AWAY = 1001;

export class OpenSockets {
  readonly #o: OpenSocketsOptions;
  readonly #slots = new Set<SocketSlot>();
  readonly #perRoute = new Map<string, number>();
  readonly #perTenant = new Map<string, number>();
  readonly #closing = new Set<TimerHandle>();
  readonly #timers: Timers;

  constructor(options: OpenSocketsOptions, timers: Timers) {
    this.#o = options;
    this.#timers = timers;
  }

  /** sockets open or being opened on this node */
  get size(): number {
    return this.#slots.size;
  }

  /** sockets open or being opened for one route of one tenant */
  count(tenantId: string, routeId: string): number {
    return this.#perRoute.get(`${tenantId}\0${routeId}`) ?? 0;
  }

  /** sockets open or being opened for one tenant, all its routes */
  tenantCount(tenantId: string): number {
    return this.#perTenant.get(tenantId) ?? 0;
  }

  /** A slot for a new socket, or which cap refuses it. */
  reserve(tenantId: string, routeId: string, routeMax: number): Reservation {
    if (this.#slots.size >= this.#o.maxSockets) return "node_full";
    if (this.tenantCount(tenantId) >= this.#o.maxSocketsPerTenant) return "tenant_full";
    const key = `${tenantId}\0${routeId}`;
    if (this.count(tenantId, routeId) >= routeMax) return "route_full";
    increment(this.#perRoute, key, 1);
    increment(this.#perTenant, tenantId, 1);
    let released = false;
    let away: string | undefined;
    const slot: SocketSlot & { socket?: ClosableSocket } = {
      tenantId,
      routeId,
      attach(socket) {
        slot.socket = socket;
        if (away !== undefined) socket.close(GOING_AWAY, away);
      },
      goAway(reason) {
        away ??= reason;
        slot.socket?.close(GOING_AWAY, reason);
      },
      release: () => {
        if (released) return;
        released = true;
        this.#slots.delete(slot);
        increment(this.#perRoute, key, -1);
        increment(this.#perTenant, tenantId, -1);
      },
    };
    this.#slots.add(slot);
    return slot;
  }

  /** After a config change: sockets whose route or tenant it no longer serves close after the grace. */
  reconcile(served: RouteStillServed): number {
    const doomed = orphaned(this.#slots, served);
    if (doomed.length === 0) return 0;
    const timer = this.#timers.setTimeout(() => {
      this.#closing.delete(timer);
      for (const slot of doomed) slot.goAway("route or tenant removed");
    }, this.#o.closeGraceMs);
    this.#closing.add(timer);
    return doomed.length;
  }

  /** Node draining: every socket closes now with 1001; pending grace timers are dropped. */
  closeAll(reason: string): void {
    for (const t of this.#closing) this.#timers.clearTimeout(t);
    this.#closing.clear();
    for (const slot of [...this.#slots]) slot.goAway(reason);
  }
}

/** Adds `by` to a count; a count that reaches 0 leaves the map (it stays as small as what is open). */
function increment(counts: Map<string, number>, key: string, by: 1 | -1): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n <= 0) counts.delete(key);
  else counts.set(key, n);
}
