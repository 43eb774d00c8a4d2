/**
 * Active health checks, the pure part: when a target is due, and what a run of results means.
 * A target starts healthy (passive ejection covers it until the checks say otherwise);
 * `unhealthyThreshold` failed checks in a row take it out, `healthyThreshold` passes in a row
 * bring it back. Checks of one upstream are spread over its interval (±10 % jitter), so a
 * node's checks do not come in bursts.
 */
import type { HealthCheck } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";

export interface CheckState {
  /** monotonic ms of the next check */
  nextAt: number;
  inFlight: boolean;
  passes: number;
  fails: number;
  /** the checks' verdict: out of rotation */
  down: boolean;
}

export function freshCheck(now: number, hc: HealthCheck, random: () => number): CheckState {
  // the first check of a target comes at a random point of its first interval
  return { nextAt: now + random() * hc.intervalMs, inFlight: false, passes: 0, fails: 0, down: false };
}

export function nextCheckAt(now: number, intervalMs: number, random: () => number): number {
  return now + intervalMs * (0.9 + 0.2 * random());
}

/** Counts a result; the new verdict when it changed ("down" / "up"), else undefined. */
export function recordCheck(s: CheckState, passed: boolean, hc: HealthCheck): "down" | "up" | undefined {
  if (passed) {
    s.fails = 0;
    s.passes++;
    if (s.down && s.passes >= hc.healthyThreshold) {
      s.down = false;
      return "up";
    }
    return undefined;
  }
  s.passes = 0;
  s.fails++;
  if (!s.down && s.fails >= hc.unhealthyThreshold) {
    s.down = true;
    return "down";
  }
  return undefined;
}
