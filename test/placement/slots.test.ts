import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createOperatorToken } from "../../control-plane/store/operator-tokens.ts";
import { type Harness, startHarness } from "../control-plane/harness.ts";
import { connectSync, type SyncClient } from "../control-plane/sync-client.ts";
import { insertNodes, publishedSnapshot, settledSnapshot, tableCounts } from "./support.ts";
import { poll } from "../support/poll.ts";

const FORGET_MS = 1500;
let h: Harness;
const clients: SyncClient[] = [];

before(async () => {
  h = await startHarness({ fleetCheckIntervalMs: 100 }, { CORRAL_PLACEMENT_FORGET_MS: String(FORGET_MS) });
});
after(async () => {
  for (const c of clients) c.ws.terminate();
  await h.close();
});

async function connectNode(slot: string, zone: string): Promise<SyncClient> {
  const c = await connectSync(h.cp.url, h.nodeCredential(slot));
  clients.push(c);
  c.hello({ slot, zone, node: `${slot}-node`, httpUrl: `http://127.0.0.1:1/${slot}` });
  await c.next("welcome");
  return c;
}

const slotOf = async (name: string) => (await publishedSnapshot(h)).slots.find((s) => s.name === name);

test("a slot an operator declares is in the published snapshot before any node connects", async () => {
  const created = await h.api("PUT", "/admin/v1/slots/dp-a", {
    zone: "zone-a",
    httpUrl: "http://10.0.0.1:7500",
  });
  assert.equal(created.status, 201);
  assert.deepEqual(
    [created.body.declared, created.body.registered, created.body.live, created.body.inFleet],
    [true, false, false, true],
  );
  const replaced = await h.api("PUT", "/admin/v1/slots/dp-a", {
    zone: "zone-b",
    grpcAddress: "10.0.0.1:7600",
  });
  assert.equal(replaced.status, 200);
  assert.equal(replaced.body.httpUrl, "", "PUT replaces the whole declaration");
  const snapshot = await settledSnapshot(h);
  const slot = snapshot.slots.find((s) => s.name === "dp-a");
  assert.deepEqual(slot && [slot.zone, slot.grpcAddress, slot.live, slot.lastSeenMs], [
    "zone-b",
    "10.0.0.1:7600",
    false,
    0,
  ]);
  const got = await h.api("GET", "/admin/v1/slots/dp-a");
  assert.equal(got.body.zone, "zone-b");
  assert.equal(got.body.forgetAt, null, "declared slots are never forgotten");
});

test("bad slot declarations get 400 naming the field and change nothing", async () => {
  const before = await tableCounts(h);
  const cases: Array<[string, unknown, RegExp]> = [
    ["-starts-with-dash", { zone: "zone-a" }, /params\/name must match pattern/],
    ["x".repeat(64), { zone: "zone-a" }, /params\/name must/],
    ["a%20b", { zone: "zone-a" }, /params\/name must match pattern/],
    ["ok-1", {}, /body must have required property 'zone'/],
    ["ok-1", { zone: "zone a" }, /body\/zone must match pattern/],
    ["ok-1", { zone: "z".repeat(64) }, /body\/zone must NOT have more than 63 characters/],
    ["ok-1", { zone: "zone-a", weight: 2 }, /additional properties \(weight\)/],
    ["ok-1", { zone: "zone-a", httpUrl: "ftp://10.0.0.1" }, /body\/httpUrl must match pattern/],
    ["ok-1", { zone: "zone-a", httpUrl: "http://10.0.0.1:99999" }, /body\/httpUrl is not a valid/],
    ["ok-1", { zone: "zone-a", grpcAddress: "10.0.0.1:70000" }, /body\/grpcAddress has a port outside/],
    ["ok-1", { zone: "zone-a", grpcAddress: "no-port" }, /body\/grpcAddress must match pattern/],
  ];
  for (const [name, body, expected] of cases) {
    const res = await h.api("PUT", `/admin/v1/slots/${name}`, body);
    assert.equal(res.status, 400, `${name} ${JSON.stringify(body)}`);
    assert.equal(res.body.code, "CORRAL_ADMIN_VALIDATION");
    assert.match(res.body.detail, expected);
  }
  assert.deepEqual(await tableCounts(h), before);
});

test("only admins declare slots; viewers read them; unknown slots are 404", async () => {
  const viewer = await createOperatorToken(h.cp.pool, { name: "slot-viewer", role: "viewer" });
  const asViewer = { authorization: `Bearer ${viewer.token}` };
  assert.equal((await h.api("PUT", "/admin/v1/slots/dp-v", { zone: "zone-a" }, asViewer)).status, 403);
  assert.equal((await h.api("GET", "/admin/v1/slots", undefined, asViewer)).status, 200);
  assert.equal((await h.api("GET", "/admin/v1/slots/dp-nope")).status, 404);
  assert.equal((await h.api("DELETE", "/admin/v1/slots/dp-nope")).status, 404);
});

test("a node's Hello makes its declared slot live; the declaration's zone wins over the node's", async () => {
  await connectNode("dp-a", "zone-c");
  const slot = await poll("dp-a's slot live", async () => {
    await h.cp.publisher.idle();
    const s = await slotOf("dp-a");
    return s?.live ? s : undefined;
  });
  assert.equal(slot.zone, "zone-b");
  assert.equal(
    slot.httpUrl,
    "http://127.0.0.1:1/dp-a",
    "what the declaration leaves out comes from the node",
  );
  const view = (await h.api("GET", "/admin/v1/slots/dp-a")).body;
  assert.deepEqual([view.registered, view.live, view.reportedZone], [true, true, "zone-c"]);
});

test("a node joining an undeclared slot is published without any admin change", async () => {
  const before = (await settledSnapshot(h)).version;
  await connectNode("dp-new", "zone-a");
  const snapshot = await poll("dp-new live in the published snapshot", async () => {
    const s = await publishedSnapshot(h);
    return s.slots.some((x) => x.name === "dp-new" && x.live) ? s : undefined;
  });
  assert.ok(snapshot.version > before);
});

test("a vanished slot stays (not live) for the forget delay, then drops out with a new version", async () => {
  await h.api("POST", "/admin/v1/tenants", { id: "wide", name: "Wide", limits: { shardSize: 64 } });
  const node = await connectNode("dp-gone", "zone-a");
  await poll("dp-gone live in the settled snapshot", async () =>
    (await settledSnapshot(h)).slots.some((x) => x.name === "dp-gone" && x.live),
  );
  const shardBefore = (await publishedSnapshot(h)).tenants.find((t) => t.id === "wide")!.shard;
  assert.ok(shardBefore.includes("dp-gone"), "k = 64 covers every slot");

  node.ws.close();
  const vanishedAt = Date.now();
  const dead = await poll("dp-gone not live in the settled snapshot", async () => {
    const s = await settledSnapshot(h);
    return s.slots.find((x) => x.name === "dp-gone" && !x.live) ? s : undefined;
  });
  assert.ok(
    dead.tenants.find((t) => t.id === "wide")!.shard.includes("dp-gone"),
    "still placed while remembered",
  );
  const view = (await h.api("GET", "/admin/v1/slots/dp-gone")).body;
  assert.deepEqual([view.live, view.inFleet], [false, true]);
  assert.ok(Date.parse(view.forgetAt) > Date.now() - 1000);

  const forgotten = await poll(
    "dp-gone forgotten by the settled snapshot",
    async () => {
      const s = await settledSnapshot(h);
      return s.slots.some((x) => x.name === "dp-gone") ? undefined : s;
    },
    FORGET_MS + 3000,
  );
  assert.ok(Date.now() - vanishedAt >= FORGET_MS - 100, "not before the forget delay");
  assert.ok(forgotten.version > dead.version, "a new version without any admin change");
  assert.ok(!forgotten.tenants.find((t) => t.id === "wide")!.shard.includes("dp-gone"));
  const versions = await h.api("GET", "/admin/v1/config/versions?limit=1");
  assert.equal(versions.body.items[0].version, forgotten.version);
  const gone = (await h.api("GET", "/admin/v1/slots/dp-gone")).body;
  assert.deepEqual([gone.registered, gone.inFleet], [true, false]);
});

test("an unchanged fleet publishes nothing new", async () => {
  const before = (await settledSnapshot(h)).version;
  // the fleet watcher reads the slots table on every check: let it look several times
  const slotReads = async () =>
    Number(
      (
        await h.cp.pool.query(
          "SELECT seq_scan + coalesce(idx_scan, 0) AS n FROM pg_stat_user_tables WHERE relname = 'slots'",
        )
      ).rows[0].n,
    );
  const readsBefore = await slotReads();
  await poll(
    "the fleet watcher checking the unchanged fleet",
    async () => (await slotReads()) >= readsBefore + 3,
  );
  assert.equal((await settledSnapshot(h)).version, before);
});

test("removing a declaration takes an unregistered slot out of the fleet", async () => {
  await h.api("PUT", "/admin/v1/slots/dp-temp", { zone: "zone-a" });
  assert.ok((await settledSnapshot(h)).slots.some((s) => s.name === "dp-temp"));
  assert.equal((await h.api("DELETE", "/admin/v1/slots/dp-temp")).status, 204);
  assert.ok(!(await settledSnapshot(h)).slots.some((s) => s.name === "dp-temp"));
  assert.equal((await h.api("GET", "/admin/v1/slots/dp-temp")).status, 404);
});

test("a node whose CP replica vanished without clearing its connection turns dead after the liveness window", async () => {
  const liveWindowMs = 4 * 15_000;
  await insertNodes(h, [{ slot: "dp-orphan", zone: "zone-a", lastSeenAgoMs: liveWindowMs - 800 }]);
  // the row names a connection no replica holds, so nobody refreshes its last_seen
  await poll("dp-orphan live in the settled snapshot", async () =>
    (await settledSnapshot(h)).slots.some((s) => s.name === "dp-orphan" && s.live),
  );
  const view = await poll(
    "dp-orphan's slot view not live",
    async () => {
      const v = (await h.api("GET", "/admin/v1/slots/dp-orphan")).body;
      return v.live ? undefined : v;
    },
    3000,
  );
  assert.equal(view.registered, true);
  await poll(
    "dp-orphan not live in the settled snapshot",
    async () => !(await settledSnapshot(h)).slots.some((s) => s.name === "dp-orphan" && s.live),
  );
});
