/** Stage `concurrency` (where served): the tenant's requests in flight on this node; 429 quota. */
import { modeOf, type NodeAdmission, nonNegative } from "./node-admission.ts";
import type { Stage } from "./stage.ts";

export function concurrencyStage(node: NodeAdmission): Stage {
  return node.stage("concurrency", (ctx) => {
    const t = ctx.tenant!;
    const concurrency = Math.trunc(nonNegative(t.limits?.concurrency));
    return node.concurrency.acquire(t.id, { concurrency, ...modeOf(t.limits) });
  });
}
