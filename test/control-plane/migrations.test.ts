import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import pg from "pg";
import { runMigrations } from "../../control-plane/main.ts";
import { createPool, type Pool } from "../../control-plane/store/db.ts";
import { loadMigrations, migrate } from "../../control-plane/store/migrate.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";

const MIGRATIONS = new URL("../../control-plane/store/migrations/", import.meta.url);
const TABLES = [
  "api_keys",
  "config_changes",
  "config_versions",
  "idempotency_keys",
  "nodes",
  "operator_tokens",
  "plans",
  "publisher_lease",
  "routes",
  "schema_migrations",
  "settings",
  "slots",
  "tenant_changes",
  "tenant_changes_horizon",
  "tenants",
  "upstreams",
  "usage_hourly",
  "version_reports",
];

let server: TestPostgres;
const pools: Pool[] = [];

async function freshDatabase(name: string): Promise<Pool> {
  const admin = new pg.Client(server.url);
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(server.url);
  url.pathname = `/${name}`;
  const pool = createPool(url.toString(), { max: 4 });
  pools.push(pool);
  return pool;
}

async function tables(pool: Pool): Promise<string[]> {
  const { rows } = await pool.query<{ t: string }>(
    "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  );
  return rows.map((r) => r.t);
}

before(async () => {
  server = await startPostgres();
});

after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server.stop();
});

test("from an empty database every migration applies, and a re-run applies nothing", async () => {
  const pool = await freshDatabase("m_empty");
  assert.deepEqual(await tables(pool), []);
  const all = (await loadMigrations()).map((m) => m.name);
  assert.deepEqual(await migrate(pool), all);
  assert.deepEqual(await tables(pool), TABLES);
  const plans = await pool.query("SELECT name FROM plans ORDER BY name");
  assert.deepEqual(
    plans.rows.map((r) => r.name),
    ["enterprise", "free", "standard"],
  );
  const lease = await pool.query("SELECT name, epoch FROM publisher_lease");
  assert.deepEqual(lease.rows, [{ name: "publisher", epoch: 0 }]);
  assert.deepEqual(await migrate(pool), []);
  const recorded = await pool.query("SELECT name FROM schema_migrations ORDER BY version");
  assert.deepEqual(
    recorded.rows.map((r) => r.name),
    all,
  );
});

test("replicas migrating at the same time apply each migration exactly once", async () => {
  const pool = await freshDatabase("m_race");
  const other = await freshDatabaseAlias(pool);
  const results = await Promise.all([migrate(pool), migrate(other), migrate(pool)]);
  assert.equal(results.flat().length, (await loadMigrations()).length);
  assert.deepEqual(await tables(pool), TABLES);
});

/** a second pool on the same database (another "replica") */
async function freshDatabaseAlias(pool: Pool): Promise<Pool> {
  const url = new URL(server.url);
  url.pathname = `/${(await pool.query("SELECT current_database() AS d")).rows[0].d}`;
  const alias = createPool(url.toString(), { max: 2 });
  pools.push(alias);
  return alias;
}

test("a failing migration rolls back entirely; an edited applied migration is refused", async () => {
  const pool = await freshDatabase("m_fail");
  const dir = await mkdtemp(join(tmpdir(), "corral-migrations-"));
  try {
    await copyFile(new URL("0001_init.sql", MIGRATIONS), join(dir, "0001_init.sql"));
    await writeFile(join(dir, "0002_broken.sql"), "CREATE TABLE half_done (x int);\nSELECT 1 / 0;\n");
    await assert.rejects(migrate(pool, dir), /0002_broken\.sql failed: division by zero/);
    assert.ok(!(await tables(pool)).includes("half_done"));
    const versions = await pool.query("SELECT version FROM schema_migrations");
    assert.deepEqual(
      versions.rows.map((r) => r.version),
      [1],
    );
    const original = await readFile(new URL("0001_init.sql", MIGRATIONS), "utf8");
    await writeFile(join(dir, "0001_init.sql"), `${original}\n-- edited\n`);
    await rm(join(dir, "0002_broken.sql"));
    await assert.rejects(migrate(pool, dir), /0001_init\.sql was changed after it was applied/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("runMigrations migrates with the control plane's settings and refuses unknown ones", async () => {
  const pool = await freshDatabase("m_cli");
  const url = new URL(server.url);
  url.pathname = "/m_cli";
  await runMigrations({
    CORRAL_PG_URL: url.toString(),
    CORRAL_LOG_LEVEL: "silent",
    CORRAL_NODE_SECRET: "x".repeat(32),
  });
  assert.deepEqual(await tables(pool), TABLES);
  await assert.rejects(
    runMigrations({ CORRAL_PG_URL: url.toString(), CORRAL_LOG_LEVEL: "silent", CORRAL_BOGUS: "1" }),
    /CORRAL_BOGUS is not a setting/,
  );
});
