/**
 * Idempotency keys (docs/design.md §7): the first response to a mutating call is stored in the same
 * transaction as the change, keyed by (scope, key), with a hash of the request. A per-key
 * transaction-scoped advisory lock tells an in-flight duplicate apart from a finished one.
 */
import type { Queryable } from "./db.ts";
import { IDEMPOTENCY_LOCK_CLASS } from "./db.ts";

export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

export interface StoredResponse {
  status: number;
  body: unknown;
}

export interface IdempotencyRecord extends StoredResponse {
  requestHash: Buffer;
}

/** Takes the key's lock until the end of the transaction; false when another transaction holds it. */
export async function tryLockKey(tx: Queryable, scope: string, key: string): Promise<boolean> {
  const { rows } = await tx.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock($1, hashtext($2 || E'\\n' || $3)) AS locked",
    [IDEMPOTENCY_LOCK_CLASS, scope, key],
  );
  return rows[0]!.locked;
}

/** The unexpired record for the key, if any. */
export async function findRecord(
  tx: Queryable,
  scope: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const { rows } = await tx.query<{ request_hash: Buffer; response_status: number; response_body: unknown }>(
    `SELECT request_hash, response_status, response_body FROM idempotency_keys
     WHERE scope = $1 AND key = $2 AND expires_at > now()`,
    [scope, key],
  );
  const r = rows[0];
  return r && { requestHash: r.request_hash, status: r.response_status, body: r.response_body };
}

/** Saves the response; replaces an expired record with the same key. */
export async function saveRecord(
  tx: Queryable,
  scope: string,
  key: string,
  record: IdempotencyRecord,
  ttlMs = IDEMPOTENCY_TTL_MS,
): Promise<void> {
  await tx.query(
    `INSERT INTO idempotency_keys (scope, key, request_hash, response_status, response_body, expires_at)
     VALUES ($1, $2, $3, $4, $5, now() + $6 * interval '1 millisecond')
     ON CONFLICT (scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash,
       response_status = EXCLUDED.response_status, response_body = EXCLUDED.response_body,
       created_at = now(), expires_at = EXCLUDED.expires_at`,
    [scope, key, record.requestHash, record.status, JSON.stringify(record.body ?? null), ttlMs],
  );
}

export async function purgeExpired(q: Queryable): Promise<number> {
  const { rowCount } = await q.query("DELETE FROM idempotency_keys WHERE expires_at <= now()");
  return rowCount ?? 0;
}
