/**
 * Stage `deadline`: the request's time left from grpc-timeout or corral-timeout-ms (the earlier
 * wins; malformed: 400); 504 deadline when it is below what the route usually takes.
 */
import { badTimeout, checkDeadline, parseTimeoutHeaders } from "../admission/index.ts";
import { header, type NodeAdmission } from "./node-admission.ts";
import type { Stage } from "./stage.ts";

export function deadlineStage(node: NodeAdmission): Stage {
  return node.stage("deadline", (ctx) => {
    const parsed = parseTimeoutHeaders({
      grpcTimeout: header(ctx, "grpc-timeout"),
      corralTimeoutMs: header(ctx, "corral-timeout-ms"),
    });
    if (!parsed.ok) return badTimeout(parsed);
    if (parsed.timeoutMs === undefined) return { admit: true };
    ctx.deadlineAt = ctx.receivedAt + parsed.timeoutMs;
    const now = node.options.monotonic();
    return checkDeadline(ctx.deadlineAt - now, node.latency.expectedMs(ctx.route!.id, now));
  });
}
