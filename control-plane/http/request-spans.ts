/**
 * One OpenTelemetry server span per admin and tenant API request (when export is on: the HTTP
 * server adds these hooks only with a tracer). The caller's valid traceparent is the parent;
 * the span names the route template (never the URL, which carries ids and queries), the status,
 * and who called: the operator (admin API) or the tenant (tenant API, tagged by its auth hook).
 */
import type { Span, Tracer } from "@opentelemetry/api";
import { ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE } from "@opentelemetry/semantic-conventions";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { finishSpan, SPAN_ATTRIBUTES, startSpanFromHeaders } from "../../runtime/tracing.ts";

const spans = new WeakMap<FastifyRequest, Span>();

export function traceRequests(app: FastifyInstance, tracer: Tracer): void {
  app.addHook("onRequest", async (req) => {
    spans.set(req, startSpanFromHeaders(tracer, req.method, req.headers));
  });
  app.addHook("onResponse", async (req, reply) => {
    const span = spans.get(req);
    if (!span) return;
    const route = req.routeOptions.url ?? "unmatched";
    finishSpan(
      span,
      {
        [ATTR_HTTP_ROUTE]: route,
        [ATTR_HTTP_RESPONSE_STATUS_CODE]: reply.statusCode,
        [SPAN_ATTRIBUTES.operator]: req.operator?.name,
      },
      reply.statusCode >= 500,
      `${req.method} ${route}`,
    );
  });
}

/** Names the tenant a request acts for on its span (a no-op without export). */
export function tagRequestTenant(req: FastifyRequest, tenantId: string): void {
  spans.get(req)?.setAttribute(SPAN_ATTRIBUTES.tenant, tenantId);
}
