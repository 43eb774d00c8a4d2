/**
 * One exchange with an upstream as an undici dispatch handler that relays the answer straight
 * into the client's response: status and headers with one writeHead, body chunks with
 * res.write (the upstream socket pauses while the client's socket is full and resumes on
 * drain), res.end on completion. No response stream objects, no framework reply machinery.
 *
 * Until the answer's head arrives the exchange can still end in a rejection (the caller
 * answers 502/504/...): settle() reports it exactly once. After the head, a failure can only
 * cut the client's response (res.destroy). An answer the caller will retry (`hold`) is never
 * written: the exchange ends there and settles "held", so no byte of it reaches the client.
 *
 * One native timer per exchange bounds the wait for the head and then every pause in the body
 * (refreshed by each chunk and each drain of the client's socket); once the head is written, a
 * route's stream idle timeout replaces the route's timeout, so a long stream lives as long as it
 * keeps sending. undici's own headers and
 * body timeouts stay off: its timers for 1 s and more are coarse (they may fire half a second
 * early), and a connection whose timeout alternates between values makes a new timer object
 * per request that lingers for about a second, enough to be promoted by the GC.
 *
 * A tap (gateway idempotency keys) sees the answer as it is relayed; with `outliveClient` the
 * exchange does not end when the client goes away: the answer is still read (and tapped) to
 * its end, bounded by the same timer, so a retry can be answered with it.
 */
import type { ServerResponse } from "node:http";
import type { Dispatcher } from "undici";
import { clientResponseHeaders, type HeaderMap } from "../pipeline/forward-headers.ts";

const ABORT_MESSAGES = {
  timeout: "the upstream did not answer in time",
  client_gone: "the client went away",
  held: "the answer is retried, not relayed",
} as const;

/** Why the node itself ended an exchange. */
export class ExchangeAborted extends Error {
  readonly why: "timeout" | "client_gone" | "held";
  constructor(why: "timeout" | "client_gone" | "held") {
    super(ABORT_MESSAGES[why]);
    this.why = why;
  }
}

/** Sees an upstream's answer as it is relayed: head (without extraHeaders), body, how it ended. */
export interface ResponseTap {
  head(statusCode: number, headers: HeaderMap): void;
  data(chunk: Buffer): void;
  /** the whole answer arrived */
  end(): void;
  /** the answer was cut after its head */
  error(err: unknown): void;
}

/** How an exchange went up to the answer's head. */
export type RelayOutcome =
  | { kind: "head"; statusCode: number; headers: HeaderMap }
  /** the answer's status was one `hold` kept back: nothing was written */
  | { kind: "held"; statusCode: number }
  | { kind: "failed"; error: unknown };

export interface RelayOptions {
  res: ServerResponse;
  /** added to (and overriding) the upstream's headers, e.g. RateLimit */
  extraHeaders: Record<string, string>;
  /** the answer comes from a shard member, whose corral-* headers pass (an upstream's do not) */
  fromNode: boolean;
  /** bound on the wait for the answer's head (and on each pause in its body unless bodyIdleMs) */
  timeoutMs: number;
  /**
   * once the head arrived, the bound on each pause in the body instead of timeoutMs: a long
   * stream (server-sent events, a chunked feed) outlives the route's timeout, not a stall
   */
  bodyIdleMs?: number;
  /** called once: the head arrived and is written (before its body), or the exchange failed before */
  settle: (outcome: RelayOutcome) => void;
  /** sees the upstream's own status and headers (without extraHeaders) before they are written */
  onHead?: (statusCode: number, headers: HeaderMap) => void;
  /** true: this status is retried, so the answer is dropped instead of relayed */
  hold?: (statusCode: number) => boolean;
  tap?: ResponseTap;
  /** the client going away does not end the exchange (see above) */
  outliveClient?: boolean;
}

export class UpstreamRelay implements Dispatcher.DispatchHandler {
  readonly #o: RelayOptions;
  #timer: NodeJS.Timeout;
  #controller: Dispatcher.DispatchController | undefined;
  /** set when the node ends the exchange; applied as soon as undici hands over the controller */
  #abortedBy: ExchangeAborted | undefined;
  #settled = false;
  #headWritten = false;
  #clientGone = false;

  constructor(options: RelayOptions) {
    this.#o = options;
    this.#timer = setTimeout(this.#onTimeout, options.timeoutMs);
    options.res.once("close", this.#onClientClose);
  }

  /** Ends the exchange from our side: the outcome is reported at once, undici cleans up. */
  #abort(why: ExchangeAborted): void {
    if (this.#abortedBy) return;
    this.#abortedBy = why;
    clearTimeout(this.#timer);
    if (this.#headWritten) this.#o.tap?.error(why); // the answer is cut: its tap hears it now
    this.#settle({ kind: "failed", error: why });
    this.#controller?.abort(why);
  }

  #onTimeout = () => this.#abort(new ExchangeAborted("timeout"));
  #onClientClose = () => {
    if (!this.#o.outliveClient) {
      this.#abort(new ExchangeAborted("client_gone"));
      return;
    }
    this.#clientGone = true;
    this.#controller?.resume();
  };
  #onDrain = () => {
    this.#timer.refresh();
    this.#controller?.resume();
  };

  #settle(outcome: RelayOutcome): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#o.settle(outcome);
  }

  #done(): void {
    clearTimeout(this.#timer);
    this.#o.res.removeListener("close", this.#onClientClose);
    this.#o.res.removeListener("drain", this.#onDrain);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortedBy) controller.abort(this.#abortedBy);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    upstreamHeaders: Record<string, string | string[] | undefined>,
  ): void {
    if (statusCode < 200 || this.#settled) return; // 1xx: the final answer follows
    if (this.#o.hold?.(statusCode)) {
      this.#done();
      this.#settle({ kind: "held", statusCode });
      controller.abort(new ExchangeAborted("held"));
      return;
    }
    if (this.#o.bodyIdleMs !== undefined && this.#o.bodyIdleMs !== this.#o.timeoutMs) {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(this.#onTimeout, this.#o.bodyIdleMs);
    } else this.#timer.refresh();
    const headers = clientResponseHeaders(upstreamHeaders, this.#o.fromNode);
    this.#o.onHead?.(statusCode, headers);
    this.#o.tap?.head(statusCode, { ...headers });
    const { extraHeaders, res } = this.#o;
    for (const name in extraHeaders) headers[name] = extraHeaders[name]!;
    if (!this.#clientGone) res.writeHead(statusCode, headers);
    this.#headWritten = true;
    this.#settle({ kind: "head", statusCode, headers });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#timer.refresh();
    this.#o.tap?.data(chunk);
    if (this.#clientGone || this.#o.res.write(chunk)) return;
    controller.pause();
    this.#o.res.once("drain", this.#onDrain);
  }

  onResponseEnd(): void {
    this.#done();
    this.#o.tap?.end();
    if (!this.#clientGone) this.#o.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.#done();
    if (this.#headWritten) this.#o.tap?.error(error);
    if (this.#headWritten) this.#o.res.destroy();
    else this.#settle({ kind: "failed", error });
  }
}
