/**
 * Publishes the whole fleet config (DESIGN §3.2): after a change (debounced), in one
 * repeatable-read transaction that the lease fences, it takes the next version from
 * Postgres, loads and compiles every row, encodes the constant-size signed blob, stores
 * `snapshots/<version>.snap` and records the version; after commit it points LATEST at it
 * and offers it to the version feed (the sync server announces it).
 *
 * Publishes never overlap: a change during a publish runs one more publish after it.
 * A failed publish is retried with backoff; a snapshot past capacity is not retried
 * until the next change (and growing mutations are refused meanwhile, see capacityExceeded).
 */
import type { KeyObject } from "node:crypto";
import { encodePointer, LATEST_KEY, snapshotKey } from "../../proto/blob-keys.ts";
import type { BlobStore } from "../../proto/blob-store/blob-store.ts";
import type { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import {
  compressSnapshot,
  type EncodedSnapshot,
  frameSnapshot,
  HEADER_SIZE,
} from "../../proto/snapshot-codec.ts";
import { CorralError } from "../errors.ts";
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import { insertVersion, latestVersion, nextVersion } from "../store/config-versions.ts";
import { type Pool, withTransaction } from "../store/db.ts";
import { loadFleetRows } from "../store/fleet-rows.ts";
import { type CompileOptions, compileSnapshot } from "./compile.ts";
import { Debouncer, realTimers, type Timers } from "./debounce.ts";
import type { PublisherLease } from "./lease.ts";
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
  debounceMs?: number;
  maxDelayMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  timers?: Timers;
  /** wall clock for created-at and liveness */
  now?: () => number;
  /** extra compile options (e.g. the placement hook) */
  compileOptions?: () => Partial<CompileOptions>;
}

export interface PublishResult extends PublishedVersion {
  epoch: number;
  tenants: number;
  usedBytes: number;
}

export class Publisher {
  private readonly deps: PublisherDeps;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly debouncer: Debouncer;
  private chain: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private changeQueued = false;
  private retryHandle: unknown;
  private retryDelayMs = 0;
  private closed = false;
  private exceeded = false;

  constructor(deps: PublisherDeps) {
    this.deps = deps;
    this.timers = deps.timers ?? realTimers;
    this.now = deps.now ?? Date.now;
    this.debouncer = new Debouncer(() => this.kick(), {
      quietMs: deps.debounceMs ?? 100,
      maxDelayMs: deps.maxDelayMs ?? 1000,
      timers: this.timers,
    });
  }

  /** true while the config does not fit the snapshot capacity (cleared by a successful publish) */
  get capacityExceeded(): boolean {
    return this.exceeded;
  }

  /** Called after every committed change: publishes soon, coalescing bursts into one version. */
  requestPublish(): void {
    if (!this.closed) this.debouncer.trigger();
  }

  /**
   * At start: makes the newest recorded version known (so nodes get it in Welcome), then
   * publishes, because changes committed just before a previous replica died may never have
   * been published. A failure is retried like any other publish.
   */
  async publishAtStart(): Promise<void> {
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
    try {
      await this.publishNow("startup");
    } catch (err) {
      this.scheduleRetry(err);
    }
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
    try {
      const result = await this.writeVersion(epoch, source);
      const pointer = { version: result.version, key: result.key, sha256: result.sha256 };
      await this.deps.blobStore.put(LATEST_KEY, encodePointer(pointer));
      result.publishedAtMs = this.now();
      this.exceeded = false;
      this.deps.feed.offer(result);
      this.deps.metrics.configVersion.set(result.version);
      this.deps.metrics.publishes.inc({ result: "ok" });
      const ms = Math.round(performance.now() - started);
      this.deps.metrics.publishDuration.observe(ms / 1000);
      this.deps.logger.info(
        { version: result.version, epoch, tenants: result.tenants, bytes: result.usedBytes, ms, source },
        "published",
      );
      return result;
    } catch (err) {
      this.recordFailure(err, source);
      throw err;
    }
  }

  private async writeVersion(epoch: number, source: string): Promise<PublishResult> {
    const { pool, blobStore, capacity, cpId } = this.deps;
    return withTransaction(
      pool,
      async (tx) => {
        await this.deps.lease.fence(tx, epoch);
        const version = await nextVersion(tx);
        const rows = await loadFleetRows(tx);
        const createdAtMs = this.now();
        const options = this.deps.compileOptions?.() ?? {};
        const snapshot = compileSnapshot(rows, {
          ...options,
          version,
          epoch,
          createdAtMs,
          nowMs: createdAtMs,
        });
        const encoded = this.encode(snapshot);
        const key = snapshotKey(version);
        await blobStore.put(key, encoded.blob);
        const usedBytes = HEADER_SIZE + encoded.payloadLength;
        const tenants = snapshot.tenants.length;
        await insertVersion(tx, {
          version,
          epoch,
          sha256: encoded.sha256,
          blobKey: key,
          sizeBytes: usedBytes,
          capacityBytes: capacity,
          tenants,
          source,
          publisher: cpId,
        });
        return { version, key, sha256: encoded.sha256, publishedAtMs: 0, epoch, tenants, usedBytes };
      },
      "repeatable read",
    );
  }

  /** Compresses, checks the capacity (metric, warning at 80 %, refusal past 100 %), frames and signs. */
  private encode(snapshot: Snapshot): EncodedSnapshot {
    const { capacity, metrics, logger } = this.deps;
    const payload = compressSnapshot(snapshot);
    const used = HEADER_SIZE + payload.length;
    const ratio = used / capacity;
    metrics.snapshotUsage.set(ratio);
    metrics.snapshotBytes.set(used);
    if (used > capacity) {
      this.exceeded = true;
      throw new CorralError(
        "CORRAL_SNAPSHOT_CAPACITY_EXCEEDED",
        `snapshot ${snapshot.version} needs ${used} bytes but the capacity is ${capacity} (CORRAL_SNAPSHOT_CAPACITY)`,
      );
    }
    if (ratio >= USAGE_WARN_RATIO) {
      logger.warn(
        { version: snapshot.version, used, capacity, ratio },
        "snapshot is above 80% of its capacity",
      );
    }
    return frameSnapshot(snapshot, payload, capacity, this.deps.signingKey);
  }

  private recordFailure(err: unknown, source: string): void {
    const code = err instanceof CorralError ? err.code : "CORRAL_CP_INTERNAL";
    this.deps.metrics.publishes.inc({ result: code === "CORRAL_CP_INTERNAL" ? "error" : code });
    this.deps.logger.error({ err, code, source }, "publish failed");
  }
}
