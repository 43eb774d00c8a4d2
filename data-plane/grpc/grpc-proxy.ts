/**
 * The end of a gRPC call's path: opens a stream to the route's upstream on the target's shared
 * HTTP/2 session and relays both directions frame by frame (unary and every streaming kind
 * alike; messages are never decoded), then the upstream's trailers. Deadline: the upstream gets
 * grpc-timeout = the time left, and the node ends the call with DEADLINE_EXCEEDED when it runs
 * out. The route's timeout bounds the wait for the upstream's response headers. A client that
 * cancels cancels the upstream stream, and an upstream reset resets the client's stream.
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import { EGRESS_DENIED } from "../egress/egress-connect.ts";
import { type Rejection, REQUEST_ERRORS, reject } from "../errors.ts";
import type { UpstreamObserver } from "../pipeline/stage.ts";
import type { RequestContext } from "../pipeline/stage.ts";
import { upstreamPath } from "../router/route-table.ts";
import {
  clientGrpcHeaders,
  lowerCaseNames,
  rejectionTrailers,
  statusTrailers,
  upstreamGrpcHeaders,
} from "./grpc-headers.ts";
import { GRPC_STATUS } from "../../proto/grpc-status.ts";
import { grpcCodeForHttpStatus, grpcCodeForReset, isGrpcContentType } from "./grpc-wire.ts";
import { MessageMeter } from "./message-meter.ts";
import type { Retrier } from "../retry/retrier.ts";
import type { PickedSession, UpstreamSessions } from "./upstream-sessions.ts";

/** What happened to a call, filled in as it goes; logged and counted when its stream closes. */
export interface CallRecord {
  /** the status the client got; undefined while unknown (or the stream was reset) */
  grpcStatus: number | undefined;
  /** corral-reason of a rejection, "upstream" / "forwarded" for an upstream's / shard member's own answer, "client_gone" */
  reason: string;
  /** request messages the client sent */
  messagesIn: number;
}

export interface GrpcProxyOptions {
  /** largest request message (declared length) relayed; larger ones end the call */
  maxMessageBytes: number;
  /** told when the upstream's response headers arrive (route latency for the deadline check) */
  observer?: UpstreamObserver;
  /** the node's retry budgets and metrics (default: budgets of this proxy's own, no metrics) */
  retrier?: Retrier;
}

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

/** The far end of a relayed call: a route's upstream, or a member of the tenant's shard. */
export interface CallLeg {
  session: ClientHttp2Session;
  headers: OutgoingHttpHeaders;
  /** bounds the wait for the far end's response headers */
  headersTimeoutMs: number;
  /** the record's reason for the far end's own answer; only upstream answers reach the observer */
  answeredBy: "upstream" | "forwarded";
}

export class GrpcProxy {
  private readonly sessions: UpstreamSessions;
  private readonly options: GrpcProxyOptions;

  constructor(sessions: UpstreamSessions, options: GrpcProxyOptions) {
    this.sessions = sessions;
    this.options = options;
  }

  /**
   * Sync when the upstream's session is ready (the usual case); a promise while it connects (the
   * egress policy is checked on connect: a refusal answers CORRAL_DP_EGRESS_DENIED).
   */
  forward(ctx: RequestContext, client: ServerHttp2Stream, record: CallRecord): Promise<void> | undefined {
    const route = ctx.route!;
    const picked = this.sessions.pick(route.upstream, route.egress);
    if (!picked) {
      respondRejection(
        client,
        record,
        reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream has no targets"),
        ctx.responseHeaders,
      );
      return undefined;
    }
    if (!picked.ready) {
      this.open(ctx, client, record, picked);
      return undefined;
    }
    return this.sessions.whenReady(picked).then((failed) => {
      if (!failed) return this.open(ctx, client, record, picked);
      const rejection =
        failed.code === EGRESS_DENIED
          ? reject("CORRAL_DP_EGRESS_DENIED", failed.message)
          : reject("CORRAL_DP_UPSTREAM_ERROR", `the upstream could not be reached (${failed.message})`);
      respondRejection(client, record, rejection, ctx.responseHeaders);
    });
  }

  private open(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    picked: PickedSession,
  ): void {
    const route = ctx.route!;
    const opened = this.relay(ctx, client, record, (remainingMs) => ({
      session: picked.session,
      headers: upstreamGrpcHeaders(ctx.headers, {
        tenantId: ctx.tenant!.id,
        clientIp: ctx.remoteAddress,
        origin: picked.target.origin,
        path: upstreamPath(route, picked.target.basePath, ctx.url),
        remainingMs,
      }),
      headersTimeoutMs: route.timeoutMs,
      answeredBy: "upstream",
    }));
    // the session is closing (GOAWAY) or gone: the next call dials a new one
    if (!opened)
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
    new ProxiedCall(ctx, client, { stream, session: to.session }, record, this.options, to.answeredBy).start(
      to.headersTimeoutMs,
    );
    return true;
  }
}

function ignore(): void {}

/** One call relayed between the client's stream and the upstream's. */
class ProxiedCall {
  private readonly ctx: RequestContext;
  private readonly client: ServerHttp2Stream;
  private readonly upstream: ClientHttp2Stream;
  private readonly session: ClientHttp2Session;
  private readonly record: CallRecord;
  private readonly options: GrpcProxyOptions;
  private readonly meter: MessageMeter;
  private readonly answeredBy: CallLeg["answeredBy"];
  private readonly sentAt = performance.now();
  private responded = false;
  /** the node has decided the call's end (its own status, or the upstream's reset passed on) */
  private done = false;
  private upstreamTrailers: IncomingHttpHeaders | undefined;
  /** trailers of a call the node ends itself after the response started */
  private ownTrailers: Record<string, string> | undefined;
  /** one timer at a time: the wait for response headers (while armedForHeaders), then the deadline */
  private timer: NodeJS.Timeout | undefined;
  private armedForHeaders = false;

  constructor(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    upstream: { stream: ClientHttp2Stream; session: ClientHttp2Session },
    record: CallRecord,
    options: GrpcProxyOptions,
    answeredBy: CallLeg["answeredBy"],
  ) {
    this.answeredBy = answeredBy;
    this.ctx = ctx;
    this.client = client;
    this.upstream = upstream.stream;
    this.session = upstream.session;
    this.record = record;
    this.options = options;
    this.meter = new MessageMeter(options.maxMessageBytes);
  }

  start(headersTimeoutMs: number): void {
    const { client, upstream } = this;
    const left = this.ctx.deadlineAt === undefined ? Infinity : this.ctx.deadlineAt - performance.now();
    if (headersTimeoutMs < left) {
      this.armedForHeaders = true;
      this.timer = setTimeout(
        () => this.fail(reject("CORRAL_DP_UPSTREAM_TIMEOUT", `no answer within ${headersTimeoutMs} ms`)),
        headersTimeoutMs,
      );
    } else this.armDeadline();
    client.on("data", (chunk: Buffer) => this.relayRequest(chunk));
    client.on("end", () => {
      if (!upstream.destroyed) upstream.end();
    });
    client.once("close", () => this.onClientClose());
    // the client's 'error' already has a listener (the ingress's); 'drain' listeners only while paused
    client.once("wantTrailers", () => this.sendTrailers());
    upstream.once("response", (headers) => this.onResponse(headers));
    upstream.on("trailers", (trailers) => {
      this.upstreamTrailers = trailers;
    });
    upstream.once("close", () => this.onUpstreamClose());
    upstream.on("error", ignore);
  }

  /** The call's deadline, if it has one, ends the call when it passes. */
  private armDeadline(): void {
    if (this.ctx.deadlineAt === undefined) return;
    this.timer = setTimeout(
      () => this.fail(reject("CORRAL_DP_DEADLINE_EXCEEDED", "the call's deadline passed")),
      this.ctx.deadlineAt - performance.now(),
    );
  }

  private relayRequest(chunk: Buffer): void {
    if (this.done) return;
    const metered = this.meter.feed(chunk);
    this.record.messagesIn = this.meter.messages;
    if (!metered.ok) {
      const limit = this.meter.maxMessageBytes;
      this.fail(
        reject("CORRAL_DP_PAYLOAD_TOO_LARGE", `a message of ${metered.declaredBytes} bytes exceeds ${limit}`),
      );
      return;
    }
    if (this.upstream.destroyed || this.upstream.writableEnded) return;
    if (!this.upstream.write(chunk)) {
      this.client.pause();
      this.upstream.once("drain", () => this.client.resume());
    }
  }

  private onResponse(headers: IncomingHttpHeaders): void {
    if (this.armedForHeaders) {
      this.armedForHeaders = false;
      clearTimeout(this.timer);
      this.armDeadline();
    }
    const status = Number(headers[":status"]);
    const answer = clientGrpcHeaders(headers, this.answeredBy === "forwarded") as Record<
      string,
      string | string[]
    >;
    if (this.answeredBy === "upstream")
      this.options.observer?.onUpstreamResponse(this.ctx, status, answer, performance.now() - this.sentAt);
    if (status !== 200 || !isGrpcContentType(headers["content-type"])) {
      const code = status === 200 ? GRPC_STATUS.UNKNOWN : grpcCodeForHttpStatus(status);
      const detail = `the upstream answered HTTP ${status} ${headers["content-type"] ?? ""}`.trim();
      this.respondStatus(code, detail, this.answeredBy);
      return;
    }
    if (this.client.destroyed) return;
    // the answer is this call's own copy (the observer has read it): the node's headers go on it
    const out: Record<string, string | string[] | number> = answer;
    const own = this.ctx.responseHeaders;
    for (const name in own) out[name.toLowerCase()] = own[name]!;
    out[":status"] = 200;
    this.responded = true;
    if (headers["grpc-status"] !== undefined) {
      // trailers-only: the upstream's status is in its headers, there is no body
      this.noteStatus(headers);
      this.client.respond(out, { endStream: true });
      if (!this.client.readableEnded) this.client.close(constants.NGHTTP2_NO_ERROR);
      return;
    }
    this.client.respond(out, { waitForTrailers: true });
    // the body, message by message as it comes (no pipe: its listeners and state cost per call)
    this.upstream.on("data", (chunk: Buffer) => this.relayResponse(chunk));
    this.upstream.on("end", () => {
      if (!this.done && !this.client.writableEnded) this.client.end();
    });
  }

  private relayResponse(chunk: Buffer): void {
    if (this.done || this.client.destroyed) return;
    if (!this.client.write(chunk)) {
      this.upstream.pause();
      this.client.once("drain", () => this.upstream.resume());
    }
  }

  private sendTrailers(): void {
    const trailers = this.ownTrailers ?? this.upstreamTrailers;
    if (!trailers || trailers["grpc-status"] === undefined) {
      this.record.grpcStatus = GRPC_STATUS.INTERNAL;
      this.client.sendTrailers(
        statusTrailers(GRPC_STATUS.INTERNAL, "the upstream ended the call without a status"),
      );
    } else {
      if (!this.ownTrailers) this.noteStatus(trailers);
      this.client.sendTrailers(
        this.ownTrailers ??
          clientGrpcHeaders(trailers as IncomingHttpHeaders, this.answeredBy === "forwarded"),
      );
    }
    if (!this.client.readableEnded && !this.client.destroyed) this.client.close(constants.NGHTTP2_NO_ERROR);
  }

  private noteStatus(headers: IncomingHttpHeaders): void {
    const code = Number(headers["grpc-status"]);
    this.record.grpcStatus = Number.isInteger(code) ? code : GRPC_STATUS.UNKNOWN;
    this.record.reason = this.answeredBy;
  }

  /** Ends the call with a status of the node's own (timeout, deadline, oversized message). */
  private fail(rejection: Rejection): void {
    const spec = REQUEST_ERRORS[rejection.code];
    this.respondStatus(spec.grpc, `${rejection.code}: ${rejection.detail ?? spec.title}`, spec.reason);
  }

  private respondStatus(code: number, message: string, reason: string): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    this.cancelUpstream();
    this.record.grpcStatus = code;
    this.record.reason = reason;
    if (this.client.destroyed) return;
    const own = reason !== "upstream" && reason !== "forwarded";
    const trailers = statusTrailers(code, message, own ? reason : undefined) as Record<string, string>;
    if (!this.client.headersSent) {
      const out = {
        ...lowerCaseNames(this.ctx.responseHeaders),
        ":status": 200,
        "content-type": "application/grpc",
      };
      this.client.respond({ ...out, ...trailers }, { endStream: true });
      if (!this.client.readableEnded) this.client.close(constants.NGHTTP2_NO_ERROR);
      return;
    }
    // the response has started: end its body (relayResponse stops at done), then 'wantTrailers' sends these
    this.ownTrailers = trailers;
    if (!this.client.writableEnded) this.client.end();
  }

  private onUpstreamClose(): void {
    this.clearTimers();
    if (this.client.destroyed || this.record.grpcStatus !== undefined) return;
    const rst = this.upstream.rstCode ?? constants.NGHTTP2_NO_ERROR;
    if (this.session.destroyed && rst !== constants.NGHTTP2_NO_ERROR) {
      // the connection died (upstream crashed, network): like a transport failure in gRPC
      this.respondStatus(
        GRPC_STATUS.UNAVAILABLE,
        "the connection to the upstream was lost",
        "upstream_error",
      );
      return;
    }
    if (!this.responded) {
      const code = rst === constants.NGHTTP2_NO_ERROR ? GRPC_STATUS.UNAVAILABLE : grpcCodeForReset(rst);
      this.respondStatus(code, `the upstream closed the call (HTTP/2 code ${rst})`, "upstream_error");
      return;
    }
    // mid-response: pass the reset on as it came (a cleanly closed body ended at the upstream's 'end')
    if (rst !== constants.NGHTTP2_NO_ERROR) {
      this.record.grpcStatus = grpcCodeForReset(rst);
      this.record.reason = this.answeredBy;
      this.client.close(rst);
    }
  }

  private onClientClose(): void {
    this.clearTimers();
    if (this.record.grpcStatus === undefined) {
      this.record.grpcStatus = GRPC_STATUS.CANCELLED;
      this.record.reason = "client_gone";
    }
    this.cancelUpstream();
  }

  private cancelUpstream(): void {
    if (!this.upstream.destroyed && !this.upstream.closed) this.upstream.close(constants.NGHTTP2_CANCEL);
  }

  private clearTimers(): void {
    clearTimeout(this.timer);
  }
}
