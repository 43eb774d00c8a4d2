/**
 * The request path as a pipeline of small named stages (docs/design.md §5). A stage looks at the
 * request context, may add to it (tenant, route, deadline...), and either lets the request go
 * on (returns undefined) or stops it with a Rejection from the catalogue. Stages may be async.
 * The composition lives in compose.ts; the proxy is the end of the line.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { RequestTrace } from "../../runtime/trace-context.ts";
import type { HeaderMap } from "./forward-headers.ts";
import type { Rejection } from "../errors.ts";
import type { SocketSlot } from "./open-sockets.ts";
import type { ShardMember } from "../placement/forwarding.ts";
import type { CompiledRoute } from "../router/route-table.ts";
import type { LiveConfig, TenantEntry } from "../router/live-config.ts";

export interface RequestContext {
  readonly method: string;
  /** normalised host: lower case, no port */
  readonly host: string;
  /** path without the query: canonical (router/request-target.ts), matched and forwarded as is */
  readonly path: string;
  /** canonical path and the query as received */
  readonly url: string;
  /** why the path is refused (400 bad_path at the route stage); path and url are then raw */
  readonly badPath?: string;
  readonly headers: IncomingHttpHeaders;
  /** the client's address as the node believes it (client-origin.ts) */
  readonly remoteAddress: string;
  /** the scheme the client used (https only when a trusted proxy says so) */
  readonly proto: "http" | "https";
  /** the slot of the shard member that forwarded this request (a verified, signed hop) */
  readonly forwardedBy?: string;
  /** monotonic ms when the request arrived */
  readonly receivedAt: number;
  /** its W3C trace context (set by the trace stage, first): passed to the upstream, logged, answered */
  trace?: RequestTrace;
  /** the config this request is served with, fixed for its whole life */
  config?: LiveConfig;
  tenant?: TenantEntry;
  keyId?: string;
  /** identified by host for a public route, without an API key (identify.ts) */
  keyless?: boolean;
  route?: CompiledRoute;
  /** monotonic ms by which the request must be answered (set by a deadline stage) */
  deadlineAt?: number;
  /** set by the placement stage: another node serves this tenant; try these members in order */
  forward?: { peers: ShardMember[] };
  /** set by the sockets stage of a WebSocket upgrade: its slot among the node's sockets */
  socketSlot?: SocketSlot;
  /** headers every answer to this request carries (e.g. RateLimit from an admission stage) */
  readonly responseHeaders: Record<string, string>;
  /** callbacks run once when the response is finished or the client went away (reason: corral-reason or "upstream") */
  readonly onFinish: Array<(statusCode: number, reason: string) => void>;
}

export type StageResult = Rejection | undefined;

export interface Stage {
  readonly name: string;
  run(ctx: RequestContext): StageResult | Promise<StageResult>;
}

/**
 * Runs the stages in order; the first rejection stops the request. While every stage is sync
 * the result is too (no promise, no turn of the microtask queue); from the first async stage
 * on it is a promise.
 */
export function runStages(
  stages: readonly Stage[],
  ctx: RequestContext,
  from = 0,
): StageResult | Promise<StageResult> {
  for (let i = from; i < stages.length; i++) {
    const out = stages[i]!.run(ctx);
    if (out instanceof Promise) return out.then((rejection) => rejection ?? runStages(stages, ctx, i + 1));
    if (out) return out;
  }
  return undefined;
}

/**
 * Runs the stages and hands their result to `then`: in this same turn while every stage is
 * sync, else once the last one settles. A stage (or a sync `then`) that throws, or an async
 * stage that rejects, goes to `failed` instead. The ingresses' request path (HTTP and gRPC).
 */
export function whenStagesRun(
  stages: readonly Stage[],
  ctx: RequestContext,
  then: (rejection: StageResult) => void,
  failed: (err: unknown) => void,
): void {
  try {
    const out = runStages(stages, ctx);
    if (out instanceof Promise) out.then(then, failed);
    else then(out);
  } catch (err) {
    failed(err);
  }
}

/** Seen by the node for every upstream answer (not for forwards to shard members). */
export interface UpstreamObserver {
  /** the upstream's response headers arrived `ms` after the request was sent */
  onUpstreamResponse(ctx: RequestContext, statusCode: number, headers: HeaderMap, ms: number): void;
}
