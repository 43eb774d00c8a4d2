/**
 * The configuration change counter (migration 0003): every change bumps it in its own
 * transaction and notifies CHANGES_CHANNEL on commit; each version records the counter it
 * covers. The publisher compares the two, so a change committed on any replica is published
 * even when its notification is lost.
 */
import type { Queryable } from "./db.ts";

export const CHANGES_CHANNEL = "corral_changes";

export interface ChangeState {
  counter: number;
  /** set while the desired config is the content of that earlier version (a rollback) */
  rollbackOf: number | undefined;
}

export interface PendingChange {
  counter: number;
  /** counter covered by the newest version; undefined when nothing was ever published */
  covered: number | undefined;
}

/**
 * Inside a change's transaction: bumps the counter, sets (rollback) or clears (any other
 * change) the rollback marker, and queues the notification (sent on commit).
 */
export async function recordChange(q: Queryable, rollbackOf?: number): Promise<number> {
  const { rows } = await q.query<{ counter: number }>(
    `WITH c AS (
       UPDATE config_changes SET counter = counter + 1, changed_at = now(), rollback_of = $1
       WHERE name = 'config' RETURNING counter
     )
     SELECT counter, pg_notify('${CHANGES_CHANNEL}', counter::text) FROM c`,
    [rollbackOf ?? null],
  );
  return rows[0]!.counter;
}

export async function readChangeState(q: Queryable): Promise<ChangeState> {
  const { rows } = await q.query<{ counter: number; rollback_of: number | null }>(
    "SELECT counter, rollback_of FROM config_changes WHERE name = 'config'",
  );
  const row = rows[0]!;
  return { counter: row.counter, rollbackOf: row.rollback_of ?? undefined };
}

export async function readPendingChange(q: Queryable): Promise<PendingChange> {
  const { rows } = await q.query<{ counter: number; covered: number | null }>(
    `SELECT c.counter, v.change_counter AS covered
     FROM config_changes c
     LEFT JOIN LATERAL (SELECT change_counter FROM config_versions ORDER BY version DESC LIMIT 1) v ON true
     WHERE c.name = 'config'`,
  );
  const row = rows[0]!;
  return { counter: row.counter, covered: row.covered ?? undefined };
}

/** Pure: does the newest version miss a committed change? */
export function hasUnpublishedChange(p: PendingChange): boolean {
  return p.covered === undefined || p.counter > p.covered;
}
