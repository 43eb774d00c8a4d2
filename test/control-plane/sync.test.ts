import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LATEST_KEY, parsePointer, snapshotKey } from "../../proto/blob-keys.ts";
import { sha256Hex } from "../../proto/snapshot-codec.ts";
import { type Harness, startHarness } from "./harness.ts";
import { connectSync, type SyncClient } from "./sync-client.ts";
import { poll } from "../support/poll.ts";

let h: Harness;
const clients: SyncClient[] = [];
before(async () => {
  h = await startHarness({ pingIntervalMs: 100, helloTimeoutMs: 300 });
});
after(async () => {
  for (const c of clients) c.ws.terminate();
  await h.close();
});

async function node(slot: string, opts = {}): Promise<SyncClient> {
  const c = await connectSync(h.cp.url, h.nodeCredential(slot), opts);
  clients.push(c);
  c.hello({ slot, node: `${slot}-node` });
  await c.next("welcome");
  return c;
}

async function fleetNode(slot: string) {
  const res = await h.api("GET", "/admin/v1/fleet");
  return res.body.items.find((n: { slot: string }) => n.slot === slot);
}

interface VersionRow {
  version: number;
  createdAt: string;
  acks: number;
  nacks: number;
  lastAckAt: string | null;
}

async function versionRow(
  version: number,
  ready: (v: VersionRow) => boolean,
): Promise<VersionRow | undefined> {
  const res = await h.api("GET", "/admin/v1/config/versions?limit=10");
  const row = res.body.items.find((v: VersionRow) => v.version === version);
  return row && ready(row) ? row : undefined;
}

let tenants = 0;
const change = () => h.api("POST", "/admin/v1/tenants", { id: `sync-${tenants++}`, name: "x" });

test("Hello gets Welcome with the latest version; a change is Announced; the Ack shows in the fleet", async () => {
  const c = await connectSync(h.cp.url, h.nodeCredential("dp-0"));
  clients.push(c);
  c.hello({ slot: "dp-0", zone: "zone-b", version: 0, node: "node-a", build: "test" });
  const welcome = await c.next("welcome");
  const pointer = parsePointer(await h.blobs.get(LATEST_KEY, 4096));
  assert.equal(welcome.cp, "cp-test");
  assert.deepEqual(welcome.latest, pointer);
  const registered = await poll("dp-0 in the fleet view", () => fleetNode("dp-0"));
  assert.equal(registered.zone, "zone-b");
  assert.equal(registered.node, "node-a");
  assert.equal(registered.connected, true);
  assert.equal(registered.appliedVersion, 0);

  await change();
  const announce = await c.next("announce");
  assert.ok(announce.version > pointer.version);
  assert.equal(announce.key, snapshotKey(announce.version));
  assert.equal(
    announce.sha256,
    sha256Hex(await h.blobs.get(announce.key, Number(h.env.CORRAL_SNAPSHOT_CAPACITY))),
  );

  c.send({ ack: { version: announce.version, applyMs: 7 } });
  const acked = await poll("dp-0's applied version in the fleet view", async () => {
    const n = await fleetNode("dp-0");
    return n.appliedVersion === announce.version && n;
  });
  assert.equal(acked.lastError, null);
  const row = await poll("an Ack counted for the announced version", () =>
    versionRow(announce.version, (v) => v.acks > 0),
  );
  assert.deepEqual([row.acks, row.nacks], [1, 0]);
  assert.ok(Date.parse(row.lastAckAt!) >= Date.parse(row.createdAt), "the Ack is timed after the publish");
  const metrics = await (await fetch(`${h.cp.url}/metrics`)).text();
  assert.match(metrics, /^corral_config_propagation_seconds_count 1$/m);
  assert.match(metrics, /^corral_sync_connections 1$/m);
});

test("Nack and Status are recorded per node", async () => {
  const c = await node("dp-1");
  await change();
  const announce = await c.next("announce");
  c.send({ nack: { version: announce.version, error: "CORRAL_SNAPSHOT_BAD_SIGNATURE: nope" } });
  c.send({ status: { version: 3, configAgeMs: 1234, inflight: 5, shed: 1, fetchError: "blob store down" } });
  const n = await poll("dp-1's Status in the fleet view", async () => {
    const view = await fleetNode("dp-1");
    return view.status?.configAgeMs === 1234 && view;
  });
  assert.match(n.lastError, /fetch: blob store down/);
  assert.deepEqual(n.status, {
    version: 3,
    configAgeMs: 1234,
    inflight: 5,
    shed: 1,
    fetchError: "blob store down",
  });
  const row = await poll("a Nack counted for the announced version", () =>
    versionRow(announce.version, (v) => v.nacks > 0),
  );
  assert.deepEqual([row.acks, row.nacks], [0, 1]);
  assert.equal(row.lastAckAt, null, "a Nack is no Ack");
});

test("an Ack followed at once by a Nack: the fleet view keeps the Nack (batched Acks are written first)", async () => {
  const c = await node("dp-2");
  await change();
  const first = await c.next("announce");
  c.send({ ack: { version: first.version, applyMs: 1 } });
  c.send({ nack: { version: first.version + 1, error: "CORRAL_SNAPSHOT_TRUNCATED: short" } });
  // the positive marker: the Ack is written (applied version), then the error must still be there
  const n = await poll("dp-2's Ack in the fleet view", async () => {
    const view = await fleetNode("dp-2");
    return view.appliedVersion === first.version && view;
  });
  const row = await poll("the Ack counted for its version", () =>
    versionRow(first.version, (v) => v.acks > 0),
  );
  assert.equal(row.acks, 1);
  const now = await fleetNode("dp-2");
  assert.match(now.lastError ?? "", new RegExp(`^version ${first.version + 1}: CORRAL_SNAPSHOT_TRUNCATED`));
  assert.equal(n.appliedVersion, first.version);
});

test("a missing or wrong node credential gets 401 at the upgrade; another path gets 404", async () => {
  await assert.rejects(connectSync(h.cp.url, undefined), { status: 401 });
  await assert.rejects(connectSync(h.cp.url, "wrong-token-wrong-token"), { status: 401 });
  await assert.rejects(connectSync(h.cp.url, h.adminToken), { status: 401 });
  await assert.rejects(connectSync(`${h.cp.url}/admin`, h.nodeCredential("dp-0")), { status: 404 });
});

test("a garbage frame closes only that connection (1007); the others keep getting Announces", async () => {
  const bad = await node("dp-bad");
  const good = await node("dp-good");
  bad.ws.send(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  assert.equal((await bad.closed).code, 1007);
  const seen = good.frames.length;
  await change();
  const announce = await good.next("announce", 3000, seen);
  assert.ok(announce.version > 0);
  assert.equal(good.ws.readyState, good.ws.OPEN);
});

test("oversized (1009), text (1003), out-of-order (1008) frames and a missing Hello (1008) close the connection", async () => {
  const big = await node("dp-big");
  big.ws.send(Buffer.alloc(65 * 1024));
  assert.equal((await big.closed).code, 1009);

  const text = await node("dp-text");
  text.ws.send("hello");
  assert.equal((await text.closed).code, 1003);

  const early = await connectSync(h.cp.url, h.nodeCredential("dp-early"));
  clients.push(early);
  early.send({ ack: { version: 1, applyMs: 1 } });
  assert.deepEqual(await early.closed, { code: 1008, reason: "CORRAL_SYNC_PROTOCOL" });

  const silent = await connectSync(h.cp.url, h.nodeCredential("dp-silent"));
  clients.push(silent);
  assert.deepEqual(await silent.closed, { code: 1008, reason: "CORRAL_SYNC_HELLO_TIMEOUT" });

  const twice = await node("dp-twice");
  twice.hello({ slot: "dp-twice" });
  assert.equal((await twice.closed).code, 1008);

  const metrics = await (await fetch(`${h.cp.url}/metrics`)).text();
  for (const code of [
    "CORRAL_SYNC_FRAME_TOO_LARGE",
    "CORRAL_SYNC_TEXT_FRAME",
    "CORRAL_SYNC_PROTOCOL",
    "CORRAL_SYNC_HELLO_TIMEOUT",
  ]) {
    assert.match(metrics, new RegExp(`corral_sync_rejected_total\\{code="${code}"\\} [1-9]`), code);
  }
});

test("a node that stops answering pings is dropped and shown disconnected", async () => {
  const mute = await node("dp-mute", { autoPong: false });
  const closed = await mute.closed;
  assert.equal(closed.code, 1006);
  const view = await poll("dp-mute disconnected in the fleet view", async () => {
    const n = await fleetNode("dp-mute");
    return n.connected === false && n;
  });
  assert.equal(view.controlPlane, null);
});

test("shutting down closes node connections with 1001", async () => {
  const c = await node("dp-last");
  await h.restart();
  assert.equal((await c.closed).code, 1001);
  const view = await fleetNode("dp-last");
  assert.equal(view.connected, false);
});
