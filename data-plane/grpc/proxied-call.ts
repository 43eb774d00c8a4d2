/**
 * One gRPC call relayed between the client's stream and the far end's (a route's upstream or a
 * shard member), for grpc-proxy.ts: request and response frames both ways, the node's own
 * timeouts and statuses, an attempt that stands down for a retry before anything reached the
 * client, and how the call went for the far end's health (down-list.ts).
 */
import {
  type ClientHttp2Session,
  type ClientHttp2Stream,
  constants,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import { GRPC_STATUS } from "../../proto/grpc-status.ts";
import { type Rejection, REQUEST_ERRORS, reject } from "../errors.ts";
import type { RequestContext, UpstreamObserver } from "../pipeline/stage.ts";
import type { Retrier, RetryAttempts } from "../retry/retrier.ts";
import type { ReplayBuffer } from "../retry/replay-buffer.ts";
import type { AttemptFailure } from "../retry/retry-policy.ts";
import type { Outcome } from "../upstream/down-list.ts";
import { clientGrpcHeaders, lowerCaseNames, statusTrailers } from "./grpc-headers.ts";
import { grpcCodeForHttpStatus, grpcCodeForReset, isGrpcContentType } from "./grpc-wire.ts";
import type { MessageMeter } from "./message-meter.ts";

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

/** Sees the answer the client gets from the far end (not the node's own statuses). */
export interface CallTap {
  /** the request went to the far end: from here on the call may have run */
  sent(): void;
  /** response metadata as relayed, without the node's own headers; `trailersOnly` ends the answer */
  head(headers: Record<string, string | string[]>, trailersOnly: boolean): void;
  data(chunk: Buffer): void;
  trailers(trailers: Record<string, string | string[]>): void;
}

/** A call whose request was read whole before it was sent (idempotent-grpc.ts), and its tap. */
export interface CallExchange {
  body: Buffer;
  tap: CallTap;
}

/**
 * What the attempts at one call share: the message meter (its framing state runs across the
 * attempts) and, when the call may be retried, the replay of its request bytes and the retry
 * decision.
 */
export interface CallState {
  meter: MessageMeter;
  /** the call's attempts at the route's upstream (absent towards shard members: never retried) */
  attempts?: RetryAttempts;
  /** the request bytes so far, kept while a retry is possible */
  replay?: ReplayBuffer;
  /** the request read whole beforehand (idempotency keys): sent as it is, the answer tapped */
  exchange?: CallExchange;
}

/** One attempt at a call: the shared state, and who is asked to retry a failure that sent the client nothing. */
export interface Attempt extends CallState {
  /** true: the failure is retried (elsewhere, later); this attempt stands down */
  retried?: (failure: AttemptFailure) => boolean;
}

/** The far end of a relayed call: a route's upstream, or a member of the tenant's shard. */
export interface CallLeg {
  session: ClientHttp2Session;
  headers: OutgoingHttpHeaders;
  /** bounds the wait for the far end's response headers */
  headersTimeoutMs: number;
  /** the record's reason for the far end's own answer; only upstream answers reach the observer */
  answeredBy: "upstream" | "forwarded";
  /** told once, when the far end's stream closes, how the call went for the far end's health */
  onEnd?: (outcome: Outcome) => void;
}

function ignore(): void {}

/** Ends the node itself chose that say nothing about the far end's health. */
const NEUTRAL_ENDS = new Set(["client_gone", "deadline", "payload_too_large"]);

/** One call relayed between the client's stream and the upstream's. */
export class ProxiedCall {
  private readonly ctx: RequestContext;
  private readonly client: ServerHttp2Stream;
  private readonly upstream: ClientHttp2Stream;
  private readonly session: ClientHttp2Session;
  private readonly record: CallRecord;
  private readonly options: GrpcProxyOptions;
  private readonly meter: MessageMeter;
  private readonly answeredBy: CallLeg["answeredBy"];
  private readonly attempt: Attempt;
  private readonly onEnd: CallLeg["onEnd"];
  /** the far end's HTTP status, once its response headers came */
  private upstreamHttpStatus: number | undefined;
  /** grpc-status of a trailers-only answer */
  private headersGrpcStatus: string | undefined;
  private readonly sentAt = performance.now();
  private responded = false;
  /** a retry took over the call: this attempt no longer touches the client */
  private stoodDown = false;
  /** the response head, until it is written (sendHead) */
  private heldHead: Record<string, string | string[] | number> | undefined;
  /** the far end's part of the held head (what a tap sees) */
  private heldAnswer: Record<string, string | string[]> | undefined;
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
    leg: Pick<CallLeg, "answeredBy" | "onEnd">,
    attempt: Attempt,
  ) {
    this.answeredBy = leg.answeredBy;
    this.onEnd = leg.onEnd;
    this.attempt = attempt;
    this.ctx = ctx;
    this.client = client;
    this.upstream = upstream.stream;
    this.session = upstream.session;
    this.record = record;
    this.options = options;
    this.meter = attempt.meter;
  }

  #onData = (chunk: Buffer) => this.relayRequest(chunk);
  #onEnd = () => {
    if (this.attempt.replay) this.attempt.replay.ended = true;
    if (!this.upstream.destroyed) this.upstream.end();
  };
  #onClose = () => this.onClientClose();
  #onWantTrailers = () => this.sendTrailers();

  /** A retry's attempt: what the client sent so far goes again, and its stream flows again. */
  private replay(): void {
    const replay = this.attempt.replay;
    if (!replay) return;
    for (const chunk of replay.chunks) this.upstream.write(chunk);
    if (replay.ended) this.upstream.end();
    if (this.client.isPaused()) this.client.resume();
  }

  /**
   * The attempt failed before anything reached the client: true when a retry takes the call
   * over (this attempt then lets go of the client's stream, which waits paused for the retry).
   */
  private retried(failure: AttemptFailure): boolean {
    if (this.responded || this.done || !this.attempt.retried?.(failure)) return false;
    this.done = true;
    this.stoodDown = true;
    this.clearTimers();
    this.client.pause();
    this.client.off("data", this.#onData).off("end", this.#onEnd).off("close", this.#onClose);
    this.client.off("wantTrailers", this.#onWantTrailers);
    this.cancelUpstream();
    return true;
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
    if (!this.attempt.exchange) {
      client.on("data", this.#onData);
      client.on("end", this.#onEnd);
    }
    // on, not once, for the events a stream emits once (close, wantTrailers, response): once's
    // wrapper and its removal when it fires cost per call, and the streams go with the call
    client.on("close", this.#onClose);
    // the client's 'error' already has a listener (the ingress's); 'drain' listeners only while paused
    client.on("wantTrailers", this.#onWantTrailers);
    upstream.on("response", (headers) => this.onResponse(headers));
    upstream.on("trailers", (trailers) => {
      this.upstreamTrailers = trailers;
    });
    upstream.on("close", () => {
      this.onUpstreamClose();
      this.onEnd?.(this.outcome());
    });
    upstream.on("error", ignore);
    const exchange = this.attempt.exchange;
    if (exchange) {
      // the request was read whole beforehand: every attempt sends it as it is
      exchange.tap.sent();
      upstream.end(exchange.body);
    } else this.replay();
  }

  /** The call's deadline, if it has one, ends the call when it passes. */
  private armDeadline(): void {
    if (this.ctx.deadlineAt === undefined) return;
    // whole milliseconds: Node keeps one timer list per distinct duration, and a fractional one
    // (every call's time left is) would make a list, and a queue entry, per call. Rounded down:
    // the upstream is told the time left rounded down too, and the node must not end later
    // than the upstream (rounded up, the upstream's own DEADLINE_EXCEEDED came first under load)
    this.timer = setTimeout(
      () => this.fail(reject("CORRAL_DP_DEADLINE_EXCEEDED", "the call's deadline passed")),
      Math.max(1, Math.floor(this.ctx.deadlineAt - performance.now())),
    );
  }

  private relayRequest(chunk: Buffer): void {
    if (this.done) return;
    const metered = this.meter.feed(chunk);
    this.record.messagesIn = this.meter.messages;
    this.attempt.replay?.add(chunk);
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
    this.upstreamHttpStatus = status;
    this.headersGrpcStatus = headers["grpc-status"] as string | undefined;
    const answer = clientGrpcHeaders(headers, this.answeredBy === "forwarded") as Record<
      string,
      string | string[]
    >;
    if (this.answeredBy === "upstream")
      this.options.observer?.onUpstreamResponse(this.ctx, status, answer, performance.now() - this.sentAt);
    if (status !== 200 || !isGrpcContentType(headers["content-type"])) {
      const code = status === 200 ? GRPC_STATUS.UNKNOWN : grpcCodeForHttpStatus(status);
      if (this.retried({ kind: "status", status: code })) return;
      const detail = `the upstream answered HTTP ${status} ${headers["content-type"] ?? ""}`.trim();
      this.respondStatus(code, detail, this.answeredBy);
      return;
    }
    if (this.client.destroyed) return;
    // trailers-only (no message): a retry code is retried before anything reaches the client
    const trailersOnly = headers["grpc-status"] !== undefined;
    if (trailersOnly && this.retried({ kind: "status", status: Number(headers["grpc-status"]) })) return;
    const relayed = this.attempt.exchange ? { ...answer } : undefined;
    // the answer is this call's own copy (the observer has read it): the node's headers go on it
    const out: Record<string, string | string[] | number> = answer;
    const own = this.ctx.responseHeaders;
    for (const name in own) out[name.toLowerCase()] = own[name]!;
    out[":status"] = 200;
    if (trailersOnly) {
      // the upstream's status is in its headers, there is no body
      this.responded = true;
      this.noteStatus(headers);
      if (relayed) this.attempt.exchange!.tap.head(relayed, true);
      this.client.respond(out, { endStream: true });
      if (!this.client.readableEnded) this.client.close(constants.NGHTTP2_NO_ERROR);
      return;
    }
    // a call that may still be retried keeps the head until the first message: an answer of
    // headers and a retry code with no message is then retried like a trailers-only one
    this.heldHead = out;
    this.heldAnswer = relayed;
    if (!this.attempt.attempts?.possible) this.sendHead();
    // the body, message by message as it comes (no pipe: its listeners and state cost per call)
    this.upstream.on("data", (chunk: Buffer) => {
      this.sendHead();
      this.relayResponse(chunk);
    });
    this.upstream.on("end", () => {
      const code = Number(this.upstreamTrailers?.["grpc-status"]);
      if (this.heldHead && this.retried({ kind: "status", status: code })) return;
      this.sendHead();
      if (!this.done && !this.client.writableEnded) this.client.end();
    });
  }

  /** Writes the held response head (once): from here on the call is the client's. */
  private sendHead(): void {
    const head = this.heldHead;
    if (!head || this.done || this.client.destroyed) return;
    this.heldHead = undefined;
    this.responded = true;
    if (this.heldAnswer) this.attempt.exchange!.tap.head(this.heldAnswer, false);
    this.client.respond(head, { waitForTrailers: true });
  }

  private relayResponse(chunk: Buffer): void {
    if (this.done || this.client.destroyed) return;
    this.attempt.exchange?.tap.data(chunk);
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
      const theirs = this.ownTrailers
        ? undefined
        : clientGrpcHeaders(trailers as IncomingHttpHeaders, this.answeredBy === "forwarded");
      if (theirs) {
        this.noteStatus(trailers);
        this.attempt.exchange?.tap.trailers(theirs as Record<string, string | string[]>);
      }
      this.client.sendTrailers(this.ownTrailers ?? theirs!);
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
    if (this.stoodDown || this.client.destroyed || this.record.grpcStatus !== undefined) return;
    const rst = this.upstream.rstCode ?? constants.NGHTTP2_NO_ERROR;
    // nothing reached the client yet: the stream's reset may be retried elsewhere
    if (!this.responded && this.retried({ kind: "reset" })) return;
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

  /**
   * How the call went for the far end's health (down-list.ts), once its stream closed. An
   * attempt that stood down for a retry is judged by the far end's answer alone (the call's
   * record belongs to the attempt that took over).
   */
  private outcome(): Outcome {
    if (!this.stoodDown) {
      const reason = this.record.reason;
      if (reason === "upstream_timeout") return "failure";
      if (NEUTRAL_ENDS.has(reason)) return "neutral";
    }
    const status = this.upstreamHttpStatus;
    if (status === undefined || status >= 500) return "failure";
    const grpcStatus = this.upstreamTrailers?.["grpc-status"] ?? this.headersGrpcStatus;
    return Number(grpcStatus) === GRPC_STATUS.UNAVAILABLE ? "failure" : "ok";
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
