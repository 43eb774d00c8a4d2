/**
 * Operator tokens for the admin API. Stored as SHA-256 hashes only; authentication
 * compares the presented token's hash with every active hash in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Queryable } from "./db.ts";

export type OperatorRole = "admin" | "viewer";

export interface Operator {
  id: string;
  name: string;
  role: OperatorRole;
}

export const MAX_TOKEN_LENGTH = 512;
export const BOOTSTRAP_TOKEN_NAME = "bootstrap";

export function hashToken(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}

/** Stores the hash of CORRAL_OPERATOR_TOKEN as the admin token named 'bootstrap'. */
export async function upsertBootstrapToken(q: Queryable, token: string): Promise<void> {
  await q.query(
    `INSERT INTO operator_tokens (id, name, hash, role) VALUES ($1, $1, $2, 'admin')
     ON CONFLICT (name) DO UPDATE SET hash = EXCLUDED.hash, role = 'admin', revoked_at = NULL`,
    [BOOTSTRAP_TOKEN_NAME, hashToken(token)],
  );
}

/** Creates a token and returns it in clear, once. */
export async function createOperatorToken(
  q: Queryable,
  name: string,
  role: OperatorRole,
): Promise<Operator & { token: string }> {
  const id = `op_${randomBytes(6).toString("hex")}`;
  const token = `crlop_${randomBytes(32).toString("base64url")}`;
  await q.query("INSERT INTO operator_tokens (id, name, hash, role) VALUES ($1, $2, $3, $4)", [
    id,
    name,
    hashToken(token),
    role,
  ]);
  return { id, name, role, token };
}

export async function revokeOperatorToken(q: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await q.query(
    "UPDATE operator_tokens SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL",
    [name],
  );
  return (rowCount ?? 0) > 0;
}

/** The operator a token belongs to, or undefined. Every active hash is compared (no early exit). */
export async function authenticateOperator(q: Queryable, token: string): Promise<Operator | undefined> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
  const presented = hashToken(token);
  const { rows } = await q.query<Operator & { hash: Buffer }>(
    "SELECT id, name, role, hash FROM operator_tokens WHERE revoked_at IS NULL",
  );
  let found: Operator | undefined;
  for (const row of rows) {
    const equal = row.hash.length === presented.length && timingSafeEqual(row.hash, presented);
    if (equal && !found) found = { id: row.id, name: row.name, role: row.role };
  }
  return found;
}
