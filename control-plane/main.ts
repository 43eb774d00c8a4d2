/**
 * Control-plane entry points (called by bin/corral.ts): runControlPlane starts one CP
 * replica — migrations, admin API, tenant REST API, publisher, /sync/v1, ops endpoints on one
 * HTTP server, the tenant gRPC API on its own port — and runMigrations only migrates.
 */
import { readFile } from "node:fs/promises";
import type { DestinationStream } from "pino";
import { ConfigError } from "../runtime/env-config.ts";
import type { BlobStore } from "../runtime/blob-store/blob-store.ts";
import { openBlobStore } from "../runtime/blob-store/open-blob-store.ts";
import { ADMIN_PREFIX, adminPlugin } from "./admin/plugin.ts";
import { type ControlPlaneConfig, loadControlPlaneConfig, loadMigrateConfig } from "./config.ts";
import { consolePlugin, loadConsoleAssets } from "./console/serve.ts";
import { CorralError } from "./errors.ts";
import { createPlacement, type PlacementWiring } from "./fleet/placement-wiring.ts";
import { httpLimits } from "../runtime/http-limits.ts";
import { startTracing, type Tracing, tracingSettings } from "../runtime/tracing.ts";
import { buildHttpServer } from "./http/server.ts";
import { createLogger, type Logger } from "./logger.ts";
import { ControlPlaneMetrics } from "./metrics.ts";
import type { CompileOptions } from "./publish/compile.ts";
import type { PublisherLease } from "./publish/lease.ts";
import { Publisher } from "./publish/publisher.ts";
import { SnapshotRetention } from "./publish/snapshot-retention.ts";
import { LocalVersionFeed, type VersionFeed } from "./publish/version-feed.ts";
import { createPublisherLease, createPublishing } from "./publish/wiring.ts";
import { AdminService } from "./service/admin-service.ts";
import { type GrowthBounds, measureUnmeasuredTenants } from "./service/config-growth.ts";
import { MutationRunner } from "./service/mutations.ts";
import { FailedAuthThrottle } from "./service/failed-auth-throttle.ts";
import { createPool, type Pool, withTransaction } from "./store/db.ts";
import { purgeExpired } from "./store/idempotency.ts";
import { pruneUsageBefore } from "./store/usage.ts";
import { openQuotaCounters, type QuotaCounterStore } from "./store/quota-counters.ts";
import { UsageReader } from "./service/usage-reader.ts";
import { migrate } from "./store/migrate.ts";
import { releaseConnections } from "./store/nodes.ts";
import { ensureBootstrapToken } from "./store/operator-tokens.ts";
import { DEFAULT_HELLO_TIMEOUT_MS, DEFAULT_PING_INTERVAL_MS, SyncServer } from "./sync/sync-server.ts";
import { MutationRateLimiter } from "./tenant-api/mutation-rate.ts";
import { startTenantGrpcServer, type TenantGrpcServer } from "./tenant-api/grpc-server.ts";
import { TENANT_API_PREFIX, tenantRestPlugin } from "./tenant-api/rest.ts";
import { TenantService } from "./tenant-api/service.ts";

export interface RunningProcess {
  close(): Promise<void>;
}

/** Knobs that are not operator settings: tests and later wiring (lease, feed, placement). */
export interface ControlPlaneOptions {
  cwd?: string;
  logDestination?: DestinationStream;
  pingIntervalMs?: number;
  helloTimeoutMs?: number;
  debounceMs?: number;
  maxDelayMs?: number;
  lease?: PublisherLease;
  feed?: VersionFeed;
  compileOptions?: () => Partial<CompileOptions>;
  /** how often the fleet watcher checks for slots joining, dying or being forgotten (default 5 s) */
  fleetCheckIntervalMs?: number;
}

export interface ControlPlane extends RunningProcess {
  /** http://host:port of the admin API, /sync/v1 and the ops endpoints */
  url: string;
  port: number;
  /** host:port of the tenant gRPC API (corral.tenant.v1.TenantService) */
  grpcAddress: string;
  config: ControlPlaneConfig;
  pool: Pool;
  publisher: Publisher;
  lease: PublisherLease;
  sync: SyncServer;
  metrics: ControlPlaneMetrics;
  logger: Logger;
}

const PURGE_INTERVAL_MS = 60 * 60 * 1000;

export async function runControlPlane(
  env: Record<string, string | undefined>,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const config = loadControlPlaneConfig(env, options.cwd);
  const cpId = config.CORRAL_CP_ID;
  const logger = createLogger({ level: config.CORRAL_LOG_LEVEL, cpId, destination: options.logDestination });
  const pool = createPool(config.CORRAL_PG_URL, { applicationName: `corral-cp ${cpId}`.slice(0, 63) });
  let blobStore: BlobStore | undefined;
  try {
    await prepareDatabase(pool, config, logger);
    blobStore = await openBlobStore(config.CORRAL_BLOB_URL, {
      endpoint: config.CORRAL_S3_ENDPOINT || undefined,
    });
    return await start(config, options, logger, pool, blobStore);
  } catch (err) {
    await blobStore?.close?.();
    await pool.end();
    throw err;
  }
}

async function prepareDatabase(pool: Pool, config: ControlPlaneConfig, logger: Logger): Promise<void> {
  if (config.CORRAL_MIGRATE) {
    const applied = await migrate(pool);
    logger.info({ applied }, applied.length ? "applied migrations" : "schema is up to date");
  }
  const bootstrap = config.CORRAL_OPERATOR_TOKEN;
  if (bootstrap) {
    const outcome = await withTransaction(pool, (tx) => ensureBootstrapToken(tx, bootstrap));
    if (outcome === "inserted") logger.info("stored the bootstrap operator token (CORRAL_OPERATOR_TOKEN)");
  }
  await releaseConnections(pool, config.CORRAL_CP_ID);
  const measured = await measureUnmeasuredTenants(pool);
  if (measured > 0)
    logger.info({ tenants: measured }, "recorded the config size of tenants from before quotas");
}

/** What the builders below share: the settings, the process-wide pieces, the knobs. */
interface Parts {
  config: ControlPlaneConfig;
  options: ControlPlaneOptions;
  logger: Logger;
  pool: Pool;
  blobStore: BlobStore;
  metrics: ControlPlaneMetrics;
  feed: VersionFeed;
  lease: PublisherLease;
  pingIntervalMs: number;
  /** the nodes' period-quota counters (CORRAL_REDIS_URL), when set */
  quotaCounters: QuotaCounterStore | undefined;
  /** span export, when an OTLP endpoint is set (runtime/tracing.ts) */
  tracing: Tracing | undefined;
}

/**
 * Starts one replica, in order: placement and publisher, the change runner, the HTTP server
 * with both APIs, the sync server, the tenant gRPC API, the publishing loop, then listening.
 */
async function start(
  config: ControlPlaneConfig,
  options: ControlPlaneOptions,
  logger: Logger,
  pool: Pool,
  blobStore: BlobStore,
): Promise<ControlPlane> {
  const parts: Parts = {
    ...{ config, options, logger, pool, blobStore },
    metrics: new ControlPlaneMetrics(),
    feed: options.feed ?? new LocalVersionFeed(),
    lease: options.lease ?? createPublisherLease(config, logger),
    pingIntervalMs: options.pingIntervalMs ?? DEFAULT_PING_INTERVAL_MS,
    quotaCounters: config.CORRAL_REDIS_URL
      ? openQuotaCounters(config.CORRAL_REDIS_URL, (err) => logger.debug({ err }, "quota counters"))
      : undefined,
    tracing: startTracing(tracingSettings(config), { name: "corral-cp", instance: config.CORRAL_CP_ID }),
  };
  const placement = createPlacement({
    config,
    pool,
    logger,
    pingIntervalMs: parts.pingIntervalMs,
    checkIntervalMs: options.fleetCheckIntervalMs,
    requestPublish: () => publisher.requestPublish(),
  });
  const publisher = createPublisher(parts, placement);
  const mutations = createMutations(parts, publisher);
  const tls = await readTls(config);
  const app = await createHttpApis(parts, { tls, mutations, publisher, placement });
  const sync = createSyncServer(parts, placement);
  sync.attach(app.server);
  const grpc = await startTenantGrpc(parts, app.tenantApi).catch(async (err) => {
    await Promise.all([sync.close(), app.close(), parts.tracing?.close()]);
    throw err;
  });
  const publishing = createPublishing({ ...parts, publisher });
  await publishing.start();
  const { url, port } = await listen(app, config, tls);
  logger.info({ http: url, grpc: grpc.address, blob: blobStore.location }, "listening");
  const purge = startPurging(pool, logger, config.CORRAL_USAGE_RETENTION_DAYS);
  placement.watcher.start();

  const close = async () => {
    clearInterval(purge);
    await placement.watcher.close();
    await Promise.all([sync.close(), app.close(), grpc.close()]);
    await publishing.close();
    await parts.quotaCounters?.close();
    await Promise.all([blobStore.close?.(), parts.tracing?.close()]);
    await pool.end();
    logger.info("closed");
  };
  const { metrics, lease } = parts;
  return {
    url,
    port,
    grpcAddress: grpc.address,
    config,
    pool,
    publisher,
    lease,
    sync,
    metrics,
    logger,
    close,
  };
}

function createPublisher(parts: Parts, placement: PlacementWiring): Publisher {
  const { config, options, pool, blobStore, metrics, logger } = parts;
  return new Publisher({
    pool,
    blobStore,
    signingKey: config.CORRAL_SIGNING_KEY,
    capacity: config.CORRAL_SNAPSHOT_CAPACITY,
    lease: parts.lease,
    feed: parts.feed,
    metrics,
    logger,
    cpId: config.CORRAL_CP_ID,
    retention: new SnapshotRetention({
      pool,
      blobStore,
      retain: config.CORRAL_SNAPSHOT_RETAIN,
      metrics,
      logger,
    }),
    debounceMs: options.debounceMs,
    maxDelayMs: options.maxDelayMs,
    compileOptions: () => ({ ...placement.compileOptions(), ...options.compileOptions?.() }),
    tracer: parts.tracing?.tracer,
  });
}

function growthBounds(config: ControlPlaneConfig): GrowthBounds {
  return {
    maxPayload: config.CORRAL_SNAPSHOT_MAX_PAYLOAD,
    fleetReserve: config.CORRAL_SNAPSHOT_FLEET_RESERVE,
  };
}

/** The one runner every change of either API goes through; a commit asks for a publish. */
function createMutations(parts: Parts, publisher: Publisher): MutationRunner {
  return new MutationRunner({
    pool: parts.pool,
    onCommitted: () => publisher.requestPublish(),
    bounds: growthBounds(parts.config),
    assertCanGrow: () => {
      if (publisher.capacityExceeded)
        throw new CorralError(
          "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED",
          "the configuration does not fit the snapshot capacity; remove config or raise CORRAL_SNAPSHOT_CAPACITY",
        );
    },
  });
}

/** The HTTP server with the admin API and the tenant REST API mounted; its tenant service too. */
async function createHttpApis(
  parts: Parts,
  deps: {
    tls: { cert: Buffer; key: Buffer } | undefined;
    mutations: MutationRunner;
    publisher: Publisher;
    placement: PlacementWiring;
  },
) {
  const { config, pool, logger, metrics, feed } = parts;
  const app = buildHttpServer({
    logger,
    metrics,
    tls: deps.tls,
    limits: httpLimits(config),
    notReadyReason: () => notReadyReason(pool, feed),
    tracer: parts.tracing?.tracer,
  });
  const usage = new UsageReader({
    pool,
    counters: parts.quotaCounters,
    onCounterError: (err) => logger.warn({ err }, "quota counters unreadable: usage answered from metering"),
  });
  const admin = new AdminService({
    usage,
    pool,
    mutations: deps.mutations,
    fleetStaleMs: 4 * parts.pingIntervalMs,
    placement: deps.placement.service,
    published: deps.publisher,
    authThrottle: authThrottle(config),
    bounds: growthBounds(config),
  });
  await app.register(adminPlugin(admin), { prefix: ADMIN_PREFIX });
  const tenantApi = new TenantService({
    usage,
    pool,
    mutations: deps.mutations,
    mutationRate: new MutationRateLimiter({
      perMinute: config.CORRAL_TENANT_MUTATIONS_PER_MINUTE,
      burst: config.CORRAL_TENANT_MUTATION_BURST,
    }),
    placement: deps.placement.service,
    authThrottle: authThrottle(config),
  });
  await app.register(tenantRestPlugin(tenantApi), { prefix: TENANT_API_PREFIX });
  await app.register(consolePlugin(await loadConsoleAssets()));
  return Object.assign(app, { tenantApi });
}

function createSyncServer(parts: Parts, placement: PlacementWiring): SyncServer {
  const { config, options, pool, feed, metrics, logger, pingIntervalMs } = parts;
  return new SyncServer({
    pool,
    feed,
    metrics,
    logger,
    pingIntervalMs,
    cpId: config.CORRAL_CP_ID,
    nodeSecret: config.CORRAL_NODE_SECRET,
    maxSlots: config.CORRAL_MAX_SLOTS,
    maxFramesPerSec: config.CORRAL_SYNC_MAX_FRAMES_PER_SEC,
    helloTimeoutMs: options.helloTimeoutMs ?? DEFAULT_HELLO_TIMEOUT_MS,
    onFleetChange: () => placement.watcher.nudge(),
    shardMembers: (slot, tenantIds) => placement.service.shardMembers(slot, tenantIds),
  });
}

/** Listens on CORRAL_HOST:CORRAL_HTTP_PORT; the URL clients use (the bound port when it was 0). */
async function listen(
  app: ReturnType<typeof buildHttpServer>,
  config: ControlPlaneConfig,
  tls: unknown,
): Promise<{ url: string; port: number }> {
  await app.listen({ host: config.CORRAL_HOST, port: config.CORRAL_HTTP_PORT });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.CORRAL_HTTP_PORT;
  const host = config.CORRAL_HOST.includes(":") ? `[${config.CORRAL_HOST}]` : config.CORRAL_HOST;
  return { url: `${tls ? "https" : "http"}://${host}:${port}`, port };
}

/** One per API: failures on the tenant API never lock operators out of the admin API. */
function authThrottle(config: ControlPlaneConfig): FailedAuthThrottle {
  return new FailedAuthThrottle({
    limit: config.CORRAL_AUTH_FAIL_LIMIT,
    windowMs: config.CORRAL_AUTH_FAIL_WINDOW_MS,
    maxSources: config.CORRAL_AUTH_FAIL_SOURCES,
  });
}

/** The certificate and key of CORRAL_TLS_CERT_FILE / CORRAL_TLS_KEY_FILE, when set. */
async function readTls(config: ControlPlaneConfig): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (!config.CORRAL_TLS_CERT_FILE) return undefined;
  const read = (name: string, path: string) =>
    readFile(path).catch((err: Error) => {
      throw new ConfigError([`${name}: cannot read ${path}: ${err.message}`]);
    });
  return {
    cert: await read("CORRAL_TLS_CERT_FILE", config.CORRAL_TLS_CERT_FILE),
    key: await read("CORRAL_TLS_KEY_FILE", config.CORRAL_TLS_KEY_FILE),
  };
}

function startTenantGrpc(parts: Parts, service: TenantService): Promise<TenantGrpcServer> {
  return startTenantGrpcServer({
    service,
    host: parts.config.CORRAL_HOST,
    port: parts.config.CORRAL_GRPC_PORT,
    logger: parts.logger,
    registry: parts.metrics.registry,
    tracer: parts.tracing?.tracer,
  });
}

async function notReadyReason(pool: Pool, feed: VersionFeed): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("database did not answer within 1 s"), 1000);
  });
  const ping = pool.query("SELECT 1").then(
    () => undefined,
    (err: Error) => `database unreachable: ${err.message}`,
  );
  const dbProblem = await Promise.race([ping, timeout]);
  clearTimeout(timer);
  if (dbProblem) return dbProblem;
  return feed.latest() ? undefined : "no config version has been published yet";
}

/** Hourly (and at start): expired idempotency keys, and usage rows past the retention. */
function startPurging(pool: Pool, logger: Logger, usageRetentionDays: number): NodeJS.Timeout {
  const purge = () => {
    void purgeExpired(pool).then(
      (n) => n && logger.info({ purged: n }, "purged expired idempotency keys"),
      (err) => logger.warn({ err }, "could not purge idempotency keys"),
    );
    void pruneUsageBefore(pool, Date.now() - usageRetentionDays * 86_400_000).then(
      (n) => n && logger.info({ pruned: n }, "pruned usage rows past the retention"),
      (err) => logger.warn({ err }, "could not prune usage rows"),
    );
  };
  void purge();
  const timer = setInterval(purge, PURGE_INTERVAL_MS);
  timer.unref();
  return timer;
}

/** `corral migrate`: applies pending migrations, then returns. */
export async function runMigrations(env: Record<string, string | undefined>): Promise<void> {
  const config = loadMigrateConfig(env);
  const logger = createLogger({ level: config.CORRAL_LOG_LEVEL, cpId: "migrate" });
  const pool = createPool(config.CORRAL_PG_URL, { applicationName: "corral-migrate", max: 1 });
  try {
    const applied = await migrate(pool);
    logger.info({ applied }, applied.length ? "applied migrations" : "schema is up to date");
  } finally {
    await pool.end();
  }
}
