/**
 * The tenant API over gRPC (corral.tenant.v1.TenantService) on CORRAL_GRPC_PORT: each unary call
 * authenticates its `x-api-key` / `authorization: Bearer` metadata, runs the TenantService
 * operation within the call's deadline (and rolls back if the caller cancels), answers with the
 * message or a status carrying `corral-code` and `corral-problem-bin`, is logged on one line and
 * counted. Messages are bounded; close() drains calls in flight before it gives up on them.
 */
import type { Tracer } from "@opentelemetry/api";
import { ATTR_RPC_METHOD, ATTR_RPC_STATUS_CODE } from "@opentelemetry/semantic-conventions";
import { Metadata, type ServerUnaryCall, Server, ServerCredentials, type sendUnaryData } from "@grpc/grpc-js";
import type { Registry } from "prom-client";
import { metricMakers, REQUEST_SECONDS_BUCKETS } from "../../runtime/metric-makers.ts";
import { TenantServiceService } from "../../proto/gen/corral/tenant/v1/tenant.ts";
import { presentedKey } from "../../proto/presented-key.ts";
import { finishSpan, SPAN_ATTRIBUTES, startSpanFromHeaders } from "../../runtime/tracing.ts";
import { type CorralError, GrpcStatus } from "../errors.ts";
import { toCorralError } from "../http/problems.ts";
import type { Logger } from "../logger.ts";
import { sourceOf } from "../service/failed-auth-throttle.ts";
import { checkIdempotencyKey } from "../service/input-validation.ts";
import { type CallContext, type HandlerResult, tenantHandlers, type Unary } from "./grpc-handlers.ts";
import type { Caller, TenantService } from "./service.ts";
import { asTenantError } from "./tenant-errors.ts";
import { serviceError } from "./grpc-mapping.ts";

/** Largest request message accepted (the REST body limit); larger ones are RESOURCE_EXHAUSTED. */
export const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const MAX_METADATA_BYTES = 16 * 1024;
const MAX_CONCURRENT_STREAMS = 100;
const DEFAULT_DRAIN_MS = 5_000;

export interface TenantGrpcOptions {
  service: TenantService;
  host: string;
  port: number;
  logger: Logger;
  registry: Registry;
  /** exports one span per call (runtime/tracing.ts); undefined: export off */
  tracer?: Tracer;
  /** how long close() waits for calls in flight (default 5 s) */
  drainTimeoutMs?: number;
}

export interface TenantGrpcServer {
  /** host:port clients dial */
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function startTenantGrpcServer(opts: TenantGrpcOptions): Promise<TenantGrpcServer> {
  const server = new Server({
    "grpc.max_receive_message_length": MAX_REQUEST_BYTES,
    "grpc.max_send_message_length": MAX_RESPONSE_BYTES,
    "grpc.max_metadata_size": MAX_METADATA_BYTES,
    "grpc.max_concurrent_streams": MAX_CONCURRENT_STREAMS,
  });
  const unary = unaryWrapper(opts);
  server.addService(TenantServiceService, tenantHandlers(opts.service, unary));
  const hostPart = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${hostPart}:${opts.port}`, ServerCredentials.createInsecure(), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return {
    address: `${hostPart}:${port}`,
    port,
    close: () => drain(server, opts.drainTimeoutMs ?? DEFAULT_DRAIN_MS),
  };
}

/** Stops accepting calls, waits for those in flight, and cuts them off after `timeoutMs`. */
function drain(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, timeoutMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function unaryWrapper(opts: TenantGrpcOptions): Unary {
  const m = metricMakers(opts.registry);
  const calls = m.counter(
    "corral_grpc_calls_total",
    "Tenant API gRPC calls served, by method and status code",
    ["method", "code"],
  );
  const duration = m.histogram(
    "corral_grpc_call_duration_seconds",
    "Tenant API gRPC call duration by method",
    REQUEST_SECONDS_BUCKETS,
    ["method"],
  );
  return (method, handler) => (call, callback) => {
    const started = performance.now();
    const span =
      opts.tracer &&
      startSpanFromHeaders(opts.tracer, method, {
        traceparent: metadataText(call.metadata, "traceparent"),
        tracestate: metadataText(call.metadata, "tracestate"),
      });
    const finish = (code: number, caller?: Caller) => {
      if (span)
        finishSpan(
          span,
          {
            [ATTR_RPC_METHOD]: method,
            [ATTR_RPC_STATUS_CODE]: codeName(code),
            [SPAN_ATTRIBUTES.tenant]: caller?.tenantId,
          },
          code === GrpcStatus.INTERNAL || code === GrpcStatus.UNAVAILABLE,
        );
      const seconds = (performance.now() - started) / 1000;
      calls.inc({ method, code: codeName(code) });
      duration.observe({ method }, seconds);
      const line = {
        rpc: method,
        code: codeName(code),
        ms: Math.round(seconds * 10_000) / 10,
        tenant: caller?.tenantId,
      };
      opts.logger.info(line, "grpc call");
    };
    void serve(opts, call, callback, handler).then(({ code, caller }) => finish(code, caller));
  };
}

type Answer<Res> =
  | { ok: true; response: Res; replayed: boolean; caller: Caller }
  | { ok: false; error: CorralError; cause: unknown; caller?: Caller };

/** Runs the call and answers it once; resolves with the status code and the caller, never rejects. */
async function serve<Req, Res>(
  opts: TenantGrpcOptions,
  call: ServerUnaryCall<Req, Res>,
  callback: sendUnaryData<Res>,
  handler: (ctx: CallContext, request: Req) => Promise<HandlerResult<Res>>,
): Promise<{ code: number; caller?: Caller }> {
  const answer = await run(opts.service, call, handler);
  if (!answer.ok) {
    if (answer.error.status >= 500)
      opts.logger.error({ err: answer.cause, code: answer.error.code }, "call failed");
    callback(serviceError(answer.error));
    return { code: answer.error.grpcStatus, caller: answer.caller };
  }
  if (answer.replayed) {
    const replayed = new Metadata();
    replayed.set("idempotent-replayed", "true");
    call.sendMetadata(replayed);
  }
  callback(null, answer.response);
  return { code: GrpcStatus.OK, caller: answer.caller };
}

async function run<Req, Res>(
  service: TenantService,
  call: ServerUnaryCall<Req, Res>,
  handler: (ctx: CallContext, request: Req) => Promise<HandlerResult<Res>>,
): Promise<Answer<Res>> {
  const cancelled = new AbortController();
  call.on("cancelled", () => cancelled.abort());
  let caller: Caller | undefined;
  try {
    const key = presentedKey({
      "x-api-key": metadataText(call.metadata, "x-api-key"),
      authorization: metadataText(call.metadata, "authorization"),
    });
    caller = await service.authenticate(key, sourceOf(peerAddress(call.getPeer())));
    const ctx = callContext(caller, deadlineMs(call.getDeadline()), cancelled.signal);
    const result = await handler(ctx, call.request);
    return { ok: true, response: result.response, replayed: result.replayed ?? false, caller };
  } catch (err) {
    return { ok: false, error: asTenantError(toCorralError(err)), cause: err, caller };
  }
}

function callContext(caller: Caller, deadline: number | undefined, signal: AbortSignal): CallContext {
  return {
    caller,
    mutation: (clientToken) => ({
      clientToken: clientToken === "" ? undefined : checkIdempotencyKey(clientToken, "client_token"),
      deadline,
      signal,
    }),
  };
}

/** epoch ms, or undefined for a call without a deadline */
function deadlineMs(deadline: Date | number): number | undefined {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}

/** The address of a grpc-js peer string: `host:port` (IPv6 unbracketed) or `unknown`. */
function peerAddress(peer: string): string {
  return peer.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
}

/** The first value of a text metadata entry; binary or repeated entries count as absent. */
function metadataText(md: Metadata, name: string): string | undefined {
  const values = md.get(name);
  return values.length === 1 && typeof values[0] === "string" ? values[0] : undefined;
}

function codeName(code: number): string {
  return Object.entries(GrpcStatus).find(([, v]) => v === code)?.[0] ?? String(code);
}
