/**
 * Fast set-up of many tenants straight into the control plane's Postgres (one transaction,
 * generate_series): per tenant one upstream, one route and one invoke key (a hash only; no
 * request is ever sent with it). The control plane learns of them at the next publish, which
 * the benchmark triggers through the admin API.
 */
import pg from "pg";

export const SEED_PREFIX = "bench-";

export function seedTenantId(i: number): string {
  return `${SEED_PREFIX}${String(i).padStart(6, "0")}`;
}

const STATEMENTS = [
  `INSERT INTO tenants (id, name, plan)
   SELECT $1 || lpad(i::text, 6, '0'), 'Bench tenant ' || i, 'standard' FROM generate_series(1, $2) AS i`,
  `INSERT INTO upstreams (id, tenant_id, name, targets, connect_timeout_ms)
   SELECT 'up-' || t, t, 'main', ARRAY['http://127.0.0.1:9'], 5000
   FROM (SELECT $1 || lpad(i::text, 6, '0') AS t FROM generate_series(1, $2) AS i) s`,
  `INSERT INTO routes (id, tenant_id, path_prefix, upstream_id, timeout_ms)
   SELECT 'rt-' || t, t, '/api', 'up-' || t, 15000
   FROM (SELECT $1 || lpad(i::text, 6, '0') AS t FROM generate_series(1, $2) AS i) s`,
  `INSERT INTO api_keys (id, tenant_id, name, hash, scopes)
   SELECT 'key-' || t, t, 'bench', sha256(convert_to(t, 'UTF8')), ARRAY['invoke']
   FROM (SELECT $1 || lpad(i::text, 6, '0') AS t FROM generate_series(1, $2) AS i) s`,
];

/** Inserts tenants bench-000001..bench-<count>; resolves with the time it took. */
export async function seedTenants(pgUrl: string, count: number): Promise<number> {
  const started = performance.now();
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query("BEGIN");
    for (const sql of STATEMENTS) await client.query(sql, [SEED_PREFIX, count]);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await client.end();
  }
  return performance.now() - started;
}
