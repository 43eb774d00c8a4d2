/**
 * Stage `tenant_rate` (where served): the tenant's sustained and burst buckets at this node's
 * share; notes the tenant's demand for the rebalancer; 429 quota with Retry-After and RateLimit.
 */
import { type NodeAdmission, tenantLimits } from "./node-admission.ts";
import type { Stage } from "./stage.ts";

export function tenantRateStage(node: NodeAdmission): Stage {
  return node.stage("tenant_rate", (ctx) => {
    const t = ctx.tenant!;
    node.options.demand.note(t.id, node.options.now());
    return node.tenants.admit(t.id, tenantLimits(t), node.options.monotonic());
  });
}
