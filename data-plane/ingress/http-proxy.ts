/**
 * The end of the request path: streams the request to the route's upstream through a pooled
 * keep-alive connection and streams the answer back. The route's timeout bounds the wait for
 * the upstream's response headers (504) and each pause in its body. Failures before the
 * response starts become rejections (502/504/413/400); after that the response is cut.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { errors as undiciErrors } from "undici";
import { type Rejection, reject } from "../errors.ts";
import { upstreamPath } from "../router/route-table.ts";
import { clientResponseHeaders, upstreamRequestHeaders } from "./forward-headers.ts";
import type { RequestContext } from "./pipeline.ts";
import type { UpstreamPools } from "./upstream-pools.ts";

export interface ProxiedResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: NodeJS.ReadableStream;
}

export type ProxyResult = { response: ProxiedResponse } | { rejection: Rejection } | { clientGone: true };

class BodyTooLargeError extends Error {}
const TIMED_OUT = Symbol("upstream timeout");
const CLIENT_GONE = Symbol("client gone");
const CONNECT_FAILURES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

async function* limitedBody(req: IncomingMessage, limit: number): AsyncGenerator<Buffer> {
  let seen = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limit) throw new BodyTooLargeError(`request body exceeds ${limit} bytes`);
    yield chunk;
  }
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

function isConnectFailure(err: unknown): boolean {
  const e = err as { code?: string; cause?: { code?: string } };
  return (
    e instanceof undiciErrors.ConnectTimeoutError ||
    CONNECT_FAILURES.has(e?.code ?? "") ||
    CONNECT_FAILURES.has(e?.cause?.code ?? "")
  );
}

export class HttpProxy {
  private readonly pools: UpstreamPools;
  private readonly bodyLimit: number;

  constructor(pools: UpstreamPools, bodyLimit: number) {
    this.pools = pools;
    this.bodyLimit = bodyLimit;
  }

  async forward(ctx: RequestContext, req: IncomingMessage, res: ServerResponse): Promise<ProxyResult> {
    const route = ctx.route!;
    if (Number(req.headers["content-length"] ?? 0) > this.bodyLimit)
      return { rejection: reject("CORRAL_DP_PAYLOAD_TOO_LARGE", `body limit is ${this.bodyLimit} bytes`) };
    const picked = this.pools.pick(route.upstream);
    if (!picked) return { rejection: reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream has no targets") };
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(TIMED_OUT), route.timeoutMs);
    const onClose = () => abort.abort(CLIENT_GONE);
    res.once("close", onClose);
    try {
      const answer = await picked.pool.request({
        path: upstreamPath(route, picked.target.basePath, ctx.url),
        method: ctx.method as "GET",
        headers: upstreamRequestHeaders(req.headers, {
          tenantId: ctx.tenant!.id,
          clientIp: ctx.remoteAddress,
          host: req.headers.host,
          proto: "http",
        }),
        body: hasBody(req) ? Readable.from(limitedBody(req, this.bodyLimit)) : null,
        signal: abort.signal,
        bodyTimeout: route.timeoutMs,
        headersTimeout: 0,
      });
      const headers = clientResponseHeaders(answer.headers);
      return { response: { statusCode: answer.statusCode, headers, body: answer.body } };
    } catch (err) {
      return this.failure(err, abort.signal.reason, picked.target.origin);
    } finally {
      clearTimeout(timer);
      res.removeListener("close", onClose);
    }
  }

  private failure(err: unknown, abortReason: unknown, origin: string): ProxyResult {
    if (abortReason === CLIENT_GONE) return { clientGone: true };
    if (abortReason === TIMED_OUT)
      return { rejection: reject("CORRAL_DP_UPSTREAM_TIMEOUT", "the upstream did not answer in time") };
    if (err instanceof BodyTooLargeError)
      return { rejection: reject("CORRAL_DP_PAYLOAD_TOO_LARGE", err.message) };
    if (err instanceof undiciErrors.RequestContentLengthMismatchError)
      return { rejection: reject("CORRAL_DP_BAD_REQUEST", "body length differs from content-length") };
    if (isConnectFailure(err)) this.pools.markDead(origin);
    return { rejection: reject("CORRAL_DP_UPSTREAM_ERROR", "the upstream could not be reached") };
  }
}
