/**
 * Tenant gRPC ingress: an h2c (cleartext HTTP/2) server that proxies gRPC calls without knowing
 * the tenants' protos. Each call goes through the same stage pipeline as an HTTP request
 * (identify from x-api-key / authorization metadata, route by /package.Service/Method prefix
 * among the tenant's grpc routes, admission, placement, limits where served), then to the
 * GrpcProxy, or to the GrpcPeerForwarder when placement chose another member of the shard. Rejections are trailers-only
 * responses (HTTP 200, grpc-status, grpc-message, corral-reason). Every call is counted;
 * rejections and errors are logged, successes too unless log sampling (CORRAL_LOG_SAMPLE_RATE)
 * says otherwise. Bounds: concurrent streams per connection, header list size, request message size.
 */
import {
  constants,
  createServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from "node:http2";
import { boundPort, hostPort } from "../../proto/bound-url.ts";
import {
  type ConnectionCaps,
  capConnections,
  DEFAULT_HTTP_LIMITS,
  type HttpLimits,
} from "../../runtime/http-limits.ts";
import { problemBody, type Rejection, REQUEST_ERRORS, reject } from "../errors.ts";
import { type OriginRules, trustsPeer } from "../pipeline/client-origin.ts";
import type { IngressBaseOptions } from "../pipeline/ingress-options.ts";
import { newRequestContext } from "../pipeline/request-context.ts";
import { RequestShell } from "../pipeline/request-shell.ts";
import { type RequestContext, whenStagesRun } from "../pipeline/stage.ts";
import type { GrpcPeerForwarder } from "./grpc-peer-forwarder.ts";
import { type CallRecord, type GrpcProxy, respondRejection } from "./grpc-proxy.ts";
import { FLOW_WINDOWS } from "./upstream-sessions.ts";
import { grpcCodeForReset, grpcCodeName, httpEquivalent, isGrpcContentType } from "./grpc-wire.ts";

export interface GrpcIngressOptions extends IngressBaseOptions {
  /** the gRPC proxy, or a front around it (idempotency/idempotent-grpc.ts) */
  proxy: Pick<GrpcProxy, "forward">;
  /** relays calls placement forwards to shard members; without it, every call is proxied here */
  forwarder?: GrpcPeerForwarder;
  /** SETTINGS_MAX_CONCURRENT_STREAMS: calls in flight per client connection */
  maxConcurrentStreams: number;
  /** connection caps (CORRAL_MAX_CONNECTIONS, _PER_SOURCE); default: the settings' defaults */
  limits?: HttpLimits;
  /** a connection with no frames for this long is closed (GOAWAY); default 5 minutes */
  idleSessionMs?: number;
}

export interface GrpcIngress {
  /** host:port, as gRPC clients dial it */
  readonly address: string;
  readonly port: number;
  /** what the client connection caps refused (metrics) */
  readonly connectionCaps: ConnectionCaps;
  /** Stops accepting, lets calls in flight finish up to drainMs (GOAWAY), then cuts the rest. */
  close(drainMs: number): Promise<void>;
}

/** A client connection's peer, as its calls' origin needs it. */
interface Peer {
  address: string;
  /** a trusted proxy (its calls' X-Forwarded-For is believed): the same for every call */
  trusted: boolean;
}

/**
 * Each client connection's peer, read and judged once when it opens (a session's `socket` is a
 * Proxy: reading through it on every call costs more than the rest of the context; the trusted
 * proxy check is an address parse and a BlockList lookup).
 */
const peers = new WeakMap<Http2Session, Peer>();

function newContext(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  rules: OriginRules,
): RequestContext {
  const session = stream.session;
  const peer = session && peers.get(session);
  return newRequestContext(
    {
      target: headers[":path"] ?? "/",
      method: headers[":method"] ?? "POST",
      authority: headers[":authority"],
      headers,
      peer: peer?.address ?? session?.socket?.remoteAddress ?? "",
      peerTrusted: peer?.trusted,
    },
    rules,
  );
}

/** A request that is no gRPC call gets a plain HTTP answer, as the gRPC spec asks (415). */
function respondNotGrpc(stream: ServerHttp2Stream, record: CallRecord, detail: string): void {
  const rejection: Rejection = reject("CORRAL_DP_BAD_REQUEST", detail);
  record.reason = REQUEST_ERRORS[rejection.code].reason;
  stream.respond({
    ":status": 415,
    "content-type": "application/problem+json",
    "corral-reason": record.reason,
  });
  stream.end(JSON.stringify({ ...problemBody(rejection), status: 415 }));
}

function ignore(): void {}

class CallHandler extends RequestShell<GrpcIngressOptions> {
  /** Sync stages and the proxy's stream open run in this same turn (no promise while stages are sync). */
  handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    const ctx = newContext(stream, headers, this.o.origin);
    const record: CallRecord = { grpcStatus: undefined, reason: "upstream", messagesIn: 0 };
    this.track(ctx, stream, record);
    stream.on("error", ignore);
    const failed = (err: unknown) => this.failed(err, ctx, stream, record);
    if (ctx.method !== "POST" || !isGrpcContentType(ctx.headers["content-type"])) {
      try {
        respondNotGrpc(stream, record, "expected a gRPC call: POST with content-type application/grpc");
      } catch (err) {
        failed(err);
      }
      return;
    }
    whenStagesRun(
      this.o.stages,
      ctx,
      (rejection) => this.afterStages(ctx, stream, record, rejection),
      failed,
    );
  }

  private afterStages(
    ctx: RequestContext,
    stream: ServerHttp2Stream,
    record: CallRecord,
    rejection: Rejection | undefined,
  ): void {
    if (rejection) {
      this.verdict(ctx, rejection);
      respondRejection(stream, record, rejection, ctx.responseHeaders);
      return;
    }
    if (stream.destroyed) {
      record.reason = "client_gone";
      return;
    }
    this.verdict(ctx, undefined);
    const forwarder = ctx.forward !== undefined ? this.o.forwarder : undefined;
    const pending = forwarder
      ? forwarder.forward(ctx, stream, record)
      : this.o.proxy.forward(ctx, stream, record);
    if (pending) pending.catch((err: unknown) => this.failed(err, ctx, stream, record));
  }

  /** A bug on the call path: logged, and the call ends with INTERNAL if nothing was answered. */
  private failed(err: unknown, ctx: RequestContext, stream: ServerHttp2Stream, record: CallRecord): void {
    this.o.logger.error({ err, path: ctx.path }, "gRPC call failed");
    respondRejection(stream, record, reject("CORRAL_DP_INTERNAL"));
  }

  /**
   * Counts the call in flight until its stream closes; then the metrics and, for every rejection
   * and error and a sample of the rest (CORRAL_LOG_SAMPLE_RATE), one log line.
   */
  private track(ctx: RequestContext, stream: ServerHttp2Stream, record: CallRecord): void {
    this.started();
    stream.on("close", () => {
      const reset = stream.rstCode !== undefined && stream.rstCode !== constants.NGHTTP2_NO_ERROR;
      const code = record.grpcStatus ?? (reset ? grpcCodeForReset(stream.rstCode) : undefined);
      this.o.metrics.recordGrpcCall(code === undefined ? "none" : grpcCodeName(code), record.reason);
      const status = code === undefined ? 415 : httpEquivalent(code);
      const fields = { protocol: "grpc", grpcStatus: code, messagesIn: record.messagesIn };
      this.finished(ctx, status, record.reason, fields);
    });
  }
}

export async function startGrpcIngress(o: GrpcIngressOptions): Promise<GrpcIngress> {
  const server = createServer({
    settings: {
      enablePush: false,
      maxConcurrentStreams: o.maxConcurrentStreams,
      maxHeaderListSize: o.maxHeaderBytes,
      initialWindowSize: FLOW_WINDOWS.streamBytes,
    },
    maxSessionMemory: 32,
  });
  const connectionCaps = capConnections(server, o.limits ?? DEFAULT_HTTP_LIMITS, (source) =>
    trustsPeer(o.origin, source),
  );
  const sessions = new Set<Http2Session>();
  const handler = new CallHandler(o);
  server.on("session", (session) => {
    sessions.add(session);
    const address = session.socket?.remoteAddress ?? "";
    peers.set(session, { address, trusted: trustsPeer(o.origin, address) });
    session.on("close", () => sessions.delete(session));
    session.on("error", () => {});
    session.setLocalWindowSize(FLOW_WINDOWS.sessionBytes);
    session.setTimeout(o.idleSessionMs ?? 300_000, () => session.close());
  });
  server.on("stream", (stream, headers) => handler.handle(stream, headers));
  await new Promise<void>((resolve, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(o.port, o.host, () => {
      server.off("error", rejectListen);
      resolve();
    });
  });
  const port = boundPort(server, o.port);
  return {
    address: hostPort(o.host, port),
    port,
    connectionCaps,
    async close(drainMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      const cut = setTimeout(() => {
        for (const session of sessions) session.destroy();
      }, drainMs);
      try {
        await closed;
      } finally {
        clearTimeout(cut);
      }
    },
  };
}
