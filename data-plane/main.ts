/**
 * A data-plane node: `runDataPlane(env)` validates the CORRAL_* settings, starts the ingress
 * and ops servers, boots from the disk cache, dials the control plane, pulls LATEST on a
 * jittered period, and returns a handle whose close() drains.
 */
import { hostname } from "node:os";
import pino, { type DestinationStream, type Logger } from "pino";
import pkg from "../package.json" with { type: "json" };
import type { BlobStore } from "../runtime/blob-store/blob-store.ts";
import { openBlobStore } from "../runtime/blob-store/open-blob-store.ts";
import { type Random, systemTimers, type Timers } from "./clock.ts";
import { INGRESS_LIMITS, loadDataPlaneSettings, type DataPlaneSettings } from "./config.ts";
import { type ApplyOutcome, ConfigApplier } from "./config-client/config-applier.ts";
import { PeriodicPull } from "./config-client/periodic-pull.ts";
import { BootInlineLoader, type SnapshotLoader } from "./config-client/snapshot-loader.ts";
import { GrpcProxy } from "./grpc/grpc-proxy.ts";
import { type GrpcIngress, startGrpcIngress } from "./grpc/grpc-ingress.ts";
import { UpstreamSessions } from "./grpc/upstream-sessions.ts";
import { HttpProxy } from "./http/http-proxy.ts";
import { WebSocketProxy } from "./http/websocket-proxy.ts";
import { flushLog, stdoutLogDestination } from "./ops/log-destination.ts";
import { createWebSocketMetrics } from "./ops/websocket-metrics.ts";
import { servedBy } from "./pipeline/open-sockets.ts";
import { type Ingress, startIngress } from "./http/http-ingress.ts";
import { UpstreamPools } from "./http/upstream-pools.ts";
import { IdempotentGrpcProxy } from "./idempotency/idempotent-grpc.ts";
import { IdempotentProxy } from "./idempotency/idempotent-proxy.ts";
import type { IdempotencyOutcome } from "./idempotency/key-claim.ts";
import {
  type IdempotencyStore,
  NoIdempotencyStore,
  RedisIdempotencyStore,
} from "./idempotency/idempotency-store.ts";
import { httpHealthProbe } from "./http/health-probe.ts";
import { grpcHealthProbe } from "./grpc/health-probe.ts";
import { DownList } from "./upstream/down-list.ts";
import { type CheckedUpstream, HealthChecker } from "./upstream/health-checker.ts";
import { createUpstreamMetrics } from "./ops/upstream-metrics.ts";
import { type Isolation, startIsolation } from "./isolation.ts";
import { missingV8Flags } from "./node-flags.ts";
import { NodeState } from "./node-state.ts";
import type { EgressDenialListener } from "./egress/egress-connect.ts";
import { Retrier } from "./retry/retrier.ts";
import { createMetrics, type DataPlaneMetrics, registerConnectionCapMetrics } from "./ops/metrics.ts";
import { type OpsServer, startOps } from "./ops/ops-server.ts";
import { registerUsageGauges, UsageMeter } from "./ops/usage-meter.ts";
import { requestMeter } from "./pipeline/usage-metering.ts";
import type { BackoffPolicy } from "./sync/backoff.ts";
import { ResultFrames } from "./sync/result-frames.ts";
import { SyncClient } from "./sync/sync-client.ts";
import { startTracing, type Tracing } from "../runtime/tracing.ts";

export interface RunningProcess {
  close(): Promise<void>;
}

export interface DataPlaneProcess extends RunningProcess {
  readonly httpUrl: string;
  /** host:port of the gRPC ingress */
  readonly grpcAddress: string;
  readonly opsUrl: string;
  readonly state: NodeState;
}

/** Seams for tests; production uses the defaults. */
export interface DataPlaneOptions {
  timers?: Timers;
  random?: Random;
  logStream?: DestinationStream;
  sync?: { pingIntervalMs?: number; statusIntervalMs?: number; backoff?: BackoffPolicy };
  drainTimeoutMs?: number;
}

/** calls in flight per client connection of the gRPC ingress (SETTINGS_MAX_CONCURRENT_STREAMS) */
const GRPC_MAX_CONCURRENT_STREAMS = 1_000;

export const BUILD = `corral/${pkg.version} node/${process.versions.node}`;

function createLogger(s: DataPlaneSettings, stream?: DestinationStream): Logger {
  const options = {
    level: s.logLevel,
    base: { service: "corral-dp", slot: s.slot },
    redact: [
      "req.headers.authorization",
      'req.headers["x-api-key"]',
      "headers.authorization",
      'headers["x-api-key"]',
    ],
  };
  return pino(options, stream ?? stdoutLogDestination());
}

interface Parts {
  s: DataPlaneSettings;
  log: Logger;
  timers: Timers;
  random: Random;
  state: NodeState;
  metrics: DataPlaneMetrics;
  store: BlobStore;
  loader: SnapshotLoader;
  pools: UpstreamPools;
  isolation: Isolation;
  sessions: UpstreamSessions;
  /** requests per tenant, key, route and outcome, reported in Status frames */
  usage: UsageMeter;
  /** records of gateway idempotency keys (Redis; without it keyed requests are refused) */
  idempotency: IdempotencyStore;
  health: HealthChecker;
  /** span export, when an OTLP endpoint is set */
  tracing: Tracing | undefined;
}

function logOutcome(log: Logger, o: ApplyOutcome): void {
  const base = { trigger: o.trigger.kind, version: o.version, applyMs: o.applyMs };
  if (!o.ok && o.error.code === "CORRAL_DP_CONFIG_NO_CACHE") log.info(base, "no config in the disk cache");
  else if (!o.ok) log.warn({ ...base, code: o.error.code, error: o.error.message }, "config apply failed");
  else if (o.changed) log.info(base, "config applied");
  else log.debug(base, "config re-verified");
  if (o.ok && o.cacheError) log.warn({ ...base, ...o.cacheError }, "config applied but not cached");
}

function createApplier(p: Parts, onOutcome: (o: ApplyOutcome) => void): ConfigApplier {
  return new ConfigApplier({
    loader: p.loader,
    maxCapacity: p.s.snapshotCapacity,
    timers: p.timers,
    live: {
      current: () => p.state.config(),
      install: (config) => p.state.install(config),
    },
    onOutcome: (o) => {
      p.state.recordOutcome(o);
      const config = p.state.config();
      if (o.ok && o.changed && config) p.isolation.sockets.reconcile(servedBy(config));
      if (o.ok) p.metrics.applySeconds.observe({ result: o.changed ? "changed" : "same" }, o.applyMs / 1000);
      else p.metrics.applyFailures.inc({ code: o.error.code });
      logOutcome(p.log, o);
      onOutcome(o);
    },
  });
}

function createSync(
  p: Parts,
  applier: ConfigApplier,
  addresses: { httpUrl: string; grpcAddress: string },
  opts: DataPlaneOptions,
): SyncClient {
  const { s, state } = p;
  return new SyncClient({
    cpUrl: s.cpUrl,
    token: s.nodeToken,
    ca: s.cpCa,
    timers: p.timers,
    random: p.random,
    logger: p.log,
    ...opts.sync,
    handlers: {
      hello: () => ({
        node: `${s.slot}@${hostname()}/${process.pid}`,
        slot: s.slot,
        zone: s.zone,
        version: state.version,
        build: BUILD,
        ...addresses,
      }),
      status: () => ({
        version: state.version,
        configAgeMs: state.configAgeMs() ?? 0,
        inflight: state.inflight,
        shed: state.shed,
        fetchError: state.fetchError ?? "",
        usage: p.usage.take(),
      }),
      statusBacklog: () => p.usage.pending > 0,
      onWelcome: ({ latest }) => {
        state.cpVersion = latest?.version ?? 0;
        if (latest && latest.version > 0) applier.request({ kind: "welcome", ...latest });
      },
      onAnnounce: (a) => {
        state.noteCpVersion(a.version);
        applier.request({ kind: "announce", ...a });
      },
      onContact: () => state.contact(),
      onConnectionChange: (connected, detail) => {
        state.connected = connected;
        p.metrics.syncConnections.inc({ event: connected ? "open" : "close" });
        p.log.info({ connected, detail }, "control plane connection");
      },
    },
  });
}

/**
 * The addresses this node reports for its slot, where other nodes forward requests and calls:
 * CORRAL_ADVERTISE_URL, and that URL's host with the gRPC port (else the bound addresses).
 */
function advertisedAddresses(s: DataPlaneSettings, ingress: Ingress, grpc: GrpcIngress) {
  if (!s.advertiseUrl) return { httpUrl: ingress.url, grpcAddress: grpc.address };
  return { httpUrl: s.advertiseUrl, grpcAddress: `${new URL(s.advertiseUrl).hostname}:${grpc.port}` };
}

interface Servers {
  ingress: Ingress;
  grpc: GrpcIngress;
  ops: OpsServer;
}

async function startServers(p: Parts): Promise<Servers> {
  const currentConfig = () => p.state.config();
  // one set of retry budgets per node, shared by HTTP and gRPC routes to the same upstream
  const retrier = new Retrier({
    clock: () => p.timers.monotonic(),
    random: p.random,
    metrics: p.metrics.retries,
  });
  const proxy = new HttpProxy(p.pools, INGRESS_LIMITS.bodyLimitBytes, p.isolation.upstreamObserver, retrier);
  const idempotency = {
    store: p.idempotency,
    settings: p.s.idempotency,
    onOutcome: (outcome: IdempotencyOutcome) => p.metrics.idempotency.inc({ outcome }),
    onStoreError: (err: unknown) => p.log.warn({ err: (err as Error).message }, "idempotency store failed"),
  };
  const idempotentProxy = new IdempotentProxy({ ...idempotency, proxy });
  const shared = {
    host: p.s.host,
    logger: p.log,
    metrics: p.metrics,
    state: p.state,
    maxHeaderBytes: INGRESS_LIMITS.maxHeaderBytes,
    limits: p.s.limits,
    origin: {
      trustedProxies: p.s.trustedProxies,
      hopKey: () => p.state.config()?.hopKey,
      now: () => p.timers.now(),
    },
    logSampleRate: p.s.logSampleRate,
    random: p.random,
    usage: requestMeter(p.usage, p.s.slot),
  };
  const ingress = await startIngress({
    ...shared,
    port: p.s.httpPort,
    stages: p.isolation.stages("http", currentConfig),
    proxy: idempotentProxy,
    forwarder: p.isolation.peerForwarder(proxy, p.pools),
    websockets: new WebSocketProxy({
      stages: p.isolation.websocketStages(currentConfig),
      origin: shared.origin,
      pools: p.pools,
      sockets: p.isolation.sockets,
      metrics: p.metrics,
      socketMetrics: createWebSocketMetrics(p.metrics.registry),
      logger: p.log,
      onEgressDenied: egressDenialLog(p.log, p.metrics, "http"),
      self: p.s.slot,
      hopKey: shared.origin.hopKey,
      now: shared.origin.now,
      usage: shared.usage,
    }),
    sockets: p.isolation.sockets,
  });
  let grpc: GrpcIngress | undefined;
  const grpcProxy = new GrpcProxy(p.sessions, {
    maxMessageBytes: INGRESS_LIMITS.bodyLimitBytes,
    observer: p.isolation.upstreamObserver,
    retrier,
  });
  const idempotentGrpc = new IdempotentGrpcProxy({ ...idempotency, proxy: grpcProxy });
  try {
    grpc = await startGrpcIngress({
      ...shared,
      port: p.s.grpcPort,
      stages: p.isolation.stages("grpc", currentConfig),
      proxy: idempotentGrpc,
      forwarder: p.isolation.grpcPeerForwarder(grpcProxy, p.sessions),
      maxConcurrentStreams: GRPC_MAX_CONCURRENT_STREAMS,
    });
    registerConnectionCapMetrics(p.metrics.registry, {
      http: ingress.connectionCaps,
      grpc: grpc.connectionCaps,
    });
    const ops = await startOps(p.state, p.metrics, p.log, p.s.host, p.s.opsPort);
    return { ingress, grpc, ops };
  } catch (err) {
    await Promise.all([ingress.close(0), grpc?.close(0)]);
    throw err;
  }
}

/** A refused upstream connection: one warning and one count (the request's own log line follows). */
function egressDenialLog(
  log: Logger,
  metrics: DataPlaneMetrics,
  protocol: "http" | "grpc",
): EgressDenialListener {
  return (host, port, reason) => {
    metrics.egressDenied.inc({ protocol });
    log.warn({ host, port, protocol, reason }, "upstream connection refused by the egress policy");
  };
}

/** The node's long-lived parts, before anything listens. */
async function createParts(s: DataPlaneSettings, options: DataPlaneOptions): Promise<Parts> {
  const log = createLogger(s, options.logStream);
  const timers = options.timers ?? systemTimers();
  const state = new NodeState(s.slot, s.zone, timers);
  const metrics = createMetrics(state);
  const random = options.random ?? Math.random;
  const store = await openBlobStore(s.blobUrl, { endpoint: s.s3Endpoint });
  const usage = new UsageMeter({ now: () => timers.now() });
  registerUsageGauges(metrics.registry, usage);
  const tracing = startTracing(s.tracing, { name: "corral-dp", instance: s.slot });
  return {
    usage,
    s,
    log,
    timers,
    random,
    state,
    metrics,
    store,
    loader: new BootInlineLoader(
      {
        publicKey: s.verifyKey,
        blobUrl: s.blobUrl,
        s3Endpoint: s.s3Endpoint,
        dataDir: s.dataDir,
        maxBytes: s.snapshotCapacity,
      },
      store,
      () => state.config() !== undefined,
    ),
    ...upstreamLayer(s.slot, { log, timers, random, state, metrics }),
    isolation: startIsolation({
      slot: s.slot,
      state,
      metrics,
      timers,
      random,
      log,
      redisUrl: s.redisUrl,
      publicClients: s.publicClients,
      crashOnHeader: s.faultCrashOnHeader,
      hopKey: () => state.config()?.hopKey,
      websockets: s.websockets,
      tracer: tracing?.tracer,
    }),
    idempotency: idempotencyStore(s, log),
    tracing,
  };
}

function idempotencyStore(s: DataPlaneSettings, log: Logger): IdempotencyStore {
  if (!s.redisUrl) return new NoIdempotencyStore();
  const { leaseMs, ttlS } = s.idempotency;
  const onError = (err: Error) => log.debug({ err: err.message }, "idempotency store connection error");
  return new RedisIdempotencyStore({ url: s.redisUrl, leaseMs, ttlS, onError });
}

/**
 * The upstream-traffic layer: HTTP pools and gRPC sessions over the node's one down list, and
 * the active health checks of the upstreams of the tenants whose shard holds this node.
 */
function upstreamLayer(
  slot: string,
  o: { log: Logger; timers: Timers; random: Random; state: NodeState; metrics: DataPlaneMetrics },
): Pick<Parts, "pools" | "sessions" | "health"> {
  const down = new DownList(() => o.timers.monotonic());
  const m = createUpstreamMetrics(o.metrics.registry, down);
  down.onEject = m.onEject;
  const shared = { downList: down, random: o.random, onPick: m.onPick };
  const pools = new UpstreamPools(o.timers, {
    ...shared,
    onEgressDenied: egressDenialLog(o.log, o.metrics, "http"),
  });
  const sessions = new UpstreamSessions(o.timers, {
    ...shared,
    onEgressDenied: egressDenialLog(o.log, o.metrics, "grpc"),
  });
  const health = new HealthChecker({
    timers: o.timers,
    random: o.random,
    down,
    upstreams: () => shardUpstreams(o.state, slot),
    probes: { http: httpHealthProbe(pools), grpc: grpcHealthProbe(sessions) },
    onResult: m.onHealthCheck,
  });
  return { pools, sessions, health };
}

/** The health-checked upstreams of the decoded tenants this node is a shard member of. */
function* shardUpstreams(state: NodeState, slot: string): Generator<CheckedUpstream> {
  for (const tenant of state.config()?.healthChecked() ?? []) {
    if (tenant.shard.length === 0 || tenant.shard.includes(slot)) yield* tenant.checkedUpstreams;
  }
}

/** How config reaches the node: the applier, the sync connection and the periodic pull. */
interface ConfigFlow {
  applier: ConfigApplier;
  sync: SyncClient;
  pull: PeriodicPull;
}

/** Wires and starts the config flow: boot from the disk cache, then sync and pull. */
function startConfigFlow(p: Parts, servers: Servers, options: DataPlaneOptions): ConfigFlow {
  const frames = new ResultFrames();
  let sync: SyncClient | undefined;
  const applier = createApplier(p, (o) => {
    const frame = frames.frameFor(o);
    if (frame) sync?.send(frame);
    if (frame || !o.ok) sync?.sendStatus();
  });
  sync = createSync(p, applier, advertisedAddresses(p.s, servers.ingress, servers.grpc), options);
  const pull = new PeriodicPull(p.s.pollIntervalMs, p.timers, p.random, () =>
    applier.request({ kind: "pull" }),
  );
  applier.request({ kind: "boot" });
  pull.start();
  sync.start();
  return { applier, sync, pull };
}

function logStarted(p: Parts, { ingress, grpc, ops }: Servers): void {
  const missing = missingV8Flags(process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length > 0)
    p.log.warn({ missing }, "started without the data plane's V8 flags (data-plane/node-flags.ts)");
  p.log.info(
    {
      http: ingress.url,
      grpc: grpc.address,
      ops: ops.url,
      cp: p.s.cpUrl,
      blobs: p.store.location,
      build: BUILD,
    },
    "listening",
  );
}

/** Drains the ingresses and stops the config flow, then closes what they used; once. */
function closer(
  p: Parts,
  servers: Servers,
  flow: ConfigFlow,
  options: DataPlaneOptions,
): () => Promise<void> {
  const close = async () => {
    p.state.draining = true;
    flow.pull.stop();
    p.health.stop();
    const drainMs = options.drainTimeoutMs ?? INGRESS_LIMITS.drainTimeoutMs;
    await Promise.all([
      servers.ingress.close(drainMs),
      servers.grpc.close(drainMs),
      p.loader.close().then(() => flow.applier.close()),
    ]);
    flow.sync.sendStatus(); // the last usage counts
    await flow.sync.close();
    await Promise.all([
      p.pools.close(),
      p.sessions.close(),
      servers.ops.close(),
      p.store.close?.(),
      p.isolation.close(),
      p.idempotency.close(),
      p.tracing?.close(),
    ]);
    p.log.info("closed");
    await flushLog(p.log);
  };
  let closing: Promise<void> | undefined;
  return () => {
    closing ??= close();
    return closing;
  };
}

export async function runDataPlane(
  env: Record<string, string | undefined>,
  options: DataPlaneOptions = {},
): Promise<DataPlaneProcess> {
  const p = await createParts(loadDataPlaneSettings(env), options);
  const servers = await startServers(p).catch(async (err: unknown) => {
    p.health.stop();
    await Promise.all([
      p.pools.close(),
      p.sessions.close(0),
      p.store.close?.(),
      p.isolation.close(),
      p.idempotency.close(),
      p.tracing?.close(),
    ]);
    throw err;
  });
  const flow = startConfigFlow(p, servers, options);
  logStarted(p, servers);
  return {
    httpUrl: servers.ingress.url,
    grpcAddress: servers.grpc.address,
    opsUrl: servers.ops.url,
    state: p.state,
    close: closer(p, servers, flow, options),
  };
}
