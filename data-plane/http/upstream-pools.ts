/**
 * Keep-alive connection pools to upstream targets (one undici Pool per origin, egress policy
 * and connect timeout), created on first use and closed once unused for a while; and a short
 * memory of targets that refused connections, so requests go to the first live target. Every
 * connection a pool opens passes the egress policy it was made for (egress/egress-connect.ts);
 * tenants with different policies never share a pool.
 */
import { Pool } from "undici";
import type { EgressPolicy } from "../../proto/egress-policy.ts";
import type { TimerHandle, Timers } from "../clock.ts";
import type { PlainTarget, PlainUpstream } from "../model/plain-config.ts";
import { type EgressDenialListener, egressConnector } from "../egress/egress-connect.ts";
import { RecentFailures } from "../upstream/recent-failures.ts";

export interface PoolOptions {
  /** how long a target that failed to connect is skipped */
  deadForMs?: number;
  /** most connections per origin */
  connections?: number;
  /** a pool unused this long is closed (its upstream may be gone from the config) */
  idleCloseMs?: number;
  /** told of every connection the egress policy refused */
  onEgressDenied?: EgressDenialListener;
}

export interface PickedTarget {
  target: PlainTarget;
  pool: Pool;
}

interface PoolEntry {
  pool: Pool;
  lastUsed: number;
}

export class UpstreamPools {
  /** origin -> egress policy key -> connect timeout -> pool (no key string built per request) */
  private readonly pools = new Map<string, Map<string, Map<number, PoolEntry>>>();
  private readonly dead: RecentFailures;
  private readonly timers: Timers;
  private readonly connections: number;
  private readonly idleCloseMs: number;
  private readonly onEgressDenied: EgressDenialListener;
  private sweepTimer: TimerHandle | undefined;

  constructor(timers: Timers, opts: PoolOptions = {}) {
    this.timers = timers;
    this.dead = new RecentFailures(() => timers.monotonic(), opts.deadForMs ?? 5_000);
    this.connections = opts.connections ?? 256;
    this.idleCloseMs = opts.idleCloseMs ?? 300_000;
    this.onEgressDenied = opts.onEgressDenied ?? (() => {});
    this.scheduleSweep();
  }

  get size(): number {
    let n = 0;
    for (const byPolicy of this.pools.values())
      for (const byTimeout of byPolicy.values()) n += byTimeout.size;
    return n;
  }

  /**
   * First live target; when every target is marked dead, the first (it may be back). Its pool
   * connects only where `egress` allows.
   */
  pick(upstream: PlainUpstream, egress: EgressPolicy): PickedTarget | undefined {
    const target = this.dead.firstLive(upstream.targets, (t) => t.origin);
    if (!target) return undefined;
    const now = this.timers.monotonic();
    return { target, pool: this.pool(target.origin, egress, upstream.connectTimeoutMs, now) };
  }

  markDead(origin: string): void {
    this.dead.mark(origin);
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
      const guard = { policy: egress, onDenied: this.onEgressDenied };
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

  private scheduleSweep(): void {
    this.sweepTimer = this.timers.setTimeout(() => {
      this.closeIdle();
      this.scheduleSweep();
    }, this.idleCloseMs / 2);
  }

  /** Gracefully closes pools unused for idleCloseMs (requests in flight on them finish). */
  closeIdle(): void {
    const now = this.timers.monotonic();
    for (const [origin, byPolicy] of this.pools) {
      for (const [key, byTimeout] of byPolicy) {
        for (const [timeout, entry] of byTimeout) {
          if (now - entry.lastUsed < this.idleCloseMs) continue;
          byTimeout.delete(timeout);
          void entry.pool.close().catch(() => {});
        }
        if (byTimeout.size === 0) byPolicy.delete(key);
      }
      if (byPolicy.size === 0) this.pools.delete(origin);
    }
  }

  async close(): Promise<void> {
    this.timers.clearTimeout(this.sweepTimer);
    const pools = [...this.pools.values()].flatMap((byPolicy) =>
      [...byPolicy.values()].flatMap((byTimeout) => [...byTimeout.values()]),
    );
    this.pools.clear();
    await Promise.all(pools.map((e) => e.pool.close().catch(() => {})));
  }
}
