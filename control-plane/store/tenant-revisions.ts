/**
 * What an incremental compile reads (migration 0009): every tenant's id, plan and config
 * revision (one narrow scan; or only the changed tenants', store/tenant-changes.ts), then the full rows of only the tenants whose fragment has
 * to be encoded again. Both inside the publisher's repeatable-read transaction, so the
 * revisions and the rows are of one moment. Child queries are scoped by tenant id.
 */
import type { Queryable } from "./db.ts";
import { ACTIVE_KEY_COLUMNS, type ActiveKeyRow } from "./fleet-rows.ts";
import type { RouteRow } from "./routes.ts";
import { TENANT_COLUMNS, type TenantRow } from "./tenants.ts";
import type { UpstreamRow } from "./upstreams.ts";

export interface TenantRevision {
  id: string;
  plan: string;
  /** changes with any change of the tenant's row, keys, routes or upstreams */
  rev: string;
}

export interface TenantRows {
  tenants: TenantRow[];
  keys: ActiveKeyRow[];
  routes: RouteRow[];
  upstreams: UpstreamRow[];
}

/** Every tenant's revision, or those of the given tenants (ids of no tenant are left out). */
export async function listTenantRevisions(q: Queryable, ids?: readonly string[]): Promise<TenantRevision[]> {
  const columns = "SELECT id, plan, config_rev::text AS rev FROM tenants";
  const { rows } =
    ids === undefined
      ? await q.query<TenantRevision>(columns)
      : await q.query<TenantRevision>(`${columns} WHERE id = ANY($1::text[])`, [ids]);
  return rows;
}

/** The rows of the given tenants (all of them when `ids` is undefined). */
export async function loadTenantRows(q: Queryable, ids?: readonly string[]): Promise<TenantRows> {
  const where = (column: string) => (ids === undefined ? "true" : `${column} = ANY($1::text[])`);
  const params = ids === undefined ? [] : [ids];
  const tenants = (
    await q.query<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE ${where("id")}`, params)
  ).rows;
  const keys = (
    await q.query<ActiveKeyRow>(
      `SELECT ${ACTIVE_KEY_COLUMNS} FROM api_keys WHERE revoked_at IS NULL AND ${where("tenant_id")}`,
      params,
    )
  ).rows;
  const routes = (await q.query<RouteRow>(`SELECT * FROM routes WHERE ${where("tenant_id")}`, params)).rows;
  const upstreams = (
    await q.query<UpstreamRow>(`SELECT * FROM upstreams WHERE ${where("tenant_id")}`, params)
  ).rows;
  return { tenants, keys, routes, upstreams };
}
