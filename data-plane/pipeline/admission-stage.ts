/**
 * Adapts an admission decision function (data-plane/admission/) to a pipeline Stage: an admit
 * keeps its headers for the response and its release for the end of the request; a reject
 * becomes its catalogue rejection, with the stage's headers (Retry-After, RateLimit...).
 */
import { type AdmissionDecision, toRejection } from "../admission/decision.ts";
import type { RequestContext, Stage } from "./stage.ts";

export function admissionStage(name: string, decide: (ctx: RequestContext) => AdmissionDecision): Stage {
  return {
    name,
    run(ctx) {
      const decision = decide(ctx);
      if (!decision.admit) return toRejection(decision);
      if (decision.headers) Object.assign(ctx.responseHeaders, decision.headers);
      if (decision.release) ctx.onFinish.push(decision.release);
      return undefined;
    },
  };
}
