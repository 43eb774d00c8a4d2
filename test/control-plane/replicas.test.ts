/**
 * Two control-plane replicas on one database and one blob store, in this process: only the
 * lease holder publishes; a change made on the other replica is published by the holder;
 * both announce every version to their nodes; rollback; LATEST rewrite; handover on close.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, test } from "node:test";
import { encodePointer, LATEST_KEY, parsePointer } from "../../proto/blob-keys.ts";
import { decodeSnapshot } from "../../proto/snapshot-codec.ts";
import { type ControlPlane, runControlPlane } from "../../control-plane/main.ts";
import { createOperatorToken } from "../../control-plane/store/operator-tokens.ts";
import { type ApiResponse, type Harness, startHarness } from "./harness.ts";
import { connectSync, type SyncClient } from "./sync-client.ts";
import { poll } from "../support/poll.ts";

/**
 * A long lease TTL: a takeover after the holder released on close (the standby asks again at least
 * every TTL/3) is then told apart from one after the lease ran out (at least 2/3 TTL after the
 * holder's last renewal) with seconds to spare on a loaded machine.
 */
const LEASE_TTL_MS = 9000;
const FAST = {
  CORRAL_LEASE_TTL_MS: String(LEASE_TTL_MS),
  CORRAL_VERSION_POLL_MS: "200",
  CORRAL_LATEST_REWRITE_MS: "300",
};
let h: Harness;
let other: ControlPlane;
const clients: SyncClient[] = [];

before(async () => {
  h = await startHarness({}, FAST);
  const quiet = new Writable({ write: (_c, _e, done) => done() });
  other = await runControlPlane(
    { ...h.env, CORRAL_CP_ID: "cp-other" },
    { debounceMs: 20, maxDelayMs: 200, logDestination: quiet },
  );
});

after(async () => {
  for (const c of clients) c.ws.terminate();
  await other.close();
  await h.close();
});

async function call(cp: ControlPlane, method: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${cp.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${h.adminToken}`, ...headers },
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? JSON.parse(text) : undefined,
  } as ApiResponse;
}

async function post(cp: ControlPlane, path: string, body: unknown) {
  const res = await fetch(`${cp.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${h.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

const capacity = () => Number(h.env.CORRAL_SNAPSHOT_CAPACITY);

async function versions(): Promise<{ version: number; epoch: number; source: string; publisher: string }[]> {
  return (await call(h.cp, "GET", "/admin/v1/config/versions?limit=100")).body.items;
}

async function snapshotOf(version: number) {
  const blob = await h.blobs.get(`snapshots/${String(version).padStart(20, "0")}.snap`, capacity());
  return decodeSnapshot(blob, h.publicKey, capacity());
}

async function metric(cp: ControlPlane, name: string): Promise<number> {
  const text = await cp.metrics.registry.getSingleMetricAsString(name);
  return Number(/\s(\S+)\s*$/.exec(text.trim())![1]);
}

async function syncClient(cp: ControlPlane, slot: string): Promise<SyncClient> {
  const c = await connectSync(cp.url, h.nodeCredential(slot));
  clients.push(c);
  c.hello({ slot, node: slot });
  await c.next("welcome");
  return c;
}

const announced = (c: SyncClient, version: number) =>
  c.frames.some((f) => f.announce !== undefined && f.announce.version >= version);

test("only the lease holder publishes; the other replica knows the newest version and is ready", async () => {
  assert.equal(h.cp.lease.currentEpoch(), 1);
  assert.equal(other.lease.currentEpoch(), undefined);
  assert.equal(await metric(h.cp, "corral_publisher_is_leader"), 1);
  assert.equal(await metric(other, "corral_publisher_is_leader"), 0);
  assert.equal(await metric(other, "corral_publisher_epoch"), 1);
  assert.equal((await fetch(`${other.url}/readyz`)).status, 200);
  assert.ok((await versions()).every((v) => v.publisher === "cp-test"));
});

test("a change made on the other replica is published by the holder and announced by both", async () => {
  const nodeA = await syncClient(h.cp, "dp-a");
  const nodeB = await syncClient(other, "dp-b");
  const created = await post(other, "/admin/v1/tenants", { id: "via-other", name: "Via other" });
  assert.equal(created.status, 201);
  const published = await poll("a version with tenant via-other", async () => {
    const newest = (await versions())[0]!;
    const s = await snapshotOf(newest.version);
    return s.tenants.some((t) => t.id === "via-other") && newest;
  });
  assert.equal(published.publisher, "cp-test");
  assert.equal(published.source, "change");
  await poll(
    "both nodes announced the version",
    async () => announced(nodeA, published.version) && announced(nodeB, published.version),
  );
  const counter = await h.cp.pool.query("SELECT counter FROM config_changes");
  const covered = await h.cp.pool.query("SELECT change_counter FROM config_versions WHERE version = $1", [
    published.version,
  ]);
  assert.equal(covered.rows[0].change_counter, counter.rows[0].counter, "the version covers the change");
});

test("rollback republishes an earlier version's content as a new version; the next change compiles from the tables", async () => {
  await post(h.cp, "/admin/v1/tenants", { id: "before-roll", name: "Before" });
  const target = await poll("a version with tenant before-roll", async () => {
    const newest = (await versions())[0]!;
    return (await snapshotOf(newest.version)).tenants.some((t) => t.id === "before-roll") && newest;
  });
  await post(h.cp, "/admin/v1/tenants", { id: "after-roll", name: "After" });
  await poll("a version after the target", async () => (await versions())[0]!.version > target.version);

  const res = await call(other, "POST", `/admin/v1/config/versions/${target.version}/rollback`, {
    "idempotency-key": "roll-1",
  });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  assert.deepEqual(res.body, {
    rollbackOf: target.version,
    tenants: (await snapshotOf(target.version)).tenants.length,
    status: "accepted",
  });
  const rolled = await poll("the rollback version", async () => {
    const newest = (await versions())[0]!;
    return newest.source === `rollback of ${target.version}` && newest;
  });
  assert.ok(rolled.version > target.version);
  const content = await snapshotOf(rolled.version);
  const original = await snapshotOf(target.version);
  assert.deepEqual(content.tenants, original.tenants, "the same tenants, keys, routes as then");
  assert.equal(content.version, rolled.version);
  assert.ok(!content.tenants.some((t) => t.id === "after-roll"));
  assert.equal(
    (await call(h.cp, "GET", "/admin/v1/tenants/after-roll")).status,
    200,
    "the tables are unchanged",
  );

  const replay = await call(other, "POST", `/admin/v1/config/versions/${target.version}/rollback`, {
    "idempotency-key": "roll-1",
  });
  assert.equal(replay.status, 202);
  assert.equal(replay.headers.get("idempotent-replayed"), "true");

  await post(h.cp, "/admin/v1/tenants", { id: "after-rollback", name: "Next change" });
  const next = await poll("a change version after the rollback", async () => {
    const newest = (await versions())[0]!;
    return newest.source === "change" && newest.version > rolled.version && newest;
  });
  const ids = (await snapshotOf(next.version)).tenants.map((t) => t.id);
  assert.ok(ids.includes("after-roll") && ids.includes("after-rollback"), ids.join(","));
});

test("rollback refuses unknown versions (404), unreadable blobs (409), bad ids (400) and viewers (403)", async () => {
  const before = (await versions())[0]!.version;
  assert.equal((await call(h.cp, "POST", "/admin/v1/config/versions/999999/rollback")).status, 404);
  assert.equal((await call(h.cp, "POST", "/admin/v1/config/versions/abc/rollback")).status, 400);
  assert.equal((await call(h.cp, "POST", "/admin/v1/config/versions/0/rollback")).status, 400);
  const oldest = (await versions()).at(-1)!;
  const key = `snapshots/${String(oldest.version).padStart(20, "0")}.snap`;
  const blob = await h.blobs.get(key, capacity());
  blob[100] ^= 0xff; // inside the signature
  await h.blobs.put(key, blob);
  const refused = await call(h.cp, "POST", `/admin/v1/config/versions/${oldest.version}/rollback`);
  assert.equal(refused.status, 409);
  assert.equal(refused.body.code, "CORRAL_ADMIN_ROLLBACK_UNAVAILABLE");
  const viewer = await createOperatorToken(h.cp.pool, { name: "roll-viewer", role: "viewer" });
  const asViewer = await call(h.cp, "POST", `/admin/v1/config/versions/${oldest.version}/rollback`, {
    authorization: `Bearer ${viewer.token}`,
  });
  assert.equal(asViewer.status, 403);
  // a later change publishing marks the point by which a refused rollback would have published
  await post(h.cp, "/admin/v1/tenants", { id: "after-refusals", name: "Marker change" });
  await poll("the marker change published", async () => (await versions())[0]!.version > before);
  const since = (await versions()).filter((v) => v.version > before);
  assert.deepEqual(
    since.map((v) => v.source),
    ["change"],
    "refused rollbacks publish nothing",
  );
});

test("the holder rewrites a stale LATEST within one period", async () => {
  const [, older] = await versions();
  const rewrites = await metric(h.cp, "corral_latest_rewrites_total");
  const stale = {
    version: older!.version,
    key: `snapshots/${String(older!.version).padStart(20, "0")}.snap`,
    sha256: "a".repeat(64),
  };
  await h.blobs.put(LATEST_KEY, encodePointer(stale));
  await poll(
    "LATEST on the newest version",
    async () => {
      const newest = (await versions())[0]!;
      return parsePointer(await h.blobs.get(LATEST_KEY, 4096)).version === newest.version;
    },
    2000,
  );
  // a publish in between may also point LATEST at the newest; the periodic rewrite still comes
  await poll(
    "a LATEST rewrite by the holder",
    async () => (await metric(h.cp, "corral_latest_rewrites_total")) > rewrites,
    10_000,
  );
});

test("when the holder shuts down the other replica takes over at once and publishes under the next epoch", async () => {
  const node = await syncClient(other, "dp-c");
  const before = (await versions())[0]!;
  const started = Date.now();
  await h.cp.close();
  const takeover = await poll("a version from the other replica", async () => {
    const newest = (await call(other, "GET", "/admin/v1/config/versions?limit=1")).body.items[0];
    return newest.version > before.version && newest;
  });
  const ms = Date.now() - started;
  assert.equal(takeover.publisher, "cp-other");
  assert.equal(takeover.source, "takeover");
  assert.equal(takeover.epoch, before.epoch + 1);
  const expiredNoSooner = (LEASE_TTL_MS * 2) / 3;
  assert.ok(
    ms < expiredNoSooner,
    `took over in ${ms} ms: released on close, not run out (TTL ${LEASE_TTL_MS} ms)`,
  );
  assert.equal(other.lease.currentEpoch(), before.epoch + 1);
  await poll("the node announced the takeover version", async () => announced(node, takeover.version));
});
