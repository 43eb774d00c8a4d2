/**
 * Ties publishing together on one CP replica (docs/design.md §3.2):
 * - the publisher lease: taking it publishes at once ("startup" or "takeover");
 * - every replica learns of new versions (NOTIFY on VERSIONS_CHANNEL, plus a poll of the
 *   newest version) and offers them to the feed, which the sync server announces to its nodes;
 * - the holder learns of changes committed on any replica (NOTIFY on CHANGES_CHANNEL, plus
 *   a poll comparing the change counter with the one the newest version covers) and asks
 *   its publisher for a version; nothing is forwarded between replicas;
 * - the holder rewrites LATEST every period.
 */
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import { CHANGES_CHANNEL, hasUnpublishedChange, readPendingChange } from "../store/changes.ts";
import { latestVersion, VERSIONS_CHANNEL } from "../store/config-versions.ts";
import type { Pool } from "../store/db.ts";
import type { PublisherLease } from "./lease.ts";
import type { PgListener } from "./pg-listener.ts";
import type { Publisher } from "./publisher.ts";
import type { VersionFeed } from "./version-feed.ts";

export interface CoordinatorDeps {
  pool: Pool;
  lease: PublisherLease;
  publisher: Publisher;
  feed: VersionFeed;
  metrics: ControlPlaneMetrics;
  logger: Logger;
  latestRewriteMs: number;
  pollMs: number;
}

/** What the coordinator is built from besides its timing (which the settings give). */
export type CoordinatorParts = Omit<CoordinatorDeps, "latestRewriteMs" | "pollMs">;

export const PUBLISH_CHANNELS = [VERSIONS_CHANNEL, CHANGES_CHANNEL] as const;

export class PublishCoordinator {
  private readonly deps: CoordinatorDeps;
  private readonly refreshVersions: Coalesced;
  private readonly checkChanges: Coalesced;
  private readonly timers: NodeJS.Timeout[] = [];
  private listener: PgListener | undefined;
  private firstPublish: Promise<void> | undefined;

  constructor(deps: CoordinatorDeps) {
    this.deps = deps;
    const warn = (what: string) => (err: unknown) => deps.logger.warn({ err }, what);
    this.refreshVersions = new Coalesced(() => this.offerNewest(), warn("could not read the newest version"));
    this.checkChanges = new Coalesced(
      () => this.publishIfBehind(),
      warn("could not read the change counter"),
    );
    deps.metrics.leadership = () => ({
      leader: deps.lease.currentEpoch() !== undefined,
      epoch: deps.lease.currentEpoch() ?? deps.lease.observedEpoch ?? 0,
    });
  }

  /** Handlers for the PgListener the caller creates over PUBLISH_CHANNELS. */
  listenerHandlers() {
    return {
      notification: (channel: string) => {
        if (channel === VERSIONS_CHANNEL) this.refreshVersions.run();
        else if (channel === CHANGES_CHANNEL) this.checkChanges.run();
      },
      connected: () => {
        this.refreshVersions.run();
        this.checkChanges.run();
      },
    };
  }

  /**
   * Makes the newest recorded version known, starts listening, tries the lease (and if this
   * replica takes it, publishes before resolving), then starts the periodic work.
   */
  async start(listener?: PgListener): Promise<void> {
    const { publisher, lease } = this.deps;
    await publisher.loadLatest();
    this.listener = listener;
    await listener?.start();
    let starting = true;
    await lease.start?.({
      acquired: () => {
        const publishing = publisher.publishWithRetry(starting ? "startup" : "takeover");
        if (starting) this.firstPublish = publishing;
      },
      lost: () => {},
    });
    starting = false;
    await this.firstPublish;
    this.every(this.deps.latestRewriteMs, () => void publisher.rewriteLatest());
    this.every(this.deps.pollMs, () => {
      this.refreshVersions.run();
      this.checkChanges.run();
    });
  }

  /** Stops the periodic work and the listener, drains the publisher, gives the lease up. */
  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.listener?.close();
    await Promise.all([this.refreshVersions.idle(), this.checkChanges.idle()]);
    await this.deps.publisher.close();
    await this.deps.lease.close?.();
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private async offerNewest(): Promise<void> {
    const latest = await latestVersion(this.deps.pool);
    if (!latest) return;
    const offered = this.deps.feed.offer({
      version: latest.version,
      key: latest.blobKey,
      sha256: latest.sha256,
      publishedAtMs: latest.createdAtMs,
    });
    if (offered) this.deps.metrics.configVersion.set(latest.version);
  }

  private async publishIfBehind(): Promise<void> {
    if (this.deps.lease.currentEpoch() === undefined) return;
    const pending = await readPendingChange(this.deps.pool);
    if (hasUnpublishedChange(pending)) this.deps.publisher.requestPublishFor(pending.counter);
  }
}

/** Runs an async task; calls while it runs make it run once more afterwards, not once each. */
class Coalesced {
  private readonly task: () => Promise<void>;
  private readonly onError: (err: unknown) => void;
  private running: Promise<void> | undefined;
  private again = false;

  constructor(task: () => Promise<void>, onError: (err: unknown) => void) {
    this.task = task;
    this.onError = onError;
  }

  run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      await this.task().catch(this.onError);
    } while (this.again);
  }
}
