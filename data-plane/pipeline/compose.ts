/**
 * THE order of work for every tenant request (docs/design.md §4, §5), by name, for each ingress. Each
 * stage is one file of this folder; a stage looks at the request context, may add to it, and
 * lets the request go on or stops it with a rejection from the catalogue (stage.ts).
 *
 * The trace stage is first, so every answer, rejections included, carries the trace id and the
 * span (when exported) covers the whole request; it runs for both ingresses like every stage.
 *
 * The route is matched before admission because the deadline check needs the route's usual
 * latency and the route buckets need the route (docs/design.md §5.1 counts "no route 404" as
 * identification). Placement comes after shedding, so an overloaded node refuses work before
 * forwarding it, and before the limits, which only the shard members enforce (each its share of
 * the tenant's limit): a forwarded request skips them here and meets them at the member. A
 * public route's per-client limit comes first of the limits, so what it refuses never spends
 * the tenant's tokens. The proxy (to the upstream, or to the member placement chose) is not a stage: it runs when every
 * stage has let the request through.
 */
import { randomFillSync } from "node:crypto";
import type { Tracer } from "@opentelemetry/api";
import { TraceIds } from "../../runtime/trace-context.ts";
import type { RouteProtocol } from "../model/plain-config.ts";
import type { LiveConfig } from "../router/live-config.ts";
import { clientRateStage } from "./client-rate.ts";
import { concurrencyStage } from "./concurrency.ts";
import { requireConfig } from "./config.ts";
import { deadlineStage } from "./deadline.ts";
import { grpcDeadline } from "./grpc-deadline.ts";
import { identifyTenant } from "./identify.ts";
import type { NodeAdmission } from "./node-admission.ts";
import type { OpenSockets } from "./open-sockets.ts";
import { quotaStage } from "./quota.ts";
import { matchRoute } from "./route.ts";
import { routeRateStage } from "./route-rate.ts";
import { shedStage } from "./shed.ts";
import type { Stage } from "./stage.ts";
import { tenantRateStage } from "./tenant-rate.ts";
import { socketsStage, websocketStage } from "./websocket.ts";
import { traceStage } from "./trace.ts";

/** HTTP requests: the stages in order. */
export const HTTP_PIPELINE = [
  "trace", // never rejects: W3C trace context, corral-trace-id, the span when exported
  "config", // 503 not_ready
  "identify", // 401 unauthorized, 403 suspended
  "route", // 400 bad_path, 404 no_route
  "deadline", // 400 bad_request, 504 deadline
  "shed", // 503 shed
  "placement", // serve here | forward to a shard member | 421 misdirected | 503 shard_unavailable
  "client_rate", // where served, keyless callers of public routes: 429 client_rate
  "concurrency", // where served: 429 quota
  "tenant_rate", // where served: 429 quota
  "route_rate", // where served: 429 quota
  "quota", // where served: 429 quota (period quota, usage plans)
] as const;

/** gRPC calls: HTTP's stages, then the call's own deadline if no stage set one. */
export const GRPC_PIPELINE = [...HTTP_PIPELINE, "grpc_deadline"] as const;

/**
 * WebSocket upgrades: HTTP's stages without the deadline (a socket lives as long as it is used),
 * the route's opt-in, and a slot among the route's and the node's sockets. The buckets and the
 * period quota count the handshake; the concurrency slot is held until the handshake is answered.
 */
export const WEBSOCKET_PIPELINE = [
  "config", // 503 not_ready
  "identify", // 401 unauthorized, 403 suspended
  "route", // 400 bad_path, 404 no_route
  "websocket", // 400 not_websocket
  "shed", // 503 shed
  "placement", // serve here | forward to a shard member | 421 misdirected | 503 shard_unavailable
  "client_rate", // where served, keyless callers of public routes: 429 client_rate
  "concurrency", // where served: 429 quota
  "tenant_rate", // where served: 429 quota
  "route_rate", // where served: 429 quota
  "quota", // where served: 429 quota (period quota, usage plans)
  "sockets", // where served: 429 quota (the route's sockets), 503 websocket_capacity (the node's)
] as const;

export type StageName = (typeof GRPC_PIPELINE)[number] | (typeof WEBSOCKET_PIPELINE)[number];

/** Stages that run only where the tenant is served (not when placement forwards the request). */
const SERVED_HERE: ReadonlySet<StageName> = new Set([
  "client_rate",
  "concurrency",
  "tenant_rate",
  "route_rate",
  "quota",
  "sockets",
]);

/** Every stage by name, built for one ingress. */
export type StageSet = Readonly<Record<StageName, Stage>>;

export interface NodeStageDeps {
  currentConfig: () => LiveConfig | undefined;
  /** only routes of this protocol match */
  protocol: RouteProtocol;
  /** the node's admission state (deadline, shed and the limits) */
  admission: NodeAdmission;
  /** placement for this protocol (placement.ts placementStage) */
  placement: Stage;
  /** the node's WebSockets (the sockets stage) */
  sockets: OpenSockets;
  /** exports one span per request; undefined: export off, trace ids propagated only */
  tracer?: Tracer;
  /** draws trace and span ids when export is off (default: crypto random) */
  traceIds?: TraceIds;
}

const CRYPTO_TRACE_IDS = new TraceIds((buf) => randomFillSync(buf));

/** The stages of one ingress of a node. */
export function nodeStages(d: NodeStageDeps): StageSet {
  return {
    trace: traceStage(d.tracer, d.traceIds ?? CRYPTO_TRACE_IDS),
    config: requireConfig(d.currentConfig),
    identify: identifyTenant(),
    route: matchRoute(d.protocol),
    deadline: deadlineStage(d.admission),
    shed: shedStage(d.admission),
    placement: d.placement,
    client_rate: clientRateStage(d.admission),
    concurrency: concurrencyStage(d.admission),
    tenant_rate: tenantRateStage(d.admission),
    route_rate: routeRateStage(d.admission),
    quota: quotaStage(d.admission),
    grpc_deadline: grpcDeadline(),
    websocket: websocketStage(),
    sockets: socketsStage(d.sockets),
  };
}

/** The stage, run only when this node serves the request itself (not when it forwards it). */
function servedHere(stage: Stage): Stage {
  return { name: stage.name, run: (ctx) => (ctx.forward ? undefined : stage.run(ctx)) };
}

/** The pipeline: the named stages of `set` in the order of `names`. */
export function composePipeline(names: readonly StageName[], set: StageSet): Stage[] {
  return names.map((name) => (SERVED_HERE.has(name) ? servedHere(set[name]) : set[name]));
}

/** The pipeline of one ingress of a node: HTTP_PIPELINE or GRPC_PIPELINE over nodeStages. */
export function requestPipeline(d: NodeStageDeps): Stage[] {
  return composePipeline(d.protocol === "grpc" ? GRPC_PIPELINE : HTTP_PIPELINE, nodeStages(d));
}

/** The pipeline of the HTTP ingress's WebSocket upgrades: WEBSOCKET_PIPELINE over nodeStages. */
export function websocketPipeline(d: NodeStageDeps): Stage[] {
  return composePipeline(WEBSOCKET_PIPELINE, nodeStages(d));
}
