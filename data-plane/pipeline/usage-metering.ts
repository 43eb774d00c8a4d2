/**
 * Which answers the usage meter counts (docs/design.md §3.5): a request of an identified tenant
 * answered by a member of its shard (or by any node when the tenant has no shard), as
 * "admitted" when every stage let it through, else as its refusal's reason. A request this node
 * forwards is counted by the member that serves it; one refused here before placement while
 * this node is not a member is not counted at all (the control plane takes reports only from a
 * tenant's shard members).
 */
import { usageOutcome } from "../../proto/usage-report.ts";
import { type Rejection, REQUEST_ERRORS } from "../errors.ts";
import type { UsageMeter } from "../ops/usage-meter.ts";
import type { RequestContext } from "./stage.ts";

export interface RequestMeter {
  /** the stages' verdict on a request: undefined = admitted */
  answered(ctx: RequestContext, rejection: Rejection | undefined): void;
}

export function requestMeter(meter: UsageMeter, slot: string): RequestMeter {
  return {
    answered(ctx, rejection) {
      const tenant = ctx.tenant;
      if (!tenant || ctx.forward) return;
      if (tenant.shard.length > 0 && !tenant.shard.includes(slot)) return;
      const outcome = rejection ? usageOutcome(REQUEST_ERRORS[rejection.code].reason) : "admitted";
      meter.count(tenant.id, ctx.keyId ?? "", ctx.route?.id ?? "", outcome);
    },
  };
}
