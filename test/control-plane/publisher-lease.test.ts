/**
 * The publisher lease against a real Postgres: one conditional UPDATE takes and renews it on
 * the database clock, a takeover bumps the epoch, and a publisher whose epoch is no longer
 * current records nothing (the fence), even while its own clock still lets it act — the
 * window a paused process wakes up in.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pino } from "pino";
import { LATEST_KEY, parsePointer, snapshotKey } from "../../proto/blob-keys.ts";
import { BlobNotFoundError } from "../../runtime/blob-store/blob-store.ts";
import { FsBlobStore } from "../../runtime/blob-store/fs-blob-store.ts";
import { generateSigningKeyPair, parsePrivateKey } from "../../proto/signing-keys.ts";
import { CorralError } from "../../control-plane/errors.ts";
import { ControlPlaneMetrics } from "../../control-plane/metrics.ts";
import type { Timers } from "../../control-plane/publish/debounce.ts";
import type { LeaseEvents } from "../../control-plane/publish/lease.ts";
import { leaseTiming } from "../../control-plane/publish/lease-timing.ts";
import { PostgresLease } from "../../control-plane/publish/postgres-lease.ts";
import { Publisher } from "../../control-plane/publish/publisher.ts";
import { SnapshotRetention } from "../../control-plane/publish/snapshot-retention.ts";
import { LocalVersionFeed } from "../../control-plane/publish/version-feed.ts";
import { insertVersion } from "../../control-plane/store/config-versions.ts";
import { createPool, type Pool } from "../../control-plane/store/db.ts";
import { migrate } from "../../control-plane/store/migrate.ts";
import { readLease } from "../../control-plane/store/publisher-lease.ts";
import { startPostgres, type TestPostgres } from "../support/postgres.ts";
import { poll } from "../support/poll.ts";

const TTL_MS = 400;
const silent = pino({ level: "silent" });
let server: TestPostgres;
let pool: Pool;
let blobDir: string;

before(async () => {
  server = await startPostgres();
  pool = createPool(server.url, { max: 6 });
  await migrate(pool);
  blobDir = await mkdtemp(join(tmpdir(), "corral-lease-blobs-"));
});

after(async () => {
  await pool.end();
  await server.stop();
  await rm(blobDir, { recursive: true, force: true });
});

/** A clock that only moves when told to; timers never fire (the test calls tick()). */
function manualClock(): Timers & { set(ms: number): void } {
  let now = 0;
  return {
    now: () => now,
    set: (ms) => {
      now = ms;
    },
    setTimeout: () => 0,
    clearTimeout: () => {},
  };
}

function replica(holder: string) {
  const clock = manualClock();
  const events: string[] = [];
  const listener: LeaseEvents = {
    acquired: (epoch, first) => events.push(`acquired ${epoch}${first ? " first" : ""}`),
    lost: (epoch) => events.push(`lost ${epoch}`),
  };
  const lease = new PostgresLease({
    db: pool,
    holder,
    timing: leaseTiming({ ttlMs: TTL_MS }),
    logger: silent,
    timers: clock,
  });
  return { lease, clock, events, start: () => lease.start(listener) };
}

const databaseSaysExpired = () =>
  poll(
    "the lease row expired in the database",
    async () => (await readLease(pool, "publisher")).remainingMs === 0,
    5000,
  );

test("the first replica takes the lease with epoch 1, renews it in place, and the second waits", async () => {
  const a = replica("cp-a");
  const b = replica("cp-b");
  await a.start();
  await b.start();
  assert.deepEqual(a.events, ["acquired 1 first"]);
  assert.equal(a.lease.currentEpoch(), 1);
  assert.deepEqual(b.events, []);
  assert.equal(b.lease.currentEpoch(), undefined);
  assert.equal(b.lease.observedEpoch, 1);

  a.clock.set(100);
  await a.lease.tick();
  assert.deepEqual(a.events, ["acquired 1 first"], "a renewal is not a takeover");
  assert.equal(a.lease.currentEpoch(), 1);
  const row = await readLease(pool, "publisher");
  assert.equal(row.holder, "cp-a");
  assert.ok(row.remainingMs > TTL_MS / 2);

  a.clock.set(100 + TTL_MS - TTL_MS / 5 - 1);
  assert.equal(a.lease.currentEpoch(), 1);
  a.clock.set(100 + TTL_MS - TTL_MS / 5);
  assert.equal(a.lease.currentEpoch(), undefined, "stops acting at sentAt + TTL − margin on its own clock");
  await a.lease.close();
  await b.lease.close();
});

test("after the holder stops renewing, another replica takes over with the next epoch", async () => {
  const a = replica("cp-a2");
  const b = replica("cp-b2");
  await databaseSaysExpired();
  await a.start();
  const epochA = a.lease.currentEpoch()!;
  await b.start();
  assert.equal(b.lease.currentEpoch(), undefined);

  await databaseSaysExpired();
  await b.lease.tick();
  assert.deepEqual(b.events, [`acquired ${epochA + 1} first`]);
  assert.equal(b.lease.currentEpoch(), epochA + 1);

  assert.equal(a.lease.currentEpoch(), epochA, "a paused holder's own clock still lets it act ...");
  const fenced = await insertVersion(pool, versionRow(9001, epochA), a.lease.fence(epochA));
  assert.equal(fenced, false, "... but the database records nothing under its epoch");
  const { rows } = await pool.query("SELECT 1 FROM config_versions WHERE version = 9001");
  assert.equal(rows.length, 0);
  assert.equal(await insertVersion(pool, versionRow(9002, epochA + 1), b.lease.fence(epochA + 1)), true);

  await a.lease.tick();
  assert.deepEqual(a.events, [`acquired ${epochA} first`, `lost ${epochA}`]);
  assert.equal(a.lease.currentEpoch(), undefined);

  await b.lease.close();
  const row = await readLease(pool, "publisher");
  assert.equal(row.remainingMs, 0, "a clean shutdown gives the lease up at once");
  await a.lease.tick();
  assert.equal(a.lease.currentEpoch(), epochA + 2);
  await a.lease.close();
});

test("a publisher whose epoch was taken over mid-publish fails with CORRAL_PUBLISH_FENCED and leaves LATEST alone", async () => {
  await databaseSaysExpired();
  const a = replica("cp-a3");
  const b = replica("cp-b3");
  await a.start();
  const epoch = a.lease.currentEpoch()!;
  const blobs = new FsBlobStore(blobDir);
  const metrics = new ControlPlaneMetrics({ defaultMetrics: false });
  const publisher = new Publisher({
    pool,
    blobStore: blobs,
    signingKey: parsePrivateKey(generateSigningKeyPair().privateKey),
    capacity: 64 * 1024,
    lease: a.lease,
    feed: new LocalVersionFeed(),
    metrics,
    logger: silent,
    cpId: "cp-a3",
    retention: new SnapshotRetention({ pool, blobStore: blobs, retain: 100, metrics, logger: silent }),
  });
  const first = await publisher.publishNow("startup");
  assert.equal(first?.epoch, epoch);
  assert.equal(parsePointer(await blobs.get(LATEST_KEY, 4096)).version, first.version);

  await databaseSaysExpired();
  await b.start();
  const err = await publisher.publishNow("change").then(
    () => assert.fail("a fenced publish must fail"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof CorralError && err.code === "CORRAL_PUBLISH_FENCED", String(err));
  const underEpoch = await pool.query("SELECT version FROM config_versions WHERE epoch = $1", [epoch]);
  assert.deepEqual(
    underEpoch.rows.map((r) => r.version),
    [first.version],
    "no second version row under the stale epoch",
  );
  const { rows } = await pool.query("SELECT last_value AS v FROM config_version_seq");
  await assert.rejects(blobs.get(snapshotKey(Number(rows[0].v)), 64 * 1024), BlobNotFoundError);
  assert.equal(parsePointer(await blobs.get(LATEST_KEY, 4096)).version, first.version);
  const text = await metrics.registry.getSingleMetricAsString("corral_publish_total");
  assert.match(text, /result="CORRAL_PUBLISH_FENCED"\} 1/);
  await publisher.close();
  await a.lease.close();
  await b.lease.close();
});

function versionRow(version: number, epoch: number) {
  return {
    version,
    epoch,
    sha256: "0".repeat(64),
    blobKey: `snapshots/${version}`,
    sizeBytes: 1,
    capacityBytes: 1,
    tenants: 0,
    source: "test",
    publisher: "test",
  };
}
