/**
 * Bounded snapshot history (docs/design.md §8.6), the rows side: which versions' blobs leave the
 * window and the record of their deletion (migration 0007). A version's blob stays while it
 * is among the newest `retain` versions, is the version just published, is what a node
 * reports applying (nodes.applied_version, whether or not it is connected: a node cut off
 * from the CP may still fetch it), or is the content a standing rollback republishes
 * (config_changes.rollback_of). Leaving is two steps: expire (rollback refuses the version
 * from then on), then delete from the blob store and record it; an expired blob whose
 * delete failed is picked up again by the next pass. Expiring and a rollback's check take
 * the same transaction-scoped advisory lock, so a rollback never settles on a version whose
 * blob is about to go.
 */
import { CORRAL_LOCK_CLASS, LOCK_IDS, type Pool, type Queryable, withTransaction } from "./db.ts";

export interface PendingDelete {
  version: number;
  blobKey: string;
}

/** Serialises expiring with rollback checks until the end of the caller's transaction. */
export async function lockVersionHistory(tx: Queryable): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1, $2)", [CORRAL_LOCK_CLASS, LOCK_IDS.versionHistory]);
}

/** The lowest version among the newest `n` (every version below it is outside that window). */
const WINDOW_FLOOR = `(SELECT min(version) FROM (SELECT version FROM config_versions ORDER BY version DESC LIMIT $1) w)`;

/** Expires every version outside the window except the kept ones; returns how many. */
export function expireOutsideWindow(pool: Pool, retain: number, published: number): Promise<number> {
  return withTransaction(pool, async (tx) => {
    await lockVersionHistory(tx);
    const { rowCount } = await tx.query(
      `UPDATE config_versions SET blob_expired_at = now()
       WHERE blob_expired_at IS NULL AND version < ${WINDOW_FLOOR} AND version <> $2
         AND version NOT IN (SELECT applied_version FROM nodes)
         AND version NOT IN (SELECT rollback_of FROM config_changes WHERE rollback_of IS NOT NULL)`,
      [retain, published],
    );
    return rowCount ?? 0;
  });
}

/** Expired blobs not yet confirmed deleted, oldest first. */
export async function pendingDeletes(q: Queryable, limit: number): Promise<PendingDelete[]> {
  const { rows } = await q.query<{ version: number; blob_key: string }>(
    `SELECT version, blob_key FROM config_versions
     WHERE blob_expired_at IS NOT NULL AND blob_deleted_at IS NULL ORDER BY version LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({ version: r.version, blobKey: r.blob_key }));
}

export async function recordDeleted(q: Queryable, version: number): Promise<void> {
  await q.query("UPDATE config_versions SET blob_deleted_at = now() WHERE version = $1", [version]);
}

/** Deletes the rows (and their node reports) of deleted blobs outside the newest `keepRows`. */
export async function pruneVersionRows(q: Queryable, keepRows: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM config_versions WHERE blob_deleted_at IS NOT NULL AND version < ${WINDOW_FLOOR}`,
    [keepRows],
  );
  return rowCount ?? 0;
}

/** The oldest version still on record, if any. */
export async function oldestVersion(q: Queryable): Promise<number | undefined> {
  const { rows } = await q.query<{ v: number | null }>("SELECT min(version) AS v FROM config_versions");
  return rows[0]?.v ?? undefined;
}
