/**
 * The control plane's one HTTP server: fastify with strict JSON-schema validation, a
 * 64 KiB body limit, problem+json errors from the catalogue, one log line per request,
 * request metrics, and the ops endpoints /healthz, /readyz and /metrics. Plain HTTP, or
 * HTTPS (so /sync/v1 is wss) when given a certificate and key.
 */
import { randomUUID } from "node:crypto";
import { createServer as createHttpServer, type RequestListener, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchema,
  LogController,
} from "fastify";
import type { Socket } from "node:net";
import type { Tracer } from "@opentelemetry/api";
import {
  answerOnSocket,
  capConnections,
  fastifyHttpLimits,
  type HttpLimits,
} from "../../runtime/http-limits.ts";
import { CorralError, type ErrorCode, toProblem } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import type { Operator } from "../store/operator-tokens.ts";
import { type ApiDocumentInfo, buildOpenApi, type CollectedRoute, type RouteSchema } from "./openapi.ts";
import { toCorralError } from "./problems.ts";
import { traceRequests } from "./request-spans.ts";

/** Who may call a route: nobody needs a token, any operator, or admins only. */
export type Access = "public" | "viewer" | "admin";

declare module "fastify" {
  interface FastifyRequest {
    /** the authenticated operator (admin routes), else null */
    operator: Operator | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifySchema {
    /** OpenAPI operation summary and tags */
    summary?: string;
    tags?: string[];
  }
}

export const BODY_LIMIT = 64 * 1024;

export interface HttpServerDeps {
  logger: Logger;
  metrics: ControlPlaneMetrics;
  /** request and idle timeouts, connection caps (CORRAL_*_TIMEOUT_MS, CORRAL_MAX_*) */
  limits: HttpLimits;
  /** undefined when ready, else the reason */
  notReadyReason: () => Promise<string | undefined>;
  /** PEM certificate chain and key: serve HTTPS */
  tls?: { cert: Buffer; key: Buffer };
  /** exports one span per request (runtime/tracing.ts); undefined: export off, no hooks */
  tracer?: Tracer;
}

/** The problem document; an error that says when to come back also sets Retry-After. */
export function sendProblem(reply: FastifyReply, err: CorralError): FastifyReply {
  const { retryAfterSeconds } = err.extensions;
  if (typeof retryAfterSeconds === "number") reply.header("retry-after", String(retryAfterSeconds));
  return reply.code(err.status).type("application/problem+json").send(toProblem(err));
}

/** Route options documenting a route of `tag`: its summary and its schemas (params, body, response...). */
export function documented(tag: string) {
  return (summary: string, schema: Omit<FastifySchema, "summary" | "tags"> = {}) => ({
    schema: { summary, tags: [tag], ...schema },
  });
}

/**
 * How an API answers what goes wrong: anything thrown becomes its catalogued problem (`map`
 * adjusts it, e.g. to the tenant API's codes), logged when it is a 5xx; a path no route matches
 * is `notFound`.
 */
export function answerProblems(
  app: FastifyInstance,
  notFound: ErrorCode,
  map: (err: CorralError) => CorralError = (err) => err,
): void {
  app.setErrorHandler((err, req, reply) => {
    const problem = map(toCorralError(err));
    if (problem.status >= 500) req.log.error({ err, code: problem.code }, "request failed");
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler((req, reply) =>
    sendProblem(reply, new CorralError(notFound, `no route ${req.method} ${req.url.split("?")[0]}`)),
  );
}

/**
 * Documents every route registered on `app` after this call (not HEAD, not public ones), each
 * with the access `accessOf` gives it, and serves them as a public /openapi.json, built once.
 */
export function serveOpenApi(
  app: FastifyInstance,
  info: ApiDocumentInfo,
  accessOf: (method: string, configured: Access | undefined) => CollectedRoute["access"],
): void {
  const routes: CollectedRoute[] = [];
  app.addHook("onRoute", (r) => {
    const methods = Array.isArray(r.method) ? r.method : [r.method];
    for (const method of methods) {
      if (method === "HEAD" || r.config?.access === "public") continue;
      routes.push({
        method,
        url: r.url,
        access: accessOf(method, r.config?.access),
        schema: r.schema as RouteSchema,
      });
    }
  });
  let document: object | undefined;
  app.get("/openapi.json", { config: { access: "public" } }, async () => {
    document ??= buildOpenApi(routes, info);
    return document;
  });
}

export function buildHttpServer(deps: HttpServerDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // fastify's own two lines per request are replaced by ours (logRequest): one per request
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    return503OnClosing: true,
    // fastify applies no timeouts to a server it did not create: limitedServer does
    serverFactory: (handler) => limitedServer(deps, handler),
    clientErrorHandler: clientError,
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: true },
    },
  });
  capConnections(app.server, deps.limits);
  app.decorateRequest("operator", null);
  app.removeContentTypeParser("text/plain"); // bodies are JSON only: anything else is 415
  answerProblems(app, "CORRAL_ADMIN_NOT_FOUND");
  app.addHook("onResponse", async (req, reply) => logRequest(deps, req, reply));
  if (deps.tracer) traceRequests(app, deps.tracer);
  registerOpsRoutes(app, deps);
  return app;
}

/**
 * Plain HTTP, or HTTPS when given a certificate (an https.Server emits the same request and
 * upgrade events fastify and /sync/v1 use), with the slow-client timeouts and per-connection
 * request limit of CORRAL_*_TIMEOUT_MS / CORRAL_MAX_REQUESTS_PER_CONNECTION.
 */
function limitedServer(deps: HttpServerDeps, handler: RequestListener): Server {
  const limits = fastifyHttpLimits(deps.limits);
  const server = deps.tls
    ? (createHttpsServer({ ...limits.http, ...deps.tls }, handler) as unknown as Server)
    : createHttpServer(limits.http, handler);
  server.requestTimeout = limits.requestTimeout;
  server.keepAliveTimeout = limits.keepAliveTimeout;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  return server;
}

const CLIENT_ERRORS: Record<string, ErrorCode> = {
  HPE_HEADER_OVERFLOW: "CORRAL_CP_HEADERS_TOO_LARGE",
  ERR_HTTP_REQUEST_TIMEOUT: "CORRAL_CP_REQUEST_TIMEOUT",
};

/** Errors node's HTTP server raises outside a handler (parser, request timeout): problem+json. */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const problem = toProblem(new CorralError(CLIENT_ERRORS[err.code ?? ""] ?? "CORRAL_CP_BAD_HTTP"));
  answerOnSocket(socket, err, {
    status: problem.status,
    title: problem.title,
    headers: { "content-type": "application/problem+json" },
    body: JSON.stringify(problem),
  });
}

function logRequest(deps: HttpServerDeps, req: FastifyRequest, reply: FastifyReply): void {
  const route = req.routeOptions.url ?? "unmatched";
  const seconds = reply.elapsedTime / 1000;
  deps.metrics.httpRequests.inc({ method: req.method, route, status: String(reply.statusCode) });
  deps.metrics.httpDuration.observe({ method: req.method, route }, seconds);
  const ops = route === "/healthz" || route === "/readyz" || route === "/metrics";
  req.log[ops ? "debug" : "info"](
    {
      method: req.method,
      url: req.url.slice(0, 512),
      route,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
      operator: req.operator?.name,
    },
    "request",
  );
}

function registerOpsRoutes(app: FastifyInstance, deps: HttpServerDeps): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const reason = await deps.notReadyReason();
    if (reason) return sendProblem(reply, new CorralError("CORRAL_CP_NOT_READY", reason));
    return { status: "ready" };
  });
  app.get("/metrics", async (_req, reply) => {
    reply.type(deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
}
