/**
 * The end of the request path: streams the request to the route's upstream through a pooled
 * keep-alive connection and relays the answer straight into the client's response
 * (upstream-relay.ts). The route's timeout, or the request's remaining deadline when that is
 * shorter, bounds the wait for the upstream's response headers (504) and each pause in its
 * body (the relay's timer); the remaining time travels upstream as `corral-timeout-ms` (and `grpc-timeout` on gRPC
 * routes). Failures before the response starts become rejections (502/504/413/400) for the
 * caller to answer; after that the response is cut. The target is the balancer's
 * (upstream-pools.ts), and how the exchange went feeds the down list: a 5xx, a reset or a
 * timeout counts against the target, a refused connection ejects it, and when every target is
 * ejected the answer is 503 circuit_open at once. send() is the same exchange towards any
 * origin: the peer forwarder (peer-forwarder.ts) uses it to reach shard members.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { errors as undiciErrors } from "undici";
import { EGRESS_DENIED } from "../egress/egress-connect.ts";
import { type Rejection, reject } from "../errors.ts";
import { upstreamPath } from "../router/route-table.ts";
import { type HeaderMap, upstreamRequestHeaders } from "../pipeline/forward-headers.ts";
import type { RequestContext, UpstreamObserver } from "../pipeline/stage.ts";
import { ExchangeAborted, type RelayOutcome, type ResponseTap, UpstreamRelay } from "./upstream-relay.ts";
import type { Outcome } from "../upstream/down-list.ts";
import { CIRCUIT_OPEN } from "../upstream/upstream-upkeep.ts";
import type { PickedTarget, UpstreamPools } from "./upstream-pools.ts";

/** The answer's head, already written to the client (its body follows on its own). */
export interface RelayedResponse {
  statusCode: number;
  headers: HeaderMap;
}

/** notSent: the request never left the node (no target, egress refused, connection never opened) */
export type ProxyResult =
  | { response: RelayedResponse }
  | { rejection: Rejection; notSent?: true }
  | { clientGone: true };
/**
 * connectFailed: the target is unreachable. maybeSent false: the connection never opened, so
 * the request was not sent (safe to send elsewhere); true: the connection was reset, perhaps
 * while the target handled it.
 */
export type SendResult = ProxyResult | { connectFailed: true; maybeSent: boolean };

/** One exchange: where to, with which headers, how long to wait. */
export interface SendSpec {
  picked: PickedTarget;
  path: string;
  headers: HeaderMap;
  timeoutMs: number;
  /** the timeout is the request's deadline (504 deadline), not the route's (504 upstream_timeout) */
  deadlineBound: boolean;
  /** after the head, the longest pause in the body (the route's stream idle timeout) */
  bodyIdleMs?: number;
  /** the answer comes from a shard member: its corral-* headers are relayed (an upstream's never) */
  fromNode?: boolean;
  /** sees the upstream's status and headers before they are relayed */
  onHead?: (statusCode: number, headers: HeaderMap) => void;
  /** the body already read (idempotent requests), sent instead of the client's stream */
  body?: Buffer;
  /** sees the answer as it is relayed; see upstream-relay.ts for outliveClient */
  tap?: ResponseTap;
  outliveClient?: boolean;
}

/** What a caller of forward() may add to the exchange (gateway idempotency keys). */
export type ForwardExtras = Pick<SendSpec, "body" | "tap" | "outliveClient">;

class BodyTooLargeError extends Error {}
/** The connection never opened: the request was not sent. */
const CONNECT_FAILURES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

async function* limitedBody(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limit) throw new BodyTooLargeError(`request body exceeds ${limit} bytes`);
    yield chunk;
  }
}

export function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

function errorCodes(err: unknown): string[] {
  const e = err as { code?: string; cause?: { code?: string } };
  return [e?.code ?? "", e?.cause?.code ?? ""];
}

function isConnectFailure(err: unknown): boolean {
  return (
    err instanceof undiciErrors.ConnectTimeoutError || errorCodes(err).some((c) => CONNECT_FAILURES.has(c))
  );
}

/** Ms left before the request's deadline (undefined: it has none), at least 1. */
export function remainingMs(ctx: RequestContext): number | undefined {
  if (ctx.deadlineAt === undefined) return undefined;
  return Math.max(1, Math.floor(ctx.deadlineAt - performance.now()));
}

/** The deadline headers of the exchange: the time left replaces whatever the client sent. */
export function deadlineHeaders(headers: HeaderMap, remaining: number | undefined, grpc: boolean): HeaderMap {
  if (remaining === undefined) return headers;
  delete headers["grpc-timeout"];
  headers["corral-timeout-ms"] = String(remaining);
  if (grpc) headers["grpc-timeout"] = `${remaining}m`;
  return headers;
}

export class HttpProxy {
  private readonly pools: UpstreamPools;
  private readonly bodyLimit: number;
  private readonly observer: UpstreamObserver | undefined;

  constructor(pools: UpstreamPools, bodyLimit: number, observer?: UpstreamObserver) {
    this.pools = pools;
    this.bodyLimit = bodyLimit;
    this.observer = observer;
  }

  /** Proxies the request to its route's upstream. */
  async forward(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    extras: ForwardExtras = {},
  ): Promise<ProxyResult> {
    const route = ctx.route!;
    const picked = this.pools.pick(route.upstream, route.egress);
    if (!picked)
      return { rejection: reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream has no targets"), notSent: true };
    if (picked === CIRCUIT_OPEN)
      return {
        rejection: reject("CORRAL_DP_CIRCUIT_OPEN", "every target of the upstream is ejected"),
        notSent: true,
      };
    const remaining = remainingMs(ctx);
    const headers = upstreamRequestHeaders(req.headers, {
      tenantId: ctx.tenant!.id,
      clientIp: ctx.remoteAddress,
      host: req.headers.host,
      proto: ctx.proto,
      trace: ctx.trace,
    });
    const spec: SendSpec = {
      picked,
      path: upstreamPath(route, picked.target.basePath, ctx.url),
      headers: deadlineHeaders(headers, remaining, route.protocol === "grpc"),
      timeoutMs: Math.min(route.timeoutMs, remaining ?? Number.POSITIVE_INFINITY),
      deadlineBound: remaining !== undefined && remaining < route.timeoutMs,
      ...extras,
    };
    spec.bodyIdleMs = streamIdleMs(route, spec);
    const observer = this.observer;
    if (observer) {
      const sentAt = performance.now();
      spec.onHead = (status, answer) =>
        observer.onUpstreamResponse(ctx, status, answer, performance.now() - sentAt);
    }
    const result = await this.send(ctx, req, res, spec);
    picked.lease.end(outcomeOf(result));
    if (!("connectFailed" in result)) return result;
    const rejection = reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream could not be reached");
    return result.maybeSent ? { rejection } : { rejection, notSent: true };
  }

  /** One exchange with spec.picked: streams the body there and relays the answer into res. */
  send(ctx: RequestContext, req: IncomingMessage, res: ServerResponse, spec: SendSpec): Promise<SendResult> {
    if (Number(req.headers["content-length"] ?? 0) > this.bodyLimit)
      return Promise.resolve({
        rejection: reject("CORRAL_DP_PAYLOAD_TOO_LARGE", `body limit is ${this.bodyLimit} bytes`),
      });
    return new Promise((resolve) => {
      const settle = (outcome: RelayOutcome) =>
        resolve(
          outcome.kind === "head"
            ? { response: { statusCode: outcome.statusCode, headers: outcome.headers } }
            : failure(outcome.error, spec.deadlineBound),
        );
      const relay = new UpstreamRelay({
        res,
        extraHeaders: ctx.responseHeaders,
        timeoutMs: spec.timeoutMs,
        bodyIdleMs: spec.bodyIdleMs,
        fromNode: spec.fromNode === true,
        settle,
        onHead: spec.onHead,
        tap: spec.tap,
        outliveClient: spec.outliveClient,
      });
      spec.picked.pool.dispatch(
        {
          path: spec.path,
          method: ctx.method as "GET",
          headers: spec.headers,
          body: spec.body ?? (hasBody(req) ? Readable.from(limitedBody(req, this.bodyLimit)) : null),
          // the relay's own timer bounds the head and each body pause (see upstream-relay.ts)
          bodyTimeout: 0,
          headersTimeout: 0,
        },
        relay,
      );
    });
  }
}

/** The pause bound after the head: the route's stream idle timeout, unless the deadline is nearer. */
export function streamIdleMs(
  route: { streamIdleTimeoutMs: number },
  spec: Pick<SendSpec, "timeoutMs" | "deadlineBound">,
): number {
  return spec.deadlineBound ? spec.timeoutMs : route.streamIdleTimeoutMs;
}

/** Rejections that speak of the target's health (the rest speak of the request or the client). */
const TARGET_FAILURES = new Set<string>(["CORRAL_DP_UPSTREAM_ERROR", "CORRAL_DP_UPSTREAM_TIMEOUT"]);

/** How an exchange went, for the target's health (down-list.ts): 5xx and resets count against it. */
export function outcomeOf(result: SendResult): Outcome {
  if ("response" in result) return result.response.statusCode >= 500 ? "failure" : "ok";
  if ("connectFailed" in result) return result.maybeSent ? "failure" : "connect_failure";
  if ("rejection" in result) return TARGET_FAILURES.has(result.rejection.code) ? "failure" : "neutral";
  return "neutral";
}

function failure(err: unknown, deadlineBound: boolean): SendResult {
  if (err instanceof ExchangeAborted && err.why === "client_gone") return { clientGone: true };
  if (err instanceof ExchangeAborted && deadlineBound)
    return { rejection: reject("CORRAL_DP_DEADLINE_EXCEEDED", "the request's deadline passed upstream") };
  if (err instanceof ExchangeAborted)
    return { rejection: reject("CORRAL_DP_UPSTREAM_TIMEOUT", "the upstream did not answer in time") };
  if (err instanceof BodyTooLargeError)
    return { rejection: reject("CORRAL_DP_PAYLOAD_TOO_LARGE", err.message) };
  if (err instanceof undiciErrors.RequestContentLengthMismatchError)
    return { rejection: reject("CORRAL_DP_BAD_REQUEST", "body length differs from content-length") };
  if (errorCodes(err).includes(EGRESS_DENIED))
    return { rejection: reject("CORRAL_DP_EGRESS_DENIED", (err as Error).message), notSent: true };
  if (isConnectFailure(err)) return { connectFailed: true, maybeSent: false };
  if (errorCodes(err).includes("ECONNRESET")) return { connectFailed: true, maybeSent: true };
  return { rejection: reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream could not be reached") };
}
