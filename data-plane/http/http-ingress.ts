/**
 * Tenant HTTP ingress (fastify). Bodies are not parsed: one catch-all route hands the raw
 * request to the stage pipeline, then to the proxy, which streams it upstream (or, when
 * placement chose another member of the tenant's shard, to the peer forwarder) and relays the
 * answer into the raw response. Every answer is counted; rejections and errors are logged,
 * successes too unless log sampling (CORRAL_LOG_SAMPLE_RATE) says otherwise. Rejections are
 * problem+json with a corral-reason header.
 * `GET /.well-known/corral/placement/<tenant>` answers the tenant's shard (placement-stage.ts).
 * WebSocket upgrades (the server's `upgrade` event) go to websocket-proxy.ts; close() sends
 * every open socket 1001 before it drains the requests.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
import { boundPort, hostPort } from "../../proto/bound-url.ts";
import {
  answerOnSocket,
  type ConnectionCaps,
  capConnections,
  fastifyHttpLimits,
  type HttpLimits,
} from "../../runtime/http-limits.ts";
import { problemBody, type Rejection, REQUEST_ERRORS, type RequestErrorCode } from "../errors.ts";
import { fastifyLogger, quietLogController, sharedRequestLogger } from "../ops/fastify-logger.ts";
import { type OriginRules, trustsPeer } from "../pipeline/client-origin.ts";
import type { IngressBaseOptions } from "../pipeline/ingress-options.ts";
import { newRequestContext } from "../pipeline/request-context.ts";
import { RequestShell } from "../pipeline/request-shell.ts";
import type { HttpProxy } from "./http-proxy.ts";
import type { PeerForwarder } from "./peer-forwarder.ts";
import { type RequestContext, whenStagesRun } from "../pipeline/stage.ts";
import { placementAnswer } from "../pipeline/placement.ts";
import type { OpenSockets } from "../pipeline/open-sockets.ts";
import type { WebSocketProxy } from "./websocket-proxy.ts";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

export interface IngressOptions extends IngressBaseOptions {
  /** the proxy (through the gateway idempotency front, idempotency/idempotent-proxy.ts) */
  proxy: Pick<HttpProxy, "forward">;
  /** sends requests placement forwards to shard members; without it, every request is proxied here */
  forwarder?: PeerForwarder;
  /** request and idle timeouts, connection caps (CORRAL_*_TIMEOUT_MS, CORRAL_MAX_*) */
  limits: HttpLimits;
  /** WebSocket upgrades (websocket-proxy.ts) */
  websockets: WebSocketProxy;
  /** the node's open WebSockets: drained with 1001 on close */
  sockets: OpenSockets;
}

export interface Ingress {
  readonly url: string;
  readonly port: number;
  /** what the client connection caps refused (metrics) */
  readonly connectionCaps: ConnectionCaps;
  /** Stops accepting, waits for in-flight requests up to drainMs, then cuts what is left. */
  close(drainMs: number): Promise<void>;
}

function newContext(raw: IncomingMessage, rules: OriginRules): RequestContext {
  return newRequestContext(
    {
      target: raw.url ?? "/",
      method: raw.method ?? "GET",
      authority: raw.headers.host,
      headers: raw.headers,
      peer: raw.socket.remoteAddress ?? "",
    },
    rules,
  );
}

/** Status, headers and body of a rejection (problem+json with corral-reason). */
function rejectionAnswer(rejection: Rejection, extra: Record<string, string>) {
  const spec = REQUEST_ERRORS[rejection.code];
  const body = JSON.stringify(problemBody(rejection));
  const headers: Record<string, string | number> = { ...extra, ...rejection.headers };
  headers["corral-reason"] = spec.reason;
  headers["content-type"] = "application/problem+json; charset=utf-8";
  headers["content-length"] = Buffer.byteLength(body);
  return { status: spec.status, headers, body };
}

/** A rejection through fastify's reply (placement endpoint, not found, error handler). */
function sendRejection(
  reply: FastifyReply,
  rejection: Rejection,
  extra: Record<string, string> = {},
): FastifyReply {
  const { status, headers, body } = rejectionAnswer(rejection, extra);
  return reply.code(status).headers(headers).send(body);
}

/** A rejection on the raw response of a hijacked request. */
function writeRejection(res: ServerResponse, rejection: Rejection, extra: Record<string, string>): void {
  const { status, headers, body } = rejectionAnswer(rejection, extra);
  res.writeHead(status, headers);
  res.end(body);
}

const CLIENT_ERRORS: Record<string, RequestErrorCode> = {
  HPE_HEADER_OVERFLOW: "CORRAL_DP_HEADERS_TOO_LARGE",
  ERR_HTTP_REQUEST_TIMEOUT: "CORRAL_DP_REQUEST_TIMEOUT",
};

/**
 * Raw answer for errors node's HTTP server raises outside a request's handler: the parser's,
 * and the request timeout (headers or body still arriving). A response already under way is
 * cut instead: raw bytes would corrupt it.
 */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const code = CLIENT_ERRORS[err.code ?? ""] ?? "CORRAL_DP_BAD_REQUEST";
  const spec = REQUEST_ERRORS[code];
  answerOnSocket(socket, err, {
    status: spec.status,
    title: spec.title,
    headers: { "content-type": "application/problem+json", "corral-reason": spec.reason },
    body: JSON.stringify(problemBody({ code })),
  });
}

/** What the log line and the metrics say about a request; filled in as it goes. */
interface Outcome {
  /** corral-reason; "upstream" = proxied (the upstream's own answer) */
  reason: string;
}

class RequestHandler extends RequestShell<IngressOptions> {
  /**
   * The tenant request path. Fastify routes it; the answer is written on the raw response
   * (hijacked): the upstream's answer is relayed into it as it arrives, without fastify's
   * reply machinery. Sync stages and the proxy's dispatch run in this same turn.
   */
  handle(request: FastifyRequest, reply: FastifyReply): void {
    reply.hijack();
    const req = request.raw;
    const res = reply.raw;
    const ctx = newContext(req, this.o.origin);
    const outcome: Outcome = { reason: "upstream" };
    this.track(ctx, res, outcome);
    whenStagesRun(
      this.o.stages,
      ctx,
      (rejection) => this.afterStages(ctx, req, res, outcome, rejection),
      (err) => this.failed(err, res),
    );
  }

  private afterStages(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    outcome: Outcome,
    rejection: Rejection | undefined,
  ): void {
    this.verdict(ctx, rejection);
    if (rejection) {
      outcome.reason = REQUEST_ERRORS[rejection.code].reason;
      writeRejection(res, rejection, ctx.responseHeaders);
      return;
    }
    const forwarder = ctx.forward !== undefined ? this.o.forwarder : undefined;
    if (forwarder) outcome.reason = "forwarded";
    const pending = forwarder ? forwarder.forward(ctx, req, res) : this.o.proxy.forward(ctx, req, res);
    pending.then(
      (result) => {
        if (!("rejection" in result)) return; // relayed, or the client went away (see track)
        outcome.reason = REQUEST_ERRORS[result.rejection.code].reason;
        writeRejection(res, result.rejection, ctx.responseHeaders);
      },
      (err: unknown) => this.failed(err, res),
    );
  }

  /** A bug on the request path: logged, 500 if nothing was answered yet, else the response is cut. */
  private failed(err: unknown, res: ServerResponse): void {
    this.o.logger.error({ err }, "request failed");
    if (res.headersSent) res.destroy();
    else writeRejection(res, { code: "CORRAL_DP_INTERNAL" }, {});
  }

  /** GET /.well-known/corral/placement/<tenant>: the shard, for a key of that tenant. */
  async placement(request: FastifyRequest<{ Params: { tenant: string } }>, reply: FastifyReply) {
    const answer = await placementAnswer(
      () => this.o.state.config(),
      newContext(request.raw, this.o.origin),
      request.params.tenant,
    );
    if ("code" in answer) return sendRejection(reply, answer);
    return reply.header("cache-control", "no-store").send(answer);
  }

  /**
   * Counts the request in flight until its response closes; then the metrics and, for every
   * rejection and error and a sample of the rest, one log line. A response closed before
   * anything was written means the client went away: 499 client_gone.
   */
  private track(ctx: RequestContext, res: ServerResponse, outcome: Outcome): void {
    this.started();
    res.once("close", () => {
      const gone = !res.headersSent;
      const status = gone ? 499 : res.statusCode;
      this.finished(ctx, status, gone ? "client_gone" : outcome.reason, {
        method: ctx.method,
        status,
      });
    });
  }
}

export async function startIngress(o: IngressOptions): Promise<Ingress> {
  const app = Fastify({
    loggerInstance: fastifyLogger(o.logger),
    logController: quietLogController(),
    childLoggerFactory: sharedRequestLogger,
    exposeHeadRoutes: false,
    ...fastifyHttpLimits(o.limits, { maxHeaderSize: o.maxHeaderBytes }),
    clientErrorHandler: clientError,
    return503OnClosing: true,
  });
  const connectionCaps = capConnections(app.server, o.limits, (source) => trustsPeer(o.origin, source));
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, _payload, done) => done(null));
  const handler = new RequestHandler(o);
  app.route({ method: METHODS, url: "/*", handler: (request, reply) => handler.handle(request, reply) });
  app.get<{ Params: { tenant: string } }>("/.well-known/corral/placement/:tenant", (request, reply) =>
    handler.placement(request, reply),
  );
  // only WebSocket upgrades leave the request path; any other Upgrade (h2c...) is an ordinary request
  // (node >= 24.9; the installed @types/node predates the option)
  const upgrades = app.server as { shouldUpgradeCallback?: (req: IncomingMessage) => boolean };
  upgrades.shouldUpgradeCallback = (req) => req.headers.upgrade?.toLowerCase() === "websocket";
  app.server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    o.websockets.handle(req, socket, head),
  );
  app.setNotFoundHandler((_request, reply) => sendRejection(reply, { code: "CORRAL_DP_NO_ROUTE" }));
  app.setErrorHandler((err, _request, reply) => {
    o.logger.error({ err }, "request failed");
    return sendRejection(reply, { code: "CORRAL_DP_INTERNAL" });
  });
  await app.listen({ host: o.host, port: o.port });
  const port = boundPort(app.server, o.port);
  return {
    url: `http://${hostPort(o.host, port)}`,
    port,
    connectionCaps,
    async close(drainMs) {
      o.sockets.closeAll("node draining");
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
