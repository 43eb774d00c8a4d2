/**
 * Gateway idempotency keys (docs/design.md §7): the proxy's front for routes that opt in. A POST
 * or PATCH with an Idempotency-Key runs at most once per tenant and key; retries get its first
 * answer again, marked `corral-idempotent-replay: true`. In order:
 *
 *   1. the key's shape (400 bad_idempotency_key); the body, read whole up to
 *      CORRAL_IDEMPOTENCY_MAX_BODY_BYTES (413), for its fingerprint
 *   2. claim the record in Redis (idempotency-store.ts): a replay is written from the record;
 *      422 mismatch, 409 in flight, 409 spent; Redis unreachable -> 503, the request not run
 *   3. the claimed request goes upstream with the read body; the lease is renewed every third
 *      of CORRAL_IDEMPOTENCY_LEASE_MS while it runs, and the answer is tapped as it is relayed,
 *      to its end even if the client goes away (a retry then gets it)
 *   4. the record is finished: the complete answer (done), or too_large when its body exceeded
 *      CORRAL_IDEMPOTENCY_MAX_RESPONSE_BYTES, or unknown when the exchange failed after the
 *      request may have reached the upstream; a request that never left the node frees the key
 *
 * Any doubt resolves towards "not again": a finish that cannot be written leaves the record
 * running, and once its lease lapses the key is spent (409), never run a second time.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { IdempotencySettings } from "../config.ts";
import { type Rejection, type RequestErrorCode, reject } from "../errors.ts";
import type { HttpProxy, ProxyResult } from "../http/http-proxy.ts";
import type { ResponseTap } from "../http/upstream-relay.ts";
import type { HeaderMap } from "../pipeline/forward-headers.ts";
import type { RequestContext } from "../pipeline/stage.ts";
import { fingerprint, idempotencyAsk, recordKeys } from "./idempotency-key.ts";
import type { ClaimResult, Finish, IdempotencyStore, RecordNames } from "./idempotency-store.ts";
import type { StoredAnswer } from "./stored-answer.ts";

export const REPLAY_HEADER = "corral-idempotent-replay";

/** How a keyed request went, for metrics and logs (a bounded label set). */
export type IdempotencyOutcome =
  | "executed"
  | "replayed"
  | "in_flight"
  | "mismatch"
  | "spent"
  | "unavailable"
  | "invalid"
  | "too_large";

export interface IdempotentProxyOptions {
  proxy: HttpProxy;
  store: IdempotencyStore;
  settings: IdempotencySettings;
  onOutcome?: (outcome: IdempotencyOutcome) => void;
  onStoreError?: (err: unknown) => void;
}

class BodyOverLimit extends Error {}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers["content-length"] ?? 0) > limit) throw new BodyOverLimit();
  const chunks: Buffer[] = [];
  let seen = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limit) throw new BodyOverLimit();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The answer as it is relayed, kept up to `limit` body bytes; `finished` says how it ended. */
class AnswerCapture implements ResponseTap {
  readonly finished: Promise<Finish>;
  #resolve!: (finish: Finish) => void;
  #status = 0;
  #headers: HeaderMap = {};
  #chunks: Buffer[] = [];
  #bytes = 0;
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = limit;
    this.finished = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  head(statusCode: number, headers: HeaderMap): void {
    this.#status = statusCode;
    this.#headers = headers;
  }

  data(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes <= this.#limit) this.#chunks.push(chunk);
    else this.#chunks = [];
  }

  end(): void {
    if (this.#bytes > this.#limit) {
      this.#resolve({ state: "too_large" });
      return;
    }
    const body = Buffer.concat(this.#chunks);
    this.#resolve({ state: "done", status: this.#status, headers: this.#headers, body });
  }

  error(): void {
    this.#resolve({ state: "unknown" });
  }
}

const CLAIM_REFUSALS: Record<
  Exclude<ClaimResult["kind"], "claimed" | "replay">,
  [RequestErrorCode, string]
> = {
  mismatch: [
    "CORRAL_DP_IDEMPOTENCY_MISMATCH",
    "the key was first used with a different method, path or body",
  ],
  in_flight: ["CORRAL_DP_IDEMPOTENCY_IN_FLIGHT", "the first request with this key is still running"],
  spent: ["CORRAL_DP_IDEMPOTENCY_SPENT", ""],
};

const SPENT_DETAIL = {
  too_large: "the first answer was larger than the node keeps for replay; the request is not run again",
  unknown:
    "the first attempt ended without a complete answer (it may have run); the request is not run again",
};

/** The stored answer on the client's response, marked as a replay. */
function writeReplay(ctx: RequestContext, res: ServerResponse, answer: StoredAnswer): ProxyResult {
  const headers: HeaderMap = { ...answer.headers };
  delete headers["content-length"];
  delete headers["transfer-encoding"];
  for (const name in ctx.responseHeaders) headers[name] = ctx.responseHeaders[name]!;
  headers[REPLAY_HEADER] = "true";
  headers["content-length"] = String(answer.body.length);
  res.writeHead(answer.status, headers);
  res.end(answer.body);
  return { response: { statusCode: answer.status, headers } };
}

export class IdempotentProxy {
  readonly #o: IdempotentProxyOptions;

  constructor(options: IdempotentProxyOptions) {
    this.#o = options;
  }

  /** Proxies the request; keyed POST/PATCH on routes that opt in run at most once. */
  forward(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<ProxyResult> {
    const ask = idempotencyAsk(ctx.route!.idempotency, ctx.method, ctx.headers);
    if (ask.kind === "none") return this.#o.proxy.forward(ctx, req, res);
    if (ask.kind === "invalid")
      return Promise.resolve(
        this.#refuse("invalid", reject("CORRAL_DP_IDEMPOTENCY_KEY_INVALID", ask.detail)),
      );
    return this.#keyed(ctx, req, res, ask.key);
  }

  #refuse(outcome: IdempotencyOutcome, rejection: Rejection): ProxyResult {
    this.#o.onOutcome?.(outcome);
    return { rejection };
  }

  async #keyed(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    key: string,
  ): Promise<ProxyResult> {
    const { maxBodyBytes } = this.#o.settings;
    let body: Buffer;
    try {
      body = await readBody(req, maxBodyBytes);
    } catch (err) {
      if (!(err instanceof BodyOverLimit)) return { clientGone: true };
      const detail = `an idempotent request's body is limited to ${maxBodyBytes} bytes`;
      return this.#refuse("too_large", reject("CORRAL_DP_PAYLOAD_TOO_LARGE", detail));
    }
    const names = recordKeys(ctx.tenant!.id, ctx.keyless ? ctx.remoteAddress : "", key);
    const owner = randomUUID();
    let claim: ClaimResult;
    try {
      claim = await this.#o.store.claim(names, fingerprint(ctx.method, ctx.url, body), owner);
    } catch (err) {
      this.#o.onStoreError?.(err);
      return this.#refuse("unavailable", reject("CORRAL_DP_IDEMPOTENCY_UNAVAILABLE", "try again later"));
    }
    if (claim.kind === "claimed") return this.#execute(ctx, req, res, body, names, owner);
    if (claim.kind === "replay") {
      this.#o.onOutcome?.("replayed");
      return writeReplay(ctx, res, claim.answer);
    }
    const [code, detail] = CLAIM_REFUSALS[claim.kind];
    return this.#refuse(claim.kind, reject(code, claim.kind === "spent" ? SPENT_DETAIL[claim.why] : detail));
  }

  async #execute(
    ctx: RequestContext,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    names: RecordNames,
    owner: string,
  ): Promise<ProxyResult> {
    const { store, settings } = this.#o;
    const quiet = (err: unknown) => this.#o.onStoreError?.(err);
    const renewal = setInterval(
      () => store.renew(names, owner).catch(quiet),
      Math.floor(settings.leaseMs / 3),
    );
    renewal.unref();
    const capture = new AnswerCapture(settings.maxResponseBytes);
    this.#o.onOutcome?.("executed");
    let result: ProxyResult;
    try {
      result = await this.#o.proxy.forward(ctx, req, res, { body, tap: capture, outliveClient: true });
    } catch (err) {
      clearInterval(renewal);
      await store.finish(names, owner, { state: "unknown" }).catch(quiet);
      throw err;
    }
    if ("response" in result) {
      void capture.finished
        .then((finish) => store.finish(names, owner, finish))
        .catch(quiet)
        .finally(() => clearInterval(renewal));
      return result;
    }
    clearInterval(renewal);
    const notSent = "rejection" in result && result.notSent === true;
    await (notSent ? store.release(names, owner) : store.finish(names, owner, { state: "unknown" })).catch(
      quiet,
    );
    // the exchange outlived a client that went away: there is nobody to answer
    return res.destroyed ? { clientGone: true } : result;
  }
}
