/**
 * Tenant HTTP ingress (fastify). Bodies are not parsed: one catch-all route hands the raw
 * request to the stage pipeline, then to the proxy, which streams it upstream (or, when
 * placement chose another member of the tenant's shard, to the peer forwarder). Every answer
 * is logged once and counted; rejections are problem+json with a corral-reason header.
 * `GET /.well-known/corral/placement/<tenant>` answers the tenant's shard (placement-stage.ts).
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { problemBody, type Rejection, REQUEST_ERRORS } from "../errors.ts";
import type { NodeState } from "../node-state.ts";
import { fastifyLogger, quietLogController } from "../ops/fastify-logger.ts";
import { statusClass, type DataPlaneMetrics } from "../ops/metrics.ts";
import { normalizeHost } from "../router/route-table.ts";
import type { HttpProxy } from "./http-proxy.ts";
import type { PeerForwarder } from "./peer-forwarder.ts";
import { type RequestContext, runStages, type Stage } from "./pipeline.ts";
import { placementAnswer } from "./placement-stage.ts";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export interface IngressOptions {
  host: string;
  port: number;
  logger: Logger;
  stages: readonly Stage[];
  proxy: HttpProxy;
  /** sends requests placement forwards to shard members; without it, every request is proxied here */
  forwarder?: PeerForwarder;
  metrics: DataPlaneMetrics;
  state: NodeState;
  maxHeaderBytes: number;
}

export interface Ingress {
  readonly url: string;
  readonly port: number;
  /** Stops accepting, waits for in-flight requests up to drainMs, then cuts what is left. */
  close(drainMs: number): Promise<void>;
}

function newContext(raw: IncomingMessage): RequestContext {
  const url = raw.url ?? "/";
  const q = url.indexOf("?");
  return {
    method: raw.method ?? "GET",
    host: normalizeHost(raw.headers.host),
    path: q === -1 ? url : url.slice(0, q),
    url,
    headers: raw.headers,
    remoteAddress: raw.socket.remoteAddress ?? "",
    receivedAt: performance.now(),
    responseHeaders: {},
    onFinish: [],
  };
}

function sendRejection(
  reply: FastifyReply,
  rejection: Rejection,
  extra: Record<string, string> = {},
): FastifyReply {
  const spec = REQUEST_ERRORS[rejection.code];
  reply.headers(extra).headers(rejection.headers ?? {});
  reply.code(spec.status).header("corral-reason", spec.reason).type("application/problem+json");
  return reply.send(JSON.stringify(problemBody(rejection)));
}

/** Raw answer for errors node's HTTP parser raises before fastify sees a request. */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || !socket.writable) return;
  const code = err.code === "HPE_HEADER_OVERFLOW" ? "CORRAL_DP_HEADERS_TOO_LARGE" : "CORRAL_DP_BAD_REQUEST";
  const spec = REQUEST_ERRORS[code];
  const body = JSON.stringify(problemBody({ code }));
  socket.end(
    `HTTP/1.1 ${spec.status} ${spec.title}\r\nconnection: close\r\ncontent-type: application/problem+json\r\n` +
      `corral-reason: ${spec.reason}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

class RequestHandler {
  private readonly o: IngressOptions;

  constructor(o: IngressOptions) {
    this.o = o;
  }

  async handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const ctx = newContext(request.raw);
    let reason = "upstream";
    this.track(ctx, reply, () => reason);
    const rejection = await runStages(this.o.stages, ctx);
    if (rejection) {
      reason = REQUEST_ERRORS[rejection.code].reason;
      if (rejection.code === "CORRAL_DP_SHED") this.o.state.shed++;
      return sendRejection(reply, rejection, ctx.responseHeaders);
    }
    const forwarded = ctx.forward !== undefined && this.o.forwarder !== undefined;
    if (forwarded) reason = "forwarded";
    const result = forwarded
      ? await this.o.forwarder!.forward(ctx, request.raw, reply.raw)
      : await this.o.proxy.forward(ctx, request.raw, reply.raw);
    if ("rejection" in result) {
      reason = REQUEST_ERRORS[result.rejection.code].reason;
      return sendRejection(reply, result.rejection, ctx.responseHeaders);
    }
    if ("clientGone" in result) {
      reason = "client_gone";
      return reply.code(499).send();
    }
    const { statusCode, headers, body } = result.response;
    return reply.code(statusCode).headers(headers).headers(ctx.responseHeaders).send(body);
  }

  /** GET /.well-known/corral/placement/<tenant>: the shard, for a key of that tenant. */
  async placement(request: FastifyRequest<{ Params: { tenant: string } }>, reply: FastifyReply) {
    const answer = await placementAnswer(
      () => this.o.state.config(),
      newContext(request.raw),
      request.params.tenant,
    );
    if ("code" in answer) return sendRejection(reply, answer);
    return reply.header("cache-control", "no-store").send(answer);
  }

  /** Counts the request in flight until its response closes; then one log line and the metrics. */
  private track(ctx: RequestContext, reply: FastifyReply, reason: () => string): void {
    const { state, metrics, logger } = this.o;
    state.inflight++;
    reply.raw.once("close", () => {
      state.inflight--;
      const status = reply.raw.statusCode;
      const seconds = (performance.now() - ctx.receivedAt) / 1000;
      const cls = statusClass(status);
      metrics.requests.inc({ reason: reason(), status_class: cls });
      metrics.requestSeconds.observe({ status_class: cls }, seconds);
      for (const fn of ctx.onFinish) fn(status);
      logger.info(
        {
          method: ctx.method,
          path: ctx.path,
          status,
          reason: reason(),
          tenant: ctx.tenant?.id,
          route: ctx.route?.id,
          ms: Math.round(seconds * 1000),
        },
        "request",
      );
    });
  }
}

export async function startIngress(o: IngressOptions): Promise<Ingress> {
  const app = Fastify({
    loggerInstance: fastifyLogger(o.logger),
    logController: quietLogController(),
    exposeHeadRoutes: false,
    http: { maxHeaderSize: o.maxHeaderBytes },
    clientErrorHandler: clientError,
    return503OnClosing: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null));
  const handler = new RequestHandler(o);
  app.route({ method: METHODS, url: "/*", handler: (request, reply) => handler.handle(request, reply) });
  app.get<{ Params: { tenant: string } }>("/.well-known/corral/placement/:tenant", (request, reply) =>
    handler.placement(request, reply),
  );
  app.setNotFoundHandler((_request, reply) => sendRejection(reply, { code: "CORRAL_DP_NO_ROUTE" }));
  app.setErrorHandler((err, _request, reply) => {
    o.logger.error({ err }, "request failed");
    return sendRejection(reply, { code: "CORRAL_DP_INTERNAL" });
  });
  await app.listen({ host: o.host, port: o.port });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : o.port;
  const host = o.host.includes(":") ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}`,
    port,
    async close(drainMs) {
      // keep-alive connections turn idle as their last response ends: close them as they do
      const idle = setInterval(() => app.server.closeIdleConnections(), 50);
      const cut = setTimeout(() => app.server.closeAllConnections(), drainMs);
      try {
        await app.close();
      } finally {
        clearInterval(idle);
        clearTimeout(cut);
      }
    },
  };
}
