/**
 * Lease timing decisions, pure (times are local monotonic milliseconds, injected). The
 * database decides who holds the lease; this decides how long this replica may ACT on a
 * lease it took, and when it asks the database next.
 *
 * - A successful take/renew whose request left at local time `sentAt` lets this replica act
 *   until sentAt + ttl − margin: the database set expires_at = (its clock when the UPDATE ran)
 *   + ttl, which is no earlier than the request leaving, so the local deadline falls before
 *   the database's by at least the margin (clock-rate drift, pauses between steps).
 * - The holder renews every ttl/3; a failed renew is retried sooner (ttl/10) until the local
 *   deadline passes, after which it no longer acts (and must win the lease again).
 * - A replica that does not hold the lease asks again just after the holder's lease would
 *   expire (as the database reported it), at least every ttl/3, so failover takes about the
 *   rest of the old holder's TTL, not that plus a polling period.
 */
export interface LeaseTimingOptions {
  ttlMs: number;
  /** default ttl/5 */
  marginMs?: number;
  /** default ttl/3 */
  renewEveryMs?: number;
  /** delay after a failed attempt while still holding (default ttl/10) */
  retryMs?: number;
  /** waited past the reported expiry before trying to take over (default 20 ms) */
  takeoverSlackMs?: number;
}

export interface LeaseTiming {
  ttlMs: number;
  marginMs: number;
  renewEveryMs: number;
  retryMs: number;
  takeoverSlackMs: number;
}

export function leaseTiming(o: LeaseTimingOptions): LeaseTiming {
  if (!(o.ttlMs > 0)) throw new Error(`lease TTL must be positive, got ${o.ttlMs}`);
  const t = {
    ttlMs: o.ttlMs,
    marginMs: o.marginMs ?? Math.round(o.ttlMs / 5),
    renewEveryMs: o.renewEveryMs ?? Math.round(o.ttlMs / 3),
    retryMs: o.retryMs ?? Math.max(10, Math.round(o.ttlMs / 10)),
    takeoverSlackMs: o.takeoverSlackMs ?? 20,
  };
  if (t.marginMs + t.renewEveryMs >= t.ttlMs)
    throw new Error("lease margin plus renew period must be shorter than the TTL");
  return t;
}

/** What this replica believes about its own lease. */
export class LeaseClock {
  readonly timing: LeaseTiming;
  private heldEpoch: number | undefined;
  private actUntil = Number.NEGATIVE_INFINITY;

  constructor(timing: LeaseTiming) {
    this.timing = timing;
  }

  /** the epoch it may act under at `now`, or undefined */
  epochAt(now: number): number | undefined {
    return this.heldEpoch !== undefined && now < this.actUntil ? this.heldEpoch : undefined;
  }

  /** the epoch last won (even if its time to act is over): renewed in place while the row still has it */
  get lastEpoch(): number | undefined {
    return this.heldEpoch;
  }

  /** the local time until which it may act (−∞ when it holds nothing) */
  get deadline(): number {
    return this.actUntil;
  }

  /**
   * Records a successful take/renew sent at `sentAt`; returns true when this is a new
   * epoch (a takeover, not a renewal).
   */
  won(epoch: number, sentAt: number): boolean {
    const isNew = epoch !== this.heldEpoch;
    this.heldEpoch = epoch;
    this.actUntil = sentAt + this.timing.ttlMs - this.timing.marginMs;
    return isNew;
  }

  /** The database says someone else holds it (or ours expired): stop acting at once. */
  lost(): void {
    this.heldEpoch = undefined;
    this.actUntil = Number.NEGATIVE_INFINITY;
  }

  /** Delay before the next attempt after a successful take/renew. */
  afterWin(): number {
    return this.timing.renewEveryMs;
  }

  /** Delay before the next attempt when another replica holds an unexpired lease. */
  afterRefusal(remainingMs: number): number {
    const untilExpiry = Math.max(0, remainingMs) + this.timing.takeoverSlackMs;
    return Math.min(this.timing.renewEveryMs, untilExpiry);
  }

  /** Delay before the next attempt after the database could not be asked. */
  afterError(now: number): number {
    if (this.epochAt(now) === undefined) return this.timing.renewEveryMs;
    return Math.min(this.timing.retryMs, Math.max(0, this.actUntil - now));
  }
}
