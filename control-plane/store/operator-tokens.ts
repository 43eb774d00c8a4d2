/**
 * Operator tokens for the admin API. Stored as SHA-256 hashes only; authentication compares the
 * presented token's hash with every active hash in constant time (at most MAX_ACTIVE_TOKENS).
 *
 * The bootstrap token (CORRAL_OPERATOR_TOKEN) is inserted once, keyed by its hash: once a row
 * with that hash exists, revoked or not, a restart leaves it alone, so a revoked bootstrap token
 * stays revoked. A new CORRAL_OPERATOR_TOKEN value is a new token: it is inserted and the
 * previous bootstrap token revoked (rotation, and break-glass when every admin token is lost).
 * Every change that can remove an admin holds one advisory lock, so two revocations cannot
 * together remove the last active admin token.
 */
import { randomBytes } from "node:crypto";
import { hashApiKey as hashToken, hashesEqual } from "../../proto/api-key.ts";
import { CorralError } from "../errors.ts";
import type { RevokeResult } from "./api-keys.ts";
import { CORRAL_LOCK_CLASS, LOCK_IDS, type Queryable } from "./db.ts";
import { rowJson } from "./row-json.ts";

export type OperatorRole = "admin" | "viewer";

export interface Operator {
  id: string;
  name: string;
  role: OperatorRole;
}

export interface OperatorTokenInfo extends Operator {
  kind: "bootstrap" | "issued";
  createdBy: string | null;
  createdAt: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export const MAX_TOKEN_LENGTH = 512;
export const MAX_ACTIVE_TOKENS = 100;
/** the list shows the newest this many tokens, revoked ones included */
export const MAX_LISTED_TOKENS = 500;
export const BOOTSTRAP_TOKEN_NAME = "bootstrap";
/** last_used_at is written at most this often per token, not on every request */
const LAST_USED_RESOLUTION_S = 60;
const ACTIVE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())";
const COLUMNS = "id, name, role, kind, created_by, created_at, expires_at, last_used_at, revoked_at";

interface TokenRow extends Operator {
  kind: OperatorTokenInfo["kind"];
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

/** COLUMNS of a row as the API shows them (never the hash). */
function toInfo(r: TokenRow): OperatorTokenInfo {
  return rowJson(r);
}

async function lockTokens(tx: Queryable): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock($1, $2)", [CORRAL_LOCK_CLASS, LOCK_IDS.operatorTokens]);
}

/**
 * Inserts CORRAL_OPERATOR_TOKEN as an admin token unless a row with its hash exists (then nothing
 * changes: a revoked bootstrap token is not re-enabled). Run inside a transaction.
 */
export async function ensureBootstrapToken(tx: Queryable, token: string): Promise<"inserted" | "kept"> {
  await lockTokens(tx);
  const hash = hashToken(token);
  const { rowCount } = await tx.query("SELECT 1 FROM operator_tokens WHERE hash = $1", [hash]);
  if (rowCount) return "kept";
  await tx.query(
    `UPDATE operator_tokens SET revoked_at = now()
     WHERE revoked_at IS NULL AND (kind = 'bootstrap' OR name = $1)`,
    [BOOTSTRAP_TOKEN_NAME],
  );
  await tx.query(
    "INSERT INTO operator_tokens (id, name, hash, role, kind) VALUES ($1, $2, $3, 'admin', 'bootstrap')",
    [newTokenId(), BOOTSTRAP_TOKEN_NAME, hash],
  );
  return "inserted";
}

function newTokenId(): string {
  return `op_${randomBytes(6).toString("hex")}`;
}

export interface NewOperatorToken {
  name: string;
  role: OperatorRole;
  /** ISO 8601; absent: the token does not expire */
  expiresAt?: string;
  /** id of the operator who created it */
  createdBy?: string;
}

/**
 * Creates a token and returns it in clear, once: `cro_` and 256 random bits. Refuses a name that
 * an active token has and more than MAX_ACTIVE_TOKENS active tokens. Run inside a transaction.
 */
export async function createOperatorToken(
  tx: Queryable,
  input: NewOperatorToken,
): Promise<OperatorTokenInfo & { token: string }> {
  await lockTokens(tx);
  const active = await tx.query<{ name: string }>(`SELECT name FROM operator_tokens WHERE ${ACTIVE}`);
  if (active.rows.some((r) => r.name === input.name)) {
    throw new CorralError("CORRAL_ADMIN_CONFLICT", `an active operator token is named ${input.name}`);
  }
  if (active.rows.length >= MAX_ACTIVE_TOKENS) {
    throw new CorralError(
      "CORRAL_ADMIN_TOO_MANY_TOKENS",
      `at most ${MAX_ACTIVE_TOKENS} operator tokens may be active; revoke one first`,
    );
  }
  const token = `cro_${randomBytes(32).toString("base64url")}`;
  const { rows } = await tx.query<TokenRow>(
    `INSERT INTO operator_tokens (id, name, hash, role, kind, created_by, expires_at)
     VALUES ($1, $2, $3, $4, 'issued', $5, $6) RETURNING ${COLUMNS}`,
    [
      newTokenId(),
      input.name,
      hashToken(token),
      input.role,
      input.createdBy ?? null,
      input.expiresAt ?? null,
    ],
  );
  return { ...toInfo(rows[0]!), token };
}

/** The newest MAX_LISTED_TOKENS tokens, never their hashes. */
export async function listOperatorTokens(q: Queryable): Promise<OperatorTokenInfo[]> {
  const { rows } = await q.query<TokenRow>(
    `SELECT ${COLUMNS} FROM operator_tokens ORDER BY created_at DESC, id LIMIT $1`,
    [MAX_LISTED_TOKENS],
  );
  return rows.map(toInfo);
}

/**
 * Revokes a token. Refuses to revoke the last active admin token (the admin API would be locked
 * until CORRAL_OPERATOR_TOKEN is changed). Run inside a transaction.
 */
export async function revokeOperatorToken(tx: Queryable, id: string): Promise<RevokeResult> {
  await lockTokens(tx);
  const { rows } = await tx.query<{ role: OperatorRole; revoked: boolean; active: boolean }>(
    `SELECT role, revoked_at IS NOT NULL AS revoked, ${ACTIVE} AS active FROM operator_tokens WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return "not-found";
  if (row.revoked) return "already-revoked";
  if (row.active && row.role === "admin") {
    const admins = await tx.query(`SELECT 1 FROM operator_tokens WHERE role = 'admin' AND ${ACTIVE}`);
    if ((admins.rowCount ?? 0) <= 1) {
      throw new CorralError(
        "CORRAL_ADMIN_LAST_ADMIN_TOKEN",
        "this is the last active admin token: create another admin token first",
      );
    }
  }
  await tx.query("UPDATE operator_tokens SET revoked_at = now() WHERE id = $1", [id]);
  return "revoked";
}

/** The operator a token belongs to, or undefined. Every active hash is compared (no early exit). */
export async function authenticateOperator(q: Queryable, token: string): Promise<Operator | undefined> {
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined;
  const presented = hashToken(token);
  const { rows } = await q.query<Operator & { hash: Buffer }>(
    `SELECT id, name, role, hash FROM operator_tokens WHERE ${ACTIVE}`,
  );
  let found: Operator | undefined;
  for (const row of rows) {
    const equal = hashesEqual(row.hash, presented);
    if (equal && !found) found = { id: row.id, name: row.name, role: row.role };
  }
  if (found) await noteUse(q, found.id);
  return found;
}

async function noteUse(q: Queryable, id: string): Promise<void> {
  await q.query(
    `UPDATE operator_tokens SET last_used_at = now()
     WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
    [id, LAST_USED_RESOLUTION_S],
  );
}
