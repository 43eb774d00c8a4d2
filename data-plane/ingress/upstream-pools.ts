/**
 * Keep-alive connection pools to upstream targets (one undici Pool per origin and connect
 * timeout), created on first use and closed when no served config names them any more; and a
 * short memory of targets that refused connections, so requests go to the first live target.
 */
import { Pool } from "undici";
import type { Timers } from "../clock.ts";
import type { PlainTarget, PlainUpstream } from "../config-client/plain-config.ts";
import { poolKey } from "../router/live-config.ts";

export interface PoolOptions {
  /** how long a target that failed to connect is skipped */
  deadForMs?: number;
  /** most connections per origin */
  connections?: number;
}

export interface PickedTarget {
  target: PlainTarget;
  pool: Pool;
}

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly deadUntil = new Map<string, number>();
  private readonly timers: Timers;
  private readonly deadForMs: number;
  private readonly connections: number;

  constructor(timers: Timers, opts: PoolOptions = {}) {
    this.timers = timers;
    this.deadForMs = opts.deadForMs ?? 5_000;
    this.connections = opts.connections ?? 256;
  }

  get size(): number {
    return this.pools.size;
  }

  private isLive(origin: string, now: number): boolean {
    const until = this.deadUntil.get(origin);
    if (until === undefined) return true;
    if (until > now) return false;
    this.deadUntil.delete(origin);
    return true;
  }

  /** First live target; when every target is marked dead, the first (it may be back). */
  pick(upstream: PlainUpstream): PickedTarget | undefined {
    const now = this.timers.monotonic();
    const target = upstream.targets.find((t) => this.isLive(t.origin, now)) ?? upstream.targets[0];
    if (!target) return undefined;
    return { target, pool: this.pool(target.origin, upstream.connectTimeoutMs) };
  }

  markDead(origin: string): void {
    this.deadUntil.set(origin, this.timers.monotonic() + this.deadForMs);
  }

  private pool(origin: string, connectTimeoutMs: number): Pool {
    const key = poolKey(origin, connectTimeoutMs);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new Pool(origin, { connections: this.connections, connect: { timeout: connectTimeoutMs } });
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** After a swap: gracefully close pools the new config no longer uses (in-flight requests finish). */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, pool] of this.pools) {
      if (keys.has(key)) continue;
      this.pools.delete(key);
      void pool.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => {})));
  }
}
