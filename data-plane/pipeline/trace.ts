/**
 * The first stage: the request's W3C trace context. A valid `traceparent` from the client (or from
 * the shard member that forwarded the request) continues its trace; an absent or malformed one
 * starts a new trace. The node's own span id becomes the parent the proxies send upstream
 * (runtime/trace-context.ts outgoingTraceHeaders), the trace id goes into the log line and the
 * `corral-trace-id` response header of every answer, rejections included.
 *
 * Export off (no tracer): only ids, no span objects. Export on: one OpenTelemetry server span per
 * request, parent-based sampled (runtime/tracing.ts); a recorded span ends when the response does,
 * with the tenant, route, status and, unless the upstream answered, the corral-reason (or
 * "forwarded" when a shard member served it). Nothing the client sends becomes an attribute: its
 * tracestate travels on, never into the span's fields.
 */
import { type Span, TraceFlags, type Tracer } from "@opentelemetry/api";
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
} from "@opentelemetry/semantic-conventions";
import { parseTraceparent, type TraceIds, validTracestate } from "../../runtime/trace-context.ts";
import { finishSpan, SPAN_ATTRIBUTES, startServerSpan } from "../../runtime/tracing.ts";
import type { RequestContext, Stage } from "./stage.ts";

/** The response header with the trace id (docs/design.md: why this name). */
export const TRACE_ID_HEADER = "corral-trace-id";

/** The reason of an answer relayed from the upstream (not the node's own). */
const RELAYED = "upstream";

function endSpan(span: Span, ctx: RequestContext, status: number, reason: string): void {
  finishSpan(
    span,
    {
      [SPAN_ATTRIBUTES.tenant]: ctx.tenant?.id,
      [SPAN_ATTRIBUTES.route]: ctx.route?.id,
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: status,
      [SPAN_ATTRIBUTES.reason]: reason === RELAYED ? undefined : reason,
    },
    status >= 500,
    ctx.route ? `${ctx.method} ${ctx.route.id}` : undefined,
  );
}

/** The trace stage; `tracer` undefined: export off, ids only (`ids` draws them). */
export function traceStage(tracer: Tracer | undefined, ids: TraceIds): Stage {
  return {
    name: "trace",
    run(ctx) {
      const parent = parseTraceparent(ctx.headers.traceparent);
      const tracestate = parent ? validTracestate(ctx.headers.tracestate) : undefined;
      if (!tracer) {
        ctx.trace = {
          traceId: parent?.traceId ?? ids.traceId(),
          spanId: ids.spanId(),
          sampled: parent?.sampled ?? false,
          tracestate,
        };
      } else {
        const span = startServerSpan(tracer, ctx.method, parent, tracestate, {
          [ATTR_HTTP_REQUEST_METHOD]: ctx.method,
        });
        const sc = span.spanContext();
        ctx.trace = {
          traceId: sc.traceId,
          spanId: sc.spanId,
          sampled: (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED,
          tracestate,
        };
        if (span.isRecording()) ctx.onFinish.push((status, reason) => endSpan(span, ctx, status, reason));
      }
      ctx.responseHeaders[TRACE_ID_HEADER] = ctx.trace.traceId;
      return undefined;
    },
  };
}
