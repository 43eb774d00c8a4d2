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
 *
 * Retries (retry/retry-policy.ts): a request the route may retry (idempotent method or an
 * Idempotency-Key, and a body of at most RETRY_BODY_LIMIT bytes with a content-length, read
 * whole before the first attempt) that fails before its answer's head is written (connect
 * failure, reset, or a retry status, which is then held back instead of relayed) is sent
 * again, to another target when there is one, after the backoff, within the deadline and the
 * upstream's retry budget. Any other body streams straight through and is never retried.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { errors as undiciErrors } from "undici";
import { EGRESS_DENIED } from "../egress/egress-connect.ts";
import { type Rejection, reject } from "../errors.ts";
import { Retrier } from "../retry/retrier.ts";
import {
  type AttemptFailure,
  RETRY_BODY_LIMIT,
  type RetryVerdict,
  retryableRequest,
} from "../retry/retry-policy.ts";
import { type CompiledRoute, upstreamPath } from "../router/route-table.ts";
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
export type SendResult = ProxyResult | { connectFailed: true; maybeSent: boolean } | { held: number };

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
  /** the request's body, read whole (for retries, or by the idempotency front); absent: the client's body streams */
  body?: Buffer;
  /** true: the answer with this status is retried: held back, not relayed (the result is { held }) */
  hold?: (statusCode: number) => boolean;
  /** sees the answer as it is relayed; see upstream-relay.ts for outliveClient */
  tap?: ResponseTap;
  outliveClient?: boolean;
}

/** What a caller of forward() may add to the exchange (gateway idempotency keys). */
export type ForwardExtras = Pick<SendSpec, "body" | "tap" | "outliveClient">;

class BodyTooLargeError extends Error {}
/** The connection broke after it opened: the request may have reached the target. */
const RESETS = new Set(["ECONNRESET", "UND_ERR_SOCKET", "EPIPE"]);
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

/** A body read whole for retries, or why it could not be. */
type ReplayBody = { body: Buffer | undefined } | ProxyResult;

/** Reads the whole body (at most RETRY_BODY_LIMIT bytes, announced by content-length) within timeoutMs. */
function readWhole(req: IncomingMessage, timeoutMs: number): Promise<ReplayBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const finish = (result: ReplayBody) => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("error", onGone).off("close", onGone);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > RETRY_BODY_LIMIT)
        finish({ rejection: reject("CORRAL_DP_BAD_REQUEST", "body longer than its content-length") });
      else chunks.push(chunk);
    };
    const onEnd = () => finish({ body: Buffer.concat(chunks) });
    const onGone = () => finish({ clientGone: true });
    const timer = setTimeout(
      () =>
        finish({ rejection: reject("CORRAL_DP_REQUEST_TIMEOUT", "the request body did not arrive in time") }),
      timeoutMs,
    );
    req.on("data", onData).once("end", onEnd).once("error", onGone).once("close", onGone);
  });
}

/**
 * A final rejection: notSent only while no attempt may have reached a target (what the
 * idempotency front needs to know to release its key).
 */
function unsent(sent: boolean, rejection: Rejection, notSent: boolean): ProxyResult {
  return notSent && !sent ? { rejection, notSent: true } : { rejection };
}

/** How an attempt failed in a way a retry may mend; undefined: it did not (answer, or a final rejection). */
function attemptFailure(result: SendResult): AttemptFailure | undefined {
  if ("held" in result) return { kind: "status", status: result.held };
  if ("connectFailed" in result) return result.maybeSent ? { kind: "reset" } : { kind: "connect" };
  return undefined;
}

export class HttpProxy {
  private readonly pools: UpstreamPools;
  private readonly bodyLimit: number;
  private readonly observer: UpstreamObserver | undefined;
  private readonly retrier: Retrier;

  constructor(pools: UpstreamPools, bodyLimit: number, observer?: UpstreamObserver, retrier?: Retrier) {
    this.pools = pools;
    this.bodyLimit = bodyLimit;
    this.observer = observer;
    this.retrier = retrier ?? new Retrier({ clock: () => performance.now(), random: Math.random });
  }

  /**
   * Proxies the request to its route's upstream, retrying what the retry policy allows. Each
   * attempt takes the balancer's target (another than the ones tried while one is available)
   * and ends its lease with its own outcome; an open circuit ends the attempts.
   */
  async forward(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    extras: ForwardExtras = {},
  ): Promise<ProxyResult> {
    const route = ctx.route!;
    const read = extras.body !== undefined ? { body: extras.body } : await this.replayBody(ctx, req, route);
    if (!("body" in read)) return read;
    const resendable = retryableRequest(ctx.method, req.headers["idempotency-key"] !== undefined);
    const attempts = this.retrier.begin(route, resendable && (read.body !== undefined || !hasBody(req)));
    let sent = false; // an attempt may have reached a target
    for (;;) {
      const picked = this.pools.pick(route.upstream, route.egress, attempts.tried);
      if (!picked)
        return unsent(sent, reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream has no targets"), true);
      if (picked === CIRCUIT_OPEN)
        return unsent(
          sent,
          reject("CORRAL_DP_CIRCUIT_OPEN", "every target of the upstream is ejected"),
          true,
        );
      attempts.attempt(picked.target.origin);
      let held: RetryVerdict | undefined;
      const spec = this.upstreamSpec(ctx, req, picked, { ...extras, body: read.body });
      if (attempts.possible)
        spec.hold = (status) => {
          held = attempts.decide({ kind: "status", status }, remainingMs(ctx));
          return held.retry;
        };
      const result = await this.send(ctx, req, res, spec);
      picked.lease.end(outcomeOf(result));
      const failure = attemptFailure(result);
      if (!failure)
        return "rejection" in result
          ? unsent(sent, result.rejection, result.notSent === true)
          : (result as ProxyResult);
      sent ||= failure.kind !== "connect";
      const verdict = held ?? attempts.decide(failure, remainingMs(ctx));
      if (!verdict.retry)
        return unsent(sent, reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream could not be reached"), true);
      if (verdict.delayMs > 0) await sleep(verdict.delayMs);
      if (res.destroyed && extras.outliveClient !== true) return { clientGone: true };
    }
  }

  /**
   * The body to send again on a retry: read whole when the route retries, the request may be
   * sent twice and its content-length is at most RETRY_BODY_LIMIT; else undefined (it streams).
   */
  private replayBody(
    ctx: RequestContext,
    req: IncomingMessage,
    route: CompiledRoute,
  ): Promise<ReplayBody> | ReplayBody {
    const none = { body: undefined };
    if (!hasBody(req) || route.retries === 0) return none;
    if (!retryableRequest(ctx.method, req.headers["idempotency-key"] !== undefined)) return none;
    const length = Number(req.headers["content-length"]);
    if (req.headers["transfer-encoding"] !== undefined || !(length <= RETRY_BODY_LIMIT)) return none;
    return readWhole(req, Math.min(route.timeoutMs, remainingMs(ctx) ?? Number.POSITIVE_INFINITY));
  }

  /** One attempt at `picked`: its path, headers (with the time left), timeout and the caller's extras. */
  private upstreamSpec(
    ctx: RequestContext,
    req: IncomingMessage,
    picked: PickedTarget,
    extras: ForwardExtras,
  ): SendSpec {
    const route = ctx.route!;
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
    return spec;
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
            : outcome.kind === "held"
              ? { held: outcome.statusCode }
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
        hold: spec.hold,
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
  if ("held" in result) return result.held >= 500 ? "failure" : "ok";
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
  // reset, or closed by the other side, before the answer's head
  if (errorCodes(err).some((c) => RESETS.has(c))) return { connectFailed: true, maybeSent: true };
  return { rejection: reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream could not be reached") };
}
