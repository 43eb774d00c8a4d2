/**
 * What keeping connections to upstream targets takes whatever the protocol (http/upstream-pools.ts
 * for HTTP/1.1, grpc/upstream-sessions.ts for HTTP/2): the choice of a target for each exchange
 * (balancer.ts over the node's one down list, down-list.ts, which the other protocol and the
 * peer forwarders share); the egress-denial listener the connections report to; and a sweep
 * every idleCloseMs / 2 that closes what went unused for idleCloseMs and forgets targets that
 * are well again.
 */
import type { TimerHandle, Timers } from "../clock.ts";
import type { EgressDenialListener } from "../egress/egress-connect.ts";
import type { PlainTarget, PlainUpstream } from "../model/plain-config.ts";
import { type Candidate, excluding, pickTarget } from "./balancer.ts";
import { DownList, type Outcome } from "./down-list.ts";

/** Target origins (e.g. the ones a request's retries already tried). */
export type Origins = ReadonlySet<string>;

export interface UpkeepOptions {
  /** the node's one down list; default: a list of its own (tests) */
  downList?: DownList;
  /** uniform in [0, 1): the balancer's draws */
  random?: () => number;
  /** a connection unused this long is closed (its upstream may be gone from the config) */
  idleCloseMs?: number;
  /** told of every connection the egress policy refused */
  onEgressDenied?: EgressDenialListener;
  /** told of every target picked for an exchange (metrics) */
  onPick?: (upstream: PlainUpstream, target: PlainTarget) => void;
}

/** A target taken for one exchange: end() says how it went (once; later calls are ignored). */
export interface TargetLease {
  readonly target: PlainTarget;
  end(outcome: Outcome): void;
}

/** Every target of the upstream is ejected: answer 503 circuit_open, queue nothing. */
export const CIRCUIT_OPEN = "circuit_open";

export class UpstreamUpkeep {
  readonly timers: Timers;
  readonly idleCloseMs: number;
  readonly onEgressDenied: EgressDenialListener;
  readonly down: DownList;
  readonly #random: () => number;
  readonly #onPick: UpkeepOptions["onPick"];
  readonly #closeIdle: () => void;
  #sweepTimer: TimerHandle | undefined;

  /** `closeIdle` is called every idleCloseMs / 2 until stop(). */
  constructor(timers: Timers, opts: UpkeepOptions, closeIdle: () => void) {
    this.timers = timers;
    this.down = opts.downList ?? new DownList(() => timers.monotonic());
    this.#random = opts.random ?? Math.random;
    this.#onPick = opts.onPick;
    this.idleCloseMs = opts.idleCloseMs ?? 300_000;
    this.onEgressDenied = opts.onEgressDenied ?? (() => {});
    this.#closeIdle = closeIdle;
    this.#scheduleSweep();
  }

  /**
   * The target for the next exchange with `upstream` (balancer.ts); CIRCUIT_OPEN when every one
   * is ejected; undefined when it has none. Targets whose origin is in `exclude` (the ones a
   * retry already tried) are passed over while another target is available.
   */
  choose(upstream: PlainUpstream, exclude?: Origins): TargetLease | typeof CIRCUIT_OPEN | undefined {
    const { targets } = upstream;
    if (targets.length === 0) return undefined;
    const now = this.timers.monotonic();
    const slowStartMs = upstream.outlier.slowStartMs;
    const all: Candidate[] = targets.map((t) => ({
      weight: t.weight,
      view: this.down.view(t.key, slowStartMs, now),
    }));
    const candidates = exclude?.size ? excluding(all, (i) => exclude.has(targets[i]!.origin)) : all;
    const picked = targets[pickTarget(candidates, this.#random)] ?? this.#circuitProbe(upstream, now);
    if (!picked) return CIRCUIT_OPEN;
    this.down.begin(picked.key, now);
    this.#onPick?.(upstream, picked);
    let open = true;
    return {
      target: picked,
      end: (outcome) => {
        if (!open) return;
        open = false;
        this.down.end(picked.key, outcome, upstream.outlier, upstream.targetKeys);
      },
    };
  }

  /** Every target is out: the circuit's own probe, at most once per base ejection time. */
  #circuitProbe(upstream: PlainUpstream, now: number): PlainTarget | undefined {
    const key = this.down.circuitProbe(upstream.targetKeys, upstream.outlier.baseEjectionMs, now);
    return key === undefined ? undefined : upstream.targets.find((t) => t.key === key);
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
      this.down.sweep();
      this.#scheduleSweep();
    }, this.idleCloseMs / 2);
  }
}
