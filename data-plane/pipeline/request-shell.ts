/**
 * The protocol-neutral shell of both tenant ingresses' request handlers (http/http-ingress.ts,
 * grpc/grpc-ingress.ts extend it): their options, and what they do around every request
 * whatever the protocol: count it in flight, count the stages' verdict (usage metering,
 * sheds), and once its response has closed record the metrics, run the stages' onFinish hooks
 * and write the request's one log line (every rejection and error; successes too unless log
 * sampling, CORRAL_LOG_SAMPLE_RATE, says otherwise).
 */
import type { Rejection } from "../errors.ts";
import { type LogSampler, logSampler } from "../ops/log-sampler.ts";
import type { IngressBaseOptions } from "./ingress-options.ts";
import type { RequestContext } from "./stage.ts";

export class RequestShell<O extends IngressBaseOptions> {
  protected readonly o: O;
  private readonly logged: LogSampler;

  constructor(o: O) {
    this.o = o;
    this.logged = logSampler(o.logSampleRate ?? 1, o.random ?? Math.random);
  }

  /** The request is in flight until finished() is called for it. */
  protected started(): void {
    this.o.state.inflight++;
  }

  /** The stages let the request through (rejection undefined) or rejected it. */
  protected verdict(ctx: RequestContext, rejection: Rejection | undefined): void {
    this.o.usage?.answered(ctx, rejection);
    if (rejection?.code === "CORRAL_DP_SHED") this.o.state.shed++;
  }

  /**
   * The response has closed. status: the HTTP status (a gRPC call's HTTP equivalent); reason:
   * its corral-reason; fields: the protocol's own fields of the log line.
   */
  protected finished(
    ctx: RequestContext,
    status: number,
    reason: string,
    fields: Record<string, unknown>,
  ): void {
    this.o.state.inflight--;
    const seconds = (performance.now() - ctx.receivedAt) / 1000;
    this.o.metrics.recordRequest(reason, status, seconds);
    for (const fn of ctx.onFinish) fn(status, reason);
    if (!this.logged(status, reason)) return;
    this.o.logger.info(
      {
        ...fields,
        path: ctx.path,
        reason,
        tenant: ctx.tenant?.id,
        route: ctx.route?.id,
        traceId: ctx.trace?.traceId,
        ms: Math.round(seconds * 1000),
      },
      "request",
    );
  }
}
