/**
 * Keep-alive connection pools to upstream targets (one undici Pool per origin, egress policy
 * and connect timeout), created on first use and closed once unused for a while; each request's
 * target is chosen by the balancer over the node's down list (upstream/upstream-upkeep.ts). Every
 * connection a pool opens passes the egress policy it was made for (egress/egress-connect.ts);
 * tenants with different policies never share a pool.
 */
import { Pool } from "undici";
import type { EgressPolicy } from "../../proto/egress-policy.ts";
import type { Timers } from "../clock.ts";
import { egressConnector } from "../egress/egress-connect.ts";
import type { PlainTarget } from "../model/plain-config.ts";
import { type Balanced, BalancedConnections } from "../upstream/balanced-connections.ts";
import type { TargetLease, UpkeepOptions } from "../upstream/upstream-upkeep.ts";

export interface PoolOptions extends UpkeepOptions {
  /** most connections per origin */
  connections?: number;
}

export interface PickedTarget {
  target: PlainTarget;
  pool: Pool;
}

/** A target the balancer chose (`pick`) and its pool: its lease says how the exchange went. */
export type BalancedTarget = Balanced<PickedTarget>;

interface PoolEntry {
  pool: Pool;
  lastUsed: number;
}

export class UpstreamPools extends BalancedConnections<PickedTarget> {
  /** origin -> egress policy key -> connect timeout -> pool (no key string built per request) */
  private readonly pools = new Map<string, Map<string, Map<number, PoolEntry>>>();
  private readonly connections: number;

  constructor(timers: Timers, opts: PoolOptions = {}) {
    super(timers, opts);
    this.connections = opts.connections ?? 256;
  }

  get size(): number {
    let n = 0;
    for (const byPolicy of this.pools.values())
      for (const byTimeout of byPolicy.values()) n += byTimeout.size;
    return n;
  }

  protected connectTo(lease: TargetLease, egress: EgressPolicy, connectTimeoutMs: number): BalancedTarget {
    const { target } = lease;
    return { target, lease, pool: this.poolTo(target, egress, connectTimeoutMs) };
  }

  /** The pool to one given target (a shard member): no balancing. */
  poolTo(target: PlainTarget, egress: EgressPolicy, connectTimeoutMs: number): Pool {
    return this.pool(target.origin, egress, connectTimeoutMs, this.upkeep.timers.monotonic());
  }

  private pool(origin: string, egress: EgressPolicy, connectTimeoutMs: number, now: number): Pool {
    let byPolicy = this.pools.get(origin);
    if (!byPolicy) {
      byPolicy = new Map();
      this.pools.set(origin, byPolicy);
    }
    let byTimeout = byPolicy.get(egress.key);
    if (!byTimeout) {
      byTimeout = new Map();
      byPolicy.set(egress.key, byTimeout);
    }
    let entry = byTimeout.get(connectTimeoutMs);
    if (!entry) {
      const guard = { policy: egress, onDenied: this.upkeep.onEgressDenied };
      const pool = new Pool(origin, {
        connections: this.connections,
        connect: egressConnector(guard, origin, connectTimeoutMs),
      });
      entry = { pool, lastUsed: now };
      byTimeout.set(connectTimeoutMs, entry);
    }
    entry.lastUsed = now;
    return entry.pool;
  }

  /** Gracefully closes pools unused for idleCloseMs (requests in flight on them finish). */
  closeIdle(): void {
    const now = this.upkeep.timers.monotonic();
    for (const [origin, byPolicy] of this.pools) {
      for (const [key, byTimeout] of byPolicy) {
        for (const [timeout, entry] of byTimeout) {
          if (!this.upkeep.idle(entry.lastUsed, now)) continue;
          byTimeout.delete(timeout);
          void entry.pool.close().catch(() => {});
        }
        if (byTimeout.size === 0) byPolicy.delete(key);
      }
      if (byPolicy.size === 0) this.pools.delete(origin);
    }
  }

  async close(): Promise<void> {
    this.upkeep.stop();
    const pools = [...this.pools.values()].flatMap((byPolicy) =>
      [...byPolicy.values()].flatMap((byTimeout) => [...byTimeout.values()]),
    );
    this.pools.clear();
    await Promise.all(pools.map((e) => e.pool.close().catch(() => {})));
  }
}
