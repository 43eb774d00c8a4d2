/**
 * The publisher lease row (publisher_lease: name, holder, epoch, expires_at) on the
 * database clock (docs/design.md §3.2). One conditional UPDATE takes or renews it: a holder renews
 * its own unexpired lease under the same epoch; anyone takes an expired lease and the epoch
 * goes up by one, so every takeover has a new fencing token.
 */
import type { Queryable } from "./db.ts";

export const PUBLISHER_LEASE = "publisher";

export type LeaseAttempt =
  | { acquired: true; epoch: number }
  | { acquired: false; holder: string | null; epoch: number; remainingMs: number };

/**
 * Takes or renews the lease for `holder` for `ttlMs`. `knownEpoch` is the epoch the caller
 * holds (undefined when it holds none): only that epoch is renewed in place.
 */
export async function acquireLease(
  q: Queryable,
  name: string,
  holder: string,
  knownEpoch: number | undefined,
  ttlMs: number,
): Promise<LeaseAttempt> {
  const { rows } = await q.query<{ epoch: number }>(
    `UPDATE publisher_lease
     SET epoch = CASE WHEN holder = $2 AND epoch = $3 AND expires_at > clock_timestamp() THEN epoch ELSE epoch + 1 END,
         holder = $2,
         expires_at = clock_timestamp() + $4 * interval '1 millisecond'
     WHERE name = $1 AND (expires_at <= clock_timestamp() OR (holder = $2 AND epoch = $3))
     RETURNING epoch`,
    [name, holder, knownEpoch ?? -1, ttlMs],
  );
  if (rows[0]) return { acquired: true, epoch: rows[0].epoch };
  return { acquired: false, ...(await readLease(q, name)) };
}

export async function readLease(
  q: Queryable,
  name: string,
): Promise<{ holder: string | null; epoch: number; remainingMs: number }> {
  const { rows } = await q.query<{ holder: string | null; epoch: number; remaining_ms: number }>(
    `SELECT holder, epoch,
            CASE WHEN expires_at <= clock_timestamp() THEN 0
                 ELSE EXTRACT(EPOCH FROM (expires_at - clock_timestamp())) * 1000 END::float8 AS remaining_ms
     FROM publisher_lease WHERE name = $1`,
    [name],
  );
  const row = rows[0];
  if (!row) throw new Error(`publisher_lease has no row ${name}`);
  return { holder: row.holder, epoch: row.epoch, remainingMs: row.remaining_ms };
}

/** Gives the lease up at once (clean shutdown), so another replica need not wait for the TTL. */
export async function releaseLease(
  q: Queryable,
  name: string,
  holder: string,
  epoch: number,
): Promise<boolean> {
  const { rowCount } = await q.query(
    `UPDATE publisher_lease SET expires_at = '-infinity'
     WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at > clock_timestamp()`,
    [name, holder, epoch],
  );
  return rowCount === 1;
}
