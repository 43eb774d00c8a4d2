/**
 * The end of a gRPC call's path: opens a stream to the route's upstream on the target's shared
 * HTTP/2 session and relays both directions frame by frame (unary and every streaming kind
 * alike; messages are never decoded), then the upstream's trailers. Deadline: the upstream gets
 * grpc-timeout = the time left, and the node ends the call with DEADLINE_EXCEEDED when it runs
 * out. The route's timeout bounds the wait for the upstream's response headers. A client that
 * cancels cancels the upstream stream, and an upstream reset resets the client's stream.
 *
 * Retries (retry/retry-policy.ts): a call carrying `idempotency-key` metadata on a route with
 * retries is retried on another target when it fails before any response reached the client:
 * the connection failed, the stream was reset, or the answer carries one of the route's retry
 * codes (default UNAVAILABLE) before any message (such a call's response head waits for its
 * first message, so headers then a retry code are retried too). Its
 * request bytes so far (at most RETRY_BODY_LIMIT) are kept and sent again on the new stream;
 * a call that sent more is not retried. Within the deadline and the upstream's retry budget.
 *
 * The target is the balancer's (upstream-sessions.ts), another than the ones tried while one is
 * available; how each attempt went feeds the down list (UNAVAILABLE, a 5xx, a reset or a timeout
 * count against the target, a refused connection ejects it), and when every target is ejected
 * the call ends at once with UNAVAILABLE circuit_open (a retry is then not attempted).
 */
import { type ClientHttp2Stream, constants, type ServerHttp2Stream } from "node:http2";
import { EGRESS_DENIED } from "../egress/egress-connect.ts";
import { type Rejection, REQUEST_ERRORS, reject } from "../errors.ts";
import type { RequestContext } from "../pipeline/stage.ts";
import { Retrier } from "../retry/retrier.ts";
import { ReplayBuffer } from "../retry/replay-buffer.ts";
import { type AttemptFailure, RETRY_BODY_LIMIT, retryableRequest } from "../retry/retry-policy.ts";
import { upstreamPath } from "../router/route-table.ts";
import { CIRCUIT_OPEN } from "../upstream/upstream-upkeep.ts";
import { rejectionTrailers, upstreamGrpcHeaders } from "./grpc-headers.ts";
import { MessageMeter } from "./message-meter.ts";
import {
  type Attempt,
  type CallExchange,
  type CallLeg,
  type CallRecord,
  type CallState,
  type GrpcProxyOptions,
  ProxiedCall,
} from "./proxied-call.ts";
import type { BalancedSession, UpstreamSessions } from "./upstream-sessions.ts";

export type {
  CallExchange,
  CallLeg,
  CallRecord,
  CallState,
  CallTap,
  GrpcProxyOptions,
} from "./proxied-call.ts";

/** Answers a call with a rejection as a trailers-only response. */
export function respondRejection(
  client: ServerHttp2Stream,
  record: CallRecord,
  rejection: Rejection,
  extra: Record<string, string> = {},
): void {
  const spec = REQUEST_ERRORS[rejection.code];
  record.grpcStatus = spec.grpc;
  record.reason = spec.reason;
  if (client.destroyed || client.headersSent) return;
  client.respond(rejectionTrailers(rejection, extra), { endStream: true });
  // the client may still be sending: we are done with its stream
  if (!client.readableEnded) client.close(constants.NGHTTP2_NO_ERROR);
}

export class GrpcProxy {
  private readonly sessions: UpstreamSessions;
  private readonly options: GrpcProxyOptions;
  private readonly retrier: Retrier;

  constructor(sessions: UpstreamSessions, options: GrpcProxyOptions) {
    this.sessions = sessions;
    this.options = options;
    this.retrier = options.retrier ?? new Retrier({ clock: () => performance.now(), random: Math.random });
  }

  /**
   * Sync when the upstream's session is ready (the usual case); a promise while it connects (the
   * egress policy is checked on connect: a refusal answers CORRAL_DP_EGRESS_DENIED).
   */
  forward(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    exchange?: CallExchange,
  ): Promise<void> | undefined {
    const route = ctx.route!;
    const attempts = this.retrier.begin(
      route,
      retryableRequest("POST", ctx.headers["idempotency-key"] !== undefined),
    );
    const meter = new MessageMeter(this.options.maxMessageBytes);
    const replay = attempts.possible ? new ReplayBuffer(RETRY_BODY_LIMIT) : undefined;
    if (replay && exchange) {
      // read whole beforehand: a retry sends the same bytes
      replay.add(exchange.body);
      replay.ended = true;
    }
    const state: CallState = { meter, attempts, replay, exchange };
    return this.attempt(ctx, client, record, state);
  }

  private attempt(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    state: CallState,
  ): Promise<void> | undefined {
    const route = ctx.route!;
    const picked = this.sessions.pick(route.upstream, route.egress, state.attempts?.tried);
    if (!picked || picked === CIRCUIT_OPEN) {
      const rejection = picked
        ? reject("CORRAL_DP_CIRCUIT_OPEN", "every target of the upstream is ejected")
        : reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream has no targets");
      respondRejection(client, record, rejection, ctx.responseHeaders);
      return undefined;
    }
    state.attempts?.attempt(picked.target.origin);
    if (!picked.ready) {
      this.open(ctx, client, record, picked, state);
      return undefined;
    }
    return this.sessions.whenReady(picked).then((failed) => {
      if (!failed) return this.open(ctx, client, record, picked, state);
      // a refusal by the egress policy says nothing about the target's health
      picked.lease.end(failed.code === EGRESS_DENIED ? "neutral" : "connect_failure");
      if (failed.code !== EGRESS_DENIED && this.retryLater(ctx, client, record, state, { kind: "connect" }))
        return;
      const rejection =
        failed.code === EGRESS_DENIED
          ? reject("CORRAL_DP_EGRESS_DENIED", failed.message)
          : reject("CORRAL_DP_UPSTREAM_ERROR", `the upstream could not be reached (${failed.message})`);
      respondRejection(client, record, rejection, ctx.responseHeaders);
    });
  }

  /**
   * After a failed attempt that sent the client nothing: true when the retry policy allows
   * another, which then starts after the backoff (on another target when there is one).
   */
  private retryLater(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    state: CallState,
    failure: AttemptFailure,
  ): boolean {
    if (!state.attempts || !state.replay || state.replay.overflowed) return false;
    const remaining = ctx.deadlineAt === undefined ? undefined : ctx.deadlineAt - performance.now();
    const verdict = state.attempts.decide(failure, remaining);
    if (!verdict.retry) return false;
    setTimeout(() => {
      if (client.destroyed) {
        record.reason = "client_gone";
        return;
      }
      this.attempt(ctx, client, record, state)?.catch(() =>
        respondRejection(client, record, reject("CORRAL_DP_INTERNAL"), ctx.responseHeaders),
      );
    }, verdict.delayMs);
    return true;
  }

  private open(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    picked: BalancedSession,
    state: CallState,
  ): void {
    const route = ctx.route!;
    const leg = (remainingMs: number | undefined): CallLeg => ({
      session: picked.session,
      headers: upstreamGrpcHeaders(ctx.headers, {
        tenantId: ctx.tenant!.id,
        clientIp: ctx.remoteAddress,
        origin: picked.target.origin,
        path: upstreamPath(route, picked.target.basePath, ctx.url),
        remainingMs,
        trace: ctx.trace,
      }),
      headersTimeoutMs: route.timeoutMs,
      answeredBy: "upstream",
      onEnd: picked.lease.end,
    });
    const retried = (failure: AttemptFailure) => this.retryLater(ctx, client, record, state, failure);
    if (this.relay(ctx, client, record, leg, { ...state, retried })) return;
    // the session is closing (GOAWAY) or gone: nothing was sent, the next call dials a new one
    picked.lease.end("neutral");
    if (retried({ kind: "connect" })) return;
    respondRejection(
      client,
      record,
      reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream connection is closing"),
      ctx.responseHeaders,
    );
  }

  /**
   * Opens the call's stream on the leg's (ready) session and relays the call both ways. False
   * when the session refused the stream (closing): nothing was sent, the caller decides.
   */
  relay(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    leg: (remainingMs: number | undefined) => CallLeg,
    attempt: Attempt = { meter: new MessageMeter(this.options.maxMessageBytes) },
  ): boolean {
    if (client.destroyed) {
      record.reason = "client_gone";
      return true;
    }
    const remainingMs = ctx.deadlineAt === undefined ? undefined : ctx.deadlineAt - performance.now();
    if (remainingMs !== undefined && remainingMs <= 0) {
      const late = reject("CORRAL_DP_DEADLINE_EXCEEDED", "the deadline passed before the call was sent");
      respondRejection(client, record, late, ctx.responseHeaders);
      return true;
    }
    const to = leg(remainingMs);
    let stream: ClientHttp2Stream;
    try {
      stream = to.session.request(to.headers, { endStream: false });
    } catch {
      return false;
    }
    const upstream = { stream, session: to.session };
    new ProxiedCall(ctx, client, upstream, record, this.options, to, attempt).start(to.headersTimeoutMs);
    return true;
  }
}
