/**
 * Metrics of the upstream-traffic layer: picks per target (how the balancer spreads), ejections
 * by cause, targets out of rotation now, and active health check results. Targets are tenants'
 * and unbounded in number, so picks are labelled by upstream id and target origin only for the
 * first MAX_PICK_SERIES targets this node picks; later ones count under "other" (the total stays
 * right, and a node serves a bounded set of tenants anyway).
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { PlainTarget, PlainUpstream } from "../model/plain-config.ts";
import type { DownList, EjectionCause } from "../upstream/down-list.ts";
import { BatchedCounter, type CountCell } from "./batched-counter.ts";

export const MAX_PICK_SERIES = 1_000;

export interface UpstreamMetrics {
  /** the balancer picked `target` of `upstream` (the request path: counts into a cell) */
  onPick(upstream: PlainUpstream, target: PlainTarget): void;
  onEject(cause: EjectionCause): void;
  /** an active health check of a target ended */
  onHealthCheck(protocol: "http" | "grpc", passed: boolean): void;
}

export function createUpstreamMetrics(registry: Registry, down: DownList): UpstreamMetrics {
  const picks = new BatchedCounter<"upstream" | "target">({
    name: "corral_dp_upstream_picks_total",
    help: `exchanges the balancer sent to each upstream target (the first ${MAX_PICK_SERIES} targets by name, then "other")`,
    labelNames: ["upstream", "target"],
    registers: [registry],
  });
  const ejections = new Counter({
    name: "corral_dp_upstream_ejections_total",
    help: "targets taken out of rotation by passive ejection, by cause (connect, 5xx, probe = a failed half-open probe)",
    labelNames: ["cause"],
    registers: [registry],
  });
  new Gauge({
    name: "corral_dp_upstream_ejected_targets",
    help: "upstream targets and shard members out of rotation now (ejected, or failing their active check)",
    registers: [registry],
    collect() {
      this.set(down.downCount());
    },
  });
  const checks = new Counter({
    name: "corral_dp_health_checks_total",
    help: "active health checks of upstream targets, by protocol and result (pass, fail)",
    labelNames: ["protocol", "result"],
    registers: [registry],
  });
  const cells = new Map<string, CountCell>();
  const other = picks.cell({ upstream: "other", target: "other" });
  return {
    onPick(upstream, target) {
      let cell = cells.get(target.key);
      if (!cell) {
        if (cells.size >= MAX_PICK_SERIES) {
          other.n++;
          return;
        }
        cell = picks.cell({ upstream: upstream.id, target: target.origin });
        cells.set(target.key, cell);
      }
      cell.n++;
    },
    onEject: (cause) => ejections.inc({ cause }),
    onHealthCheck: (protocol, passed) => checks.inc({ protocol, result: passed ? "pass" : "fail" }),
  };
}
