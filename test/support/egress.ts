/**
 * Test upstreams listen on loopback, which the egress policy refuses unless an operator allows
 * it: tenants made by the tests get exactly their targets' host:port as their own exceptions.
 */
import { targetHostPort } from "../../proto/egress-policy.ts";

/** The host:port allow entries of upstream targets (base URLs or host:port). */
export function egressAllowFor(...targets: string[]): string[] {
  return targets.map((t) => {
    const hp = targetHostPort(t);
    if (!hp) throw new Error(`not an upstream target: ${t}`);
    return `${hp.host}:${hp.port}`;
  });
}
