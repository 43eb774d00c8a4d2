/**
 * Versioned SQL migrations (store/migrations/NNNN_name.sql), applied in order, each in
 * its own transaction, recorded in schema_migrations with a checksum. A session advisory
 * lock serialises concurrent runners (several CP replicas starting at once): the second
 * waits, then finds nothing left to do. An applied migration whose file changed is an error.
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { CORRAL_LOCK_CLASS, LOCK_IDS, type Pool } from "./db.ts";

const MIGRATIONS_DIR = join(import.meta.dirname, "migrations");

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const sql = await readFile(join(dir, file), "utf8");
    const version = Number(file.slice(0, 4));
    if (migrations.some((m) => m.version === version))
      throw new Error(`duplicate migration version ${version}`);
    migrations.push({ version, name: file, sql, checksum: createHash("sha256").update(sql).digest("hex") });
  }
  return migrations;
}

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  checksum   text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Applies every pending migration; returns the names applied by this call. */
export async function migrate(pool: Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1, $2)", [CORRAL_LOCK_CLASS, LOCK_IDS.migrations]);
    try {
      await client.query(CREATE_TABLE);
      const applied = await appliedChecksums(client);
      const done: string[] = [];
      for (const m of migrations) {
        const known = applied.get(m.version);
        if (known !== undefined) {
          if (known !== m.checksum) throw new Error(`migration ${m.name} was changed after it was applied`);
          continue;
        }
        await applyOne(client, m);
        done.push(m.name);
      }
      return done;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1, $2)", [CORRAL_LOCK_CLASS, LOCK_IDS.migrations]);
    }
  } finally {
    client.release();
  }
}

async function appliedChecksums(client: Pick<Pool, "query">): Promise<Map<number, string>> {
  const { rows } = await client.query<{ version: number; checksum: string }>(
    "SELECT version, checksum FROM schema_migrations",
  );
  return new Map(rows.map((r) => [r.version, r.checksum]));
}

async function applyOne(client: Pick<Pool, "query">, m: Migration): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query(m.sql);
    await client.query("INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", [
      m.version,
      m.name,
      m.checksum,
    ]);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK");
    throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
  }
}
