/**
 * Stage `grpc_deadline` (gRPC only, last): the call's deadline from grpc-timeout when no earlier
 * stage has set one (the deadline stage normally has); 400 for a malformed value, 504 for 0.
 */
import { GRPC_TIMEOUT_FORMAT, parseGrpcTimeout } from "../admission/deadline.ts";
import { reject } from "../errors.ts";
import type { Stage } from "./stage.ts";

export function grpcDeadline(): Stage {
  return {
    name: "grpc_deadline",
    run(ctx) {
      const value = ctx.headers["grpc-timeout"];
      if (ctx.deadlineAt !== undefined || typeof value !== "string") return undefined;
      const ms = parseGrpcTimeout(value);
      if (ms === undefined) return reject("CORRAL_DP_BAD_REQUEST", GRPC_TIMEOUT_FORMAT);
      ctx.deadlineAt = ctx.receivedAt + ms;
      return ms > 0 ? undefined : reject("CORRAL_DP_DEADLINE_EXCEEDED", "grpc-timeout is 0");
    },
  };
}
