/**
 * The incremental compile against real Postgres (migration 0009's triggers): after random
 * sequences of SQL changes to tenants, plans, keys, routes and upstreams — deletes and cascades
 * included — the payload it builds is byte-identical to Snapshot.encode of a full compile of the
 * same transaction's rows, and it re-encodes only the tenants a change touched.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, test } from "node:test";
import { compileSnapshot } from "../../control-plane/publish/compile.ts";
import { type CompileRun, IncrementalCompiler } from "../../control-plane/publish/incremental-compile.ts";
import { compileSource } from "../../control-plane/publish/snapshot-content.ts";
import { createPool, type Pool, withTransaction } from "../../control-plane/store/db.ts";
import { loadFleetRows } from "../../control-plane/store/fleet-rows.ts";
import { migrate } from "../../control-plane/store/migrate.ts";
import { pruneTenantChanges } from "../../control-plane/store/tenant-changes.ts";
import { Snapshot } from "../../proto/gen/corral/snapshot/v1/snapshot.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";

let server: TestPostgres;
let pool: Pool;

before(async () => {
  server = await startPostgres();
  pool = createPool(server.url, { max: 2 });
  await migrate(pool);
});

after(async () => {
  await pool?.end();
  await server?.stop();
});

const opts = (version: number) => ({ version, epoch: 1, createdAtMs: 1_000 + version, nowMs: 1_000 });

/** Compiles both ways in one repeatable-read transaction; returns the incremental result. */
async function compileBoth(compiler: IncrementalCompiler, version: number, run: CompileRun = {}) {
  return withTransaction(
    pool,
    async (tx) => {
      const incremental = await compiler.compile(compileSource(tx), opts(version), run);
      const full = Buffer.from(
        Snapshot.encode(compileSnapshot(await loadFleetRows(tx), opts(version))).finish(),
      );
      assert.ok(incremental.payload.equals(full), `version ${version}: incremental and full payloads differ`);
      return incremental;
    },
    "repeatable read",
  );
}

function prng(seed: number): (n: number) => number {
  let a = seed;
  return (n) => {
    a = (a * 1103515245 + 12345) % 2147483648;
    return a % n;
  };
}

const sql = (text: string, params: unknown[] = []) => pool.query(text, params);
const tenantIds = async () => (await sql("SELECT id FROM tenants")).rows.map((r) => r.id as string);

async function randomChange(rnd: (n: number) => number, step: number): Promise<void> {
  const ids = await tenantIds();
  const t = ids[rnd(ids.length)];
  const kind = ids.length < 8 ? 0 : rnd(9);
  const id = `s${step}`;
  switch (kind) {
    case 0: // ids whose collation order and code-unit order may differ
      await sql("INSERT INTO tenants (id, name, plan) VALUES ($1, $2, $3)", [
        rnd(2) ? `a-${step}` : `a${step}`,
        `T ${step}`,
        ["free", "standard", "enterprise"][rnd(3)],
      ]);
      return;
    case 1:
      await sql("UPDATE tenants SET name = $2, status = $3 WHERE id = $1", [
        t,
        `N ${step}`,
        rnd(2) ? "active" : "suspended",
      ]);
      return;
    case 2:
      await sql("UPDATE tenants SET plan = $2, shard_size = $3 WHERE id = $1", [
        t,
        rnd(2) ? "free" : "standard",
        rnd(2) ? null : 1 + rnd(4),
      ]);
      return;
    case 3:
      await sql("INSERT INTO api_keys (id, tenant_id, hash, scopes) VALUES ($1, $2, $3, '{invoke}')", [
        id,
        t,
        createHash("sha256").update(id).digest(),
      ]);
      return;
    case 4:
      await sql(
        "UPDATE api_keys SET revoked_at = now() WHERE id = (SELECT id FROM api_keys WHERE tenant_id = $1 AND revoked_at IS NULL LIMIT 1)",
        [t],
      );
      return;
    case 5:
      await sql(
        "INSERT INTO upstreams (id, tenant_id, name, targets, connect_timeout_ms) VALUES ($1, $2, $1, '{http://up.test}', 500)",
        [id, t],
      );
      await sql(
        "INSERT INTO routes (id, tenant_id, path_prefix, upstream_id, timeout_ms) VALUES ($1, $2, $3, $1, 1000)",
        [id, t, `/${id}`],
      );
      return;
    case 6:
      await sql("DELETE FROM routes WHERE id = (SELECT id FROM routes WHERE tenant_id = $1 LIMIT 1)", [t]);
      return;
    case 7:
      await sql("UPDATE plans SET burst = burst + 1, shard_size = $1 WHERE name = 'standard'", [1 + rnd(4)]);
      return;
    default:
      await sql("DELETE FROM tenants WHERE id = $1", [t]);
  }
}

test("after random SQL changes the incremental payload equals Snapshot.encode of a full compile", async () => {
  const compiler = new IncrementalCompiler();
  const rnd = prng(7);
  let version = 1;
  let fromLog = 0;
  await compileBoth(compiler, version++);
  for (let step = 0; step < 150; step++) {
    await randomChange(rnd, step);
    if (rnd(3) === 0) continue;
    const { scanned, tenants } = await compileBoth(compiler, version++);
    if (scanned < tenants) fromLog++;
    // now and then the log is pruned up to the last compile, as the publisher does
    if (rnd(4) === 0) await pruneTenantChanges(pool, compiler.position!);
  }
  assert.ok((await tenantIds()).length > 5, "the sequence kept some tenants");
  assert.ok(fromLog > 50, `${fromLog} compiles read the changed tenants from the change log`);
});

test("a change to one tenant's key, route or upstream re-encodes that tenant alone", async () => {
  await sql(
    "INSERT INTO tenants (id, name, plan) SELECT 'bulk-' || i, 'Bulk', 'free' FROM generate_series(1, 50) i",
  );
  const compiler = new IncrementalCompiler();
  await compileBoth(compiler, 1000);
  assert.equal((await compileBoth(compiler, 1001)).encoded, 0);
  await sql(
    "INSERT INTO upstreams (id, tenant_id, name, targets, connect_timeout_ms) VALUES ('bu', 'bulk-7', 'bu', '{http://up.test}', 500)",
  );
  assert.equal((await compileBoth(compiler, 1002)).encoded, 1, "a new upstream");
  await sql("INSERT INTO api_keys (id, tenant_id, hash, scopes) VALUES ('bk', 'bulk-9', $1, '{invoke}')", [
    createHash("sha256").update("bk").digest(),
  ]);
  assert.equal((await compileBoth(compiler, 1003)).encoded, 1, "a new key");
  await sql("UPDATE api_keys SET revoked_at = now() WHERE id = 'bk'");
  assert.equal((await compileBoth(compiler, 1004)).encoded, 1, "a revoked key");
  await sql("DELETE FROM upstreams WHERE id = 'bu'");
  assert.equal((await compileBoth(compiler, 1005)).encoded, 1, "a deleted upstream");
});

test("a change committed after a compile's snapshot but begun before it is in the next compile", async () => {
  await sql("INSERT INTO tenants (id, name, plan) VALUES ('late-a', 'A', 'free'), ('late-b', 'B', 'free')");
  const compiler = new IncrementalCompiler();
  await compileBoth(compiler, 2000);
  // a transaction takes its id (and writes) before the compile reads, and commits after it
  const slow = await pool.connect();
  try {
    await slow.query("BEGIN");
    await slow.query("UPDATE tenants SET name = 'slow' WHERE id = 'late-a'");
    await sql("UPDATE tenants SET name = 'quick' WHERE id = 'late-b'");
    const between = await compileBoth(compiler, 2001);
    assert.deepEqual([between.scanned, between.encoded], [1, 1], "late-b only: late-a is not committed");
    await slow.query("COMMIT");
  } finally {
    slow.release();
  }
  const next = await compileBoth(compiler, 2002);
  assert.deepEqual(
    [next.scanned, next.encoded],
    [1, 1],
    "late-a, committed after the last compile's snapshot",
  );
});

test("a change missing from the log is found by a full scan; a log pruned past the last compile is not trusted", async () => {
  await sql("INSERT INTO tenants (id, name, plan) VALUES ('miss-a', 'A', 'free'), ('miss-b', 'B', 'free')");
  const compiler = new IncrementalCompiler();
  await compileBoth(compiler, 3000);
  // a write the log never saw (its row removed, as if written with the triggers off)
  await withTransaction(pool, async (tx) => {
    await tx.query("UPDATE tenants SET name = 'unlogged' WHERE id = 'miss-a'");
    await tx.query("DELETE FROM tenant_changes WHERE tenant_id = 'miss-a' AND xid = pg_current_xact_id()");
  });
  const blind = await withTransaction(
    pool,
    (tx) => compiler.compile(compileSource(tx), opts(3001)),
    "repeatable read",
  );
  assert.equal(blind.encoded, 0, "the log did not name it");
  const scan = await compileBoth(compiler, 3002, { full: true });
  assert.equal(scan.encoded, 1, "the full scan re-encoded it");
  assert.equal(scan.scanned, scan.tenants);

  // another replica pruned the log past this compiler's last position
  const stale = compiler.position!;
  await sql("UPDATE tenants SET name = 'moved' WHERE id = 'miss-b'");
  await compileBoth(new IncrementalCompiler(), 3003);
  await sql("UPDATE tenants SET name = 'moved again' WHERE id = 'miss-b'");
  const other = new IncrementalCompiler();
  await compileBoth(other, 3004);
  await pruneTenantChanges(pool, other.position!);
  assert.equal(compiler.position, stale);
  const after = await compileBoth(compiler, 3005);
  assert.equal(after.scanned, after.tenants, "a full scan");
  assert.equal(after.encoded, 1);
});
