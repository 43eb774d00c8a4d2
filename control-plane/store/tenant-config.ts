/**
 * One tenant's configuration as the quota and size checks read it, inside the change's
 * transaction: the tenant row (locked FOR UPDATE first, so two changes of one tenant cannot
 * both pass its quotas), its plan with the plan's quotas, its live keys, routes and upstreams.
 * Every query is scoped by tenant id. The fleet-wide total is read under the change-counter
 * row's lock, which every change takes anyway (store/changes.ts), so growing changes of
 * different tenants are checked one after another.
 */
import { QUOTA_COLUMNS, QUOTA_NAMES, type QuotaOverrides, type Quotas } from "./quota-columns.ts";
import type { Queryable } from "./db.ts";
import { ACTIVE_KEY_COLUMNS, type ActiveKeyRow } from "./fleet-rows.ts";
import type { RouteRow } from "./routes.ts";
import { PLAN_COLUMNS, type PlanRow, TENANT_COLUMNS, type TenantRow } from "./tenants.ts";
import type { UpstreamRow } from "./upstreams.ts";

export interface TenantConfig {
  tenant: TenantRow;
  plan: PlanRow | undefined;
  planQuotas: Quotas;
  overrides: QuotaOverrides;
  keys: ActiveKeyRow[];
  routes: RouteRow[];
  upstreams: UpstreamRow[];
}

const QUOTA_SELECT = QUOTA_NAMES.map((n) => `${QUOTA_COLUMNS[n]} AS "${n}"`).join(", ");

/** Waits for, then holds until commit, the tenant's row; a tenant that does not exist locks nothing. */
export async function lockTenantRow(q: Queryable, tenantId: string): Promise<void> {
  await q.query("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE", [tenantId]);
}

export async function loadTenantConfig(q: Queryable, tenantId: string): Promise<TenantConfig | undefined> {
  const tenant = (
    await q.query<TenantRow & { overrides: QuotaOverrides }>(
      `SELECT ${TENANT_COLUMNS}, json_build_object(${QUOTA_NAMES.map((n) => `'${n}', ${QUOTA_COLUMNS[n]}`).join(", ")}) AS overrides
       FROM tenants WHERE id = $1`,
      [tenantId],
    )
  ).rows[0];
  if (!tenant) return undefined;
  const planRow = (
    await q.query<PlanRow & Quotas>(`SELECT ${PLAN_COLUMNS}, ${QUOTA_SELECT} FROM plans WHERE name = $1`, [
      tenant.plan,
    ])
  ).rows[0];
  const keys = await q.query<ActiveKeyRow>(
    `SELECT ${ACTIVE_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL`,
    [tenantId],
  );
  const routes = await q.query<RouteRow>("SELECT * FROM routes WHERE tenant_id = $1", [tenantId]);
  const upstreams = await q.query<UpstreamRow>("SELECT * FROM upstreams WHERE tenant_id = $1", [tenantId]);
  return {
    tenant,
    plan: planRow,
    planQuotas: pickQuotas(planRow),
    overrides: tenant.overrides,
    keys: keys.rows,
    routes: routes.rows,
    upstreams: upstreams.rows,
  };
}

function pickQuotas(row: Quotas | undefined): Quotas {
  const out = {} as Quotas;
  for (const n of QUOTA_NAMES) out[n] = row?.[n] ?? 0;
  return out;
}

export async function storeConfigBytes(q: Queryable, tenantId: string, bytes: number): Promise<void> {
  await q.query("UPDATE tenants SET config_bytes = $2 WHERE id = $1", [tenantId, bytes]);
}

/** The sum of every tenant's recorded fragment size, read under the change-counter row's lock. */
export async function lockedTotalConfigBytes(q: Queryable): Promise<number> {
  await q.query("SELECT 1 FROM config_changes WHERE name = 'config' FOR UPDATE");
  return totalConfigBytes(q);
}

/** The sum of every tenant's recorded fragment size (a read, no lock). */
export async function totalConfigBytes(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ total: string }>(
    "SELECT COALESCE(sum(config_bytes), 0)::bigint AS total FROM tenants",
  );
  return Number(rows[0]!.total);
}

/** Tenants whose size was never recorded (created before quotas existed). */
export async function unmeasuredTenants(q: Queryable): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>("SELECT id FROM tenants WHERE config_bytes = 0 ORDER BY id");
  return rows.map((r) => r.id);
}
