/** Tenant API keys: only SHA-256 hashes are stored; the key is returned once, at creation. */
import { generateApiKey } from "../../proto/api-key.ts";
import type { Queryable } from "./db.ts";
import type { PeriodQuota, PeriodQuotaColumns, PeriodQuotaView } from "./period-quota.ts";
import { PERIOD_QUOTA_COLUMNS, quotaValues, quotaView, rowQuota } from "./period-quota.ts";
import { rowJson } from "./row-json.ts";
import type { TenantStatus } from "./tenants.ts";

export type Scope = "invoke" | "manage";

export interface ApiKeyInfo {
  id: string;
  tenantId: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt: string | null;
  /** the key's own period quota (operators set it); null: none */
  quota: PeriodQuotaView | null;
}

export interface IssuedApiKey {
  id: string;
  tenantId: string;
  key: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
}

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  hash: Buffer;
  scopes: Scope[];
  created_at: Date;
  revoked_at: Date | null;
}

/** Caller has checked the tenant exists (assertTenantExists) in the same transaction. */
export async function issueApiKey(
  q: Queryable,
  tenantId: string,
  input: { name: string; scopes: Scope[] },
): Promise<IssuedApiKey> {
  const { id, key, hash } = generateApiKey();
  const scopes = [...new Set(input.scopes)].sort();
  const { rows } = await q.query<{ created_at: Date }>(
    "INSERT INTO api_keys (id, tenant_id, name, hash, scopes) VALUES ($1, $2, $3, $4, $5) RETURNING created_at",
    [id, tenantId, input.name, hash, scopes],
  );
  return { id, tenantId, key, name: input.name, scopes, createdAt: rows[0]!.created_at.toISOString() };
}

type KeyInfoRow = Omit<ApiKeyRow, "hash"> & PeriodQuotaColumns;
const KEY_INFO_COLUMNS = `id, tenant_id, name, scopes, created_at, revoked_at, ${PERIOD_QUOTA_COLUMNS}`;

function toKeyInfo(r: KeyInfoRow): ApiKeyInfo {
  const { quota_limit, quota_period, quota_offset_ms, ...rest } = r;
  return { ...rowJson(rest), quota: quotaView(rowQuota({ quota_limit, quota_period, quota_offset_ms })) };
}

export async function listApiKeys(q: Queryable, tenantId: string): Promise<ApiKeyInfo[]> {
  const { rows } = await q.query<KeyInfoRow>(
    `SELECT ${KEY_INFO_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at, id`,
    [tenantId],
  );
  return rows.map(toKeyInfo);
}

/** Sets (null: removes) the key's own period quota; undefined when the tenant has no such key. */
export async function setKeyQuota(
  q: Queryable,
  tenantId: string,
  keyId: string,
  quota: PeriodQuota | null,
): Promise<ApiKeyInfo | undefined> {
  const { rows } = await q.query<KeyInfoRow>(
    `UPDATE api_keys SET (${PERIOD_QUOTA_COLUMNS}) = ($3, $4, $5) WHERE tenant_id = $1 AND id = $2
     RETURNING ${KEY_INFO_COLUMNS}`,
    [tenantId, keyId, ...quotaValues(quota)],
  );
  return rows[0] && toKeyInfo(rows[0]);
}

export type RevokeResult = "revoked" | "already-revoked" | "not-found";

export async function revokeApiKey(q: Queryable, tenantId: string, keyId: string): Promise<RevokeResult> {
  const updated = await q.query(
    "UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    [tenantId, keyId],
  );
  if (updated.rowCount) return "revoked";
  const existing = await q.query("SELECT 1 FROM api_keys WHERE tenant_id = $1 AND id = $2", [
    tenantId,
    keyId,
  ]);
  return existing.rowCount ? "already-revoked" : "not-found";
}

/** What authenticating a key needs: its hash, scopes, revocation and its tenant's status. */
export interface KeyCredentials {
  id: string;
  tenantId: string;
  hash: Buffer;
  scopes: Scope[];
  revoked: boolean;
  tenantStatus: TenantStatus;
}

/** The key with this id (the id is the public part of the key, see proto/api-key.ts), if any. */
export async function findKeyCredentials(q: Queryable, keyId: string): Promise<KeyCredentials | undefined> {
  const { rows } = await q.query<KeyCredentials>(
    `SELECT k.id, k.tenant_id AS "tenantId", k.hash, k.scopes, k.revoked_at IS NOT NULL AS revoked,
            t.status AS "tenantStatus"
     FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.id = $1`,
    [keyId],
  );
  return rows[0];
}
