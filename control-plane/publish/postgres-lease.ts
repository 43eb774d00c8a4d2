/**
 * The publisher lease in Postgres (docs/design.md §3.2): a loop that takes or renews the lease row
 * with one conditional UPDATE on the database clock (store/publisher-lease.ts), and decides
 * locally, on the monotonic clock, how long this replica may act (lease-timing.ts).
 * Every replica runs one; the holder publishes, the others wait to take over.
 */
import type { Logger } from "../logger.ts";
import type { Queryable } from "../store/db.ts";
import { acquireLease, PUBLISHER_LEASE, releaseLease } from "../store/publisher-lease.ts";
import { realTimers, type Timers } from "./debounce.ts";
import type { LeaseEvents, LeaseFence, PublisherLease } from "./lease.ts";
import { LeaseClock, type LeaseTiming } from "./lease-timing.ts";

export interface PostgresLeaseDeps {
  /** a pool of its own, so a busy main pool never delays a renewal */
  db: Queryable;
  holder: string;
  timing: LeaseTiming;
  logger: Logger;
  /** local monotonic clock (timers.now by default) */
  timers?: Timers;
  name?: string;
  /** called last by close() (e.g. ends the lease's own pool) */
  onClose?: () => Promise<void>;
}

export class PostgresLease implements PublisherLease {
  private readonly deps: PostgresLeaseDeps;
  private readonly timers: Timers;
  private readonly clock: LeaseClock;
  private readonly name: string;
  private events: LeaseEvents | undefined;
  private handle: unknown;
  private running: Promise<void> | undefined;
  private everWon = false;
  private seen = 0;
  private closed = false;

  constructor(deps: PostgresLeaseDeps) {
    this.deps = deps;
    this.timers = deps.timers ?? realTimers;
    this.clock = new LeaseClock(deps.timing);
    this.name = deps.name ?? PUBLISHER_LEASE;
  }

  currentEpoch(): number | undefined {
    return this.clock.epochAt(this.timers.now());
  }

  /** the epoch in the lease row as last seen, whoever holds it (metrics) */
  get observedEpoch(): number {
    return this.seen;
  }

  fence(epoch: number): LeaseFence {
    return { name: this.name, holder: this.deps.holder, epoch };
  }

  async start(events: LeaseEvents): Promise<void> {
    this.events = events;
    await this.tick();
  }

  /** One attempt now (the loop calls it; tests may too), then the next one is scheduled. */
  tick(): Promise<void> {
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    this.handle = undefined;
    this.running ??= this.attempt().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.handle !== undefined) this.timers.clearTimeout(this.handle);
    await this.running;
    const epoch = this.currentEpoch();
    this.clock.lost();
    if (epoch !== undefined) await this.release(epoch);
    await this.deps.onClose?.();
  }

  private async release(epoch: number): Promise<void> {
    try {
      if (await releaseLease(this.deps.db, this.name, this.deps.holder, epoch))
        this.deps.logger.info({ epoch }, "released the publisher lease");
    } catch (err) {
      this.deps.logger.warn({ err, epoch }, "could not release the publisher lease; it expires by itself");
    }
  }

  private async attempt(): Promise<void> {
    if (this.closed) return;
    const sentAt = this.timers.now();
    let delay: number;
    try {
      const { db, holder, timing } = this.deps;
      const r = await acquireLease(db, this.name, holder, this.clock.lastEpoch, timing.ttlMs);
      this.seen = r.epoch;
      if (r.acquired) {
        this.onWon(r.epoch, sentAt);
        delay = this.clock.afterWin();
      } else {
        this.onRefused(r.holder);
        delay = this.clock.afterRefusal(r.remainingMs);
      }
    } catch (err) {
      delay = this.clock.afterError(this.timers.now());
      this.deps.logger.warn({ err, retryMs: delay }, "could not take or renew the publisher lease");
    }
    if (!this.closed) this.handle = this.timers.setTimeout(() => void this.tick(), delay);
  }

  private onWon(epoch: number, sentAt: number): void {
    if (!this.clock.won(epoch, sentAt)) return;
    const first = !this.everWon;
    this.everWon = true;
    this.deps.logger.info({ epoch, ttlMs: this.deps.timing.ttlMs }, "took the publisher lease");
    this.events?.acquired(epoch, first);
  }

  private onRefused(holder: string | null): void {
    const had = this.clock.lastEpoch;
    if (had === undefined) return;
    this.clock.lost();
    this.deps.logger.warn({ epoch: had, holder }, "lost the publisher lease");
    this.events?.lost(had);
  }
}
