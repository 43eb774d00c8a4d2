/**
 * Gateway idempotency keys for gRPC (docs/design.md §7): the front of the gRPC proxy, as
 * idempotent-proxy.ts is the HTTP proxy's. A call with `idempotency-key` metadata on a route
 * that opts in runs at most once per tenant and key; retries get its first answer again
 * (response metadata, messages, trailers), marked `corral-idempotent-replay: true`. In order:
 *
 *   1. the key's shape (INVALID_ARGUMENT bad_idempotency_key); the request, read whole up to
 *      CORRAL_IDEMPOTENCY_MAX_BODY_BYTES (RESOURCE_EXHAUSTED payload_too_large) and within the
 *      route's timeout, must be one message and half-closed: a keyed call is a unary call (the
 *      node does not know the tenant's protos, so a streaming call is told apart by its shape
 *      and refused, INVALID_ARGUMENT bad_idempotency_key, rather than passed on unprotected)
 *   2. the record is claimed in Redis under the same names and fingerprint as HTTP (method
 *      path and the message's hash): replay; ABORTED in flight; INVALID_ARGUMENT mismatch;
 *      FAILED_PRECONDITION spent; UNAVAILABLE when Redis cannot answer, the call not run
 *   3. the claimed call goes upstream with the read message (grpc-proxy.ts CallExchange), the
 *      lease renewed while it runs, the answer tapped as it is relayed
 *   4. when the client's stream closes the record is finished: the complete answer (the
 *      upstream's trailers came), too_large past CORRAL_IDEMPOTENCY_MAX_RESPONSE_BYTES, unknown
 *      otherwise (the node's own status after it was sent, a reset, a cancel); a call that never
 *      reached the upstream (circuit open, no session) frees the key
 */
import type { ServerHttp2Stream } from "node:http2";
import { type Rejection, reject } from "../errors.ts";
import { type CallRecord, type GrpcProxy, respondRejection } from "../grpc/grpc-proxy.ts";
import type { RequestContext } from "../pipeline/stage.ts";
import { GrpcAnswerCapture, isOneMessage, replayAnswer } from "./grpc-answer.ts";
import { fingerprint, idempotencyAsk, recordKeys } from "./idempotency-key.ts";
import type { RecordNames } from "./idempotency-store.ts";
import { claimKey, type FrontOptions, type IdempotencyOutcome, keepLease } from "./key-claim.ts";

export type IdempotentGrpcProxyOptions = FrontOptions<GrpcProxy>;

type Read = { body: Buffer } | { refused: IdempotencyOutcome; rejection: Rejection } | { gone: true };

/** The client's request to its end, bounded in bytes and time. */
function readRequest(client: ServerHttp2Stream, limit: number, waitMs: number): Promise<Read> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let seen = 0;
    const settle = (read: Read) => {
      clearTimeout(timer);
      client.off("data", onData).off("end", onEnd).off("close", onClose);
      resolve(read);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen <= limit) chunks.push(chunk);
      else
        settle({
          refused: "too_large",
          rejection: reject(
            "CORRAL_DP_PAYLOAD_TOO_LARGE",
            `a keyed call's request is limited to ${limit} bytes`,
          ),
        });
    };
    const onEnd = () => {
      const body = Buffer.concat(chunks);
      settle(isOneMessage(body) ? { body } : notUnary("its request is not one message"));
    };
    const onClose = () => settle({ gone: true });
    const timer = setTimeout(() => settle(notUnary(`its request did not end within ${waitMs} ms`)), waitMs);
    client.on("data", onData).on("end", onEnd).once("close", onClose);
  });
}

function notUnary(why: string): Read {
  const detail = `idempotency keys apply to unary calls: ${why}`;
  return { refused: "invalid", rejection: reject("CORRAL_DP_IDEMPOTENCY_KEY_INVALID", detail) };
}

export class IdempotentGrpcProxy {
  readonly #o: IdempotentGrpcProxyOptions;

  constructor(options: IdempotentGrpcProxyOptions) {
    this.#o = options;
  }

  /** Proxies the call; keyed calls on routes that opt in run at most once. */
  forward(ctx: RequestContext, client: ServerHttp2Stream, record: CallRecord): Promise<void> | undefined {
    const ask = idempotencyAsk(ctx.route!.idempotency, "POST", ctx.headers);
    if (ask.kind === "none") return this.#o.proxy.forward(ctx, client, record);
    if (ask.kind === "invalid") {
      const detail = ask.detail.replace("Idempotency-Key header", "idempotency-key metadata value");
      this.#refuse(ctx, client, record, "invalid", reject("CORRAL_DP_IDEMPOTENCY_KEY_INVALID", detail));
      return undefined;
    }
    return this.#keyed(ctx, client, record, ask.key);
  }

  #refuse(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    outcome: IdempotencyOutcome,
    rejection: Rejection,
  ): void {
    this.#o.onOutcome?.(outcome);
    respondRejection(client, record, rejection, ctx.responseHeaders);
  }

  async #keyed(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    key: string,
  ): Promise<void> {
    const { settings, store } = this.#o;
    const left = ctx.deadlineAt === undefined ? Infinity : ctx.deadlineAt - performance.now();
    const read = await readRequest(
      client,
      settings.maxBodyBytes,
      Math.max(0, Math.min(ctx.route!.timeoutMs, left)),
    );
    if ("gone" in read) {
      record.reason = "client_gone";
      return;
    }
    if ("refused" in read) return this.#refuse(ctx, client, record, read.refused, read.rejection);
    record.messagesIn = 1;
    const names = recordKeys(ctx.tenant!.id, ctx.keyless ? ctx.remoteAddress : "", key);
    const claim = await claimKey(store, names, fingerprint("POST", ctx.url, read.body), this.#o.onStoreError);
    if (claim.kind === "refused") return this.#refuse(ctx, client, record, claim.outcome, claim.rejection);
    if (claim.kind === "replay") {
      this.#o.onOutcome?.("replayed");
      if (client.destroyed) return;
      record.grpcStatus = replayAnswer(client, claim.answer, ctx.responseHeaders);
      record.reason = "upstream";
      return;
    }
    return this.#execute(ctx, client, record, read.body, names, claim.owner);
  }

  #execute(
    ctx: RequestContext,
    client: ServerHttp2Stream,
    record: CallRecord,
    body: Buffer,
    names: RecordNames,
    owner: string,
  ): Promise<void> | undefined {
    const { store, settings } = this.#o;
    const quiet = (err: unknown) => this.#o.onStoreError?.(err);
    const stopRenewal = keepLease(store, names, owner, settings.leaseMs, quiet);
    const capture = new GrpcAnswerCapture(settings.maxResponseBytes);
    this.#o.onOutcome?.("executed");
    const settle = () => {
      const ended = capture.wasSent
        ? store.finish(names, owner, capture.finish())
        : store.release(names, owner);
      void ended.catch(quiet).finally(stopRenewal);
    };
    if (client.destroyed) settle();
    else client.once("close", settle);
    return this.#o.proxy.forward(ctx, client, record, { body, tap: capture });
  }
}
