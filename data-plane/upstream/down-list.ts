/**
 * The node's one memory of sick targets — upstream targets and shard members alike — shared by
 * the HTTP pools, the gRPC sessions and both peer forwarders. Pure: the clock is injected.
 *
 * Per target (keyed by `targetKey`: tenant, upstream id and the target's origin, so one tenant's
 * failures or health checks never touch another tenant's view of the same address):
 *
 *   healthy ──(connect failure, or `consecutiveFailures` 5xx in a row and the share allows)──▶ ejected
 *   ejected ──(base × ejections ms, capped at maxEjectionMs)──▶ half-open
 *   half-open: the next pick is the one probe (one at a time); success ──▶ healthy (slow start),
 *              failure ──▶ ejected again for longer
 *
 * When every target of an upstream is out the circuit is open; once per baseEjectionMs the target
 * due back soonest is made half-open early (circuitProbe), so an upstream whose targets all return
 * is back within one base ejection time, however long their ejections have grown.
 *
 * At most `maxEjectedPercent` of an upstream's targets (at least one) are ejected for 5xx at once;
 * a target that refuses connections or fails its active health check is out regardless (it could
 * not serve anyway). The ejection count decays: once a target has stayed in for maxEjectionMs
 * after its last ejection ended, the next one starts again at one. A target whose active check
 * failed is out until the checks pass again (which also ends a passive ejection). Entries that
 * hold nothing beyond a healthy target's defaults are dropped by sweep(), so memory follows the
 * targets in trouble, not every target ever seen.
 */
import type { OutlierDetection } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { DEFAULT_OUTLIER, UPSTREAM_POLICY_BOUNDS } from "../../proto/upstream-policy.ts";

/**
 * consecutiveFailures: 5xx (gRPC UNAVAILABLE) answers in a row that eject a target;
 * baseEjectionMs: the n-th ejection lasts n × this, capped at maxEjectionMs; maxEjectedPercent:
 * most of an upstream's targets ejected for 5xx at once (at least one); slowStartMs: a target
 * that comes back ramps from 10 % to its full weight over this long (0: at once).
 */
export type OutlierPolicy = OutlierDetection;

export const DEFAULT_OUTLIER_POLICY: Readonly<OutlierPolicy> = DEFAULT_OUTLIER;

/** How an exchange with a target ended, as far as its health goes. */
export type Outcome =
  /** an answer that is not a server error */
  | "ok"
  /** a 5xx answer, gRPC UNAVAILABLE, a reset or a timeout */
  | "failure"
  /** the connection never opened */
  | "connect_failure"
  /** says nothing about the target (the client left, the egress policy refused) */
  | "neutral";

export type Availability = "up" | "probe" | "down";

/** Why a target left: counted by the ejection metric. */
export type EjectionCause = "connect" | "5xx" | "probe";

interface TargetState {
  /** consecutive failures while healthy */
  failures: number;
  /** ejections so far (the multiplier); decays after maxEjectionMs without one */
  ejections: number;
  /** when the last ejection time ran out (the multiplier decays from there) */
  lastEjectionEnd: number;
  /** ejected until then; after that half-open until a probe succeeds */
  ejectedUntil: number;
  /** when the current (or last) ejection began */
  ejectedAt: number;
  halfOpen: boolean;
  /** a half-open probe is in flight */
  probing: boolean;
  /** the last active health check verdict was "unhealthy" */
  activeDown: boolean;
  /** slow start: when it came back */
  upSince: number;
  outstanding: number;
}

export interface TargetView {
  availability: Availability;
  outstanding: number;
  /** 0.1..1: how far along its slow start the target is (1 when it never left) */
  ramp: number;
}

/** The down list's key of an upstream's target (or a shard member: scope "peer"). */
export function targetKey(scope: string, origin: string): string {
  return `${scope} ${origin}`;
}

const MIN_RAMP = 0.1;

export class DownList {
  readonly #states = new Map<string, TargetState>();
  /** the group's first key -> when its open circuit last sent a probe */
  readonly #circuitProbes = new Map<string, number>();
  readonly #clock: () => number;
  /** told of each ejection (metrics) */
  onEject: (cause: EjectionCause) => void = () => {};

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** Targets with state (in trouble, recently back, or busy). */
  get size(): number {
    return this.#states.size;
  }

  /** Targets out of rotation now (ejected, or failed their active check). */
  downCount(now = this.#clock()): number {
    let n = 0;
    for (const s of this.#states.values()) if (isDown(s, now)) n++;
    return n;
  }

  view(key: string, slowStartMs: number, now = this.#clock()): TargetView {
    const s = this.#states.get(key);
    if (!s) return { availability: "up", outstanding: 0, ramp: 1 };
    return {
      availability: availability(s, now),
      outstanding: s.outstanding,
      ramp: ramp(s, slowStartMs, now),
    };
  }

  /** Whether the target is out of rotation (ejected, failed its check, or a probe is on it). */
  down(key: string, now = this.#clock()): boolean {
    const s = this.#states.get(key);
    return s !== undefined && availability(s, now) === "down";
  }

  /** An exchange starts on the target (a half-open target's one probe). */
  begin(key: string, now = this.#clock()): void {
    const s = this.#state(key);
    s.outstanding++;
    if (s.halfOpen && s.ejectedUntil <= now) s.probing = true;
  }

  /**
   * The exchange begun on `key` ended. `group`: the keys of the target's upstream (for the
   * share of targets ejected at once).
   */
  end(key: string, outcome: Outcome, policy: OutlierPolicy, group: readonly string[]): void {
    const s = this.#states.get(key);
    if (!s) return;
    s.outstanding = Math.max(0, s.outstanding - 1);
    this.#record(key, s, outcome, policy, group);
  }

  /** A connection to the target could not be opened (no exchange begun): eject it. */
  markDown(key: string, policy: OutlierPolicy = DEFAULT_OUTLIER_POLICY): void {
    this.#record(key, this.#state(key), "connect_failure", policy, [key]);
  }

  /** An active health check's verdict (after its thresholds). */
  setActive(key: string, healthy: boolean): void {
    const s = this.#state(key);
    if (s.activeDown === !healthy) return;
    s.activeDown = !healthy;
    if (healthy) this.#comeBack(s, this.#clock());
  }

  /**
   * When every target of `group` is down (the circuit is open; otherwise undefined): at most once per `intervalMs`, the
   * target due back soonest among those ejected passively at least `intervalMs` ago becomes
   * half-open now and its key is returned for the probe; undefined otherwise (targets out by
   * their active check wait for the check).
   */
  circuitProbe(group: readonly string[], intervalMs: number, now = this.#clock()): string | undefined {
    const id = group[0];
    if (id === undefined || now - (this.#circuitProbes.get(id) ?? Number.NEGATIVE_INFINITY) < intervalMs)
      return undefined;
    let soonest: TargetState | undefined;
    let key: string | undefined;
    for (const k of group) {
      const s = this.#states.get(k);
      if (!s || availability(s, now) !== "down") return undefined; // the circuit is not open
      if (s.activeDown || s.probing || now - s.ejectedAt < intervalMs) continue;
      if (!soonest || s.ejectedUntil < soonest.ejectedUntil) [soonest, key] = [s, k];
    }
    if (!soonest) return undefined;
    this.#circuitProbes.set(id, now);
    soonest.ejectedUntil = now;
    return key;
  }

  /** The items not down, in order; all of them when every one is (one may be back). */
  live<T>(items: readonly T[], keyOf: (item: T) => string): T[] {
    if (this.#states.size === 0) return [...items];
    const now = this.#clock();
    const up = items.filter((item) => !this.down(keyOf(item), now));
    return up.length > 0 ? up : [...items];
  }

  /**
   * Drops entries that hold nothing beyond a healthy target's defaults; by default it keeps them
   * for the longest decay and slow start any policy may have.
   */
  sweep(
    maxEjectionMs: number = UPSTREAM_POLICY_BOUNDS.maxEjectionMs[1],
    slowStartMs: number = UPSTREAM_POLICY_BOUNDS.slowStartMs[1],
  ): void {
    const now = this.#clock();
    for (const [key, s] of this.#states) {
      const quiet = s.ejections === 0 || now - s.lastEjectionEnd >= maxEjectionMs;
      const settled = now - s.upSince >= slowStartMs;
      if (s.outstanding === 0 && s.failures === 0 && !s.halfOpen && !s.activeDown && quiet && settled)
        this.#states.delete(key);
    }
    for (const [id, at] of this.#circuitProbes) if (now - at >= maxEjectionMs) this.#circuitProbes.delete(id);
  }

  #record(
    key: string,
    s: TargetState,
    outcome: Outcome,
    policy: OutlierPolicy,
    group: readonly string[],
  ): void {
    const now = this.#clock();
    if (outcome === "neutral") {
      s.probing = false;
      return;
    }
    if (outcome === "ok") {
      s.failures = 0;
      if (s.halfOpen && s.ejectedUntil <= now) this.#comeBack(s, now);
      return;
    }
    if (s.ejectedUntil > now) return; // already out: answers still in flight say nothing new
    if (s.halfOpen) this.#eject(s, policy, now, "probe");
    else if (outcome === "connect_failure") this.#eject(s, policy, now, "connect");
    else if (++s.failures >= policy.consecutiveFailures && this.#shareAllows(key, policy, group, now))
      this.#eject(s, policy, now, "5xx");
  }

  #shareAllows(key: string, policy: OutlierPolicy, group: readonly string[], now: number): boolean {
    const allowed = Math.max(1, Math.floor((group.length * policy.maxEjectedPercent) / 100));
    let down = 0;
    for (const k of group) if (k !== key && this.down(k, now)) down++;
    return down < allowed;
  }

  #eject(s: TargetState, policy: OutlierPolicy, now: number, cause: EjectionCause): void {
    if (now - s.lastEjectionEnd >= policy.maxEjectionMs) s.ejections = 0;
    s.ejections++;
    s.ejectedAt = now;
    s.ejectedUntil = now + Math.min(policy.baseEjectionMs * s.ejections, policy.maxEjectionMs);
    s.lastEjectionEnd = s.ejectedUntil;
    s.halfOpen = true;
    s.probing = false;
    s.failures = 0;
    this.onEject(cause);
  }

  #comeBack(s: TargetState, now: number): void {
    s.halfOpen = false;
    s.probing = false;
    s.ejectedUntil = 0;
    s.failures = 0;
    s.upSince = now;
  }

  #state(key: string): TargetState {
    let s = this.#states.get(key);
    if (!s) {
      s = {
        failures: 0,
        ejections: 0,
        lastEjectionEnd: Number.NEGATIVE_INFINITY,
        ejectedUntil: 0,
        ejectedAt: Number.NEGATIVE_INFINITY,
        halfOpen: false,
        probing: false,
        activeDown: false,
        upSince: Number.NEGATIVE_INFINITY,
        outstanding: 0,
      };
      this.#states.set(key, s);
    }
    return s;
  }
}

function isDown(s: TargetState, now: number): boolean {
  return s.activeDown || s.ejectedUntil > now;
}

function availability(s: TargetState, now: number): Availability {
  if (isDown(s, now)) return "down";
  if (!s.halfOpen) return "up";
  return s.probing ? "down" : "probe";
}

function ramp(s: TargetState, slowStartMs: number, now: number): number {
  if (slowStartMs <= 0) return 1;
  const since = now - s.upSince;
  return since >= slowStartMs ? 1 : Math.max(MIN_RAMP, since / slowStartMs);
}
