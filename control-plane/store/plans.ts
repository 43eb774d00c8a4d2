/**
 * Plans: the default limits of the tenants on them (rate, burst, concurrency, priority, shard
 * size) and their default quotas (quota-columns.ts, rules in service/quotas.ts). A plan in use cannot be deleted. Changes are checked against the rule every tenant's
 * effective limits must keep: a positive rate needs a burst of at least 1.
 */
import { CorralError } from "../errors.ts";
import { QUOTA_COLUMNS, QUOTA_NAMES, type Quotas } from "./quota-columns.ts";
import type { Queryable } from "./db.ts";
import {
  PERIOD_QUOTA_COLUMNS,
  type PeriodQuota,
  type PeriodQuotaView,
  quotaValues,
  quotaView,
  rowQuota,
} from "./period-quota.ts";
import type { PlanRow, Priority } from "./tenants.ts";

export interface PlanLimits {
  rate: number;
  burst: number;
  concurrency: number;
  priority: Priority;
  shardSize: number;
  /** absent members: a new plan gets the schema's defaults, a replaced plan keeps its values */
  quotas?: Partial<Quotas>;
  /** the period quota of usage plans: null = none; absent: a new plan has none, a replaced one keeps it */
  quota?: PeriodQuota | null;
}

export interface Plan extends Omit<PlanLimits, "quota"> {
  name: string;
  quotas: Quotas;
  quota: PeriodQuotaView | null;
  /** how many tenants are on the plan */
  tenants: number;
}

type PlanCountRow = PlanRow & { tenants: number; quotas: Quotas };

const SELECT_PLANS = `SELECT p.name, p.rate, p.burst, p.concurrency, p.priority, p.shard_size,
    p.quota_limit, p.quota_period, p.quota_offset_ms,
    json_build_object(${QUOTA_NAMES.map((n) => `'${n}', p.${QUOTA_COLUMNS[n]}`).join(", ")}) AS quotas,
    (SELECT count(*)::int FROM tenants t WHERE t.plan = p.name) AS tenants
  FROM plans p`;

function toPlan(r: PlanCountRow): Plan {
  return {
    name: r.name,
    rate: r.rate,
    burst: r.burst,
    concurrency: r.concurrency,
    priority: r.priority,
    shardSize: r.shard_size,
    quotas: r.quotas,
    quota: quotaView(rowQuota(r)),
    tenants: r.tenants,
  };
}

export async function listPlanViews(q: Queryable): Promise<Plan[]> {
  const { rows } = await q.query<PlanCountRow>(`${SELECT_PLANS} ORDER BY p.name`);
  return rows.map(toPlan);
}

export async function getPlan(q: Queryable, name: string): Promise<Plan | undefined> {
  const { rows } = await q.query<PlanCountRow>(`${SELECT_PLANS} WHERE p.name = $1`, [name]);
  return rows[0] && toPlan(rows[0]);
}

/** Creates or replaces a plan; `created` tells which. */
export async function putPlan(
  q: Queryable,
  name: string,
  p: PlanLimits,
): Promise<{ plan: Plan; created: boolean }> {
  const { rows } = await q.query<{ created: boolean }>(
    `INSERT INTO plans (name, rate, burst, concurrency, priority, shard_size) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (name) DO UPDATE SET rate = EXCLUDED.rate, burst = EXCLUDED.burst,
       concurrency = EXCLUDED.concurrency, priority = EXCLUDED.priority, shard_size = EXCLUDED.shard_size
     RETURNING (xmax = 0) AS created`,
    [name, p.rate, p.burst, p.concurrency, p.priority, p.shardSize],
  );
  const quotas = QUOTA_NAMES.filter((n) => p.quotas?.[n] !== undefined);
  if (quotas.length > 0) {
    const sets = quotas.map((n, i) => `${QUOTA_COLUMNS[n]} = $${i + 2}`);
    await q.query(`UPDATE plans SET ${sets.join(", ")} WHERE name = $1`, [
      name,
      ...quotas.map((n) => p.quotas![n]),
    ]);
  }
  if (p.quota !== undefined)
    await q.query(`UPDATE plans SET (${PERIOD_QUOTA_COLUMNS}) = ($2, $3, $4) WHERE name = $1`, [
      name,
      ...quotaValues(p.quota),
    ]);
  return { plan: (await getPlan(q, name))!, created: rows[0]!.created };
}

/** Deletes an unused plan; false when there is none. Locks the plan so no tenant joins it meanwhile. */
export async function deletePlan(q: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await q.query("SELECT 1 FROM plans WHERE name = $1 FOR UPDATE", [name]);
  if (!rowCount) return false;
  const { rows } = await q.query<{ n: number }>("SELECT count(*)::int AS n FROM tenants WHERE plan = $1", [
    name,
  ]);
  if (rows[0]!.n > 0) {
    throw new CorralError("CORRAL_ADMIN_IN_USE", `plan ${name} is used by ${rows[0]!.n} tenant(s)`, {
      tenants: rows[0]!.n,
    });
  }
  await q.query("DELETE FROM plans WHERE name = $1", [name]);
  return true;
}

/**
 * Tenants (up to `limit`) whose effective limits (plan merged with their overrides) have a
 * positive rate but a burst below 1, among those on `plan` or the one tenant `tenantId`.
 */
export async function tenantsWithUncoveredRate(
  q: Queryable,
  where: { plan: string } | { tenantId: string },
  limit = 5,
): Promise<{ id: string; rate: number; burst: number }[]> {
  const [column, value] = "plan" in where ? ["t.plan", where.plan] : ["t.id", where.tenantId];
  const { rows } = await q.query<{ id: string; rate: number; burst: number }>(
    `SELECT t.id, COALESCE(t.rate, p.rate) AS rate, COALESCE(t.burst, p.burst) AS burst
     FROM tenants t JOIN plans p ON p.name = t.plan
     WHERE ${column} = $1 AND COALESCE(t.rate, p.rate) > 0 AND COALESCE(t.burst, p.burst) < 1
     ORDER BY t.id LIMIT $2`,
    [value, limit],
  );
  return rows;
}
