/**
 * Runs the active health checks of the upstreams this node is responsible for: those of the
 * tenants whose shard holds this node (and that it has served, so it knows their config), each
 * opted in per upstream. Every tickMs it starts the checks that are due (at most maxInFlight at
 * once, the rest wait for the next tick) through the probe of the check's protocol; the probes
 * connect like requests do, through the tenant's egress policy. Verdicts go to the node's down
 * list (down-list.ts), where they combine with passive ejection. A target no longer checked
 * (its upstream or check removed, the tenant gone from this node) is forgotten and, if its checks
 * had taken it out, put back in rotation.
 */
import type { EgressPolicy } from "../../proto/egress-policy.ts";
import type { HealthCheck } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import type { TimerHandle, Timers } from "../clock.ts";
import type { PlainTarget, PlainUpstream } from "../model/plain-config.ts";
import type { DownList } from "./down-list.ts";
import { type CheckState, freshCheck, nextCheckAt, recordCheck } from "./health-checks.ts";

/** An upstream to check and the egress policy of its tenant. */
export interface CheckedUpstream {
  upstream: PlainUpstream;
  egress: EgressPolicy;
}

/** One check of one target: resolves true when it passed (never rejects). */
export type HealthProbe = (check: {
  target: PlainTarget;
  upstream: PlainUpstream;
  egress: EgressPolicy;
  hc: HealthCheck;
}) => Promise<boolean>;

export interface HealthCheckerOptions {
  timers: Timers;
  random: () => number;
  down: DownList;
  /** the upstreams with a health check this node should run now */
  upstreams: () => Iterable<CheckedUpstream>;
  probes: { http: HealthProbe; grpc: HealthProbe };
  onResult?: (protocol: "http" | "grpc", passed: boolean) => void;
  /** default 500 ms */
  tickMs?: number;
  /** default 64 */
  maxInFlight?: number;
}

export class HealthChecker {
  readonly #o: HealthCheckerOptions;
  readonly #states = new Map<string, CheckState>();
  #inFlight = 0;
  #timer: TimerHandle | undefined;
  #stopped = false;

  constructor(options: HealthCheckerOptions) {
    this.#o = options;
    this.#schedule();
  }

  /** Targets being checked. */
  get size(): number {
    return this.#states.size;
  }

  /** Starts the checks that are due; forgets targets no longer checked. */
  tick(): void {
    const now = this.#o.timers.monotonic();
    const seen = new Set<string>();
    for (const checked of this.#o.upstreams()) {
      const hc = checked.upstream.healthCheck;
      if (!hc) continue;
      for (const target of checked.upstream.targets) {
        seen.add(target.key);
        let s = this.#states.get(target.key);
        if (!s) {
          s = freshCheck(now, hc, this.#o.random);
          this.#states.set(target.key, s);
        }
        if (s.inFlight || s.nextAt > now || this.#inFlight >= (this.#o.maxInFlight ?? 64)) continue;
        this.#run(s, target, checked, hc);
      }
    }
    for (const [key, s] of this.#states) {
      if (seen.has(key) || s.inFlight) continue;
      this.#states.delete(key);
      if (s.down) this.#o.down.setActive(key, true);
    }
  }

  stop(): void {
    this.#stopped = true;
    this.#o.timers.clearTimeout(this.#timer);
  }

  #run(s: CheckState, target: PlainTarget, checked: CheckedUpstream, hc: HealthCheck): void {
    s.inFlight = true;
    this.#inFlight++;
    const protocol = hc.grpc ? "grpc" : "http";
    const probe = this.#o.probes[protocol];
    void probe({ target, upstream: checked.upstream, egress: checked.egress, hc })
      .catch(() => false)
      .then((passed) => {
        s.inFlight = false;
        this.#inFlight--;
        s.nextAt = nextCheckAt(this.#o.timers.monotonic(), hc.intervalMs, this.#o.random);
        this.#o.onResult?.(protocol, passed);
        if (this.#stopped || this.#states.get(target.key) !== s) return;
        const verdict = recordCheck(s, passed, hc);
        if (verdict) this.#o.down.setActive(target.key, verdict === "up");
      });
  }

  #schedule(): void {
    this.#timer = this.#o.timers.setTimeout(() => {
      this.tick();
      if (!this.#stopped) this.#schedule();
    }, this.#o.tickMs ?? 500);
  }
}
