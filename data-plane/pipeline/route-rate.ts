/**
 * Stage `route_rate` (where served): the route's own buckets, split like its tenant's (the same
 * share of the route's limit); 429 quota.
 */
import type { RateLimits } from "../admission/index.ts";
import { modeOf, type NodeAdmission, nonNegative, tenantLimits } from "./node-admission.ts";
import type { Stage } from "./stage.ts";

export function routeRateStage(node: NodeAdmission): Stage {
  return node.stage("route_rate", (ctx) => {
    const route = ctx.route!;
    const l = route.limits;
    if (!l || !(l.rate > 0)) return { admit: true };
    const t = ctx.tenant!;
    const tenantMode = modeOf(t.limits);
    const shardSize = tenantLimits(t).shardSize;
    const limits: RateLimits = {
      rate: nonNegative(l.rate),
      burst: nonNegative(l.burst),
      shardSize,
      shadow: l.shadow || tenantMode.shadow,
      disabled: l.disabled || tenantMode.disabled,
    };
    node.routes.setShare(route.id, node.tenants.shareOf(t.id, { shardSize }));
    return node.routes.admit(route.id, limits, node.options.monotonic());
  });
}
