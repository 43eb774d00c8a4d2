/**
 * Tenant isolation on a node (docs/design.md §4, §5), wired for runDataPlane: the admission state and
 * its stages, placement and the peer forwarder, the event-loop delay the shedder sees, route
 * latencies fed by upstream answers, the demand rebalancer and the period-quota flusher when
 * Redis is configured, and the test-only crash hook. Everything here lives as long as the node;
 * close() stops its timers and its Redis connections.
 */
import type { Tracer } from "@opentelemetry/api";
import type { Logger } from "pino";
import type { Random, Timers } from "./clock.ts";
import { DemandCounter } from "./demand/demand-counter.ts";
import { GrpcPeerForwarder } from "./grpc/grpc-peer-forwarder.ts";
import type { GrpcProxy } from "./grpc/grpc-proxy.ts";
import type { UpstreamSessions } from "./grpc/upstream-sessions.ts";
import { RedisDemandStore } from "./demand/demand-store.ts";
import { ShareRebalancer } from "./demand/share-rebalancer.ts";
import { QuotaFlusher } from "./quota/quota-flusher.ts";
import { RedisQuotaStore } from "./quota/quota-store.ts";
import { quotaRate } from "./quota/quota-rate.ts";
import type { HttpProxy } from "./http/http-proxy.ts";
import { NodeAdmission } from "./pipeline/node-admission.ts";
import { PeerForwarder } from "./http/peer-forwarder.ts";
import type { RouteProtocol } from "./model/plain-config.ts";
import { requestPipeline, websocketPipeline } from "./pipeline/compose.ts";
import { OpenSockets, type OpenSocketsOptions } from "./pipeline/open-sockets.ts";
import { placementStage } from "./pipeline/placement.ts";
import type { Stage, UpstreamObserver } from "./pipeline/stage.ts";
import type { LiveConfig } from "./router/live-config.ts";
import type { UpstreamPools } from "./http/upstream-pools.ts";
import type { NodeState } from "./node-state.ts";
import {
  type AdmissionMetrics,
  createAdmissionMetrics,
  type PlacementOutcome,
} from "./ops/admission-metrics.ts";
import { EventLoopDelaySampler } from "./ops/event-loop-delay.ts";
import type { DataPlaneMetrics } from "./ops/metrics.ts";

export interface IsolationOptions {
  slot: string;
  state: NodeState;
  metrics: DataPlaneMetrics;
  timers: Timers;
  random: Random;
  log: Logger;
  redisUrl: string | undefined;
  /** per-client limits of public routes (CORRAL_PUBLIC_CLIENT_*) */
  publicClients?: { slots: number; ipv6Prefix: number };
  /** fault injection (tests only): crash when an upstream answer carries this header */
  crashOnHeader: string | undefined;
  /** signs the hops of forwarded requests (pipeline/client-origin.ts) */
  hopKey: () => Buffer | undefined;
  /** the node's WebSocket cap and the grace before an orphaned socket closes */
  websockets: OpenSocketsOptions;
  /** exports one span per request (runtime/tracing.ts); undefined: trace ids propagated only */
  tracer?: Tracer;
}

export interface Isolation {
  readonly admission: NodeAdmission;
  /**
   * The pipeline of the ingress of `protocol` (pipeline/compose.ts) over this node's admission
   * state; placement forwards HTTP requests to members' HTTP ingress, gRPC calls to their gRPC one.
   */
  stages(protocol: RouteProtocol, currentConfig: () => LiveConfig | undefined): Stage[];
  /** The pipeline of WebSocket upgrades on the HTTP ingress (compose.ts WEBSOCKET_PIPELINE). */
  websocketStages(currentConfig: () => LiveConfig | undefined): Stage[];
  /** the WebSockets open on this node */
  readonly sockets: OpenSockets;
  readonly upstreamObserver: UpstreamObserver;
  peerForwarder(proxy: HttpProxy, pools: UpstreamPools): PeerForwarder;
  grpcPeerForwarder(proxy: GrpcProxy, sessions: UpstreamSessions): GrpcPeerForwarder;
  close(): Promise<void>;
}

const SWEEP_EVERY_MS = 30_000;

/**
 * Fault injection for the poison-tenant tests: an upstream answer carrying the header makes
 * the node throw from a fresh stack, outside every handler, as a real bug would: the process
 * dies of an uncaught exception. Off unless CORRAL_FAULT_CRASH_ON_HEADER is set.
 */
function crashHook(header: string | undefined, log: Logger): UpstreamObserver["onUpstreamResponse"] {
  if (!header) return () => {};
  log.warn({ header }, "fault injection on: an upstream answer with this header crashes the node");
  return (ctx, _status, headers) => {
    if (headers[header] === undefined) return;
    log.fatal(
      { tenant: ctx.tenant?.id, route: ctx.route?.id },
      "fault injection: crashing on an upstream answer",
    );
    setImmediate(() => {
      throw new Error(`fault injection: upstream answer carried ${header}`);
    });
  };
}

function startRebalancer(
  o: IsolationOptions,
  admission: NodeAdmission,
  demand: DemandCounter,
  am: AdmissionMetrics,
) {
  if (!o.redisUrl) return undefined;
  const logError = throttledWarning(o, "demand exchange with Redis failed; shares kept");
  const onError = (err: unknown) => {
    am.demandSyncError();
    logError(err);
  };
  const rebalancer = new ShareRebalancer({
    slot: o.slot,
    store: new RedisDemandStore({ url: o.redisUrl, onError: logError }),
    counter: demand,
    timers: o.timers,
    random: o.random,
    target: {
      tenantOf: (tenant) => {
        const t = o.state.config()?.tenant(tenant);
        // a tenant with only a period quota is split by demand too, at the quota's mean rate
        return t && { shard: t.shard, rate: t.limits?.rate || quotaRate(t.limits?.quota) };
      },
      setShare: (tenant, share) => admission.setShare(tenant, share),
      clearShare: (tenant) => admission.clearShare(tenant),
    },
    onError,
    onExchange: (tenants) => am.demandSync(tenants),
  });
  rebalancer.start();
  return rebalancer;
}

/** Warns at most every 10 s (a Redis outage would otherwise log on every attempt). */
function throttledWarning(o: IsolationOptions, message: string): (err: unknown) => void {
  let lastLogged = 0;
  return (err) => {
    const now = o.timers.now();
    if (now - lastLogged < 10_000) return;
    lastLogged = now;
    o.log.warn({ error: (err as Error).message }, message);
  };
}

function startQuotaFlusher(o: IsolationOptions, admission: NodeAdmission, am: AdmissionMetrics) {
  if (!o.redisUrl) return undefined;
  const logError = throttledWarning(o, "quota flush to Redis failed; each member enforces its share");
  const flusher = new QuotaFlusher({
    ledger: admission.quotas,
    store: new RedisQuotaStore({ url: o.redisUrl, onError: logError }),
    timers: o.timers,
    random: o.random,
    onError: (err) => {
      am.quotaSyncError();
      logError(err);
    },
    onFlush: (counters) => am.quotaSync(counters),
  });
  flusher.start();
  return flusher;
}

export function startIsolation(o: IsolationOptions): Isolation {
  const loop = new EventLoopDelaySampler();
  const demand = new DemandCounter();
  let admission: NodeAdmission | undefined;
  const am = createAdmissionMetrics(o.metrics.registry, {
    eventLoopDelayMs: () => loop.delayMs,
    shedPressure: () => admission?.shedPressure ?? 0,
    publicClients: () => admission?.clients.size.clients ?? 0,
  });
  admission = new NodeAdmission({
    monotonic: () => performance.now(),
    now: () => o.timers.now(),
    random: o.random,
    load: () => ({ inFlight: o.state.inflight, eventLoopDelayMs: loop.delayMs }),
    demand,
    metrics: am,
    clients: o.publicClients,
  });
  const rebalancer = startRebalancer(o, admission, demand, am);
  const quotaFlusher = startQuotaFlusher(o, admission, am);
  const sweep = setInterval(() => admission.sweep(), SWEEP_EVERY_MS);
  sweep.unref();
  const crash = crashHook(o.crashOnHeader, o.log);
  const onPlacement = (d: PlacementOutcome) => am.placement(d);
  const sockets = new OpenSockets(o.websockets, o.timers);
  return {
    admission,
    sockets,
    stages: (protocol, currentConfig) =>
      requestPipeline({
        currentConfig,
        protocol,
        admission,
        placement: placementStage(o.slot, protocol, onPlacement),
        sockets,
        tracer: o.tracer,
      }),
    websocketStages: (currentConfig) =>
      websocketPipeline({
        currentConfig,
        protocol: "http",
        admission,
        placement: placementStage(o.slot, "http", onPlacement),
        sockets,
        tracer: o.tracer,
      }),
    upstreamObserver: {
      onUpstreamResponse(ctx, status, headers, ms) {
        admission.recordLatency(ctx.route!.id, ms);
        crash(ctx, status, headers, ms);
      },
    },
    peerForwarder: (proxy, pools) =>
      new PeerForwarder({
        self: o.slot,
        proxy,
        pools,
        hopKey: o.hopKey,
        now: () => o.timers.now(),
        onResult: (r) => am.forward(r),
      }),
    grpcPeerForwarder: (proxy, sessions) =>
      new GrpcPeerForwarder({
        self: o.slot,
        proxy,
        sessions,
        onResult: (r) => am.forward(r),
        hopKey: o.hopKey,
        now: () => o.timers.now(),
      }),
    async close() {
      clearInterval(sweep);
      loop.close();
      await Promise.all([rebalancer?.close(), quotaFlusher?.close()]);
    },
  };
}
