/**
 * Hourly usage rows (migration 0013, docs/design.md §3.5): requests per tenant, key, route,
 * outcome and UTC hour, added to by the replica a node reports to, read by the usage APIs,
 * pruned past the retention. Every read is scoped by tenant id, but the operators' top list.
 */
import type { Queryable } from "./db.ts";

export interface UsageRow {
  tenantId: string;
  /** '' = none */
  keyId: string;
  /** '' = none */
  routeId: string;
  outcome: string;
  /** start of the UTC hour, ms */
  hourMs: number;
  count: number;
}

/**
 * Adds the rows' counts. Rows of tenants that no longer exist are skipped (the tenant's rows go
 * with it when it is deleted). A key or route that is not the tenant's counts as '' (none), so
 * a node cannot make up ids to grow a tenant's rows: per tenant and hour there are at most
 * (keys + 1) x (routes + 1) x outcomes rows.
 */
export async function addUsage(q: Queryable, rows: readonly UsageRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const { rowCount } = await q.query(
    `INSERT INTO usage_hourly (tenant_id, hour, key_id, route_id, outcome, count)
     SELECT u.tenant_id, to_timestamp(u.hour_ms / 1000.0), COALESCE(k.id, ''), COALESCE(r.id, ''),
            u.outcome, sum(u.count)
     FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[])
       AS u(tenant_id, hour_ms, key_id, route_id, outcome, count)
     JOIN tenants t ON t.id = u.tenant_id
     LEFT JOIN api_keys k ON k.id = u.key_id AND k.tenant_id = u.tenant_id
     LEFT JOIN routes r ON r.id = u.route_id AND r.tenant_id = u.tenant_id
     GROUP BY 1, 2, 3, 4, 5
     ON CONFLICT (tenant_id, hour, key_id, route_id, outcome)
       DO UPDATE SET count = usage_hourly.count + EXCLUDED.count`,
    [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.hourMs),
      rows.map((r) => r.keyId),
      rows.map((r) => r.routeId),
      rows.map((r) => r.outcome),
      rows.map((r) => r.count),
    ],
  );
  return rowCount ?? 0;
}

/** Deletes the rows of hours before `beforeMs`, `batch` rows per statement (short locks); how many went. */
export async function pruneUsageBefore(q: Queryable, beforeMs: number, batch = 10_000): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await q.query(
      `DELETE FROM usage_hourly WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM usage_hourly WHERE hour < to_timestamp($1 / 1000.0) LIMIT $2))`,
      [beforeMs, batch],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < batch) return total;
  }
}

export type Granularity = "hour" | "day";
/** split each bucket by key or by route ('' = none) */
export type UsageSplit = "key" | "route";

const SPLIT_COLUMN: Record<UsageSplit, string> = { key: "key_id", route: "route_id" };

export interface UsageBucket {
  /** start of the hour or UTC day, ms */
  startMs: number;
  /** the key or route of this part of the bucket, when split */
  part?: string;
  admitted: number;
  /** refusals by reason */
  refused: Record<string, number>;
}

/** Rows (bucket, part, outcome) a history reads at most; undefined is answered past it. */
export const MAX_HISTORY_ROWS = 20_000;

/**
 * The tenant's requests in [fromMs, toMs) per hour or UTC day (and per key or route when
 * split), oldest first; empty buckets left out. Undefined when the window holds more than
 * MAX_HISTORY_ROWS rows (the caller asks for a narrower one).
 */
export async function usageHistory(
  q: Queryable,
  tenantId: string,
  window: { fromMs: number; toMs: number; granularity: Granularity; split?: UsageSplit },
): Promise<UsageBucket[] | undefined> {
  const part = window.split ? SPLIT_COLUMN[window.split] : "''";
  const { rows } = await q.query<{ start_ms: number; part: string; outcome: string; n: number }>(
    `SELECT (extract(epoch FROM date_trunc($4, hour AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') * 1000)::bigint AS start_ms,
            ${part} AS part, outcome, sum(count)::bigint AS n
     FROM usage_hourly
     WHERE tenant_id = $1 AND hour >= to_timestamp($2 / 1000.0) AND hour < to_timestamp($3 / 1000.0)
     GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT $5`,
    [tenantId, window.fromMs, window.toMs, window.granularity, MAX_HISTORY_ROWS + 1],
  );
  if (rows.length > MAX_HISTORY_ROWS) return undefined;
  const buckets: UsageBucket[] = [];
  for (const r of rows) {
    let b = buckets.at(-1);
    if (b?.startMs !== r.start_ms || (window.split && b.part !== r.part)) {
      b = { startMs: r.start_ms, ...(window.split ? { part: r.part } : {}), admitted: 0, refused: {} };
      buckets.push(b);
    }
    if (r.outcome === "admitted") b.admitted += r.n;
    else b.refused[r.outcome] = (b.refused[r.outcome] ?? 0) + r.n;
  }
  return buckets;
}

/**
 * Admitted requests of the tenant (of one key when given) in the hours that start in
 * [fromMs, toMs): the used part of a quota period when the counters in Redis are not at hand.
 */
export async function admittedBetween(
  q: Queryable,
  tenantId: string,
  fromMs: number,
  toMs: number,
  keyId?: string,
): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `SELECT COALESCE(sum(count), 0)::bigint AS n FROM usage_hourly
     WHERE tenant_id = $1 AND outcome = 'admitted' AND ($4::text IS NULL OR key_id = $4)
       AND hour >= to_timestamp($2 / 1000.0) AND hour < to_timestamp($3 / 1000.0)`,
    [tenantId, fromMs, toMs, keyId ?? null],
  );
  return rows[0]!.n;
}

/** The `limit` tenants with the most admitted requests in [fromMs, toMs), most first. */
export async function heaviestTenants(
  q: Queryable,
  fromMs: number,
  toMs: number,
  limit: number,
): Promise<{ tenantId: string; admitted: number; refused: number }[]> {
  const { rows } = await q.query<{ tenant_id: string; admitted: number; refused: number }>(
    `SELECT tenant_id,
            COALESCE(sum(count) FILTER (WHERE outcome = 'admitted'), 0)::bigint AS admitted,
            COALESCE(sum(count) FILTER (WHERE outcome <> 'admitted'), 0)::bigint AS refused
     FROM usage_hourly WHERE hour >= to_timestamp($1 / 1000.0) AND hour < to_timestamp($2 / 1000.0)
     GROUP BY tenant_id ORDER BY admitted DESC, tenant_id LIMIT $3`,
    [fromMs, toMs, limit],
  );
  return rows.map((r) => ({ tenantId: r.tenant_id, admitted: r.admitted, refused: r.refused }));
}
