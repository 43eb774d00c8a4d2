/**
 * Stage `client_rate` (where served): a keyless caller of a public route meets the route's
 * per-client-address bucket (admission/client-limiter.ts) before the tenant's and the route's
 * buckets, so the requests it is refused never spend the tenant's tokens; 429 client_rate.
 */
import { type NodeAdmission, modeOf } from "./node-admission.ts";
import type { Stage } from "./stage.ts";

export function clientRateStage(node: NodeAdmission): Stage {
  return node.stage("client_rate", (ctx) => {
    const route = ctx.route!;
    if (!ctx.keyless || !(route.clientRate > 0)) return { admit: true };
    const limits = { rate: route.clientRate, burst: route.clientBurst, ...modeOf(route.limits) };
    return node.clients.admit(route.id, ctx.remoteAddress, limits, node.options.monotonic());
  });
}
