/**
 * Publishing that survives its publisher (docs/design.md §3.2), with real processes: two CP
 * replicas and two data planes (dp-0 dials cp-0, dp-1 dials cp-1) on one Postgres and one
 * filesystem blob store; lease TTL 2 s, LATEST rewritten every 1 s.
 *
 * - a change sent to the replica that does not hold the lease is published by the holder;
 * - SIGKILL the holder: the other publishes within the lease TTL;
 * - SIGSTOP the holder in the middle of a publish (its insert held up by a table lock),
 *   past its TTL; the other takes over and publishes; SIGCONT: the stale insert is refused
 *   by the epoch fence; a stale LATEST is rewritten within one period;
 * and throughout, no node ever applies a lower version than one it had.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { encodePointer, LATEST_KEY, snapshotKey } from "../../proto/blob-keys.ts";
import { increasing, LATEST_REWRITE_MS, LEASE_TTL_MS, ReplicaCluster } from "./replica-cluster.ts";
import { poll } from "../support/poll.ts";

/** slack for a loaded 2-core machine on top of each bound under test */
const SLACK_MS = 1500;

describe("publisher failover with two control-plane replicas", { timeout: 180_000 }, () => {
  let c: ReplicaCluster;

  before(async () => {
    c = await ReplicaCluster.start();
  });

  after(async () => {
    await c?.stop();
  });

  async function publishedWith(tenantId: string, timeoutMs: number) {
    return poll(
      `a version with tenant ${tenantId}`,
      async () => {
        const newest = await c.newest();
        return (await c.snapshot(newest.version)).tenants.some((t) => t.id === tenantId) && newest;
      },
      timeoutMs,
    );
  }

  async function everyNodeApplied(version: number, timeoutMs: number): Promise<void> {
    await poll(
      `every node on version ${version}`,
      async () => c.platform.dps.every((dp) => (c.sampled.get(dp.slot)?.at(-1) ?? 0) >= version),
      timeoutMs,
    );
  }

  it("publishes a change sent to the replica without the lease, from the lease holder", {
    timeout: 60_000,
  }, async () => {
    const { leader, other } = await c.roles();
    const res = await c.admin(other, "POST", "/tenants", { id: "via-follower", name: "Via follower" });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const version = await publishedWith("via-follower", 10_000);
    assert.equal(version.publisher, leader.id);
    await everyNodeApplied(version.version, 15_000);
    assert.equal(await c.metric(leader, /^corral_publisher_is_leader /), 1);
    assert.equal(await c.metric(other, /^corral_publisher_is_leader /), 0);
  });

  it("SIGKILL of the lease holder: the other replica publishes within the lease TTL", {
    timeout: 60_000,
  }, async (t) => {
    const { leader, other, epoch } = await c.roles();
    const before = await c.newest();
    const killedAt = Date.now();
    leader.kill("SIGKILL");
    await leader.waitExit();
    const takeover = await poll(
      "a version from the other replica",
      async () => {
        const newest = await c.newest();
        return newest.version > before.version && newest.publisher === other.id && newest;
      },
      LEASE_TTL_MS + 10_000,
    );
    const failoverMs = Math.round(takeover.createdAtMs - killedAt);
    t.diagnostic(
      `failover: SIGKILL to the other replica's first version ${failoverMs} ms (TTL ${LEASE_TTL_MS} ms)`,
    );
    assert.equal(takeover.source, "takeover");
    assert.equal(takeover.epoch, epoch + 1);
    assert.ok(failoverMs <= LEASE_TTL_MS + SLACK_MS, `failover took ${failoverMs} ms`);

    const res = await c.admin(other, "POST", "/tenants", { id: "after-kill", name: "After the kill" });
    assert.equal(res.status, 201);
    const version = await publishedWith("after-kill", 10_000);
    assert.equal(version.publisher, other.id);
    await everyNodeApplied(version.version, 15_000);
    await leader.start();
    assert.equal((await c.lease()).holder, other.id, "the restarted replica does not take the lease back");
  });

  it("SIGSTOP of the holder mid-publish past its TTL: takeover, SIGCONT, the stale insert is fenced off, LATEST converges", {
    timeout: 60_000,
  }, async (t) => {
    const { leader, other, epoch } = await c.roles();
    const lock = await c.db.connect();
    let stopped = false;
    try {
      await lock.query("BEGIN");
      await lock.query("LOCK TABLE config_versions IN EXCLUSIVE MODE");
      const res = await c.admin(leader, "POST", "/tenants", { id: "stale-attempt", name: "Stale attempt" });
      assert.equal(res.status, 201);
      await poll("the holder's version insert waiting on the lock", () => insertWaiting(leader.id), 10_000);
      leader.kill("SIGSTOP");
      stopped = true;
      const stoppedAt = Date.now();
      await poll(
        "the other replica holding the lease",
        async () => (await c.lease()).holder === other.id,
        LEASE_TTL_MS + 10_000,
      );
      t.diagnostic(
        `takeover of a stopped holder after ${Date.now() - stoppedAt} ms (TTL ${LEASE_TTL_MS} ms)`,
      );
      await poll("the new holder's insert waiting on the lock", () => insertWaiting(other.id), 10_000);
      await lock.query("COMMIT");
    } finally {
      await lock.query("ROLLBACK").catch(() => {});
      lock.release();
      if (stopped) leader.kill("SIGCONT");
    }
    const takeover = await poll(
      "the takeover version",
      async () => (await c.versions()).find((v) => v.epoch === epoch + 1 && v.publisher === other.id),
      10_000,
    );
    await poll(
      "the resumed replica's publish fenced off",
      async () => c.logged(leader.name, "publish fenced off"),
      10_000,
    );
    await poll(
      "the resumed replica noticing",
      async () => c.logged(leader.name, "lost the publisher lease"),
      10_000,
    );
    const fenced = await c.metric(leader, /^corral_publish_total\{result="CORRAL_PUBLISH_FENCED"\}/);
    assert.ok((fenced ?? 0) >= 1, `fenced publishes: ${fenced}`);
    assert.equal(await c.metric(leader, /^corral_publisher_is_leader /), 0);

    const rows = await c.versions();
    assert.ok(
      increasing(
        rows.map((v) => v.epoch),
        false,
      ),
      "epochs never go down as versions go up: no version was recorded under a stale epoch",
    );
    assert.ok(!rows.some((v) => v.epoch === epoch && v.version > takeover.version));
    const withTenant = await publishedWith("stale-attempt", 10_000);
    assert.equal(withTenant.epoch, epoch + 1, "the change the stale holder took is published by the new one");

    const newest = await c.newest();
    const older = rows.find((v) => v.version < newest.version)!;
    const stale = { version: older.version, key: snapshotKey(older.version), sha256: older.sha256 };
    await c.blobs.put(LATEST_KEY, encodePointer(stale));
    const rewrittenAt = Date.now();
    await poll(
      "LATEST back on the newest version",
      // at least the newest: another version (e.g. the fleet change the pause caused) may follow
      async () => (await c.latestPointer()).version >= newest.version,
      LATEST_REWRITE_MS + SLACK_MS,
    );
    t.diagnostic(
      `a stale LATEST was rewritten after ${Date.now() - rewrittenAt} ms (period ${LATEST_REWRITE_MS} ms)`,
    );
    await everyNodeApplied(newest.version, 15_000);
  });

  it("no node ever applied a lower version than one it had", () => {
    for (const dp of c.platform.dps) {
      const applied = c.applied.get(dp.name) ?? [];
      const sampled = c.sampled.get(dp.slot) ?? [];
      assert.ok(applied.length >= 3, `${dp.name} applied ${applied.join(",")}`);
      assert.ok(increasing(applied, true), `${dp.name} applied ${applied.join(",")}`);
      assert.ok(increasing(sampled, false), `${dp.name} reported ${sampled.join(",")}`);
    }
  });

  function insertWaiting(cpId: string): Promise<boolean> {
    return c.db
      .query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO config_versions%'`,
        [`corral-cp ${cpId}`],
      )
      .then((r) => r.rows[0].n > 0);
  }
});
