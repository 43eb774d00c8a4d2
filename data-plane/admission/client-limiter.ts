/**
 * The per-client-address limit of public routes (docs/design.md §5.1): each client address
 * (IPv6: its prefix, client-address.ts) gets the route's client bucket on this node, so one
 * caller cannot take the whole public limit. Client addresses are high-cardinality, so each
 * route keeps them in a HeavyHitterBuckets of fixed size (heavy-hitters.ts): the top talkers
 * are limited exactly, the rest at worst get one fresh burst after being evicted. At most
 * `maxRoutes` routes are tracked (the least recently used goes), so memory is bounded by
 * maxRoutes x slots entries whatever the traffic. Pure: the clock comes with every call.
 */
import { clientAddressKey } from "./client-address.ts";
import type { AdmissionDecision, LimiterMode } from "./decision.ts";
import { admitShadowed, combineModes, reject, retryAfterSeconds } from "./decision.ts";
import { HeavyHitterBuckets } from "./heavy-hitters.ts";

export interface ClientLimiterOptions {
  /** client addresses tracked per route */
  slots: number;
  /** public routes tracked at once */
  maxRoutes: number;
  /** IPv6 clients count per prefix of this length */
  ipv6Prefix: number;
  /** how fast a client's count fades (heavy-hitters.ts) */
  halfLifeMs?: number;
}

export type ClientLimits = LimiterMode & { rate: number; burst: number };

export class ClientLimiter {
  readonly #o: ClientLimiterOptions;
  readonly #routes = new Map<string, HeavyHitterBuckets>();
  #mode: LimiterMode = {};

  constructor(options: ClientLimiterOptions) {
    this.#o = options;
  }

  /** Fleet-wide switches from config (the rate limiters' shadow mode and kill switch). */
  setMode(mode: LimiterMode): void {
    this.#mode = { ...mode };
  }

  /** Routes tracked now, and client slots in use over all of them. */
  get size(): { routes: number; clients: number } {
    let clients = 0;
    for (const hh of this.#routes.values()) clients += hh.size;
    return { routes: this.#routes.size, clients };
  }

  admit(routeId: string, address: string, limits: ClientLimits, nowMs: number): AdmissionDecision {
    const mode = combineModes(this.#mode, limits);
    if (mode.disabled || !(limits.rate > 0)) return { admit: true };
    const burst = Math.max(1, limits.burst);
    const taken = this.#route(routeId).take(
      clientAddressKey(address, this.#o.ipv6Prefix),
      { rate: limits.rate, burst },
      nowMs,
    );
    if (taken.ok) return { admit: true };
    if (mode.shadow) return admitShadowed("client_rate");
    return reject("client_rate", "this client address is over the route's per-client limit", {
      retryAfterS: retryAfterSeconds(taken.retryAfterMs),
    });
  }

  /** The route's structure, most recently used last (the least recently used goes first). */
  #route(routeId: string): HeavyHitterBuckets {
    let hh = this.#routes.get(routeId);
    if (hh) {
      this.#routes.delete(routeId);
    } else {
      hh = new HeavyHitterBuckets(this.#o.slots, this.#o.halfLifeMs);
      if (this.#routes.size >= this.#o.maxRoutes) this.#routes.delete(this.#routes.keys().next().value!);
    }
    this.#routes.set(routeId, hh);
    return hh;
  }
}
