/**
 * What keeping connections to upstream targets takes whatever the protocol (http/upstream-pools.ts
 * for HTTP/1.1, grpc/upstream-sessions.ts for HTTP/2): a short memory of targets that refused
 * connections, so the first live target is picked; the egress-denial listener the connections
 * report to; and a sweep every idleCloseMs / 2 that closes what went unused for idleCloseMs.
 */
import type { TimerHandle, Timers } from "../clock.ts";
import type { EgressDenialListener } from "../egress/egress-connect.ts";
import type { PlainTarget, PlainUpstream } from "../model/plain-config.ts";
import { RecentFailures } from "./recent-failures.ts";

/** Target origins (e.g. the ones a request's retries already tried). */
export type Origins = ReadonlySet<string>;

export interface UpkeepOptions {
  /** how long a target that failed to connect is skipped */
  deadForMs?: number;
  /** a connection unused this long is closed (its upstream may be gone from the config) */
  idleCloseMs?: number;
  /** told of every connection the egress policy refused */
  onEgressDenied?: EgressDenialListener;
}

export class UpstreamUpkeep {
  readonly timers: Timers;
  readonly idleCloseMs: number;
  readonly onEgressDenied: EgressDenialListener;
  readonly #dead: RecentFailures;
  readonly #closeIdle: () => void;
  #sweepTimer: TimerHandle | undefined;

  /** `closeIdle` is called every idleCloseMs / 2 until stop(). */
  constructor(timers: Timers, opts: UpkeepOptions, closeIdle: () => void) {
    this.timers = timers;
    this.#dead = new RecentFailures(() => timers.monotonic(), opts.deadForMs ?? 5_000);
    this.idleCloseMs = opts.idleCloseMs ?? 300_000;
    this.onEgressDenied = opts.onEgressDenied ?? (() => {});
    this.#closeIdle = closeIdle;
    this.#scheduleSweep();
  }

  /**
   * The first target not marked dead; when every one is, the first (it may be back). Targets
   * whose origin is in `exclude` (a retry's tried ones) are passed over while another remains.
   */
  firstLive(upstream: PlainUpstream, exclude?: Origins): PlainTarget | undefined {
    const others = exclude?.size ? upstream.targets.filter((t) => !exclude.has(t.origin)) : upstream.targets;
    return this.#dead.firstLive(others.length > 0 ? others : upstream.targets, (t) => t.origin);
  }

  markDead(origin: string): void {
    this.#dead.mark(origin);
  }

  /** Whether something last used at `lastUsed` has been idle long enough to close at `now`. */
  idle(lastUsed: number, now: number): boolean {
    return now - lastUsed >= this.idleCloseMs;
  }

  /** Stops the sweep (on close). */
  stop(): void {
    this.timers.clearTimeout(this.#sweepTimer);
  }

  #scheduleSweep(): void {
    this.#sweepTimer = this.timers.setTimeout(() => {
      this.#closeIdle();
      this.#scheduleSweep();
    }, this.idleCloseMs / 2);
  }
}
