/**
 * Which tenants changed since an earlier read (migration 0019). A position is the snapshot a
 * repeatable-read transaction reads under (pg_current_snapshot() as text); the tenants changed
 * after it are those recorded by a transaction that snapshot did not see. The log is pruned
 * below a horizon; a position older than the horizon gets no answer (the caller scans every
 * tenant's revision instead). Operator-side bookkeeping: no tenant input reaches these queries
 * but ids read back from the log.
 */
import type { Queryable } from "./db.ts";

/** The snapshot this transaction reads under: the position of everything it reads. */
export async function changePosition(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ position: string }>("SELECT pg_current_snapshot()::text AS position");
  return rows[0]!.position;
}

/**
 * Ids of the tenants inserted, updated or deleted (with any of their keys, routes or upstreams)
 * by a transaction `position` did not see and this transaction does; undefined when the log no
 * longer reaches back to `position`.
 */
export async function tenantsChangedSince(q: Queryable, position: string): Promise<string[] | undefined> {
  const { rows } = await q.query<{ tenant_id: string | null; reaches: boolean }>(
    `SELECT h.horizon <= pg_snapshot_xmin($1::pg_snapshot) AS reaches, c.tenant_id
     FROM tenant_changes_horizon h
     LEFT JOIN LATERAL (
       SELECT DISTINCT tenant_id FROM tenant_changes
       WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)
     ) c ON h.horizon <= pg_snapshot_xmin($1::pg_snapshot)`,
    [position],
  );
  if (rows.length === 0 || !rows[0]!.reaches) return undefined;
  return rows.flatMap((r) => (r.tenant_id === null ? [] : [r.tenant_id]));
}

/**
 * Forgets the changes every transaction at `position` could see (raises the horizon to its
 * xmin, never lowers it). Outside any publish transaction; returns how many rows went.
 */
export async function pruneTenantChanges(q: Queryable, position: string): Promise<number> {
  const { rowCount } = await q.query(
    `WITH h AS (
       UPDATE tenant_changes_horizon SET horizon = greatest(horizon, pg_snapshot_xmin($1::pg_snapshot))
       RETURNING horizon
     )
     DELETE FROM tenant_changes WHERE xid < (SELECT horizon FROM h)`,
    [position],
  );
  return rowCount ?? 0;
}
