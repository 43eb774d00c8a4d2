/**
 * Publishes the whole fleet config (docs/design.md §3.2), only while this replica holds the
 * publisher lease: after a change (debounced) it reads the content in one repeatable-read
 * transaction (snapshot-content.ts: next version, the change counter it covers, compiled
 * rows or a rolled-back version's content), encodes the constant-size signed blob, stores
 * `snapshots/<version>.snap`, and records the version under the lease's fence (a replica
 * whose epoch is no longer current records nothing: CORRAL_PUBLISH_FENCED). Then it offers it
 * to the version feed (the sync server announces it) and points LATEST at it. Last, while
 * it still holds the lease, it removes the snapshots that left the retention window
 * (snapshot-retention.ts); a fenced publish deletes the blob it wrote and could not record.
 *
 * Publishes never overlap, nor do the periodic LATEST rewrites: a change during a publish
 * runs one more publish after it. A failed publish is retried with backoff; a snapshot past
 * capacity is not retried until the next change (and growing mutations are refused
 * meanwhile, see capacityExceeded).
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import type { Tracer } from "@opentelemetry/api";
import { encodePointer, LATEST_KEY, snapshotKey } from "../../proto/blob-keys.ts";
import type { BlobStore } from "../../runtime/blob-store/blob-store.ts";
import { finishSpan } from "../../runtime/tracing.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import {
  compressPayload,
  type EncodedSnapshot,
  frameSnapshotOffLoop,
  HEADER_SIZE,
  MAX_DECODED_BYTES,
} from "../../proto/snapshot-codec.ts";
import { CorralError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import { insertVersion, latestVersion } from "../store/config-versions.ts";
import type { Pool, Queryable } from "../store/db.ts";
import { pruneTenantChanges } from "../store/tenant-changes.ts";
import type { CompileOptions } from "./compile.ts";
import { Debouncer, realTimers, type Timers } from "./debounce.ts";
import type { PublisherLease } from "./lease.ts";
import { IncrementalCompiler } from "./incremental-compile.ts";
import { PUBLISH_PHASES, PublishTrace } from "./publish-trace.ts";
import { loadPublishedSnapshot, rollbackSource, type Stamp } from "./rollback.ts";
import { SegmentGzip } from "./segment-gzip.ts";
import { readSnapshotContent, type SnapshotContent } from "./snapshot-content.ts";
import type { SnapshotRetention } from "./snapshot-retention.ts";
import type { PublishedVersion, VersionFeed } from "./version-feed.ts";

export const USAGE_WARN_RATIO = 0.8;

export interface PublisherDeps {
  pool: Pool;
  blobStore: BlobStore;
  signingKey: KeyObject;
  capacity: number;
  lease: PublisherLease;
  feed: VersionFeed;
  metrics: ControlPlaneMetrics;
  logger: Logger;
  cpId: string;
  /** deletes snapshots outside the retention window after each publish */
  retention: SnapshotRetention;
  debounceMs?: number;
  maxDelayMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  timers?: Timers;
  /** wall clock for created-at and liveness */
  now?: () => number;
  /** extra compile options (e.g. the placement hook) */
  compileOptions?: () => Partial<CompileOptions>;
  /** exports one span per publish (runtime/tracing.ts); undefined: export off */
  tracer?: Tracer;
}

export interface PublishResult extends PublishedVersion {
  epoch: number;
  tenants: number;
  usedBytes: number;
  /** why it was published: change, startup, takeover, shutdown, rollback of N */
  source: string;
}

export class Publisher {
  private readonly deps: PublisherDeps;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly debouncer: Debouncer;
  private readonly publicKey: KeyObject;
  /** each tenant's encoded entry, kept between versions */
  private readonly compiler = new IncrementalCompiler();
  /** each run of tenants' compressed bytes, kept between versions */
  private readonly gzip = new SegmentGzip();
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private changeQueued = false;
  private retryHandle: unknown;
  private retryDelayMs = 0;
  private closed = false;
  private exceeded = false;
  /** when the first change not yet picked up by a publish was requested (performance.now) */
  private requestedAt: number | undefined;
  /** the highest change counter a publish of this replica has read (its content covers it) */
  private readCounter = 0;

  constructor(deps: PublisherDeps) {
    this.deps = deps;
    this.timers = deps.timers ?? realTimers;
    this.now = deps.now ?? Date.now;
    this.publicKey = createPublicKey(deps.signingKey);
    this.debouncer = new Debouncer(() => this.kick(), {
      quietMs: deps.debounceMs ?? 100,
      maxDelayMs: deps.maxDelayMs ?? 1000,
      timers: this.timers,
      leading: true,
    });
  }

  /** true while the config does not fit the snapshot capacity (cleared by a successful publish) */
  get capacityExceeded(): boolean {
    return this.exceeded;
  }

  /** Called after every committed change: publishes soon, coalescing bursts into one version. */
  requestPublish(): void {
    if (this.closed) return;
    this.requestedAt ??= performance.now();
    this.debouncer.trigger();
  }

  /**
   * A change counter seen committed (the coordinator's NOTIFY or poll, for changes committed on
   * any replica): publishes unless a publish here has read that counter already. A publish
   * running now is waited for first, so the notification of a change this replica is already
   * publishing does not cost a second version.
   */
  requestPublishFor(counter: number): void {
    void this.chain.then(() => {
      if (counter > this.readCounter) this.requestPublish();
    });
  }

  /** The content of a published version, verified with this CP's public key (rollback checks). */
  loadPublished(q: Queryable, version: number): Promise<Snapshot> {
    return loadPublishedSnapshot(q, this.deps.blobStore, this.publicKey, version);
  }

  /** At start: makes the newest recorded version known (so nodes get it in Welcome). */
  async loadLatest(): Promise<void> {
    const latest = await latestVersion(this.deps.pool);
    if (latest) {
      this.deps.feed.offer({
        version: latest.version,
        key: latest.blobKey,
        sha256: latest.sha256,
        publishedAtMs: latest.createdAtMs,
      });
      this.deps.metrics.configVersion.set(latest.version);
    }
  }

  /**
   * Publishes now whatever the change counter says (on taking the lease: changes committed
   * just before a previous holder died may never have been published, and the fleet gets a
   * version under the new epoch). A failure is retried like any other publish.
   */
  async publishWithRetry(source: string): Promise<void> {
    try {
      await this.publishNow(source);
    } catch (err) {
      this.scheduleRetry(err);
    }
  }

  /**
   * The lease holder points LATEST at the newest version it knows again, so a pointer a
   * stale publisher wrote late is overwritten within one period. Never overlaps a publish.
   */
  rewriteLatest(): Promise<void> {
    return this.enqueue(async () => {
      const latest = this.deps.feed.latest();
      if (this.closed || !latest || this.deps.lease.currentEpoch() === undefined) return;
      const pointer = { version: latest.version, key: latest.key, sha256: latest.sha256 };
      try {
        await this.deps.blobStore.put(LATEST_KEY, encodePointer(pointer));
        this.deps.metrics.latestRewrites.inc({ result: "ok" });
      } catch (err) {
        this.deps.metrics.latestRewrites.inc({ result: "error" });
        this.deps.logger.warn({ err, version: latest.version }, "could not rewrite LATEST");
      }
    });
  }

  /** Publishes right away (after any publish in progress) and reports the outcome. */
  publishNow(source: string): Promise<PublishResult | undefined> {
    return this.enqueue(() => this.publishOnce(source));
  }

  /** Resolves once nothing is scheduled or running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.queued > 0 || this.debouncer.pending) {
      if (this.queued > 0) await this.chain;
      else await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Stops publishing; a change still waiting for its debounce is published first. */
  async close(): Promise<void> {
    const pending = this.debouncer.pending || this.retryHandle !== undefined;
    this.debouncer.cancel();
    if (pending) await this.publishNow("shutdown").catch(() => {});
    this.closed = true;
    if (this.retryHandle !== undefined) this.timers.clearTimeout(this.retryHandle);
    while (this.queued > 0) await this.chain;
  }

  /** Runs publishes one after another, never overlapping. */
  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    this.queued++;
    const run = this.chain.then(task).finally(() => {
      this.queued--;
    });
    this.chain = run.catch(() => {});
    return run;
  }

  /** A change publish, coalesced: at most one waits behind the one running. */
  private kick(): void {
    if (this.closed || this.changeQueued) return;
    this.changeQueued = true;
    void this.enqueue(async () => {
      this.changeQueued = false;
      if (this.closed) return;
      try {
        await this.publishOnce("change");
        this.retryDelayMs = 0;
      } catch (err) {
        this.scheduleRetry(err);
      }
    });
  }

  private scheduleRetry(err: unknown): void {
    if (err instanceof CorralError && err.code === "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED") return;
    const base = this.deps.retryBaseMs ?? 500;
    this.retryDelayMs = Math.min(
      this.deps.retryMaxMs ?? 30_000,
      this.retryDelayMs ? this.retryDelayMs * 2 : base,
    );
    if (this.retryHandle !== undefined) this.timers.clearTimeout(this.retryHandle);
    this.retryHandle = this.timers.setTimeout(() => {
      this.retryHandle = undefined;
      this.kick();
    }, this.retryDelayMs);
  }

  private async publishOnce(source: string): Promise<PublishResult | undefined> {
    const epoch = this.deps.lease.currentEpoch();
    if (epoch === undefined) return undefined;
    const started = performance.now();
    const span = this.deps.tracer?.startSpan("publish", { attributes: { "corral.publish.source": source } });
    const trace = new PublishTrace(undefined, this.requestedAt);
    this.requestedAt = undefined;
    trace.mark("wait");
    try {
      const result = await this.writeVersion(epoch, source, trace);
      // announced as soon as it is recorded (other replicas announce on the row's NOTIFY too);
      // LATEST, for nodes that start or lost their connection, follows right after
      result.publishedAtMs = this.now();
      this.exceeded = false;
      this.deps.feed.offer(result);
      trace.mark("announce");
      await this.pointLatest(result, epoch);
      trace.mark("latest");
      this.deps.metrics.configVersion.set(result.version);
      this.deps.metrics.publishes.inc({ result: "ok" });
      const ms = Math.round(performance.now() - started);
      this.deps.metrics.publishDuration.observe(ms / 1000);
      this.observePhases(trace);
      this.deps.logger.info(
        {
          version: result.version,
          epoch,
          tenants: result.tenants,
          bytes: result.usedBytes,
          ms,
          source: result.source,
          phases: trace.summary(),
        },
        "published",
      );
      if (span) finishSpan(span, publishedAttributes(result, epoch), false);
      if (this.deps.lease.currentEpoch() === epoch) {
        await this.deps.retention.collect(result.version);
        await this.pruneChanges();
      }
      return result;
    } catch (err) {
      this.recordFailure(err, source);
      if (span)
        finishSpan(span, { "corral.publish.epoch": epoch, "corral.error.code": errorCode(err) }, true);
      throw err;
    }
  }

  /** Forgets the tenant changes the last compile has read (store/tenant-changes.ts); best effort. */
  private async pruneChanges(): Promise<void> {
    const position = this.compiler.position;
    if (position === undefined) return;
    try {
      await pruneTenantChanges(this.deps.pool, position);
    } catch (err) {
      this.deps.logger.warn({ err }, "could not prune the tenant change log");
    }
  }

  private observePhases(trace: PublishTrace): void {
    for (const phase of PUBLISH_PHASES) {
      const ms = trace.phases[phase];
      if (ms !== undefined) this.deps.metrics.publishPhase.observe({ phase }, ms / 1000);
    }
  }

  private async writeVersion(epoch: number, source: string, trace: PublishTrace): Promise<PublishResult> {
    const { blobStore, capacity, cpId } = this.deps;
    const content = await this.readContent(epoch, source, trace);
    const { version } = content;
    const stamp = { version, epoch, createdAtMs: content.createdAtMs };
    const encoded = await this.encode(content, stamp, trace);
    const key = snapshotKey(version);
    await blobStore.put(key, encoded.blob);
    trace.mark("blob");
    const usedBytes = HEADER_SIZE + encoded.payloadLength;
    const { tenants } = content;
    const why = content.rollbackOf === undefined ? source : rollbackSource(content.rollbackOf);
    const row = {
      version,
      epoch,
      sha256: encoded.sha256,
      blobKey: key,
      sizeBytes: usedBytes,
      capacityBytes: capacity,
    };
    const recorded = await insertVersion(
      this.deps.pool,
      {
        ...row,
        tenants,
        source: why,
        publisher: cpId,
        changeCounter: content.changeCounter,
        rollbackOf: content.rollbackOf,
      },
      this.deps.lease.fence(epoch),
    );
    trace.mark("record");
    if (!recorded) {
      // the sequence gave this version to nobody else and LATEST never named it: garbage
      await blobStore.delete(key).catch(() => {});
      throw new CorralError(
        "CORRAL_PUBLISH_FENCED",
        `version ${version} not recorded: epoch ${epoch} no longer holds the publisher lease`,
      );
    }
    return { version, key, sha256: encoded.sha256, publishedAtMs: 0, epoch, tenants, usedBytes, source: why };
  }

  private async readContent(
    epoch: number,
    source: string,
    trace: PublishTrace,
  ): Promise<SnapshotContent & { createdAtMs: number }> {
    const started = performance.now();
    const { pool, blobStore, compileOptions } = this.deps;
    const sources = { pool, blobStore, publicKey: this.publicKey, compiler: this.compiler, compileOptions };
    const createdAtMs = this.now();
    // a change reads what changed since the last compile; any other publish (startup, takeover,
    // shutdown) scans every tenant's revision again
    const run = { full: source !== "change" };
    const content = await readSnapshotContent(sources, epoch, createdAtMs, trace, run);
    this.readCounter = Math.max(this.readCounter, content.changeCounter);
    trace.mark("transaction");
    this.deps.metrics.compileDuration.observe((performance.now() - started) / 1000);
    return { ...content, createdAtMs };
  }

  /** LATEST follows a new version only while this replica may still act under its epoch. */
  private async pointLatest(result: PublishResult, epoch: number): Promise<void> {
    if (this.deps.lease.currentEpoch() !== epoch) {
      this.deps.logger.warn(
        { version: result.version, epoch },
        "lease ran out after publishing; LATEST left to the holder",
      );
      return;
    }
    const pointer = { version: result.version, key: result.key, sha256: result.sha256 };
    await this.deps.blobStore.put(LATEST_KEY, encodePointer(pointer));
  }

  /**
   * Checks the uncompressed payload against what nodes inflate (MAX_DECODED_BYTES), compresses,
   * checks the capacity (metric, warning at 80 %, refusal past 100 %), frames and signs. Changes
   * are kept within the tighter CORRAL_SNAPSHOT_MAX_PAYLOAD before they commit
   * (service/config-growth.ts); these checks are the last line if something slipped past.
   * Compression (in segments, reusing the compressed bytes of unchanged runs of tenants:
   * segment-gzip.ts) and the blob's hashing run on libuv's threadpool, not on the event loop that
   * serves the admin API and the nodes' sync connections.
   */
  private async encode(
    content: SnapshotContent,
    stamp: Stamp,
    trace: PublishTrace,
  ): Promise<EncodedSnapshot> {
    const { capacity, metrics, logger } = this.deps;
    const raw = content.payload;
    if (raw.length > MAX_DECODED_BYTES) {
      this.exceeded = true;
      throw new CorralError(
        "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED",
        `snapshot ${stamp.version} has ${raw.length} bytes of payload; nodes inflate at most ${MAX_DECODED_BYTES}`,
      );
    }
    const payload = content.segments
      ? await this.gzip.gzip(raw, content.segments)
      : await compressPayload(raw);
    trace.mark("compress");
    const used = HEADER_SIZE + payload.length;
    const ratio = used / capacity;
    metrics.snapshotUsage.set(ratio);
    metrics.snapshotBytes.set(used);
    metrics.snapshotPayloadBytes.set(payload.length);
    if (used > capacity) {
      this.exceeded = true;
      throw new CorralError(
        "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED",
        `snapshot ${stamp.version} needs ${used} bytes but the capacity is ${capacity} (CORRAL_SNAPSHOT_CAPACITY)`,
      );
    }
    if (ratio >= USAGE_WARN_RATIO) {
      logger.warn({ version: stamp.version, used, capacity, ratio }, "snapshot is above 80% of its capacity");
    }
    const framed = await frameSnapshotOffLoop(stamp, payload, capacity, this.deps.signingKey);
    trace.mark("sign");
    return framed;
  }

  private recordFailure(err: unknown, source: string): void {
    const code = errorCode(err);
    this.deps.metrics.publishes.inc({ result: code === "CORRAL_CP_INTERNAL" ? "error" : code });
    if (code === "CORRAL_PUBLISH_FENCED") this.deps.logger.warn({ err, code, source }, "publish fenced off");
    else this.deps.logger.error({ err, code, source }, "publish failed");
  }
}

function errorCode(err: unknown): string {
  return err instanceof CorralError ? err.code : "CORRAL_CP_INTERNAL";
}

/** What a publish span names: the version it wrote, of which epoch, how many tenants and bytes. */
function publishedAttributes(result: PublishResult, epoch: number) {
  return {
    "corral.publish.version": result.version,
    "corral.publish.epoch": epoch,
    "corral.publish.tenants": result.tenants,
    "corral.publish.bytes": result.usedBytes,
  };
}
