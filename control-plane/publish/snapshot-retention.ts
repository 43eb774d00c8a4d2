/**
 * Keeps the blob store to a bounded window of snapshots (docs/design.md §8.6): after each publish the
 * lease holder expires the versions outside the window (store/version-retention.ts says
 * which are kept), deletes their blobs, records each confirmed delete, and drops the rows of
 * deleted blobs once they are ROW_WINDOW_FACTOR windows old. A pass does at most
 * MAX_DELETES_PER_PASS deletes; failures are logged and retried by the next pass, never
 * thrown: a publish must not fail because old garbage could not be removed.
 */
import type { BlobStore } from "../../runtime/blob-store/blob-store.ts";
import type { Logger } from "../logger.ts";
import type { ControlPlaneMetrics } from "../metrics.ts";
import type { Pool } from "../store/db.ts";
import {
  expireOutsideWindow,
  pendingDeletes,
  pruneVersionRows,
  recordDeleted,
} from "../store/version-retention.ts";

export const MAX_DELETES_PER_PASS = 200;
/** version rows outlive their blobs for this many windows (the admin versions list shows them) */
export const ROW_WINDOW_FACTOR = 10;

export interface RetentionDeps {
  pool: Pool;
  blobStore: BlobStore;
  /** newest versions whose blobs are kept (CORRAL_SNAPSHOT_RETAIN) */
  retain: number;
  metrics: ControlPlaneMetrics;
  logger: Logger;
}

export interface RetentionPass {
  expired: number;
  deleted: number;
  failed: number;
  prunedRows: number;
}

export class SnapshotRetention {
  readonly #deps: RetentionDeps;

  constructor(deps: RetentionDeps) {
    this.#deps = deps;
  }

  /** One pass after `published` was published; never throws. */
  async collect(published: number): Promise<RetentionPass> {
    const pass = { expired: 0, deleted: 0, failed: 0, prunedRows: 0 };
    const { pool, retain, logger } = this.#deps;
    try {
      pass.expired = await expireOutsideWindow(pool, retain, published);
      await this.#deletePending(pass);
      pass.prunedRows = await pruneVersionRows(pool, retain * ROW_WINDOW_FACTOR);
    } catch (err) {
      pass.failed++;
      logger.warn({ err, published }, "snapshot retention pass failed; retried after the next publish");
    }
    this.#record(pass);
    return pass;
  }

  async #deletePending(pass: RetentionPass): Promise<void> {
    const { pool, blobStore, logger } = this.#deps;
    for (const { version, blobKey } of await pendingDeletes(pool, MAX_DELETES_PER_PASS)) {
      try {
        await blobStore.delete(blobKey);
        await recordDeleted(pool, version);
        pass.deleted++;
      } catch (err) {
        pass.failed++;
        logger.warn(
          { err, version, key: blobKey },
          "could not delete an expired snapshot; retried next pass",
        );
      }
    }
  }

  #record(pass: RetentionPass): void {
    const { metrics, logger } = this.#deps;
    metrics.snapshotDeletes.inc({ result: "ok" }, pass.deleted);
    metrics.snapshotDeletes.inc({ result: "error" }, pass.failed);
    if (pass.expired || pass.deleted || pass.failed || pass.prunedRows)
      logger.info(pass, "snapshot retention pass");
  }
}
