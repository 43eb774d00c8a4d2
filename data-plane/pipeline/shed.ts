/**
 * Stage `shed`: the node's load shedder for the request's class (the plan's priority, lowered by
 * corral-priority); 503 shed with a jittered Retry-After.
 */
import { effectivePriority, isAdmit } from "../admission/index.ts";
import { header, type NodeAdmission } from "./node-admission.ts";
import type { Stage } from "./stage.ts";

export function shedStage(node: NodeAdmission): Stage {
  return node.stage("shed", (ctx) => {
    const priority = effectivePriority(ctx.tenant!.limits?.priority, header(ctx, "corral-priority"));
    const load = node.options.load();
    // the load counts this request: it is not in flight yet as far as its own admission goes
    const decision = node.shedder.admit(priority, { ...load, inFlight: Math.max(0, load.inFlight - 1) });
    if (!isAdmit(decision)) node.options.metrics.shed(priority);
    return decision;
  });
}
