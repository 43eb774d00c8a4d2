/**
 * What the HTTP pools (http/upstream-pools.ts) and the gRPC sessions (grpc/upstream-sessions.ts)
 * share above their transport: the upkeep (balancer, the node's down list, the idle sweep) and
 * the pick of a target for one exchange with the connection to it. A subclass says how to reach
 * one target (`connectTo`) and what closing idle connections means for its transport.
 */
import type { EgressPolicy } from "../../proto/egress-policy.ts";
import type { Timers } from "../clock.ts";
import type { PlainTarget, PlainUpstream } from "../model/plain-config.ts";
import type { DownList } from "./down-list.ts";
import {
  CIRCUIT_OPEN,
  type Origins,
  type TargetLease,
  type UpkeepOptions,
  UpstreamUpkeep,
} from "./upstream-upkeep.ts";

/** A connection (or pool) to a target the balancer chose: its lease says how the exchange went. */
export type Balanced<Picked> = Picked & { lease: TargetLease };

export abstract class BalancedConnections<Picked extends { target: PlainTarget }> {
  protected readonly upkeep: UpstreamUpkeep;

  constructor(timers: Timers, opts: UpkeepOptions) {
    this.upkeep = new UpstreamUpkeep(timers, opts, () => this.closeIdle());
  }

  /** The node's down list (shared by the HTTP pools, the gRPC sessions and the peer forwarders). */
  get down(): DownList {
    return this.upkeep.down;
  }

  /**
   * The balancer's target for the next exchange and the connection to it (which connects only
   * where `egress` allows); CIRCUIT_OPEN when every target is ejected; undefined when there are
   * none. `exclude`: origins to avoid while another target is available (a retry's tried ones).
   */
  pick(
    upstream: PlainUpstream,
    egress: EgressPolicy,
    exclude?: Origins,
  ): Balanced<Picked> | typeof CIRCUIT_OPEN | undefined {
    const lease = this.upkeep.choose(upstream, exclude);
    if (lease === undefined || lease === CIRCUIT_OPEN) return lease;
    return this.connectTo(lease, egress, upstream.connectTimeoutMs);
  }

  /** The connection to the leased target (built as one object: this is on every request's path). */
  protected abstract connectTo(
    lease: TargetLease,
    egress: EgressPolicy,
    connectTimeoutMs: number,
  ): Balanced<Picked>;

  /** Gracefully closes what went unused for idleCloseMs (exchanges in flight on it finish). */
  abstract closeIdle(): void;
}
