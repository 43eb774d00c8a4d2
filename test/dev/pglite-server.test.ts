/** The dev Postgres with real `pg` clients: concurrent sessions stay correct, LISTEN/NOTIFY works, data persists. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { type PgliteServer, startPgliteServer } from "../../bin/dev/pglite-server.ts";

describe("PGlite socket server", { timeout: 60_000 }, () => {
  let dir: string;
  let server: PgliteServer;
  let pool: pg.Pool;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "corral-pglite-"));
    server = await startPgliteServer({ dataDir: join(dir, "db") });
    pool = new pg.Pool({ connectionString: server.url, max: 6 });
    await pool.query("create table items (id int primary key, note text)");
  });

  after(async () => {
    await pool?.end();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps concurrent parameterised queries and transactions of many connections apart", async () => {
    const results = await Promise.all(
      Array.from({ length: 120 }, async (_, i) => {
        if (i % 2 === 0) {
          const r = await pool.query("select $1::int as n, $2::text as s", [i, `s${i}`]);
          return r.rows[0].n === i && r.rows[0].s === `s${i}`;
        }
        const client = await pool.connect();
        try {
          await client.query("begin");
          await client.query("insert into items values ($1, $2)", [i, `n${i}`]);
          const r = await client.query("select note from items where id = $1", [i]);
          await client.query("commit");
          return r.rows[0]?.note === `n${i}`;
        } finally {
          client.release();
        }
      }),
    );
    assert.equal(results.filter((ok) => !ok).length, 0);
    assert.equal((await pool.query("select count(*)::int as n from items")).rows[0].n, 60);
  });

  it("delivers a NOTIFY from one connection to the connection that LISTENs", async () => {
    const listener = new pg.Client({ connectionString: server.url });
    await listener.connect();
    try {
      const got = new Promise<pg.Notification>((resolve) => listener.once("notification", resolve));
      await listener.query("LISTEN corral_test");
      await pool.query("select pg_notify('corral_test', $1)", ["v42"]);
      const n = await got;
      assert.equal(n.channel, "corral_test");
      assert.equal(n.payload, "v42");
    } finally {
      await listener.end();
    }
  });

  it("rolls back the open transaction of a client that disconnects, and others go on", async () => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    await client.query("begin");
    await client.query("insert into items values (9999, 'never committed')");
    const others = pool.query("select count(*)::int as n from items where id = 9999");
    await client.end();
    assert.equal((await others).rows[0].n, 0);
  });

  it("keeps a failed statement inside its own transaction", async () => {
    const client = await pool.connect();
    try {
      await client.query("begin");
      await assert.rejects(client.query("select 1/0"), /division by zero/);
      await client.query("rollback");
    } finally {
      client.release();
    }
    assert.equal((await pool.query("select 1 as one")).rows[0].one, 1);
  });

  it("persists data across a restart on the same directory", async () => {
    await pool.end();
    await server.close();
    server = await startPgliteServer({ dataDir: join(dir, "db") });
    pool = new pg.Pool({ connectionString: server.url, max: 2 });
    assert.equal((await pool.query("select count(*)::int as n from items")).rows[0].n, 60);
  });
});
