/** Tenants and plans. Ids are slugs; listing is keyset-paginated by id. */
import { CorralError } from "../errors.ts";
import { QUOTA_COLUMNS, QUOTA_NAMES, type QuotaOverrides } from "./quota-columns.ts";
import { type Queryable, SQLSTATE, sqlState } from "./db.ts";
import {
  PERIOD_QUOTA_COLUMNS,
  type PeriodQuota,
  type PeriodQuotaColumns,
  type PeriodQuotaView,
  quotaValues,
  quotaView,
  rowQuota,
} from "./period-quota.ts";

export type Priority = "batch" | "standard" | "critical";
export type TenantStatus = "active" | "suspended";

/** Per-tenant overrides of the plan's limits; an absent member means "the plan's value". */
export interface LimitOverrides {
  rate?: number;
  burst?: number;
  concurrency?: number;
  priority?: Priority;
  shardSize?: number;
  /** the tenant's limiters count but do not reject */
  shadow?: boolean;
  /** kill switch: the tenant's limiters are off */
  disabled?: boolean;
  /** the tenant's own period quota (null: none, whatever the plan says); absent: the plan's */
  quota?: PeriodQuotaView | null;
}

/** A change of the tenant's period quota override: a quota, null (none) or "plan" (the plan's). */
export type QuotaOverride = PeriodQuota | null | "plan";

export interface Tenant {
  id: string;
  name: string;
  plan: string;
  status: TenantStatus;
  limits: LimitOverrides;
  /** the tenant's own egress exceptions (canonical allow entries), set by operators only */
  egressAllow: string[];
  createdAt: string;
  updatedAt: string;
}

export interface NewTenant {
  id: string;
  name: string;
  plan: string;
  status: TenantStatus;
  limits?: { [K in keyof LimitOverrides]?: LimitOverrides[K] | null };
  /** canonical allow entries (normalizeAllowList) */
  egressAllow?: string[];
  /** overrides of the plan's quotas (admin API only; read back through GET .../usage) */
  quotas?: QuotaOverrides;
  /** the period quota override (admin API only), parsed from limits.quota */
  quotaOverride?: QuotaOverride;
}

export type TenantPatch = Partial<Omit<NewTenant, "id">>;

export interface TenantRow extends PeriodQuotaColumns {
  id: string;
  name: string;
  plan: string;
  status: TenantStatus;
  rate: number | null;
  burst: number | null;
  concurrency: number | null;
  priority: Priority | null;
  shard_size: number | null;
  limits_shadow: boolean | null;
  limits_disabled: boolean | null;
  egress_allow: string[];
  /** false: the plan's period quota; true: the row's quota columns (limit NULL = none) */
  quota_override?: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface PlanRow extends PeriodQuotaColumns {
  name: string;
  rate: number;
  burst: number;
  concurrency: number;
  priority: Priority;
  shard_size: number;
}

export const TENANT_COLUMNS = `id, name, plan, status, rate, burst, concurrency, priority, shard_size, limits_shadow,
  limits_disabled, egress_allow, quota_override, ${PERIOD_QUOTA_COLUMNS}, created_at, updated_at`;

/** The columns a plan is compiled from. */
export const PLAN_COLUMNS = `name, rate, burst, concurrency, priority, shard_size, ${PERIOD_QUOTA_COLUMNS}`;

/** The tenant's period quota override: undefined = the plan's, null = none. */
export function tenantQuotaOverride(r: TenantRow): PeriodQuota | null | undefined {
  return r.quota_override ? (rowQuota(r) ?? null) : undefined;
}

/** API field -> column of each limit override */
const LIMIT_COLUMNS = {
  rate: "rate",
  burst: "burst",
  concurrency: "concurrency",
  priority: "priority",
  shardSize: "shard_size",
  shadow: "limits_shadow",
  disabled: "limits_disabled",
} as const;

export function toTenant(r: TenantRow): Tenant {
  const limits: LimitOverrides = {};
  if (r.rate !== null) limits.rate = r.rate;
  if (r.burst !== null) limits.burst = r.burst;
  if (r.concurrency !== null) limits.concurrency = r.concurrency;
  if (r.priority !== null) limits.priority = r.priority;
  if (r.shard_size !== null) limits.shardSize = r.shard_size;
  if (r.limits_shadow !== null) limits.shadow = r.limits_shadow;
  if (r.limits_disabled !== null) limits.disabled = r.limits_disabled;
  if (r.quota_override) limits.quota = quotaView(rowQuota(r));
  return {
    id: r.id,
    name: r.name,
    plan: r.plan,
    status: r.status,
    limits,
    egressAllow: [...r.egress_allow],
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function integrityError(err: unknown, id: string, plan: string | undefined): unknown {
  const state = sqlState(err);
  if (state === SQLSTATE.uniqueViolation)
    return new CorralError("CORRAL_ADMIN_CONFLICT", `tenant ${id} already exists`);
  if (state === SQLSTATE.foreignKeyViolation)
    return new CorralError("CORRAL_ADMIN_VALIDATION", `plan ${JSON.stringify(plan)} does not exist`);
  return err;
}

export async function insertTenant(q: Queryable, t: NewTenant): Promise<Tenant> {
  const l = t.limits ?? {};
  try {
    const { rows } = await q.query<TenantRow>(
      `INSERT INTO tenants (id, name, plan, status, rate, burst, concurrency, priority, shard_size,
                            limits_shadow, limits_disabled, egress_allow)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${TENANT_COLUMNS}`,
      [
        t.id,
        t.name,
        t.plan,
        t.status,
        l.rate,
        l.burst,
        l.concurrency,
        l.priority,
        l.shardSize,
        l.shadow,
        l.disabled,
        t.egressAllow ?? [],
      ],
    );
    if (t.quotas) await setQuotaOverrides(q, t.id, t.quotas);
    if (t.quotaOverride !== undefined) return (await setPeriodQuotaOverride(q, t.id, t.quotaOverride))!;
    return toTenant(rows[0]!);
  } catch (err) {
    throw integrityError(err, t.id, t.plan);
  }
}

/** Sets the given quota overrides (null clears one); absent members stay as they are. */
async function setQuotaOverrides(q: Queryable, id: string, quotas: QuotaOverrides): Promise<void> {
  const names = QUOTA_NAMES.filter((n) => quotas[n] !== undefined);
  if (names.length === 0) return;
  const sets = names.map((n, i) => `${QUOTA_COLUMNS[n]} = $${i + 2}`);
  await q.query(`UPDATE tenants SET ${sets.join(", ")} WHERE id = $1`, [id, ...names.map((n) => quotas[n])]);
}

/** Sets (or, with "plan", clears) the tenant's period quota override; the tenant after it. */
async function setPeriodQuotaOverride(
  q: Queryable,
  id: string,
  quota: QuotaOverride,
): Promise<Tenant | undefined> {
  const { rows } = await q.query<TenantRow>(
    `UPDATE tenants SET quota_override = $2, (${PERIOD_QUOTA_COLUMNS}) = ($3, $4, $5), updated_at = now()
     WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
    [id, quota !== "plan", ...quotaValues(quota === "plan" ? null : quota)],
  );
  return rows[0] && toTenant(rows[0]);
}

export async function getTenant(q: Queryable, id: string): Promise<Tenant | undefined> {
  const { rows } = await q.query<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = $1`, [id]);
  return rows[0] && toTenant(rows[0]);
}

/** Throws CORRAL_ADMIN_NOT_FOUND unless the tenant exists; locks it against deletion until commit. */
export async function assertTenantExists(q: Queryable, id: string): Promise<void> {
  const { rowCount } = await q.query("SELECT 1 FROM tenants WHERE id = $1 FOR KEY SHARE", [id]);
  if (!rowCount) throw new CorralError("CORRAL_ADMIN_NOT_FOUND", `tenant ${id} not found`);
}

export interface TenantPage {
  items: Tenant[];
  /** id of the last item when more follow */
  lastId: string | undefined;
}

/** A page of tenants by id after `afterId`; `search`: only those whose id or name contains it, any case. */
export async function listTenants(
  q: Queryable,
  limit: number,
  afterId?: string,
  search?: string,
): Promise<TenantPage> {
  const { rows } = await q.query<TenantRow>(
    `SELECT ${TENANT_COLUMNS} FROM tenants
     WHERE ($1::text IS NULL OR id > $1)
       AND ($3::text IS NULL OR strpos(lower(id), lower($3)) > 0 OR strpos(lower(name), lower($3)) > 0)
     ORDER BY id LIMIT $2`,
    [afterId ?? null, limit + 1, search ?? null],
  );
  const more = rows.length > limit;
  const items = rows.slice(0, limit).map(toTenant);
  return { items, lastId: more ? items.at(-1)?.id : undefined };
}

export async function updateTenant(
  q: Queryable,
  id: string,
  patch: TenantPatch,
): Promise<Tenant | undefined> {
  const sets: string[] = [];
  const values: unknown[] = [id];
  const set = (column: string, value: unknown) => {
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  };
  if (patch.name !== undefined) set("name", patch.name);
  if (patch.plan !== undefined) set("plan", patch.plan);
  if (patch.status !== undefined) set("status", patch.status);
  if (patch.egressAllow !== undefined) set("egress_allow", patch.egressAllow);
  for (const [field, column] of Object.entries(LIMIT_COLUMNS)) {
    const value = patch.limits?.[field as keyof LimitOverrides];
    if (value !== undefined) set(column, value);
  }
  if (patch.quotas) await setQuotaOverrides(q, id, patch.quotas);
  if (patch.quotaOverride !== undefined) await setPeriodQuotaOverride(q, id, patch.quotaOverride);
  if (sets.length === 0) return getTenant(q, id);
  try {
    const { rows } = await q.query<TenantRow>(
      `UPDATE tenants SET ${sets.join(", ")}, updated_at = now() WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
      values,
    );
    return rows[0] && toTenant(rows[0]);
  } catch (err) {
    throw integrityError(err, id, patch.plan);
  }
}

/** Deletes the tenant with its keys, routes and upstreams. */
export async function deleteTenant(q: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await q.query("DELETE FROM tenants WHERE id = $1", [id]);
  return (rowCount ?? 0) > 0;
}

export async function listPlans(q: Queryable): Promise<PlanRow[]> {
  const { rows } = await q.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM plans ORDER BY name`);
  return rows;
}

/** The tenant's row and its plan's (undefined: no such tenant). */
export async function getTenantAndPlan(
  q: Queryable,
  id: string,
): Promise<{ tenant: TenantRow; plan: PlanRow | undefined } | undefined> {
  const { rows } = await q.query<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = $1`, [id]);
  const tenant = rows[0];
  if (!tenant) return undefined;
  const plans = await q.query<PlanRow>(`SELECT ${PLAN_COLUMNS} FROM plans WHERE name = $1`, [tenant.plan]);
  return { tenant, plan: plans.rows[0] };
}
