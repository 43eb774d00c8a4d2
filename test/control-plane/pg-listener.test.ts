/** The LISTEN connection against a real Postgres: notifications arrive, and after the server drops it, it reconnects. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import pg from "pg";
import { pino } from "pino";
import { PgListener } from "../../control-plane/publish/pg-listener.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";
import { poll } from "../support/poll.ts";

let server: TestPostgres;
let admin: pg.Client;

before(async () => {
  server = await startPostgres();
  admin = new pg.Client(server.url);
  await admin.connect();
});

after(async () => {
  await admin.end();
  await server.stop();
});

test("receives notifications, and after its connection is killed reconnects and tells its subscriber", async () => {
  const received: string[] = [];
  let connects = 0;
  const listener = new PgListener(
    {
      url: server.url,
      channels: ["corral_versions", "corral_changes"],
      logger: pino({ level: "silent" }),
      applicationName: "listener-under-test",
      baseDelayMs: 20,
    },
    {
      notification: (channel, payload) => received.push(`${channel}:${payload}`),
      connected: () => {
        connects++;
      },
    },
  );
  await listener.start();
  assert.equal(connects, 1);
  await admin.query("SELECT pg_notify('corral_versions', '7'), pg_notify('corral_changes', '3')");
  await poll("both notifications", async () => received.length === 2);
  assert.deepEqual(received, ["corral_versions:7", "corral_changes:3"]);

  const killed = await admin.query(
    "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'listener-under-test'",
  );
  assert.equal(killed.rows.length, 1);
  await poll("the listener reconnected", async () => connects === 2 && listener.listening, 5000);
  await admin.query("SELECT pg_notify('corral_versions', '8')");
  await poll("the notification after the reconnect", async () => received.includes("corral_versions:8"));
  await listener.close();
  assert.equal(listener.listening, false);
});

test("refuses channel names that are not plain identifiers", () => {
  const handlers = { notification: () => {}, connected: () => {} };
  const logger = pino({ level: "silent" });
  assert.throws(
    () => new PgListener({ url: server.url, channels: ["x; DROP TABLE y"], logger }, handlers),
    /invalid channel/,
  );
});
