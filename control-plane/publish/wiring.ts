/**
 * Builds the publishing parts of one CP replica from its settings: the Postgres publisher
 * lease (on a small pool of its own, so renewals never queue behind API queries) and the
 * coordinator with its LISTEN connection.
 */
import type { ControlPlaneConfig } from "../config.ts";
import type { Logger } from "../logger.ts";
import { createPool } from "../store/db.ts";
import { type CoordinatorParts, PUBLISH_CHANNELS, PublishCoordinator } from "./coordinator.ts";
import type { PublisherLease } from "./lease.ts";
import { leaseTiming } from "./lease-timing.ts";
import { PgListener } from "./pg-listener.ts";
import { PostgresLease } from "./postgres-lease.ts";

type Settings = Pick<
  ControlPlaneConfig,
  | "CORRAL_PG_URL"
  | "CORRAL_CP_ID"
  | "CORRAL_LEASE_TTL_MS"
  | "CORRAL_LATEST_REWRITE_MS"
  | "CORRAL_VERSION_POLL_MS"
>;

export function createPublisherLease(config: Settings, logger: Logger): PublisherLease {
  const timing = leaseTiming({ ttlMs: config.CORRAL_LEASE_TTL_MS });
  const pool = createPool(config.CORRAL_PG_URL, {
    max: 2,
    applicationName: `corral-cp lease ${config.CORRAL_CP_ID}`.slice(0, 63),
    queryTimeoutMs: timing.renewEveryMs,
  });
  return new PostgresLease({
    db: pool,
    holder: config.CORRAL_CP_ID,
    timing,
    logger: logger.child({ component: "lease" }),
    onClose: () => pool.end(),
  });
}

export interface Publishing {
  coordinator: PublishCoordinator;
  /** loads the newest version, listens, tries the lease (publishing if taken), starts the periodic work */
  start(): Promise<void>;
  /** stops all of it, drains the publisher and gives the lease up */
  close(): Promise<void>;
}

export function createPublishing(parts: CoordinatorParts & { config: Settings }): Publishing {
  const { config, logger } = parts;
  const coordinator = new PublishCoordinator({
    ...parts,
    latestRewriteMs: config.CORRAL_LATEST_REWRITE_MS,
    pollMs: config.CORRAL_VERSION_POLL_MS,
  });
  const listener = new PgListener(
    {
      url: config.CORRAL_PG_URL,
      channels: PUBLISH_CHANNELS,
      logger: logger.child({ component: "listener" }),
      applicationName: `corral-cp listen ${config.CORRAL_CP_ID}`.slice(0, 63),
    },
    coordinator.listenerHandlers(),
  );
  return {
    coordinator,
    start: async () => {
      try {
        await coordinator.start(listener);
      } catch (err) {
        await coordinator.close().catch(() => {});
        throw err;
      }
    },
    close: () => coordinator.close(),
  };
}
